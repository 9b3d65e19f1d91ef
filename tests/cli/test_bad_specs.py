"""Every bad job spec exits 2 naming the field, never 1 (issue 16, point 9).

A property-based test: thousands of malformed specs, each a valid spec broken by one to
three mutations that each make it invalid on their own (a wrong type, a value out of range
or off its pattern, an unknown key, a missing key, a section of the wrong shape, nesting
thousands deep, a lone surrogate, an unknown dataset…), go through the real `jobtui jobs
create -` (click's CliRunner, in-process: a process per case would take minutes). Every one
must exit 2 with each mistake on its own `error: PATH: reason` line, print no traceback and
store nothing. Then the files themselves: invalid UTF-8, huge nesting, a non-object.
"""

from __future__ import annotations

import copy
import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobtui.cli import Context, cli
from jobtui.engine import Engine, JobSpec
from jobtui.engine.model.shape import field_path
from jobtui.engine.model.spec import NAME_PATTERN
from jobtui.textsafe import inert

# Examples per base spec: 2 x 1,100 = 2,200 malformed specs in all.
EXAMPLES_PER_BASE = int(os.environ.get("JOBTUI_BAD_SPEC_EXAMPLES", "1100"))

BASE_DATAGEN: dict[str, Any] = {
    "name": "orders-to-csv",
    "description": "Fresh orders for the reporting sandbox",
    "workspace": "default",
    "kind": "datagen",
    "active": True,
    "queue": "local",
    "tags": ["demo"],
    "schedule": {
        "type": "cron",
        "cron": "0 */5 * * * *",
        "timezone": "Europe/Paris",
        "start": "2026-01-01T00:00",
        "end": None,
        "max_runs": 10,
    },
    "policies": {
        "retry": {"attempts": 3, "delay": "5m"},
        "timeout": "1h",
        "overlap": "skip",
        "misfire": {"policy": "once", "cap": 10},
    },
    "alerts": {
        "emails": ["ops@example.com"],
        "on": ["failed"],
        "after_consecutive_failures": 3,
        "on_recovery": True,
    },
    "parameters": {"region": {"type": "string", "default": "eu"}},
    "datagen": {
        "datasets": ["customers", "orders"],
        "max_records": 1000,
        "randomize_records": False,
        "flush_each_record": False,
        "use_buffer": True,
        "buffer_size": 1000,
        "threads": 1,
        "seed": 42,
        "locale": "en_US",
        "replay": {"enabled": True, "keep": 3},
        "generator": {"format": "csv", "options": {"delimiter": ",", "header": True}},
        "sinks": [
            {"type": "file", "options": {"base_dir": "/tmp/out", "path": "{job}.{ext}"}},
            {"preset": "reporting"},
        ],
    },
}
BASE_COMMAND: dict[str, Any] = {
    "name": "backup",
    "kind": "command",
    "description": "",
    "schedule": {"type": "interval", "every": "10m", "timezone": "UTC"},
    "policies": {"overlap": {"policy": "allow", "max": 3}, "misfire": "all", "timeout": 90},
    "command": {
        "argv": ["backup.sh", "--full"],
        "env": {"TOKEN": "env:BACKUP_TOKEN"},
        "cwd": "/srv",
        "shell": False,
    },
}
BASES = {"datagen": BASE_DATAGEN, "command": BASE_COMMAND}
BASE_TEXTS = {name: json.dumps(base) for name, base in BASES.items()}  # copied by json.loads
DEEP = "\x00deep\x00"  # replaced by the nesting in the JSON text (json.dumps would recurse)


@dataclass
class Case:
    spec: dict[str, Any]
    data: st.DataObject
    depth: int = 0  # nesting put in place of DEEP
    root_keys: set[str] = field(default_factory=set)  # unknown keys added at the top

    def draw(self, strategy: st.SearchStrategy[Any]) -> Any:
        return self.data.draw(strategy)


Path_ = tuple[str | int, ...]


def _parent(spec: Any, path: Path_) -> Any:
    node = spec
    for key in path[:-1]:
        if (isinstance(node, dict) and key in node) or (
            isinstance(node, list) and isinstance(key, int) and key < len(node)
        ):
            node = node[key]
        else:
            return None
    last = path[-1]
    if isinstance(node, dict) and isinstance(last, str):
        return node
    if isinstance(node, list) and isinstance(last, int) and last < len(node):
        return node
    return None


