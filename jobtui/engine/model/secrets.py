"""Secret references (`env:NAME`, `file:PATH`): resolved only at run time, never stored.

Every value a reference resolves to is remembered in the process that resolved it (a run's
worker), and `redact` replaces it by MASK in whatever the run stores: log lines, errors,
results (run/context.py applies it), as well as the password of any `user:pass@` URL and
secret-looking query parameters. A resolved value is checked (`resolve_checked`) without
ever printing it: a `file:` reference that names the wrong file must not put the file's
contents into an error.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jobtui.engine.model.errors import InvalidInput

_REFERENCE = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$")
MASK = "••••••"
# Set by the supervisor in a worker's environment: who started it ("the daemon (pid 12)").
STARTED_BY_VARIABLE = "JOBTUI_STARTED_BY"


def is_secret_reference(value: Any) -> bool:
    return isinstance(value, str) and bool(_REFERENCE.match(value))


def resolve_secret(value: str, *, field: str = "secret") -> str:
    """The clear value behind a reference (remembered for `redact`); a non-reference is
    returned unchanged."""
    if not is_secret_reference(value):
        return value
    resolved = _resolve(value, field)
    remember_secret(resolved)
    return resolved


def _resolve(value: str, field: str) -> str:
    kind, _, name = value.partition(":")
    if kind == "env":
        if name not in os.environ:
            # A worker's environment is its supervisor's: say whose, since a variable set
            # in the shell that typed `jobtui run` does not reach a run the daemon starts.
            whose = os.environ.get(STARTED_BY_VARIABLE)
            where = f" in the environment of {whose}, which started this run" if whose else ""
            raise InvalidInput(f"{field}: environment variable {name} is not set{where}")
        return os.environ[name]
    path = Path(name).expanduser()
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise InvalidInput(f"{field}: cannot read {path}: {exc.strerror}") from None


def mask_secrets(value: Any) -> Any:
    """A copy with every reference shown as the reference and every clear secret masked."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(item, str) and _looks_secret_key(key) and not is_secret_reference(item):
                out[key] = MASK
            else:
                out[key] = mask_secrets(item)
        return out
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return value


def _looks_secret_key(key: str) -> bool:
    return bool(re.search(r"password|secret|token|authorization|api[-_]?key|cookie", key, re.I))


# -- redaction -------------------------------------------------------------------------
# Shorter values are not masked everywhere they occur (a 1-3 character "secret" would
# blank out ordinary text: every "ab" in every log line). They are masked where they stand
# as a whole value: the whole text, or a token right after `=` or `: ` (`TOKEN=ab`,
# `password: ab`), and, whatever their length, as a URL's password or a secret query value.
MIN_REDACTED = 4
_resolved: set[str] = set()
_short: set[str] = set()
_short_pattern: re.Pattern[str] | None = None
_resolved_lock = threading.Lock()
_resolved_values: tuple[str, ...] = ()
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)([^\s/@:]*):([^\s/@]+)@")
# Every name _QUERY_SECRET knows ends in one of these (with its `=`).
_QUERY_KEYS = ("pass", "pwd=", "secret=", "token=", "key=", "auth=", "sig=", "signature=")
_QUERY_SECRET = re.compile(
    r"(?i)([?&;](?:password|passwd|pwd|secret|token|access_token|api[-_]?key|apikey|auth|"
    r"signature|sig|key)=)([^&;\s#\"']+)"
)


def remember_secret(value: str) -> None:
    """Mask `value` (and each of its lines) in everything `redact` sees from now on."""
    global _resolved_values
    global _short_pattern
    parts = {value.strip(), *(line.strip() for line in value.splitlines())}
    short = {p for p in parts if 0 < len(p) < MIN_REDACTED} - _short
    if short:
        with _resolved_lock:
            _short.update(short)
            alternatives = "|".join(re.escape(p) for p in sorted(_short, key=len, reverse=True))
            _short_pattern = re.compile(rf"(?:(?<==)|(?<=: ))(?:{alternatives})(?!\w)")
    new = {p for p in parts if len(p) >= MIN_REDACTED} - _resolved
    if not new:
        return
    with _resolved_lock:
        _resolved.update(new)
        _resolved_values = tuple(sorted(_resolved, key=len, reverse=True))  # longest first


def forget_secrets() -> None:
    """Forget every remembered value (tests; a process that runs several runs)."""
    global _resolved_values, _short_pattern
    with _resolved_lock:
        _resolved.clear()
        _resolved_values = ()
        _short.clear()
        _short_pattern = None


def redact(text: str) -> str:
    """`text` with every resolved secret value, URL password and secret query value
    replaced by MASK. Cheap substring tests decide whether any rewriting is needed: it
    runs on every log line of every run."""
    for value in _resolved_values:
        if value in text:
            text = text.replace(value, MASK)
    if _short_pattern is not None:
        if text.strip() in _short:
            return MASK
        text = _short_pattern.sub(MASK, text)
    if "@" in text and "://" in text:
        text = _URL_USERINFO.sub(lambda m: f"{m.group(1)}{m.group(2)}:{MASK}@", text)
    if "=" in text:
        low = text.lower()
        if any(key in low for key in _QUERY_KEYS):
            text = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}{MASK}", text)
    return text


def redact_value(value: Any) -> Any:
    """`redact` applied to every string inside `value` (dicts, lists)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    return value


class RedactedStream:
    """A text stream that writes `redact(text)`: a worker's stderr (its `workers/run-N.log`:
    tracebacks, warnings, a library's own logging) and the daemon's log (issue 16)."""

    def __init__(self, stream: Any):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(redact(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:  # flush, fileno, isatty, encoding, …
        return getattr(self._stream, name)


class RedactingFormatter(logging.Formatter):
    """A log formatter whose records (message, arguments and traceback) are redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def redact_stderr() -> None:
    """From now on, whatever this process writes to sys.stderr is redacted."""
    if not isinstance(sys.stderr, RedactedStream) and sys.stderr is not None:
        sys.stderr = RedactedStream(sys.stderr)  # type: ignore[assignment]


# -- checked resolution ------------------------------------------------------------------
def _printable_line(text: str) -> bool:
    return bool(text) and not any(ord(c) < 32 or ord(c) == 127 for c in text)


def resolve_checked(
    value: str, *, field: str, check: Callable[[str], str | None], what: str
) -> str:
    """Resolve `value` and check it: `check(resolved)` returns why it is wrong, or None.
    The error names the reference (or the redacted clear value), never a resolved value."""
    resolved = resolve_secret(value, field=field)
    problem = check(resolved)
    if problem is not None:
        shown = f"the value of {value}" if is_secret_reference(value) else repr(redact(value))
        raise InvalidInput(f"{field}: {shown} is not {what} ({problem})")
    return resolved


def url_check(*schemes: str, host: bool = True) -> Callable[[str], str | None]:
    """A `check` for `resolve_checked`: one line, a URL of one of `schemes`."""

    def check(text: str) -> str | None:
        if not _printable_line(text) or any(c.isspace() for c in text):
            return "it holds spaces or control characters"
        try:
            parts = urlsplit(text)
        except ValueError:
            return "it cannot be read as a URL"
        if parts.scheme.lower() not in schemes:
            return f"the scheme must be {' or '.join(schemes)}"
        if host and not parts.hostname:
            return "it names no host"
        return None

    return check


def line_check(text: str) -> str | None:
    """A `check` for `resolve_checked`: one line of printable characters."""
    return None if _printable_line(text) else "it is empty or holds control characters"
