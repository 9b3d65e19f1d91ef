"""Textual's DataTable, checkbox and selection list as the dashboard wants them everywhere.

`KeyTable` moves with j / k / g / G like every list of the dashboard (the job table and the
log viewer have them; a plain DataTable only knows the arrows). `TickBox` and `TickList`
show their state by shape, `[x]` / `[ ]`, not only by colour: in 256 colours Textual's
`▐X▌` on and off differ by a shade of grey that many terminals draw alike.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.segment import Segment
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.strip import Strip
from textual.widgets import Checkbox, DataTable, SelectionList

TICKED, UNTICKED = "[x]", "[ ]"


class KeyTable(DataTable[Any]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("g", "scroll_top", "First", show=False, id="table.first"),
        Binding("G", "scroll_bottom", "Last", show=False, id="table.last"),
    ]


class TickBox(Checkbox):
    @property
    def _button(self) -> Content:
        return Content.styled(
            TICKED if self.value else UNTICKED, self.get_visual_style("toggle--button")
        )


class TickList(SelectionList[Any]):
    def _get_left_gutter_width(self) -> int:
        return len(TICKED) + 1

    def render_line(self, y: int) -> Strip:
        # The base draws ▐X▌ as three segments ahead of the prompt: swap in the shape.
        strip = super().render_line(y)
        segments = list(strip)
        index = int(self.scroll_offset.y) + y
        if len(segments) < 3 or index >= self.option_count:
            return strip
        ticked = self.get_option_at_index(index).value in self._selected
        _left, inner, _right, *rest = segments
        shape = TICKED if ticked else UNTICKED
        return Strip(
            [
                Segment(shape[0], inner.style),
                Segment(shape[1], inner.style),
                Segment(shape[2], inner.style),
                *rest,
            ]
        )