def _set(case: Case, path: Path_, value: Any) -> bool:
    parent = _parent(case.spec, path)
    if parent is None:
        return False
    parent[path[-1]] = value  # type: ignore[index]
    if len(path) == 1 and isinstance(path[0], str) and path[0] not in JobSpec.model_fields:
        case.root_keys.add(path[0])
    return True


# -- values ---------------------------------------------------------------------------
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
# Nested values one level deep: enough to be the wrong shape, cheap to draw.
JSON_VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.text(max_size=6), SCALARS, max_size=3),
)
CONTAINERS = st.one_of(
    st.lists(JSON_VALUES, max_size=3), st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=3)
)
NOT_TEXT = st.one_of(
    st.integers(-(10**20), 10**20), st.floats(allow_nan=False), st.booleans(), CONTAINERS
)
# Text that no parser of names, zones, durations, dates or cron reads: a '!' in it.
JUNK_TEXT = st.one_of(
    st.text(max_size=30).map(lambda t: f"{t}!{t}"),
    st.integers(201, 6000).map(lambda n: "A" * n),  # far longer than any real value
    st.text(max_size=10).map(lambda t: f"{t}\x00\x1b]0;t\x07"),
)
NOT_INT = st.one_of(
    st.text(max_size=15).map(lambda t: t + "x"),
    st.floats().filter(lambda f: not (math.isfinite(f) and f.is_integer())),
    CONTAINERS,
)
NOT_BOOL = st.one_of(
    st.text(max_size=15).map(lambda t: t + "#"),
    st.integers().filter(lambda i: i not in (0, 1)),
    st.floats().filter(lambda f: f not in (0.0, 1.0)),
    CONTAINERS,
    st.none(),
)


def _out_of(lo: int | None, hi: int | None) -> st.SearchStrategy[int]:
    options = []
    if lo is not None:
        options.append(st.integers(lo - 10**12, lo - 1))
    if hi is not None:
        options.append(st.integers(hi + 1, hi + 10**12))
    return st.one_of(*options)


# -- mutations: each alone makes a valid spec invalid ------------------------------------
Mutation = Callable[[Case], bool]


def bad_int(path: Path_, lo: int | None, hi: int | None, optional: bool = False) -> Mutation:
    values = st.one_of(_out_of(lo, hi), NOT_INT, *([] if optional else [st.none()]))
    return lambda case: _set(case, path, case.draw(values))


def bad_bool(path: Path_) -> Mutation:
    return lambda case: _set(case, path, case.draw(NOT_BOOL))


def bad_text(path: Path_, optional: bool = False, ruled: bool = True) -> Mutation:
    """Not text at all; or, for a field with a rule (a pattern, a parser), junk text."""
    values = st.one_of(
        NOT_TEXT, *([] if optional else [st.none()]), *([JUNK_TEXT] if ruled else [])
    )
    return lambda case: _set(case, path, case.draw(values))


def bad_name(path: Path_) -> Mutation:
    values = st.one_of(st.text(max_size=120).filter(lambda t: not NAME_PATTERN.match(t)), NOT_TEXT)
    return lambda case: _set(case, path, case.draw(values))


def bad_choice(path: Path_, choices: tuple[str, ...], objects: bool = True) -> Mutation:
    """A word off the list, or no word at all (`objects`: an object is no choice either;
    overlap and misfire take one)."""
    values = st.one_of(
        st.text(max_size=12).filter(lambda t: t not in choices),
        NOT_TEXT if objects else NOT_TEXT.filter(lambda v: not isinstance(v, dict)),
        st.none(),
    )
    return lambda case: _set(case, path, case.draw(values))


def bad_duration(path: Path_, positive: bool) -> Mutation:
    numbers = st.floats(max_value=0.0 if positive else -1e-9, allow_nan=False) | st.just(math.nan)
    values = st.one_of(JUNK_TEXT, numbers, CONTAINERS, st.booleans())
    return lambda case: _set(case, path, case.draw(values))


def unknown_key(path: Path_, known: set[str]) -> Mutation:
    # Not "-", which reads like the file name stdin gets in messages ("-: reason").
    keys = st.text(min_size=1, max_size=80).filter(lambda k: k not in known and k != "-")

    def apply(case: Case) -> bool:
        return _set(case, (*path, case.draw(keys)), case.draw(JSON_VALUES))

    return apply


def remove(path: Path_) -> Mutation:
    def apply(case: Case) -> bool:
        parent = _parent(case.spec, path)
        if not isinstance(parent, dict):
            return False
        parent.pop(path[-1], None)
        return True

    return apply


