"""The scrolling base of the job table and the log viewer: rows drawn on demand, a cursor.

Both draw only the rows on screen (Textual's Line API) from a store that holds some rows
and fetches the rest in pages: a row the store lacks is drawn as a placeholder and noted,
and after the refresh one request covers every row noted (`rows_missing`). The cursor
moves by row; the view scrolls to keep it on screen. Colours are component classes,
styled in the app's .tcss, looked up once per style change.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from rich.style import Style
from textual.binding import Binding, BindingType
from textual.scroll_view import ScrollView


class RowView(ScrollView, can_focus=True):
    # The same movement keys in the job table and the log viewer (one id each for a keymap).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False, id="rows.up"),
        Binding("down,j", "cursor_down", "Down", show=False, id="rows.down"),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False, id="rows.page_up"),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False, id="rows.page_down"),
        Binding("home,g", "first", "First", show=False, id="rows.first"),
        Binding("end,G", "last", "Last", show=False, id="rows.last"),
    ]
    HEADER_LINES: ClassVar[int] = 0  # lines above the first row (a table's header)

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.cursor = 0
        self._styles: dict[str, Style] = {}
        self._missing: tuple[int, int] | None = None

    # -- what subclasses tell ----------------------------------------------------------
    def row_count(self) -> int:
        raise NotImplementedError

    def has_row(self, row: int) -> bool:
        """Whether the store holds `row` (else it is drawn as a placeholder)."""
        raise NotImplementedError

    def rows_missing(self, start: int, end: int) -> None:
        """Rows start..end (exclusive) were drawn as placeholders: ask for them."""
        raise NotImplementedError

    def move_cursor(self, row: int) -> None:
        raise NotImplementedError

    def action_last(self) -> None:
        raise NotImplementedError

    # -- geometry ----------------------------------------------------------------------
    @property
    def page_height(self) -> int:
        """Rows on screen."""
        return max(1, self.scrollable_content_region.height - self.HEADER_LINES)

    @property
    def first_visible(self) -> int:
        return int(self.scroll_offset.y)

    def visible_range(self, margin: int = 0) -> tuple[int, int]:
        start = max(0, self.first_visible - margin)
        end = min(self.row_count(), self.first_visible + self.page_height + margin)
        return start, end

    def waiting_for(self) -> Iterator[str]:
        """Rows on screen that the store does not hold yet, in words (tests wait on it)."""
        start, end = self.visible_range()
        missing = [row for row in range(start, end) if not self.has_row(row)]
        if missing:
            yield f"rows {missing[0]}–{missing[-1]} of #{self.id}"

    # -- styles ------------------------------------------------------------------------
    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            try:
                style = self.get_component_rich_style(name, partial=True)
            except KeyError:
                style = Style()
            self._styles[name] = style
        return style

    def notify_style_update(self) -> None:
        self._styles.clear()
        super().notify_style_update()

    # -- rows the store lacks ---------------------------------------------------------------
    def _note_missing(self, row: int) -> None:
        """Called while drawing: one request after the refresh covers every row noted."""
        if self._missing is None:
            self._missing = (row, row + 1)
            self.call_after_refresh(self._post_missing)
        else:
            lo, hi = self._missing
            self._missing = (min(lo, row), max(hi, row + 1))

    def _post_missing(self) -> None:
        missing, self._missing = self._missing, None
        if missing is not None:
            self.rows_missing(*missing)

    # -- scrolling ---------------------------------------------------------------------
    def _scroll_y(self, y: float) -> None:
        """Scroll now; again after the next refresh if the new size is not laid out yet."""
        target = max(0, int(y))
        self.scroll_to(y=target, animate=False, immediate=True)
        if (
            int(self.scroll_offset.y) != min(target, self.max_scroll_y)
            or target > self.max_scroll_y
        ):
            self.call_after_refresh(self._scroll_again, target)

    def _scroll_again(self, target: int) -> None:
        self.scroll_to(y=min(target, self.max_scroll_y), animate=False, immediate=True)

    def scroll_to_row(self, row: int, center: bool = False) -> None:
        """Scroll so that `row` is on screen (in the middle with `center`)."""
        top, height = self.first_visible, self.page_height
        if center:
            self._scroll_y(max(0, row - height // 2))
        elif row < top:
            self._scroll_y(row)
        elif row >= top + height:
            self._scroll_y(row - height + 1)

    # -- moving the cursor ----------------------------------------------------------------
    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor + 1)

    def action_page_up(self) -> None:
        step = self.page_height
        self._scroll_y(max(0, self.first_visible - step))
        self.move_cursor(self.cursor - step)

    def action_page_down(self) -> None:
        step = self.page_height
        self._scroll_y(self.first_visible + step)
        self.move_cursor(self.cursor + step)

    def action_first(self) -> None:
        self.move_cursor(0)
