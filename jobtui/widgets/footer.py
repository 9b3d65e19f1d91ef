"""Textual's Footer, rebuilt only when a key it never showed must appear.

Textual's Footer recomposes (removes and mounts a widget per key, ~100 style
applications) on every bindings update: each focus change, each `refresh_bindings`, several
times for one key press. In the log viewer that was most of enter's cost in search (~200 of
~290 ms on a 3M-line log): focusing the search box hides the letter keys, leaving it shows
them again. Here the updates of one refresh are coalesced; keys that only become dimmed,
lit, hidden or shown again are restyled in place, and the footer is rebuilt only when the
keys wanted are not a subsequence of those it holds.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

PALETTE = object()  # the tooltip slot of the palette key
Entry = tuple[str, str, str, object]  # key, action, description, tooltip


class KeyFooter(Footer):
    _composed: list[Entry] | None = None  # the keys the footer holds, in order
    _style_key: tuple[bool, bool] | None = None
    _pending = False

    def _wanted(self) -> tuple[list[Entry], dict[str, bool], bool]:
        """The keys to show (as Footer.compose picks them), which apply, and whether any
        binding is grouped (a layout this class leaves to Footer)."""
        active = self.screen.active_bindings
        entries: list[Entry] = []
        enabled: dict[str, bool] = {}
        grouped = False
        for _, binding, on, tooltip in active.values():
            if not binding.show or binding.action in enabled:
                continue  # Footer shows the first binding of an action
            grouped = grouped or binding.group is not None
            enabled[binding.action] = on
            entries.append((binding.key, binding.action, binding.description, tooltip))
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            palette = active.get(self.app.COMMAND_PALETTE_BINDING)
            if palette is not None:
                binding = palette[1]
                enabled.setdefault(binding.action, palette[2])
                entries.append((binding.key, binding.action, "", PALETTE))
        return entries, enabled, grouped

    def bindings_changed(self, screen: Screen[object]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._pending:
            self._pending = True
            # Right after the message that changed them, so a focus move and the keys it
            # shows or hides make one layout pass, not two frames.
            self.call_next(self._update_keys)

    async def _update_keys(self) -> None:
        self._pending = False
        if not self.is_attached:
            return
        entries, enabled, grouped = self._wanted()
        style_key = (self.compact, self.show_command_palette)
        composed = self._composed
        keys = list(self.query_children(FooterKey))
        if (
            grouped
            or composed is None
            or style_key != self._style_key
            or len(keys) != len(composed)
            or not _subsequence(entries, composed)
        ):
            self._composed = None if grouped else entries
            self._style_key = style_key
            await self.recompose()
            return
        wanted = set(entries)
        with self.app.batch_update():
            for key, entry in zip(keys, composed, strict=True):
                key.display = entry in wanted
                off = not enabled.get(entry[1], True)
                if key._disabled != off:
                    key._disabled = off
                    key.set_class(off, "-disabled")
            # (as Footer.compose: the palette key is docked, outside the grid)
            self.styles.grid_size_columns = sum(e[3] != PALETTE for e in entries)


def _subsequence(part: list[Entry], whole: list[Entry]) -> bool:
    it = iter(whole)
    return all(entry in it for entry in part)
