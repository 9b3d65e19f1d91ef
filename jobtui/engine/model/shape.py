"""The shape any document read from a user must have, and how values are quoted back.

A JSON document nests at most `MAX_NESTING` levels (a real job spec goes 6 deep; thousands
exhaust the interpreter's stack in the parser or in validation) and holds only valid
Unicode text. Values quoted in messages are shortened (`brief`). No I/O.
"""

from __future__ import annotations

import json
import re
from typing import Any

from jobtui.engine.model.errors import FieldError

MAX_NESTING = 50
# Offending values are quoted in messages up to this many characters.
SHOWN_CHARS = 60
# No IANA zone name, duration or cron expression is longer: longer text is refused before
# it reaches the parser (a 5,000-character zone name made the file system refuse the path).
MAX_TOKEN_CHARS = 200


def field_path(loc: tuple[int | str, ...] | list[int | str]) -> str:
    """A location as the dotted path messages show: `datagen.sinks[0].options.path`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = str(part)
            if len(name) > SHOWN_CHARS:  # a key is an offending value too
                name = f"{name[: SHOWN_CHARS - 1]}…"
            out += ("." if out else "") + name
    return out


def _deep_path(loc: tuple[int | str, ...] | list[int | str]) -> str:
    """Where a too-deep part starts: its first levels, enough to find it."""
    return field_path(list(loc)[:4]) + "…"


def brief(value: Any) -> str:
    """A value as quoted in a message: its repr (control characters escaped), shortened
    when long, with its full length."""
    text = repr(value)
    if len(text) <= SHOWN_CHARS:
        return text
    if isinstance(value, str):
        return _cut_quoted(text, len(value))
    return f"{text[: SHOWN_CHARS - 1]}… (a {type(value).__name__})"


def _cut_quoted(quoted: str, size: int) -> str:
    """A quoted value cut to SHOWN_CHARS, still between its quotes, with its length."""
    return f"{quoted[: SHOWN_CHARS - 2]}…{quoted[0]} ({size:,} characters)"


# A value quoted in a message by a validator elsewhere (sink and format options, cron): an
# opening quote comes after a space or a bracket, not after a word (a closing quote).
_QUOTED = re.compile(
    "|".join(rf"(?<![^\s(\[{{=,:]){q}(?:[^{q}\\]|\\.){{{SHOWN_CHARS},}}{q}" for q in ("'", '"'))
)


def shorten_quoted(message: str) -> str:
    """Long quoted values in `message` cut the way `brief` cuts them."""
    return _QUOTED.sub(lambda m: _cut_quoted(m.group(0), len(m.group(0)) - 2), message)


def shape_problem(data: Any, limit: int = MAX_NESTING) -> FieldError | None:
    """The first place where a document nests deeper than `limit` or holds text that is
    not valid Unicode (a lone surrogate, which JSON's \\ud800 can spell), else None.
    Walks without recursion, so any depth is safe."""
    if _looks_fine(data, limit):
        return None
    stack: list[tuple[Any, tuple[int | str, ...]]] = [(data, ())]
    while stack:
        value, loc = stack.pop()
        if isinstance(value, dict | list) and len(loc) >= limit:
            return FieldError(_deep_path(loc), f"nests deeper than {limit} levels")
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and not _valid_text(key):
                    return FieldError(field_path(loc), f"key {brief(key)}: is not valid Unicode")
                stack.append((item, (*loc, str(key))))
        elif isinstance(value, list):
            stack.extend((item, (*loc, i)) for i, item in enumerate(value))
        elif isinstance(value, str) and not _valid_text(value):
            return FieldError(field_path(loc), f"{brief(value)} is not valid Unicode text")
    return None


def _looks_fine(data: Any, limit: int) -> bool:
    """The quick check of every document: its depth (containers only, no paths kept), then
    its text at C speed (a lone surrogate cannot be encoded). False: find where, slowly."""
    level: list[Any] = [data] if isinstance(data, dict | list) else []
    for _ in range(limit):
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
        if not level:
            break
    else:
        return False
    try:
        json.dumps(data, ensure_ascii=False, default=str).encode("utf-8")
    except (UnicodeEncodeError, TypeError, ValueError):
        return False
    return True


def _valid_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# The parts of JSON text that open, close or name a level: strings, brackets, ':' and ','.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},:]')


def json_nesting_problem(text: str, limit: int = MAX_NESTING) -> FieldError | None:
    """Where JSON text nests deeper than `limit`, found before parsing it: Python's parser
    recurses once per level and fails with RecursionError near a thousand."""
    if text.count("[") + text.count("{") < limit:
        return None  # the common case: not even that many brackets
    # Each open level: its key or index so far (None: an object before its first key).
    stack: list[list[Any]] = []
    last_string = ""
    for match in _JSON_TOKEN.finditer(text):
        token = match.group(0)
        if token[0] == '"':
            last_string = token
        elif token in "[{":
            if len(stack) >= limit:
                return FieldError(
                    _deep_path([p for _, p in stack]), f"nests deeper than {limit} levels"
                )
            stack.append(["list", 0] if token == "[" else ["object", ""])
        elif token in "]}":
            if stack:
                stack.pop()
        elif token == ":" and stack and stack[-1][0] == "object":
            stack[-1][1] = _key(last_string)
        elif token == "," and stack and stack[-1][0] == "list":
            stack[-1][1] += 1
    return None


def _key(token: str) -> str:
    try:
        return str(json.loads(token))
    except ValueError:
        return token.strip('"')
