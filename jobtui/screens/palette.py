"""The command palette (`ctrl+p` / `:`): actions on the focused job, navigation, go to job.

A screen offers its job actions through `palette_actions()` (label, action name, help);
actions its `check_action` refuses are left out, as in the footer.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from jobtui.app import JobtuiApp

# (label, module, class) of screens other parts of jobtui may provide.
NAVIGATION = [
    ("Datasets", "jobtui.screens.datasets", "DatasetsScreen"),
    ("Sink presets", "jobtui.screens.sink_presets", "SinkPresetsScreen"),
]


class JobCommands(Provider):
    def _commands(self) -> list[tuple[str, Callable[[], Any], str]]:
        screen = self.screen
        app: JobtuiApp = self.app  # type: ignore[assignment]
        out: list[tuple[str, Callable[[], Any], str]] = []
        actions = getattr(screen, "palette_actions", None)
        if actions is not None:
            for label, action, help_text in actions():
                allowed = screen.check_action(action, ())
                if allowed is False:
                    continue
                if allowed is None:
                    help_text = f"{help_text} (does not apply now)"
                out.append((label, partial(screen.run_action, action), help_text))
        out.append(("Go to: jobs", self._go_jobs, "The job list"))
        out.append(("Go to: all runs", self._go_history, "Run history across every job"))
        for label, module, name in NAVIGATION:
            try:
                cls = getattr(importlib.import_module(module), name)
            except (ImportError, AttributeError):
                continue
            out.append((f"Go to: {label.lower()}", partial(self._open, cls), label))
        out.append(("Go to: workspaces", self._go_workspaces, "Pick the workspace the list shows"))
        out.append(("Toggle local/UTC times", app.action_toggle_utc, "Every time shown"))
        if not app.read_only:
            out.append(("Undo", app.action_undo, "The last delete, pause/resume or bulk action"))
        out.append(("Help: keys of this screen", app.action_help, "?"))
        return out

    def _open(self, cls: type[Any]) -> None:
        app: JobtuiApp = self.app  # type: ignore[assignment]
        try:
            screen = cls(app.engine)
        except TypeError:
            screen = cls()
        app.push_screen(screen)

    def _go_jobs(self) -> None:
        from jobtui.screens.jobs import JobsScreen

        app = self.app
        while len(app.screen_stack) > 2 and not isinstance(app.screen, JobsScreen):
            app.pop_screen()

    def _go_workspaces(self) -> None:
        from jobtui.screens.jobs import JobsScreen

        self._go_jobs()
        screen = self.app.screen
        if isinstance(screen, JobsScreen):
            screen.action_cycle_workspace()

    def _go_history(self) -> None:
        from jobtui.screens.history import HistoryScreen

        self.app.push_screen(HistoryScreen(None))

    def _go_job(self, job_id: int) -> None:
        from jobtui.screens.job_detail import JobDetailScreen

        self.app.push_screen(JobDetailScreen(job_id))

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
        app: JobtuiApp = self.app  # type: ignore[assignment]
        words = query.removeprefix("go to").strip() or query.strip()
        if not words:
            return
        worker = app.run_worker(
            partial(app.engine.list_jobs, search=words, limit=15),
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
