"""The command palette (`ctrl+p` / `:`): the keys of the screen, places to go, go to job.

Commands come from the live bindings (jobtui's, those with an id), as the footer and `?`
do: what `check_action` hides is left out, what it dims says so, a keymap's keys are the
ones shown. A screen
names what the cursor is on in the labels of the actions on it ("Run default/orders").
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from jobtui.screens.base import Dashboard, JobtuiScreen

Command = tuple[str, Callable[[], object], str]  # (label, callback, help)


class JobCommands(Provider):
    @property
    def dashboard(self) -> Dashboard:
        return cast("Dashboard", self.app)

    def _commands(self) -> list[Command]:
        screen, app = self.screen, self.app
        own: list[Command] = []
        shared: list[Command] = []
        seen: set[tuple[int, str]] = set()
        for active in screen.active_bindings.values():
            binding, node = active.binding, active.node
            if node is not screen and node is not app:
                continue  # the focused widget's movement keys
            if not (binding.id and binding.description) or binding.action == "command_palette":
                continue  # Textual's own (focus next, copy): its system commands cover them
            if (id(node), binding.action) in seen:
                continue
            seen.add((id(node), binding.action))
            label = binding.description
            if isinstance(screen, JobtuiScreen) and node is screen:
                label = screen.palette_label(binding)
            keys = self.app.get_key_display(binding)
            help_text = " · ".join(p for p in (binding.tooltip, f"key {keys}") if p)
            if not active.enabled:
                help_text += " (does not apply now)"
            command = partial(node.run_action, binding.action)
            (own if node is screen else shared).append((label, command, help_text))
        places: list[Command] = [
            ("Go to: jobs", self._go_jobs, "The job list"),
            ("Go to: all runs", self._go_history, "Run history across every job"),
            ("Go to: datasets", self._go_datasets, "Built-in and custom datasets"),
            ("Go to: sink presets", self._go_presets, "Saved sink configurations"),
            ("Go to: workers", self._go_workers, "Celery workers: queues, slots, runs"),
            ("Go to: workspaces", self._go_workspaces, "Pick the workspace the list shows"),
            ("Go to: trash", self._go_trash, "Deleted jobs: restore or purge"),
            ("Restore a deleted job", self._go_trash, "The trash: enter restores"),
            ("SMTP settings (alert mail)", self._go_smtp, "Mail server, test mail"),
            ("Daemon: status", self._daemon("daemon_status"), "Is the scheduler running"),
            ("Daemon: pause", self._daemon("daemon_pause"), "No new runs start until resumed"),
            ("Daemon: resume", self._daemon("daemon_resume"), "Start runs again"),
            (
                "Import crontab",
                self._import_crontab,
                "Your cron entries as command jobs with the same schedules (shown first)",
            ),
        ]
        return own + places + shared

    def _go_jobs(self) -> None:
        app = self.app
        while len(app.screen_stack) > 2:  # the default screen, then the job list
            app.pop_screen()

    async def _go_workspaces(self) -> None:
        self._go_jobs()
        await self.app.screen.run_action("cycle_workspace")

    def _go_history(self) -> None:
        self.app.push_screen(self.dashboard.screens.history(None))

    def _go_datasets(self) -> None:
        self.app.push_screen(self.dashboard.screens.datasets())

    def _go_presets(self) -> None:
        self.app.push_screen(self.dashboard.screens.sink_presets())

    def _go_workers(self) -> None:
        self.app.push_screen(self.dashboard.screens.workers())

    def _go_trash(self) -> None:
        self.app.push_screen(self.dashboard.screens.trash())

    def _go_smtp(self) -> None:
        self.app.push_screen(self.dashboard.screens.smtp())

    def _daemon(self, action: str) -> Callable[[], object]:
        # Through run_action: read-only mode refuses the pause and resume, and says why.
        return partial(self.app.run_action, action)

    def _import_crontab(self) -> None:
        from jobtui.screens.crontab_import import open_crontab_import

        open_crontab_import(self.app, self.dashboard.engine)

    def _go_job(self, job_id: int) -> None:
        self.app.push_screen(self.dashboard.screens.job_detail(job_id))

    async def discover(self) -> Hits:
        for label, command, help_text in self._commands():
            yield DiscoveryHit(label, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for label, command, help_text in self._commands():
            score = matcher.match(label)
            if score > 0:
                yield Hit(score, matcher.highlight(label), command, help=help_text)
        # "go to job …": ask the engine in a thread worker.
        words = query.removeprefix("go to").strip() or query.strip()
        if not words:
            return
        worker = self.app.run_worker(
            partial(self.dashboard.engine.list_jobs, search=words, limit=15),
            thread=True,
            group="palette",
            exit_on_error=False,
        )
        try:
            jobs = await worker.wait()
        except Exception:
            return
        for job in jobs:
            label = f"Go to job: {job.qualified_name}"
            exact = words.lower() in job.qualified_name.lower()
            yield Hit(
                1.0 if exact else max(0.5, matcher.match(label)),
                matcher.highlight(label),
                partial(self._go_job, job.id),
                help=f"{job.status.value} · {job.schedule_text}",
            )