def wrong_shape(path: Path_, values: st.SearchStrategy[Any]) -> Mutation:
    return lambda case: _set(case, path, case.draw(values))


def too_deep(path: Path_) -> Mutation:
    def apply(case: Case) -> bool:
        case.depth = case.draw(st.integers(51, 4000))
        return _set(case, path, DEEP)

    return apply


def lone_surrogate(path: Path_) -> Mutation:
    values = st.tuples(st.text(max_size=5), st.sampled_from(["\ud800", "\udfff", "\udc9b"]))
    return lambda case: _set(case, path, "".join(case.draw(values)))


NOT_OBJECT = st.one_of(SCALARS.filter(lambda v: v is not None), st.lists(JSON_VALUES, max_size=2))
NOT_LIST = st.one_of(SCALARS, st.dictionaries(st.text(max_size=4), SCALARS, max_size=2))

COMMON: list[Mutation] = [
    bad_name(("name",)),
    bad_name(("workspace",)),
    bad_text(("queue",)),
    bad_text(("description",), ruled=False),
    bad_bool(("active",)),
    bad_choice(("kind",), ("datagen", "command")),
    remove(("name",)),
    unknown_key((), set(JobSpec.model_fields)),
    wrong_shape(("tags",), NOT_LIST),
    wrong_shape(("tags",), st.lists(JUNK_TEXT | NOT_TEXT, min_size=1, max_size=2)),
    wrong_shape(("schedule",), NOT_OBJECT),
    bad_choice(("schedule", "type"), ("once", "cron", "interval", "random", "window")),
    bad_text(("schedule", "timezone"), optional=True),
    bad_int(("schedule", "max_runs"), 1, None, optional=True),
    wrong_shape(("policies",), NOT_OBJECT | st.none()),
    bad_choice(("policies", "overlap"), ("skip", "queue", "allow"), objects=False),
    wrong_shape(
        ("policies", "overlap"),
        st.fixed_dictionaries({"policy": st.just("allow"), "max": _out_of(1, 100)}),
    ),
    bad_choice(("policies", "misfire"), ("skip", "once", "all"), objects=False),
    bad_duration(("policies", "timeout"), positive=True),
    unknown_key(("policies",), {"retry", "timeout", "overlap", "misfire"}),
    wrong_shape(("parameters",), NOT_OBJECT | st.none()),
    too_deep(("description",)),
    lone_surrogate(("description",)),
    lone_surrogate(("name",)),
]
DATAGEN_ONLY: list[Mutation] = [
    bad_int(("datagen", "max_records"), 1, 10_000_000_000),
    bad_int(("datagen", "buffer_size"), 1, 1_000_000),
    bad_int(("datagen", "threads"), 1, 64),
    bad_int(("datagen", "replay", "keep"), 1, 1000),
    bad_int(("policies", "retry", "attempts"), 0, 100),
    bad_int(("policies", "misfire", "cap"), 1, 10_000),
    bad_int(("alerts", "after_consecutive_failures"), 1, 1000),
    bad_bool(("datagen", "use_buffer")),
    bad_bool(("datagen", "replay", "enabled")),
    bad_bool(("alerts", "on_recovery")),
    bad_text(("datagen", "locale")),
    bad_text(("schedule", "cron")),
    bad_text(("schedule", "start"), optional=True),
    bad_text(("alerts", "emails", 0)),
    bad_duration(("policies", "retry", "delay"), positive=False),
    bad_choice(("datagen", "generator", "format"), ("jsonl", "json", "csv", "sql", "xml")),
    bad_choice(("datagen", "sinks", 0, "type"), ("console", "file", "sqlite", "http", "postgres")),
    bad_choice(
        ("alerts", "on", 0),
        (
            "succeeded",
            "partially_succeeded",
            "failed",
            "cancelled",
            "interrupted",
            "missed",
            "skipped",
        ),
    ),
    bad_choice(
        ("parameters", "region", "type"),
        ("string", "integer", "number", "boolean", "date", "choice"),
    ),
    wrong_shape(
        ("datagen", "generator", "options", "delimiter"),
        NOT_TEXT | st.none() | st.text(min_size=2, max_size=5) | st.just(""),
    ),
    bad_text(("datagen", "sinks", 1, "preset")),
    wrong_shape(("datagen", "datasets"), NOT_LIST | st.just([])),
    wrong_shape(("datagen", "datasets", 0), NOT_TEXT | st.text(max_size=20).map(lambda t: t + "?")),
    wrong_shape(("datagen", "datasets", 1), st.just("customers")),  # twice
    wrong_shape(("datagen", "sinks"), NOT_LIST | st.just([])),
    wrong_shape(("datagen", "sinks", 0), st.just({"type": "console", "preset": "reporting"})),
    wrong_shape(("datagen",), NOT_OBJECT | st.none()),
    wrong_shape(("datagen", "generator"), NOT_OBJECT),
    wrong_shape(("datagen", "replay"), NOT_OBJECT),
    wrong_shape(("policies", "retry"), NOT_OBJECT),
    wrong_shape(("alerts",), NOT_OBJECT | st.none()),
    wrong_shape(("command",), st.just({"argv": ["true"]})),  # a command on a datagen job
    remove(("datagen", "datasets")),
    remove(("datagen", "sinks")),
    remove(("schedule", "type")),
    remove(("schedule", "cron")),
    unknown_key(
        ("datagen",),
        {
            "datasets",
            "max_records",
            "randomize_records",
            "flush_each_record",
            "use_buffer",
            "buffer_size",
            "threads",
            "seed",
            "locale",
            "replay",
            "generator",
            "sinks",
        },
    ),
    unknown_key(
        ("datagen", "generator", "options"),
        {"delimiter", "header", "quoting", "quotechar", "line_terminator"},
    ),
    unknown_key(
        ("datagen", "sinks", 0, "options"), {"base_dir", "path", "compression", "overwrite"}
    ),
    unknown_key(("schedule",), {"type", "cron", "timezone", "start", "end", "max_runs"}),
    unknown_key(("alerts",), {"emails", "on", "after_consecutive_failures", "on_recovery"}),
    unknown_key(
        ("parameters", "region"), {"type", "default", "choices", "required", "description"}
    ),
    too_deep(("parameters", "region", "default")),
    too_deep(("datagen", "generator", "options")),
    lone_surrogate(("datagen", "sinks", 0, "options", "path")),
    lone_surrogate(("parameters", "region", "default")),
]
COMMAND_ONLY: list[Mutation] = [
    bad_text(("command", "argv", 0), ruled=False),
    wrong_shape(("command", "argv", 0), st.sampled_from(["", "  "])),
    wrong_shape(("command", "argv"), NOT_LIST | st.just([])),
    wrong_shape(("command", "env"), NOT_OBJECT),
    wrong_shape(
        ("command", "env"),
        st.dictionaries(
            st.text(max_size=8).map(lambda k: k + "-"), st.text(max_size=4), min_size=1, max_size=2
        ),
    ),
    wrong_shape(("command", "env", "TOKEN"), NOT_TEXT | st.none()),
    bad_text(("command", "cwd"), optional=True, ruled=False),
    bad_bool(("command", "shell")),
    wrong_shape(("command",), NOT_OBJECT | st.none()),
    wrong_shape(("datagen",), st.just({"datasets": ["users"], "sinks": [{"type": "console"}]})),
    remove(("command",)),
    remove(("command", "argv")),
    remove(("schedule", "every")),
    bad_duration(("schedule", "every"), positive=True),
    wrong_shape(
        ("policies", "misfire"),
        st.fixed_dictionaries({"policy": st.just("all"), "cap": _out_of(1, 10_000)}),
    ),
    unknown_key(("command",), {"argv", "env", "cwd", "shell"}),
    unknown_key(("policies", "overlap"), {"policy", "max"}),
    too_deep(("command", "argv")),
    lone_surrogate(("command", "argv", 0)),
    lone_surrogate(("command", "env", "TOKEN")),
]
MUTATIONS = {"datagen": COMMON + DATAGEN_ONLY, "command": COMMON + COMMAND_ONLY}


