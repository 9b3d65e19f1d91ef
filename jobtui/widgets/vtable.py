"""A table that draws only the rows on screen (rowview.RowView).

A plain `DataTable` builds every row up front, which costs seconds at 10,000 jobs. This
table asks its `RowSource` for the rows it is about to draw; rows the source does not hold
yet are drawn as placeholders and requested with one `NeedRows` message per refresh, so
the screen can page them in from the engine in a worker. Colours are component classes
(`state--failed`, `vtable--cursor`, …) styled in the app's .tcss.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip

from jobtui.engine import JobStatus, RunState
from jobtui.widgets.rowview import RowView

Part = tuple[str, str]  # (text, component class or "")
Cell = str | Part | list[Part]


@dataclass
class Column:
    key: str
    label: str
    width: int = 10  # 0 = flexible: shares what the fixed columns leave
    min_width: int = 8
    justify: str = "left"
    sortable: bool = True
    # Which columns a narrow table keeps: lower first; a pinned column never scrolls away.
    priority: int = 5
    pinned: bool = False
    ellipsis: str = "end"  # "middle" keeps a name's end: people-gen vs people-random

    @property
    def base_width(self) -> int:
        """Its width before the spare is shared: room for its label and sort mark too."""
        label = cell_len(self.label) + (2 if self.sortable else 0)
        return max(self.width or self.min_width, label)


SORT_MARKS = {None: " ↕", False: " ▲", True: " ▼"}  # sortable, ascending, descending


@dataclass(frozen=True)
class ColumnLayout:
    """The columns drawn, in order, with their widths; how many are off each side."""

    shown: list[tuple[int, int]]  # (index in the table's columns, width)
    left: int = 0  # columns scrolled off to the left
    right: int = 0  # columns that do not fit to the right
    max_offset: int = 0


def _window(bases: list[int], order: list[int], start: int, room: int) -> list[int]:
    """The columns of `order` from `start` that fit side by side in `room` cells."""
    out: list[int] = []
    for i in order[start:]:
        if bases[i] + 1 > room:
            break
        out.append(i)
        room -= bases[i] + 1
    return out


def fit_columns(
    columns: Sequence[Column], width: int, offset: int = 0, first: str | None = None
) -> ColumnLayout:
    """Pinned columns, then the most important that fit (table order; `first`, the sorted
    column, before the others); the rest follow them off the right edge, and `offset`
    scrolls that tail in one column at a time."""
    bases = [c.base_width for c in columns]
    pinned = [i for i, c in enumerate(columns) if c.pinned]
    rest = [i for i, c in enumerate(columns) if not c.pinned]
    room = width - sum(bases[i] for i in pinned) - max(0, len(pinned) - 1)
    if not pinned:
        room += 1  # no gap before the first column
    kept: set[int] = set()
    left_room = room
    for i in sorted(rest, key=lambda i: (columns[i].key != first, columns[i].priority, i)):
        if bases[i] + 1 <= left_room:
            kept.add(i)
            left_room -= bases[i] + 1
    order = [i for i in rest if i in kept] + [i for i in rest if i not in kept]
    max_offset = 0
    while max_offset < len(order) and order[-1] not in _window(bases, order, max_offset, room):
        max_offset += 1
    max_offset = min(max_offset, max(0, len(order) - 1))
    offset = max(0, min(offset, max_offset))
    window = _window(bases, order, offset, room)
    drawn = pinned + window
    widths = {i: bases[i] for i in drawn}
    spare = max(0, width - sum(widths.values()) - max(0, len(drawn) - 1))
    flex = [i for i in drawn if not columns[i].width]
    for n, i in enumerate(flex):
        widths[i] += spare // len(flex) + (1 if n < spare % len(flex) else 0)
    right = len(order) - offset - len(window)
    return ColumnLayout([(i, widths[i]) for i in drawn], offset, right, max_offset)


def middle_ellipsis(text: str, width: int) -> str:
    """`text` in `width` cells, its middle replaced by "…" (both ends tell names apart)."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    head = (width - 1) // 2
    tail_width = width - 1 - head
    tail = ""
    for char in reversed(text):
        if cell_len(char + tail) > tail_width:
            break
        tail = char + tail
    return set_cell_size(text, head) + "…" + tail


@dataclass
class Row:
    key: Hashable
    cells: Sequence[Cell]
    dim: bool = False
    extra: object = field(default=None, repr=False)


class RowSource(Protocol):
    def row_count(self) -> int: ...

    def get_row(self, index: int) -> Row | None: ...


