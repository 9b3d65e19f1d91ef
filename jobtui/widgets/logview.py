"""A log viewer that stays fast on a million lines: it holds only the lines near the screen.

Rows map to log line numbers (`seq`, 1..N within a run): in the plain view row `i` is
line `first_seq + i`; with a level or stream filter the screen gives an index (the sorted
seqs that match). Lines come from the engine in pages: rows the cache lacks are drawn as
placeholders and asked for with one `NeedLines` message per refresh (rowview.RowView). The
screen answers with `add_lines`. Job output is inert: every control character is drawn as
visible text (`fmt.inert`) and text is never parsed as markup.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip

from jobtui.engine import LogLine
from jobtui.widgets.fmt import display_zone, inert
from jobtui.widgets.rowview import RowView

CACHE_LIMIT = 6000
PREFETCH = 120


def level_class(level: str) -> str:
    lowered = level.lower()
    if lowered in ("error", "err", "critical", "fatal"):
        return "log--error"
    if lowered in ("warning", "warn"):
        return "log--warning"
    if lowered in ("debug", "trace"):
        return "log--debug"
    return ""


@dataclass
class Layout:
    key: tuple[object, ...]
    rows: list[tuple[int, Strip]]  # (row index, strip) per screen line
    base: Style = field(default_factory=Style)
    final: dict[int, tuple[object, Strip]] = field(default_factory=dict)  # y → (state, strip)


class LogView(RowView):
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "log--error",
        "log--warning",
        "log--debug",
        "log--stderr",
        "log--ts",
        "log--lineno",
        "log--cursor",
        "log--selection",
        "log--match",
        "log--placeholder",
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "page_down", "Page down", show=False, id="log.page_down"),
        Binding("left,h", "scroll_left_cols", "Left", show=False, id="log.left"),
        Binding("right,l", "scroll_right_cols", "Right", show=False, id="log.right"),
        Binding("shift+up", "extend_up", "Select up", show=False, id="log.select_up"),
        Binding("shift+down", "extend_down", "Select down", show=False, id="log.select_down"),
        # A number before g (or G) goes to that line, as in less and vim: `120g`.
        *(
            Binding(str(d), f"count({d})", f"Count {d}", show=False, id=f"log.count{d}")
            for d in range(10)
        ),
    ]

    @dataclass
    class NeedLines(Message):
        view: LogView
        from_seq: int
        count: int

        @property
        def control(self) -> LogView:
            return self.view

    @dataclass
    class CursorMoved(Message):
        view: LogView
        seq: int | None

        @property
        def control(self) -> LogView:
            return self.view

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, LogView.CursorMoved)  # only where it ended counts

    @dataclass
    class GotoLine(Message):
        """A count then g: the screen knows whether the line is in range or filtered."""

        view: LogView
        seq: int

        @property
        def control(self) -> LogView:
            return self.view

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.first_seq = 1
        self.last_seq = 0
        self.index: array[int] | None = None  # filtered view: the matching seqs
        self.cache: dict[int, LogLine] = {}
        self.sel_anchor: int | None = None
        self.wrap = False
        self.show_timestamps = True
        self.utc = False
        self.pattern = ""
        self.following = False
        self.count = 0  # digits typed before g / G
        self._max_width = 0
        self._layout: Layout | None = None
        self._strip_cache: dict[int, list[Strip]] = {}
        self._strip_cache_key: tuple[object, ...] = ()
        self._zone = display_zone(False)
        self._base = Style()
        self._pending_goto: int | None = None
        self._version = 0
        self._requested: set[int] = set()

    # -- mapping rows to seqs ------------------------------------------------------
    def row_count(self) -> int:
        if self.index is not None:
            return len(self.index)
        return max(0, self.last_seq - self.first_seq + 1)

    def has_row(self, row: int) -> bool:
        return self.seq_for_row(row) in self.cache

    def waiting_for(self) -> Iterator[str]:
        yield from super().waiting_for()
        if self._pending_goto is not None:
            yield f"the page of row {self._pending_goto} to go to"

    def seq_for_row(self, row: int) -> int:
        if self.index is not None:
            return self.index[row]
        return self.first_seq + row

    def row_for_seq(self, seq: int) -> int:
        """The row showing `seq`, or the nearest row after it."""
        if self.index is not None:
            return min(bisect_left(self.index, seq), max(0, len(self.index) - 1))
        return max(0, min(seq - self.first_seq, self.row_count() - 1))

    @property
    def cursor_seq(self) -> int | None:
        if self.row_count() == 0:
            return None
        return self.seq_for_row(min(self.cursor, self.row_count() - 1))

    def selection(self) -> tuple[int, int] | None:
        """First and last seq of the selection (or of the cursor line)."""
        if self.row_count() == 0:
            return None
        a = self.cursor if self.sel_anchor is None else self.sel_anchor
        lo, hi = sorted((a, self.cursor))
        return self.seq_for_row(lo), self.seq_for_row(hi)

    # -- feeding ---------------------------------------------------------------
    def set_range(self, first_seq: int, last_seq: int) -> None:
        """Plain view over lines first_seq..last_seq."""
        self.index = None
        self.first_seq = max(1, first_seq)
        self.last_seq = last_seq
        self._changed()

    def set_index(self, seqs: array[int]) -> None:
        self.index = seqs
        self._changed()

    def add_lines(self, lines: Iterable[LogLine]) -> None:
        shown = False
        for line in lines:
            self.cache[line.seq] = line
            self._requested.discard(line.seq)
            width = len(line.message) + 28
            if width > self._max_width:
                self._max_width = min(width, 2000)
                shown = True  # the horizontal scroll range grew
            shown = shown or self._on_screen(line.seq)
        if len(self.cache) > CACHE_LIMIT:
            self._evict(self._pending_goto)
        if shown:  # lines fetched ahead, or the line a search found far away: no redraw
            self._changed()
        pending, self._pending_goto = self._pending_goto, None
        if pending is not None:
            self.move_cursor(pending, center=True, keep_anchor=False)

    def _on_screen(self, seq: int) -> bool:
        """Whether `seq` is on a row drawn now (or next to one)."""
        if self.index is not None:
            at = bisect_left(self.index, seq)
            if at >= len(self.index) or self.index[at] != seq:
                return False
            row = at
        else:
            row = seq - self.first_seq
        top = self.first_visible
        return top - 1 <= row <= top + self.page_height + 1

    def forget_requests(self) -> None:
        self._requested.clear()

    def redraw(self) -> None:
        """Settings that change how lines look (wrap, timestamps, zone, search) changed."""
        self._changed()

    def clear_cache(self) -> None:
        self.cache.clear()
        self._requested.clear()
        self._changed()

    def _evict(self, around_row: int | None = None) -> None:
        if self.row_count() == 0:
            self.cache.clear()
            return
        row = self.first_visible if around_row is None else around_row
        centre = self.seq_for_row(min(row, self.row_count() - 1))
        keep = CACHE_LIMIT // 3
        for seq in [s for s in self.cache if abs(s - centre) > keep]:
            del self.cache[seq]

    def _changed(self) -> None:
        self._version += 1
        self._layout = None
        self._update_virtual_size()
        self.refresh()

    def _update_virtual_size(self) -> None:
        rows = self.row_count()
        width = self.scrollable_content_region.width
        if self.wrap:
            self.virtual_size = Size(width, rows)
        else:
            self.virtual_size = Size(max(width, self._max_width), rows)
        if rows and self.cursor >= rows:
            self.cursor = rows - 1

    def on_resize(self, event: events.Resize) -> None:
        self._layout = None
        self._update_virtual_size()

    # -- geometry ----------------------------------------------------------------
    @property
    def at_end(self) -> bool:
        return self.first_visible >= self.max_scroll_y

    # -- styles ----------------------------------------------------------------
    def notify_style_update(self) -> None:
        self._layout = None
        self._strip_cache_key = ()
        super().notify_style_update()

    # -- drawing ---------------------------------------------------------------
    def _prefix(self, line: LogLine, seq: int) -> list[Segment]:
        digits = len(str(max(self.last_seq, seq)))
        segments = [Segment(f"{seq:>{digits}} ", self._style("log--lineno"))]
        if self.show_timestamps:
            moment = line.ts.astimezone(self._zone)
            segments.append(
                Segment(
                    f"{moment:%H:%M:%S}.{moment.microsecond // 1000:03d} ", self._style("log--ts")
                )
            )
        if line.stream == "stderr":
            segments.append(Segment("▌", self._style("log--stderr")))
        else:
            segments.append(Segment(" "))
        return segments

    def _message_text(self, line: LogLine) -> Text:
        text = Text(inert(line.message), end="", no_wrap=not self.wrap)
        cls = level_class(line.level)
        if cls:
            text.stylize(self._style(cls))
        if self.pattern:
            text.highlight_words([self.pattern], self._style("log--match"), case_sensitive=False)
        return text

    def _row_post_style(self, row: int) -> Style | None:
        if self.sel_anchor is not None:
            lo, hi = sorted((self.sel_anchor, self.cursor))
            if lo <= row <= hi:
                return self._style("log--selection")
        if row == self.cursor:
            return self._style("log--cursor")
        return None

    def _strips_for_row(self, row: int, width: int) -> list[Strip]:
        """A row's strips without cursor or selection styling (those go on at render)."""
        cached = self._strip_cache.get(row)
        if cached is not None:
            return cached
        base = self._base
        seq = self.seq_for_row(row)
        line = self.cache.get(seq)
        if line is None:
            self._note_missing(row)
            return [Strip([Segment(f"{seq} …", base + self._style("log--placeholder"))])]
        prefix = self._prefix(line, seq)
        message = inert(line.message)
        if self.wrap or (self.pattern and self.pattern.lower() in message.lower()):
            # Rich does the wrapping and the match highlighting.
            console = self.app.console
            text = Text(end="", no_wrap=not self.wrap)
            for segment in prefix:
                text.append(segment.text, segment.style)
            text.append_text(self._message_text(line))
            lines: list[Text] = (
                list(text.wrap(console, max(10, width), no_wrap=False)) if self.wrap else [text]
            )
            strips = [
                Strip(Segment.apply_style(list(piece.render(console)), base)) for piece in lines
            ] or [Strip.blank(width, base)]
        else:
            cls = level_class(line.level)
            segments = [*prefix, Segment(message, self._style(cls) if cls else None)]
            strips = [Strip(Segment.apply_style(segments, base))]
        if len(self._strip_cache) > 400:
            self._strip_cache.clear()
        self._strip_cache[row] = strips
        return strips

    def _compute_layout(self) -> Layout:
        width = self.scrollable_content_region.width
        height = self.page_height
        cache_key = (self._version, width, self.wrap)
        if cache_key != self._strip_cache_key:
            self._strip_cache.clear()
            self._strip_cache_key = cache_key
            self._zone = display_zone(self.utc)
        self._base = self.rich_style
        at_end = self.wrap and self.at_end
        key = (*cache_key, self.first_visible, height, at_end)
        if self._layout is not None and self._layout.key == key:
            return self._layout
        rows: list[tuple[int, Strip]] = []
        count = self.row_count()
        if at_end and count:
            # Anchor the bottom so the newest line is always whole on screen.
            row = count - 1
            while row >= 0 and len(rows) < height:
                strips = self._strips_for_row(row, width)
                rows[:0] = [(row, s) for s in strips]
                row -= 1
            rows = rows[-height:]
        else:
            row = self.first_visible
            while row < count and len(rows) < height:
                rows.extend((row, s) for s in self._strips_for_row(row, width))
                row += 1
            rows = rows[:height]
        self._layout = Layout(key, rows, self.rich_style)
        return self._layout

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        layout = self._compute_layout()
        base = layout.base
        if y >= len(layout.rows):
            return Strip.blank(width, base)
        row, strip = layout.rows[y]
        post = self._row_post_style(row)
        x = 0 if self.wrap else int(self.scroll_offset.x)
        state = (post, x, width)
        done = layout.final.get(y)
        if done is not None and done[0] == state:
            return done[1]
        if x:
            strip = strip.crop(x, x + width)
        strip = strip.adjust_cell_length(width, base)
        if post is not None:
            strip = Strip(Segment.apply_style(list(strip), None, post), width)
        layout.final[y] = (state, strip)
        return strip

    def rows_missing(self, lo: int, hi: int) -> None:
        if self.row_count() == 0:
            return
        lo = max(0, lo - PREFETCH)
        hi = min(self.row_count(), hi + PREFETCH)
        seq = self.seq_for_row(lo)
        if seq in self._requested:
            return
        for r in range(lo, hi):
            self._requested.add(self.seq_for_row(r))
        self.post_message(self.NeedLines(self, seq, hi - lo))

    # -- cursor and scrolling ---------------------------------------------------------
    def move_cursor(
        self, row: int, *, center: bool = False, keep_anchor: bool | None = None
    ) -> None:
        """Move the cursor; a selection (`anchor`) stays and grows unless told otherwise."""
        count = self.row_count()
        row = max(0, min(row, count - 1)) if count else 0
        if keep_anchor is False:
            self.sel_anchor = None
        self.cursor = row
        self.scroll_to_row(row, center)
        self.refresh()
        self.post_message(self.CursorMoved(self, self.cursor_seq))

    def goto_seq(self, seq: int) -> None:
        """Centre `seq`; when its page is not loaded yet, load it first (no placeholder frame)."""
        row = self.row_for_seq(seq)
        height = self.page_height
        first = max(0, row - height // 2)
        last = min(self.row_count() - 1, first + height - 1)
        if self.row_count() and not all(
            self.seq_for_row(r) in self.cache for r in (first, row, last)
        ):
            self._pending_goto = row
            start = max(0, first - height)
            count = min(self.row_count() - start, 3 * height)
            self.post_message(self.NeedLines(self, self.seq_for_row(start), count))
            return
        self._pending_goto = None
        self.move_cursor(row, center=True, keep_anchor=False)

    def scroll_to_end(self) -> None:
        self.cursor = max(0, self.row_count() - 1)
        self.sel_anchor = None
        self._scroll_y(self.row_count())
        self.refresh()

    def action_cursor_up(self) -> None:
        self.following = False
        super().action_cursor_up()

    def action_extend_up(self) -> None:
        if self.sel_anchor is None:
            self.sel_anchor = self.cursor
        self.move_cursor(self.cursor - 1, keep_anchor=True)

    def action_extend_down(self) -> None:
        if self.sel_anchor is None:
            self.sel_anchor = self.cursor
        self.move_cursor(self.cursor + 1, keep_anchor=True)

    def action_page_up(self) -> None:
        self.following = False
        super().action_page_up()

    def action_count(self, digit: int) -> None:
        if self.count < 10**12:
            self.count = self.count * 10 + digit
        self.post_message(self.CursorMoved(self, self.cursor_seq))  # the status shows it

    def _take_count(self) -> bool:
        count, self.count = self.count, 0
        if count:
            self.post_message(self.GotoLine(self, count))
        return bool(count)

    def action_first(self) -> None:
        if self._take_count():
            return
        self.following = False
        super().action_first()

    def action_last(self) -> None:
        if self._take_count():
            return
        self.scroll_to_end()
        self.post_message(self.CursorMoved(self, self.cursor_seq))

    def action_scroll_left_cols(self) -> None:
        self.scroll_to(x=max(0, self.scroll_offset.x - 8), animate=False)

    def action_scroll_right_cols(self) -> None:
        self.scroll_to(x=self.scroll_offset.x + 8, animate=False)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        layout = self._compute_layout()
        if 0 <= offset.y < len(layout.rows):
            row = layout.rows[offset.y][0]
            if event.shift:
                if self.sel_anchor is None:
                    self.sel_anchor = self.cursor
                self.move_cursor(row, keep_anchor=True)
            else:
                self.move_cursor(row, keep_anchor=False)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.following = False

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        self._layout = None
        super().watch_scroll_y(old_value, new_value)

    def watch_scroll_x(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_x(old_value, new_value)