def spec_text(case: Case) -> str:
    text = json.dumps(case.spec)
    if case.depth:
        text = text.replace(json.dumps(DEEP), "[" * case.depth + "]" * case.depth)
    return text


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    eng = Engine.open(data_dir=tmp_path_factory.mktemp("bad-specs") / "data")
    eng.save_preset({"name": "reporting", "type": "console", "options": {}})
    yield eng
    eng.close()


def create(engine: Engine, text: str | bytes) -> Any:
    """`jobtui jobs create -` with `text` on stdin, on the engine already open."""
    return CliRunner().invoke(
        cli, ["jobs", "create", "-"], input=text, obj=Context(None, None, _engine=engine)
    )


def assert_refused_naming_fields(result: Any, case: Case, text: str) -> None:
    shown = f"spec: {text[:400]!r}\nstdout: {result.stdout!r}\nstderr: {result.stderr!r}"
    assert result.exit_code == 2, shown
    assert result.exception is None or isinstance(result.exception, SystemExit), shown
    assert result.stdout == "", shown
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, shown
    lines = result.stderr.splitlines()
    assert lines, shown
    # A path starts at a key of the spec (one it has, or an unknown one it was given).
    roots = [inert(field_path((k,))) for k in (*JobSpec.model_fields, *case.root_keys)]
    for line in lines:
        assert line.startswith("error: "), f"{line!r}\n{shown}"
        rest = line.removeprefix("error: ").removeprefix("-: ")  # "-": the file, stdin
        assert any(rest.startswith(root + sep) for root in roots for sep in (": ", ".", "[")), (
            f"no field path in {line!r}\n{shown}"
        )