@dataclass
class TableMessage(Message):
    table: VirtualTable

    @property
    def control(self) -> VirtualTable:
        return self.table


GUTTER = 2
STATE_CLASSES = sorted(
    {f"state--{s.value}" for s in RunState} | {f"state--{s.value}" for s in JobStatus}
)


class VirtualTable(RowView):
    """Rows drawn on demand from a `RowSource`; a cursor, marks and a header."""

    HEADER_LINES = 1
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right", "scroll_columns_right", "More columns", show=False, id="table.right"),
        Binding("left", "scroll_columns_left", "Back columns", show=False, id="table.left"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "vtable--header",
        "vtable--sorted",
        "vtable--cursor",
        "vtable--marked",
        "vtable--dim",
        "vtable--placeholder",
        "vtable--muted",
        *STATE_CLASSES,
    }

    @dataclass
    class Highlighted(TableMessage):
        index: int
        row: Row | None

    @dataclass
    class Selected(TableMessage):
        index: int
        row: Row | None

    @dataclass
    class NeedRows(TableMessage):
        """Rows start..end (exclusive) are on screen but the source does not hold them."""

        start: int
        end: int

    @dataclass
    class HeaderClicked(TableMessage):
        column: Column

    def __init__(
        self,
        columns: Sequence[Column],
        source: RowSource,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns = list(columns)
        self.source = source
        self.marked: set[Hashable] = set()
        self.sort_key: str | None = None
        self.sort_descending = False
        self.empty_text = "nothing here"
        self.col_offset = 0  # columns scrolled off to the left (Right / Left)
        self._layout: ColumnLayout | None = None
        self._layout_for: tuple[int, int, str | None] = (-1, -1, None)
        self._missing_posted: tuple[int, int] | None = None

    # -- the source ----------------------------------------------------------------
    def row_count(self) -> int:
        return self.source.row_count()

    def has_row(self, row: int) -> bool:
        return self.source.get_row(row) is not None

    def rows_missing(self, start: int, end: int) -> None:
        if (start, end) != self._missing_posted:
            self._missing_posted = (start, end)
            self.post_message(self.NeedRows(self, start, end))

    def rows_arrived(self) -> None:
        """The source got new rows: redraw and allow new requests."""
        self._missing_posted = None
        self.refresh()

    # -- geometry --------------------------------------------------------------
    def update_size(self) -> None:
        """Call after the source's row count changed."""
        count = self.source.row_count()
        self.virtual_size = Size(self.scrollable_content_region.width, count + 1)
        if count and self.cursor >= count:
            self.cursor = count - 1
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self._layout = None
        self.update_size()

    def column_layout(self, width: int | None = None) -> ColumnLayout:
        """The columns drawn at this width and sideways scroll (one cell is kept at the
        right edge for the "more columns" mark)."""
        if width is None:
            width = self.scrollable_content_region.width
        key = (width, self.col_offset, self.sort_key)
        if key != self._layout_for or self._layout is None:
            room = max(1, width - GUTTER - 1)
            self._layout = fit_columns(self.columns, room, self.col_offset, self.sort_key)
            self._layout_for = key
        return self._layout

    def scroll_columns(self, step: int) -> bool:
        """Scroll sideways by whole columns; False when there is nothing more that way."""
        now = self.column_layout()
        target = max(0, min(now.max_offset, self.col_offset + step))
        if target == self.col_offset:
            return False
        self.col_offset = target
        self.refresh()
        return True

    def action_scroll_columns_right(self) -> None:
        if not self.scroll_columns(1):
            self.app.bell()

    def action_scroll_columns_left(self) -> None:
        if not self.scroll_columns(-1):
            self.app.bell()

    def hidden_columns(self) -> list[str]:
        """The labels of the columns not on screen now (tests, and the hint)."""
        shown = {i for i, _ in self.column_layout().shown}
        return [c.label for i, c in enumerate(self.columns) if i not in shown]

    # -- drawing ---------------------------------------------------------------
    def _cell_segments(self, cell: Cell, width: int, column: Column) -> list[Segment]:
        justify = column.justify
        parts: list[Part]
        if isinstance(cell, str):
            middle = column.ellipsis == "middle"
            parts = [(middle_ellipsis(cell, width) if middle else cell, "")]
        elif isinstance(cell, tuple):
            parts = [cell]
        else:
            parts = cell
        segments: list[Segment] = []
        used = 0
        for text, cls in parts:
            if not text:
                continue
            length = cell_len(text)
            if used + length > width:
                text = (
                    set_cell_size(text, max(0, width - used - 1)) + "…" if width - used > 0 else ""
                )
                length = cell_len(text)
            segments.append(Segment(text, self._style(cls) if cls else None))
            used += length
            if used >= width:
                break
        pad = width - used
        if pad > 0:
            if justify == "right":
                segments.insert(0, Segment(" " * pad))
            else:
                segments.append(Segment(" " * pad))
        return segments

    def _row_strip(self, cells: Sequence[Cell], width: int, mark: str = "  ") -> list[Segment]:
        segments: list[Segment] = [Segment(mark)]
        for n, (i, col_width) in enumerate(self.column_layout(width).shown):
            cell = cells[i] if i < len(cells) else ""
            if n:
                segments.append(Segment(" "))
            segments.extend(self._cell_segments(cell, col_width, self.columns[i]))
        return segments

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            return self._header_strip(width)
        index = self.first_visible + y - 1
        count = self.source.row_count()
        if index >= count:
            if count == 0 and y == 1:
                text = set_cell_size(f" {self.empty_text}", width)
                return Strip([Segment(text, base + self._style("vtable--placeholder"))])
            return Strip.blank(width, base)
        row = self.source.get_row(index)
        if row is None:
            self._note_missing(index)
            text = set_cell_size("  …", width)
            return Strip([Segment(text, base + self._style("vtable--placeholder"))])
        marked = row.key in self.marked
        segments = self._row_strip(row.cells, width, "● " if marked else "  ")
        post: Style | None = None
        if marked:
            post = self._style("vtable--marked")
        if row.dim:
            post = (post or Style()) + self._style("vtable--dim")
        if index == self.cursor:
            post = (post or Style()) + self._style("vtable--cursor")
        return Strip(Segment.apply_style(segments, base, post)).adjust_cell_length(width, base)

    def _header_strip(self, width: int) -> Strip:
        """Labels, each sortable one with its mark (↕, or ▲ / ▼ for the sort in force), and
        ◂ / ▸ at the edges when columns are scrolled off that side."""
        labels: list[Cell] = []
        for column in self.columns:
            if not column.sortable:
                labels.append(column.label)
            elif column.key == self.sort_key:
                mark = SORT_MARKS[self.sort_descending]
                labels.append([(column.label, "vtable--sorted"), (mark, "vtable--sorted")])
            else:
                labels.append([(column.label, ""), (SORT_MARKS[None], "vtable--muted")])
        now = self.column_layout(width)
        segments = self._row_strip(labels, width, "◂ " if now.left else "  ")
        base = self.rich_style
        strip = Strip(Segment.apply_style(segments, base, self._style("vtable--header")))
        strip = strip.adjust_cell_length(width - 1, base + self._style("vtable--header"))
        more = Segment("▸" if now.right else " ", base + self._style("vtable--header"))
        return Strip([*strip, more])

    # -- cursor ----------------------------------------------------------------
    @property
    def current_row(self) -> Row | None:
        if self.source.row_count() == 0:
            return None
        return self.source.get_row(self.cursor)

    def move_cursor(self, index: int, *, announce: bool = True, scroll: bool = True) -> None:
        count = self.source.row_count()
        index = max(0, min(index, count - 1)) if count else 0
        old = self.cursor
        self.cursor = index
        if scroll:
            self.scroll_to_row(index)
        if old != index:
            self._refresh_row(old)
            self._refresh_row(index)
        if announce:
            self.post_message(self.Highlighted(self, index, self.current_row))

    def _refresh_row(self, index: int) -> None:
        y = index - self.first_visible + 1
        if 1 <= y <= self.page_height:
            self.refresh_lines(int(self.scroll_offset.y) + y)

    def action_last(self) -> None:
        self.move_cursor(self.source.row_count() - 1)

    def toggle_mark(self) -> None:
        row = self.current_row
        if row is None:
            return
        if row.key in self.marked:
            self.marked.discard(row.key)
        else:
            self.marked.add(row.key)
        self.move_cursor(self.cursor + 1)
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            x = GUTTER
            for i, width in self.column_layout().shown:
                if x <= offset.x < x + width + 1:
                    if self.columns[i].sortable:
                        self.post_message(self.HeaderClicked(self, self.columns[i]))
                    return
                x += width + 1
            return
        index = self.first_visible + offset.y - 1
        if index < self.source.row_count():
            if index == self.cursor and event.chain == 2:
                self.post_message(self.Selected(self, index, self.current_row))
            self.move_cursor(index)

    def action_select(self) -> None:
        self.post_message(self.Selected(self, self.cursor, self.current_row))

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._missing_posted = None
