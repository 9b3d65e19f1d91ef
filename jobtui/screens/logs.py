"""The log of one run: opens at the tail, follows live, searches and jumps to errors.

Lines are paged from the engine by `seq` (`Engine.read_log`), never loaded whole: the
`LogView` asks for what it is about to draw. A level or stream filter builds an index of
matching seqs in a worker, page by page. Copy uses pyperclip and falls back to the
terminal's OSC 52 (`App.copy_to_clipboard`) when there is no clipboard (over SSH).
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label, Static

from jobtui.engine import Engine, LogLine, Run
from jobtui.screens.base import JobtuiScreen
from jobtui.screens.log_save import SaveLogScreen
from jobtui.screens.log_search import (
    Found,
    error_probe,
    found_note,
    pattern_probe,
    search_wrapping,
)
from jobtui.widgets.fmt import display_zone, fmt_count, fmt_full, inert, state_label
from jobtui.widgets.footer import KeyFooter
from jobtui.widgets.logview import LogView

TAIL_LINES = 1000
INDEX_PAGE = 20_000
LEVEL_FILTERS: list[tuple[str, list[str] | None]] = [
    ("all levels", None),
    ("info and above", ["info", "warning", "error"]),
    ("warnings and errors", ["warning", "error"]),
    ("errors", ["error"]),
]
STREAM_FILTERS: list[tuple[str, list[str] | None]] = [
    ("all streams", None),
    ("job output", ["stdout", "stderr"]),
    ("stdout", ["stdout"]),
    ("stderr", ["stderr"]),
    ("engine", ["engine", "sink"]),
]


@dataclass
class LogInfo(Message):
    run: Run
    log_lines: int  # the highest seq

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LogInfo)  # a newer poll says all an older one did


@dataclass
class LinesFetched(Message):
    generation: int  # the filter they were read for: older answers are dropped
    lines: list[LogLine]


@dataclass
class IndexBuilt(Message):
    generation: int
    seqs: array[int]  # the matching seqs found so far
    done: bool
    last_seq: int
    extend: bool  # the log grew: these come after the index already shown


@dataclass
class Copied(Message):
    text: str
    lines: int
    via_clipboard: bool


class LogsScreen(JobtuiScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", "Back", id="logs.back"),
        Binding("f", "follow", "Follow", id="logs.follow"),
        Binding("slash", "search", "Search", id="logs.search", priority=True),
        # `:` opens the palette elsewhere; here it is vim's and less's "go to line"
        # (ctrl+p still opens the palette).
        Binding("colon", "goto_prompt", "Go to line", show=False, id="logs.goto"),
        Binding("n", "find_next", "Next match", id="logs.next"),
        Binding("N", "find_previous", "Prev match", show=False, id="logs.previous"),
        Binding("e", "next_error", "Next error", id="logs.next_error"),
        Binding("E", "first_error", "First error", show=False, id="logs.first_error"),
        Binding("a", "toggle_full", "Tail/full", id="logs.full"),
        Binding("L", "cycle_level", "Level", id="logs.level"),
        Binding("o", "cycle_stream", "Stream", show=False, id="logs.stream"),
        Binding("w", "toggle_wrap", "Wrap", id="logs.wrap"),
        Binding("T", "toggle_timestamps", "Timestamps", show=False, id="logs.timestamps"),
        Binding("y", "copy", "Copy", id="logs.copy"),
        Binding("v", "select", "Select", show=False, id="logs.select"),
        Binding("ctrl+s", "save", "Save", id="logs.save"),
        # Watching a runaway run's output is where one decides to stop it.
        Binding("c", "cancel", "Cancel", id="logs.cancel"),
    ]
    WRITES = frozenset({"cancel"})

    def __init__(self, engine: Engine, run_id: int) -> None:
        super().__init__(engine)
        self.run_id = run_id
        self.run: Run | None = None
        self.log_lines = 0  # highest seq
        self.full = False
        self.level_filter = 0
        self.stream_filter = 0
        self.pattern = ""
        self.generation = 0
        self.indexing = False
        self._opened = False
        self.goto_mode = False  # the input row asks for a line number (`:`), not a pattern
        # The line the cursor was on when a filter changed: where the new view opens.
        self._keep_seq: int | None = None
        self._positioned = True
        self._placed_seq: int | None = None  # where the filter put the cursor

    def compose(self) -> ComposeResult:
        yield Static(self.titled(f"run #{self.run_id}"), id="log-title")
        yield LogView(id="log-view")
        with Horizontal(id="log-search-row"):
            yield Label("/", id="log-search-prompt")
            yield Input(placeholder="search (enter finds, esc closes)", id="log-search")
        yield Label("", id="log-status")
        yield KeyFooter()

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    def on_mount(self) -> None:
        self.query_one("#log-search-row").display = False
        self.view.utc = self.utc
        self.view.focus()
        self.poll_now()

    # -- engine access ------------------------------------------------------------
    @property
    def levels(self) -> list[str] | None:
        return LEVEL_FILTERS[self.level_filter][1]

    @property
    def streams(self) -> list[str] | None:
        return STREAM_FILTERS[self.stream_filter][1]

    @property
    def filtered(self) -> bool:
        return self.levels is not None or self.streams is not None

    def poll_now(self) -> None:
        self.load_info()

    @work(thread=True, exclusive=True, group="log-info", exit_on_error=False)
    def load_info(self) -> None:
        run = self.engine.get_run(self.run_id)
        self.post_message(LogInfo(run, self.engine.log_size(self.run_id)))

    @on(LogInfo)
    def _info(self, message: LogInfo) -> None:
        self.run = message.run
        grown = message.log_lines != self.log_lines
        self.log_lines = message.log_lines
        view = self.view
        if not self._opened:
            self._opened = True
            self._apply_range()
            view.scroll_to_end()
            view.following = bool(self.run and self.run.state.is_active)
        elif grown:
            if self.filtered and not self.indexing:
                self.build_index(self.generation, extend_from=self._indexed_to)
            else:
                self._apply_range(keep=True)
            if view.following:
                view.scroll_to_end()
        if self.run is not None and not self.run.state.is_active and view.following:
            view.following = False
        self._show_title()
        self._show_status()
        self.refresh_bindings_if_changed()
        self.schedule_poll()

    def waiting_for(self) -> Iterator[str]:
        if not self._opened:  # (its LogView may not be composed yet either)
            yield f"the log of run #{self.run_id}"
            return
        if self.indexing:
            yield "the lines the filter keeps"
        yield from self.view.waiting_for()

    _indexed_to = 0

    def _apply_range(self, keep: bool = False) -> None:
        view = self.view
        first = 1 if self.full else self._tail_start
        if keep and view.index is None:
            first = min(first, view.first_seq) if self.full else view.first_seq
            view.set_range(first, self.log_lines)
            return
        view.set_range(first, self.log_lines)

    @on(LogView.NeedLines)
    def _need_lines(self, message: LogView.NeedLines) -> None:
        self.fetch_lines(self.generation, message.from_seq, message.count)

    @work(thread=True, group="log-lines", exit_on_error=False)
    def fetch_lines(self, generation: int, from_seq: int, count: int) -> None:
        lines = self.engine.read_log(
            self.run_id,
            from_seq=from_seq,
            limit=count,
            levels=self.levels,
            streams=self.streams,
        )
        self.post_message(LinesFetched(generation, lines))

    @on(LinesFetched)
    def _lines(self, message: LinesFetched) -> None:
        if message.generation != self.generation:
            return
        self.view.add_lines(message.lines)

    @work(thread=True, exclusive=True, group="log-index", exit_on_error=False)
    def build_index(self, generation: int, extend_from: int = 0) -> None:
        """The seqs of matching lines, page by page (posted as it grows)."""
        engine = self.engine
        seqs: array[int] = array("q")
        start = extend_from + 1
        posted = 0
        while True:
            lines = engine.read_log(
                self.run_id,
                from_seq=start,
                limit=INDEX_PAGE,
                levels=self.levels,
                streams=self.streams,
            )
            seqs.extend(line.seq for line in lines)
            done = len(lines) < INDEX_PAGE
            last = lines[-1].seq if lines else start - 1
            if done or len(seqs) - posted >= 100_000:
                self.post_message(
                    IndexBuilt(generation, array("q", seqs), done, last, extend_from > 0)
                )
                posted = len(seqs)
            if done:
                return
            start = last + 1

    @on(IndexBuilt)
    def _index(self, message: IndexBuilt) -> None:
        if message.generation != self.generation:
            return
        view = self.view
        if message.extend and view.index is not None:
            seqs = array("q", view.index)
            seqs.extend(s for s in message.seqs if not seqs or s > seqs[-1])
        else:
            seqs = message.seqs
        self._indexed_to = max(self._indexed_to, message.last_seq)
        self.indexing = not message.done
        at_end = view.at_end
        view.set_index(seqs)
        keep = self._keep_seq
        if not self._positioned and not view.following and keep is not None:
            if message.done or message.last_seq >= keep:
                self._positioned = True
                view.goto_seq(keep)  # the kept line, or the nearest one the filter shows
                self._placed_seq = seqs[view.row_for_seq(keep)] if seqs else None
        elif at_end or view.following:
            view.scroll_to_end()
        self._show_status()

    def _refilter(self) -> None:
        self.generation += 1
        view = self.view
        # While the previous filter's index is still coming, its cursor means nothing yet:
        # keep the line the cursor was on before it.
        # A cursor the filter itself placed (the nearest line shown) keeps the line before.
        cursor = view.cursor_seq
        placed = self.indexing or not self._positioned or cursor == self._placed_seq
        keep_seq = self._keep_seq if placed else cursor
        self._keep_seq = keep_seq
        view.clear_cache()
        self._indexed_to = 0
        if self.filtered:
            self._positioned = False
            view.set_index(array("q"))
            self.indexing = True
            self.build_index(self.generation)
        else:
            self._positioned = True
            self.indexing = False
            if keep_seq is not None and not self.full and keep_seq < self._tail_start:
                self.full = True  # the kept line is older than the tail
            self._apply_range()
            if keep_seq is not None and not view.following:
                view.goto_seq(keep_seq)
        self._show_status()

    @property
    def _tail_start(self) -> int:
        return max(1, self.log_lines - TAIL_LINES + 1)

    # -- status lines --------------------------------------------------------------------
    def _show_title(self) -> None:
        run = self.run
        if run is None:
            self.query_one("#log-title", Static).update(self.titled(f"run #{self.run_id}"))
            return
        parts = [
            f"{run.workspace}/{run.job_name}",
            f"run #{run.id}",
            state_label(run.state.value),
            # a command run makes no records: "0 records" would say it failed to
            f"{fmt_count(run.records)} records" if run.records or run.tasks else "",
            f"started {fmt_full(run.started_at, self.utc)}" if run.started_at else "not started",
        ]
        if run.title:
            parts.insert(2, run.title)
        self.query_one("#log-title", Static).update(self.titled(" · ".join(p for p in parts if p)))
        self.query_one("#log-title").set_class(True, f"-{run.state.value}")

    def _show_status(self) -> None:
        view = self.view
        zone = display_zone(self.utc)
        zone_label = datetime.now(zone).tzname() or "UTC"
        parts = [
            f"{fmt_count(self.log_lines)} lines",
            "full log"
            if self.full or self.log_lines <= TAIL_LINES
            else f"last {TAIL_LINES:,} lines (a: full log)",
            LEVEL_FILTERS[self.level_filter][0],
            STREAM_FILTERS[self.stream_filter][0],
            f"times in {zone_label}" if view.show_timestamps else "no timestamps",
            "wrap" if view.wrap else "",
            "following" if view.following else "",
            "indexing…" if self.indexing else "",
            f"search: {self.pattern!r}" if self.pattern else "",
        ]
        if view.count:
            parts.append(f"go to line {view.count:,}… (g)")
        if view.sel_anchor is not None and (sel := view.selection()):
            parts.append(f"selected {sel[1] - sel[0] + 1} lines")
        if self.filtered and view.index is not None:
            parts.insert(1, f"{fmt_count(len(view.index))} shown")
        self.query_one("#log-status", Label).update(" · ".join(p for p in parts if p))

    def times_changed(self) -> None:
        self.view.utc = self.utc
        self.view.redraw()
        self._show_title()
        self._show_status()

    @on(LogView.CursorMoved)
    def _cursor_moved(self, message: LogView.CursorMoved) -> None:
        self._show_status()

    def applies(self, action: str) -> bool:
        if action in ("follow", "cancel"):
            return self.run is None or self.run.state.is_active
        if action in ("find_next", "find_previous"):
            return bool(self.pattern)
        return True

    # -- actions -------------------------------------------------------------------------
    def action_back(self) -> None:
        if self.view.count:
            self.view.count = 0
            self._show_status()
            return
        if self.view.sel_anchor is not None:
            self.view.sel_anchor = None
            self.view.refresh()
            self._show_status()
            return
        search = self.query_one("#log-search", Input)
        if search.has_focus:
            self._close_search()
            return
        self.app.pop_screen()

    def action_cancel(self) -> None:
        if self.run is None or self.run.state.is_active:
            self.confirm_cancel(self.run_id)

    def action_follow(self) -> None:
        view = self.view
        view.following = not view.following
        if view.following:
            view.scroll_to_end()
        self._show_status()

    def action_toggle_full(self) -> None:
        if not self.full and (self.filtered or self.log_lines <= TAIL_LINES):
            why = ", the filter reads every line" if self.filtered else ""
            self.notify(f"Whole log shown (all {fmt_count(self.log_lines)} lines{why})", timeout=3)
            return
        self.full = not self.full
        view = self.view
        keep = view.cursor_seq
        if not self.filtered:
            self._apply_range()
            if keep is not None:
                view.goto_seq(keep)
        self._show_status()

    def action_cycle_level(self) -> None:
        self.level_filter = (self.level_filter + 1) % len(LEVEL_FILTERS)
        self._refilter()

    def action_cycle_stream(self) -> None:
        self.stream_filter = (self.stream_filter + 1) % len(STREAM_FILTERS)
        self._refilter()

    def action_toggle_wrap(self) -> None:
        view = self.view
        view.wrap = not view.wrap
        view.scroll_to(x=0, animate=False)
        view.redraw()
        self._show_status()

    def action_toggle_timestamps(self) -> None:
        view = self.view
        view.show_timestamps = not view.show_timestamps
        view.redraw()
        self._show_status()

    def action_select(self) -> None:
        view = self.view
        view.sel_anchor = None if view.sel_anchor is not None else view.cursor
        view.refresh()
        self._show_status()

    # search and go to line -------------------------------------------------------
    def action_search(self) -> None:
        box = self.query_one("#log-search", Input)
        if box.has_focus:  # a priority binding: `/` inside a pattern is text
            box.insert_text_at_cursor("/")
            return
        self._open_input(goto=False, value=self.pattern)

    def action_goto_prompt(self) -> None:
        self._open_input(goto=True, value="")

    def _open_input(self, *, goto: bool, value: str) -> None:
        self.goto_mode = goto
        box = self.query_one("#log-search", Input)
        self.query_one("#log-search-prompt", Label).update(":" if goto else "/")
        box.placeholder = (
            "line number (enter goes, esc closes)" if goto else "search (enter finds, esc closes)"
        )
        self._show_input(True)
        box.value = value
        self.set_focus(box)  # at once: the pattern's keys may already be queued

    def _show_input(self, shown: bool) -> None:
        # The input row takes the status line's place (as less's prompt does), so the log
        # keeps its height: opening or leaving a search redraws no log line.
        self.query_one("#log-search-row").display = shown
        self.query_one("#log-status").display = not shown

    def _close_search(self) -> None:
        self._show_input(False)
        if self.view.pattern != self.pattern:  # typed, then left: back to the last search
            self.view.pattern = self.pattern
            self.view.redraw()
        self.view.focus()

    @on(Input.Changed, "#log-search")
    def _search_typed(self, event: Input.Changed) -> None:
        # Matches light up as the pattern is typed: only the rows on screen are drawn, so
        # this costs the same on a 3M-line log (the search itself waits for enter).
        if not self.goto_mode and self.view.pattern != event.value:
            self.view.pattern = event.value
            self.view.redraw()

    @on(Input.Submitted, "#log-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        if self.goto_mode:
            self._show_input(False)
            self.view.focus()
            text = event.value.strip().lstrip(":").replace(",", "").replace("_", "")
            if text.isdigit():
                self.goto_line(int(text))
            elif text:
                self.notify(f"line: {event.value!r} is not a line number", severity="warning")
            return
        self.pattern = event.value
        if self.view.pattern != self.pattern:  # (typing lit the matches already)
            self.view.pattern = self.pattern
            self.view.redraw()
        self._close_search()
        if self.pattern:
            self.find(self.pattern, None, backwards=False, from_cursor=True, inclusive=True)
        self._show_status()
        self.refresh_bindings_if_changed()

    @on(LogView.GotoLine)
    def _goto_line(self, message: LogView.GotoLine) -> None:
        self.goto_line(message.seq)

    def goto_line(self, seq: int) -> None:
        view = self.view
        if self.log_lines == 0:
            self.notify("The log is empty", timeout=3)
            return
        if not 1 <= seq <= self.log_lines:
            self.notify(f"line {seq:,}: the log has {self.log_lines:,} lines", timeout=3)
            seq = max(1, min(seq, self.log_lines))
        view.following = False
        if view.index is None and seq < view.first_seq:
            self.full = True
            self._apply_range()
        elif view.index is not None:
            at = bisect_left(view.index, seq)
            if at >= len(view.index) or view.index[at] != seq:
                self.notify(f"line {seq:,} is hidden by the filter: the nearest shown", timeout=3)
        view.goto_seq(seq)
        self._show_status()

    def action_find_next(self) -> None:
        if self.pattern:
            self.find(self.pattern, None, backwards=False, from_cursor=True)

    def action_find_previous(self) -> None:
        if self.pattern:
            self.find(self.pattern, None, backwards=True, from_cursor=True)

    def action_next_error(self) -> None:
        self.find_error(backwards=False, from_cursor=True)

    def action_first_error(self) -> None:
        self.find_error(backwards=False, from_cursor=False)

    def find(
        self,
        pattern: str | None,
        levels: list[str] | None,
        *,
        backwards: bool,
        from_cursor: bool,
        inclusive: bool = False,
    ) -> None:
        start = self._start(from_cursor, inclusive)
        if self.levels is not None:
            levels = [lvl for lvl in (levels or self.levels) if lvl in self.levels] or levels
        what = f"{pattern!r}" if pattern else "error"
        regex = f"(?i){re.escape(pattern)}" if pattern else None
        self.search_log(regex, levels, start, backwards, what)

    def find_error(self, *, backwards: bool, from_cursor: bool) -> None:
        self.search_errors(self._start(from_cursor, False), backwards)

    def _start(self, from_cursor: bool, inclusive: bool) -> int:
        # find_log looks strictly after (or before) start.
        cursor = self.view.cursor_seq or 0
        if not from_cursor:
            return 0
        return cursor - 1 if inclusive else cursor

    @work(thread=True, exclusive=True, group="log-find", exit_on_error=False)
    def search_log(
        self, pattern: str | None, levels: list[str] | None, start: int, backwards: bool, what: str
    ) -> None:
        probe = pattern_probe(self.engine, self.run_id, pattern, levels, backwards)
        line, wrapped = search_wrapping(probe, start, backwards, self.streams)
        origin = self.view.cursor_seq or 0
        self.post_message(Found(line, what, backwards, wrapped, origin))

    @work(thread=True, exclusive=True, group="log-find", exit_on_error=False)
    def search_errors(self, start: int, backwards: bool) -> None:
        probe = error_probe(self.engine, self.run_id, self.levels, backwards)
        line, wrapped = search_wrapping(probe, start, backwards, self.streams)
        origin = self.view.cursor_seq or 0
        self.post_message(Found(line, "errors", backwards, wrapped, origin))

    @on(Found)
    def _found(self, message: Found) -> None:
        note = found_note(message)
        if note:
            self.notify(note, timeout=4)
        if message.line is None:
            return
        seq = message.line.seq
        view = self.view
        view.following = False
        if view.index is None and seq < view.first_seq:
            self.full = True
            self._apply_range()
        view.add_lines([message.line])
        view.goto_seq(seq)
        self._show_status()

    # copy and save ---------------------------------------------------------------------
    def action_copy(self) -> None:
        sel = self.view.selection()
        if sel is None:
            return
        self.copy_lines(sel[0], sel[1])

    @work(thread=True, exclusive=True, group="log-copy", exit_on_error=False)
    def copy_lines(self, first: int, last: int) -> None:
        lines = self.engine.read_log(
            self.run_id,
            from_seq=first,
            limit=min(last - first + 1, 100_000),
            levels=self.levels,
            streams=self.streams,
        )
        text = "\n".join(inert(line.message) for line in lines if line.seq <= last)
        via_clipboard = False
        try:
            import pyperclip

            pyperclip.copy(text)
            via_clipboard = True
        except Exception:
            via_clipboard = False
        self.post_message(Copied(text, len(lines), via_clipboard))

    @on(Copied)
    def _copied(self, message: Copied) -> None:
        if not message.via_clipboard:
            self.app.copy_to_clipboard(message.text)  # OSC 52: the terminal's clipboard
        how = "clipboard" if message.via_clipboard else "terminal clipboard (OSC 52)"
        plural = "s" if message.lines != 1 else ""
        self.notify(f"Copied {message.lines} line{plural} to the {how}", timeout=3)
        self.view.sel_anchor = None
        self.view.refresh()

    def action_save(self) -> None:
        run = self.run
        name = f"{run.job_name}-run{run.id}.log" if run else f"run{self.run_id}.log"
        default = str(Path.home() / name)
        run_id, engine = self.run_id, self.engine

        def save(path: str, create: bool) -> int:  # called in the dialog's worker
            return engine.save_log(run_id, path, create_dirs=create)

        def saved(note: str | None) -> None:
            if note:
                self.notify(note, title="Log", timeout=4)

        self.app.push_screen(SaveLogScreen(default, save), saved)
