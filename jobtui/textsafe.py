"""Text that a job or a user controls, made inert before it reaches a terminal.

One rule for the dashboard (widgets/fmt.py) and the command line (cli.py): every control
character is shown as visible text (ESC → ``^[``, BEL → ``^G``, C1 CSI → ``<9b>``), so escape
sequences (OSC 52 clipboard writes, OSC 8 links, titles, screen clears) and bidi tricks can
neither reach the terminal nor move the cursor. Pure functions, no imports of the engine or
of the UI: both layers may use them.
"""

from __future__ import annotations

import re

# C0 controls (but tab), DEL, C1 controls, and the Unicode controls that reorder or hide
# text (bidi overrides and isolates, zero-width joiners, line/paragraph separators, BOM).
_UNSAFE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]"
)
# The same, with line ends kept: a bare CR (which lets text overwrite what came before on
# its line) is still shown, but CR LF and LF end a line as they would anyway.
_UNSAFE_KEEP_LINES = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff"
    "\ufff9-\ufffb]|\r(?!\n)"
)
# In JSON text every C0 control is escaped already (json.dumps does it); what is left raw
# inside strings (DEL, C1, the Unicode controls) becomes a \\uXXXX escape, still valid JSON.
_UNSAFE_IN_JSON = re.compile(
    "[\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]"
)


def _visible(match: re.Match[str]) -> str:
    char = match.group(0)
    code = ord(char)
    if code < 0x20:
        return "^" + chr(code + 0x40)  # caret notation: ESC → ^[, BEL → ^G
    if code == 0x7F:
        return "^?"
    if code <= 0x9F:
        return f"<{code:02x}>"  # C1: CSI (0x9b) → <9b>
    return f"<U+{code:04X}>"


def inert(text: str, *, tab_size: int | None = None, keep_newlines: bool = False) -> str:
    """`text` with every control character drawn as visible text.

    Tabs stay tabs (or are expanded to `tab_size` columns when given). With
    `keep_newlines`, LF and CR LF still end lines (multi-line text printed as such).
    """
    if text.isprintable():  # the common case, at C speed: nothing to show
        return text
    if tab_size is not None and "\t" in text:
        text = text.expandtabs(tab_size)
    return (_UNSAFE_KEEP_LINES if keep_newlines else _UNSAFE).sub(_visible, text)


def inert_json(text: str) -> str:
    """JSON text (as `json.dumps(..., ensure_ascii=False)` writes it) with the controls it
    leaves raw escaped as \\uXXXX: the same data, and nothing a terminal acts on."""
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)