def test_the_bases_are_valid(engine: Engine) -> None:
    for base in BASES.values():
        _, found = engine.validate_spec(copy.deepcopy(base))
        assert found == []


@pytest.mark.parametrize("base", sorted(BASES))
@settings(
    max_examples=EXAMPLES_PER_BASE,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
@given(data=st.data())
def test_every_malformed_spec_exits_2_naming_its_fields(
    engine: Engine, base: str, data: st.DataObject
) -> None:
    case = Case(json.loads(BASE_TEXTS[base]), data)
    mutations = data.draw(st.lists(st.sampled_from(MUTATIONS[base]), min_size=1, max_size=3))
    assert mutations[0](case), "the first mutation applies to the base as it is"
    for mutation in mutations[1:]:
        mutation(case)
    text = spec_text(case)
    changes = engine.store.conn.total_changes
    result = create(engine, text)
    assert_refused_naming_fields(result, case, text)
    assert engine.store.conn.total_changes == changes, "a refused spec stored something"


# -- the files themselves -------------------------------------------------------------------
def test_files_that_are_not_a_spec_exit_2_naming_the_file(engine: Engine, tmp_path: Path) -> None:
    runner = CliRunner()
    obj = Context(None, None, _engine=engine)
    changes = engine.store.conn.total_changes
    cases = {
        b'{"name": "caf\xe9"}': "not UTF-8 text (byte 0xe9 on line 1)",
        b'{"name": "x",\n"description": "\xff"}': "not UTF-8 text (byte 0xff on line 2)",
        b"[" * 3000 + b"]" * 3000: "[0][0][0][0]…: nests deeper than 50 levels",
        b'{"name": "x", "parameters": {"p": {"default": ' + b"[" * 3000 + b"]" * 3000 + b"}}}": (
            "parameters.p.default[0]…: nests deeper than 50 levels"
        ),
        b'{"a": ' * 5000 + b"1" + b"}" * 5000: "a.a.a.a…: nests deeper than 50 levels",
        b"[1, 2]": "expected one job spec object",
        b'"a job"': "expected one job spec object",
        b"null": "expected one job spec object",
        b'{"name": "x", "seed": '
        + b"9" * 5000
        + b"}": "not valid JSON (a number too long to read)",
        b'{"name": "x\\ud800"}': "name: 'x\\ud800' is not valid Unicode text",
        b'{"name": ': "not valid JSON (Expecting value at line 1)",
    }
    for i, (content, message) in enumerate(cases.items()):
        path = tmp_path / f"spec{i}.json"
        path.write_bytes(content)
        result = runner.invoke(cli, ["jobs", "create", str(path)], obj=obj)
        assert result.exit_code == 2, (content[:60], result.output)
        assert result.stderr == f"error: {path}: {message}\n"
        piped = runner.invoke(cli, ["jobs", "create", "-"], input=content, obj=obj)
        assert piped.exit_code == 2 and piped.stderr == f"error: -: {message}\n"
    assert engine.store.conn.total_changes == changes


def test_the_issue_s_examples_exit_2_with_short_messages(engine: Engine) -> None:
    spec = copy.deepcopy(BASE_DATAGEN)
    spec["datagen"]["generator"]["format"] = {"x": 1}
    spec["schedule"]["timezone"] = "A" * 5000
    result = create(engine, json.dumps(spec))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: schedule.timezone: unknown timezone "
        f"'{'A' * 57}…' (5,000 characters) (use an IANA name like Europe/Paris)",
        "error: datagen.generator.format: must be one of 'jsonl', 'json', 'csv', 'sql', 'xml', "
        "'parquet', 'avro', 'excel' or 'template'",
    ]
    assert "tzdata" not in result.stderr and "site-packages" not in result.stderr
