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
        self._widths: list[int] = []
        self._widths_for = -1
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
        self._widths_for = -1
        self.update_size()

    def _column_widths(self, width: int) -> list[int]:
        if width == self._widths_for:
            return self._widths
        gaps = len(self.columns) - 1
        fixed = sum(c.width for c in self.columns if c.width) + gaps
        flex = [c for c in self.columns if not c.width]
        spare = max(0, width - fixed)
        widths = []
        for column in self.columns:
            if column.width:
                widths.append(column.width)
            else:
                share = spare // len(flex) if flex else 0
                widths.append(max(column.min_width, share))
        self._widths, self._widths_for = widths, width
        return widths

    # -- drawing ---------------------------------------------------------------
    def _cell_segments(self, cell: Cell, width: int, justify: str) -> list[Segment]:
        parts: list[Part]
        if isinstance(cell, str):
            parts = [(cell, "")]
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
        widths = self._column_widths(width - GUTTER)
        segments: list[Segment] = [Segment(mark)]
        for i, (column, col_width) in enumerate(zip(self.columns, widths, strict=False)):
            cell = cells[i] if i < len(cells) else ""
            if i:
                segments.append(Segment(" "))
            segments.extend(self._cell_segments(cell, col_width, column.justify))
        return segments

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            labels: list[Cell] = []
            for column in self.columns:
                label = column.label
                if column.key == self.sort_key:
                    labels.append(
                        [
                            (label, "vtable--sorted"),
                            (" ▼" if self.sort_descending else " ▲", "vtable--sorted"),
                        ]
                    )
                else:
                    labels.append(label)
            segments = self._row_strip(labels, width)
            header = self._style("vtable--header")
            return Strip(Segment.apply_style(segments, base, header)).adjust_cell_length(
                width, base
            )
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
            for column, width in zip(self.columns, self._widths, strict=False):
                if x <= offset.x < x + width + 1:
                    if column.sortable:
                        self.post_message(self.HeaderClicked(self, column))
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
