"""Transformers: select, drop, rename, filter, set, constant, dedupe and python.

Expressions (`filter`, `set`) are Jinja2 expressions run in its immutable sandbox: never
`eval`, no attribute that starts with `_`, no method that changes a value, `range` capped;
`*` and `**` are checked so an expression cannot build a huge value, and there are no loops,
so evaluation is bounded. A record's fields are variables (`amount > 10`), the whole record
is `record` (`record["unit price"]`). A record a transformer cannot handle becomes a dead
letter naming the transformer and the field.
"""

from __future__ import annotations

import importlib
import operator
from collections.abc import Callable
from typing import Any

from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.pipeline.chunks import Bad, Chunk, OnBad

MAX_REPEAT = 100_000  # a string or list times an integer: at most this many items
MAX_EXPONENT = 1000


def environment() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Bounded(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
            if operator_ == "**":
                if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                    raise ValueError(f"exponent {right} is too large (at most {MAX_EXPONENT})")
                return left**right
            for seq, n in ((left, right), (right, left)):
                sized = isinstance(seq, str | list | tuple) and isinstance(n, int)
                if sized and len(seq) * n > MAX_REPEAT:
                    raise ValueError(f"the result would exceed {MAX_REPEAT} items")
            return operator.mul(left, right)

    return Bounded(undefined=StrictUndefined)


def _undefined_name(exc: Exception) -> str:
    return str(exc).replace("'", "")


class Transformer:
    def __init__(self, index: int, kind: str, options: dict[str, Any]):
        self.index = index
        self.kind = kind
        self.options = options
        self.label = f"transformers[{index}] ({kind})"

    def apply(self, chunk: Chunk, on_bad: OnBad) -> Chunk:
        out: list[dict[str, Any]] = []
        positions: list[Any] = []
        for i, record in enumerate(chunk.records):
            try:
                result = self.one(record)
            except _FieldError as exc:
                on_bad(
                    Bad(
                        chunk.where,
                        chunk.position(i),
                        f"{self.label} field {exc.field}: {exc.reason}",
                        record,
                        "transformer",
                    )
                )
                continue
            except Exception as exc:
                on_bad(
                    Bad(
                        chunk.where,
                        chunk.position(i),
                        f"{self.label}: {type(exc).__name__}: {exc}",
                        record,
                        "transformer",
                    )
                )
                continue
            if result is None:
                continue
            if isinstance(result, dict):
                out.append(result)
                positions.append(chunk.position(i))
            else:
                for item in result:
                    out.append(item)
                    positions.append(chunk.position(i))
        return Chunk(out, chunk.where, positions)

    def one(self, record: dict[str, Any]) -> dict[str, Any] | list[dict[str, Any]] | None:
        raise NotImplementedError


class _FieldError(Exception):
    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class Select(Transformer):
    def one(self, record: dict[str, Any]) -> dict[str, Any]:
        return {f: record.get(f) for f in self.options["fields"]}


class Drop(Transformer):
    def one(self, record: dict[str, Any]) -> dict[str, Any]:
        drop = self.options["fields"]
        return {k: v for k, v in record.items() if k not in drop}


class Rename(Transformer):
    def one(self, record: dict[str, Any]) -> dict[str, Any]:
        names = self.options["fields"]
        return {names.get(k, k): v for k, v in record.items()}


class Constant(Transformer):
    def one(self, record: dict[str, Any]) -> dict[str, Any]:
        return {**record, **self.options["fields"]}


class Dedupe(Transformer):
    def __init__(self, index: int, kind: str, options: dict[str, Any]):
        super().__init__(index, kind, options)
        self.seen: set[tuple[Any, ...]] = set()
        self.full = False

    def one(self, record: dict[str, Any]) -> dict[str, Any] | None:
        key = tuple(_hashable(record.get(k)) for k in self.options["key"])
        if key in self.seen:
            return None
        if len(self.seen) < self.options.get("max_keys", 10_000_000):
            self.seen.add(key)
        return record


def _hashable(value: Any) -> Any:
    if isinstance(value, dict | list):
        import orjson

        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    return value


class _Expressions(Transformer):
    def compile(self, text: str) -> Callable[..., Any]:
        compiled: Callable[..., Any] = environment().compile_expression(text)
        return compiled

    def evaluate(self, expr: Callable[..., Any], record: dict[str, Any], field: str) -> Any:
        from jinja2 import UndefinedError
        from jinja2.exceptions import SecurityError

        try:
            return expr(record, record=record)
        except UndefinedError as exc:
            raise _FieldError(field, _undefined_name(exc)) from None
        except SecurityError as exc:
            raise _FieldError(field, f"not allowed: {exc}") from None
        except Exception as exc:
            raise _FieldError(field, f"{type(exc).__name__}: {exc}") from None


class Filter(_Expressions):
    def __init__(self, index: int, kind: str, options: dict[str, Any]):
        super().__init__(index, kind, options)
        self.expr = self.compile(options["expr"])

    def one(self, record: dict[str, Any]) -> dict[str, Any] | None:
        return record if self.evaluate(self.expr, record, "expr") else None


class SetFields(_Expressions):
    def __init__(self, index: int, kind: str, options: dict[str, Any]):
        super().__init__(index, kind, options)
        self.exprs = [(name, self.compile(text)) for name, text in options["fields"].items()]

    def one(self, record: dict[str, Any]) -> dict[str, Any]:
        out = dict(record)
        for name, expr in self.exprs:
            out[name] = self.evaluate(expr, out, name)
        return out


class PythonFunction(Transformer):
    def __init__(self, index: int, kind: str, options: dict[str, Any]):
        super().__init__(index, kind, options)
        self.function = load_function(options["function"], self.label)

    def one(self, record: dict[str, Any]) -> Any:
        result = self.function(record)
        if result is None or isinstance(result, dict):
            return result
        if isinstance(result, list | tuple) and all(isinstance(r, dict) for r in result):
            return list(result)
        raise TypeError(f"returned {type(result).__name__}, not a record, a list or None")


def load_function(path: str, label: str) -> Callable[[dict[str, Any]], Any]:
    module_name, _, name = path.rpartition(":") if ":" in path else path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise InvalidInput(f"{label}: cannot import {module_name}: {exc}") from None
    function = getattr(module, name, None)
    if not callable(function):
        raise InvalidInput(f"{label}: {module_name} has no function {name}")
    return function  # type: ignore[no-any-return]


KINDS: dict[str, type[Transformer]] = {
    "select": Select,
    "drop": Drop,
    "rename": Rename,
    "filter": Filter,
    "set": SetFields,
    "constant": Constant,
    "dedupe": Dedupe,
    "python": PythonFunction,
}


def make_transformers(specs: list[dict[str, Any]]) -> list[Transformer]:
    return [
        KINDS[s["type"]](i, s["type"], dict(s.get("options") or {})) for i, s in enumerate(specs)
    ]


def transform(chunk: Chunk, transformers: list[Transformer], on_bad: OnBad) -> Chunk:
    for t in transformers:
        if not chunk.records:
            break
        chunk = t.apply(chunk, on_bad)
    return chunk
