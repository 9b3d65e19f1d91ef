"""Job spec validation: every mistake at once, each with its field path and reason."""

from __future__ import annotations

from typing import Any

import pytest

from jobtui.engine.model.cron import CronError, describe_cron, parse_cron
from jobtui.engine.model.durations import parse_duration
from jobtui.engine.model.spec import validate_spec

DATASETS = {"users", "customers", "orders"}


def errors(data: Any, **known: Any) -> dict[str, str]:
    known.setdefault("known_datasets", DATASETS)
    spec, found = validate_spec(data, **known)
    assert spec is None or not found
    return {e.path: e.message for e in found}


def minimal(**extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "j",
        "datagen": {"datasets": ["users"], "sinks": [{"type": "console"}]},
    }
    spec.update(extra)
    return spec


def test_minimal_specs_of_each_kind_are_valid() -> None:
    assert errors(minimal()) == {}
    assert errors({"name": "c", "kind": "command", "command": {"argv": ["true"]}}) == {}


def test_the_full_design_example_is_valid() -> None:
    spec = {
        "name": "orders-to-csv",
        "description": "Fresh orders",
        "workspace": "default",
        "kind": "datagen",
        "active": True,
        "queue": "local",
        "tags": ["demo"],
        "schedule": {
            "type": "cron",
            "cron": "0 */5 * * * *",
            "timezone": "Europe/Paris",
            "start": None,
            "end": None,
            "max_runs": None,
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
                {
                    "type": "file",
                    "options": {"base_dir": "~/jobtui-out", "path": "{job}/{dataset}-{ts}.{ext}"},
                },
                {"preset": "reporting-postgres"},
            ],
        },
        "command": None,
    }
    assert errors(spec, known_presets={"reporting-postgres"}) == {}


def test_several_mistakes_are_all_named_with_paths() -> None:
    found = errors(
        {
            "name": "",
            "kind": "datagen",
            "schedule": {"type": "cron", "cron": "61 * * * *"},
            "datagen": {
                "datasets": ["no-such-dataset"],
                "max_records": -5,
                "generator": {"format": "csv"},
                "sinks": [{"type": "file", "options": {"path": "../../etc/{run}.{ext}"}}],
            },
            "surprise": 1,
        }
    )
    assert found == {
        "name": "must not be empty",
        "surprise": "unknown key",
        "schedule.cron": "minute 61 is out of range 0-59",
        "datagen.max_records": "must be at least 1",
        "datagen.datasets[0]": "no dataset named 'no-such-dataset'",
        "datagen.sinks[0].options.path": (
            "'../../etc/{run}.{ext}' leads outside the base directory '~/jobtui-out'"
        ),
    }


@pytest.mark.parametrize(
    ("schedule", "path", "fragment"),
    [
        ({"type": "hourly"}, "schedule.type", "must be one of"),
        ({"type": "interval", "every": "soon"}, "schedule.every", "not a duration"),
        ({"type": "interval", "every": "0s"}, "schedule.every", "longer than zero"),
        (
            {"type": "random", "min_delay": "1h", "max_delay": "5m"},
            "schedule.max_delay",
            "not be shorter",
        ),
        (
            {"type": "window", "from_time": "18:00", "to_time": "08:00"},
            "schedule.to_time",
            "after from_time",
        ),
        ({"type": "window", "weekdays": ["mon", "funday"]}, "schedule.weekdays[1]", "one of"),
        ({"type": "window", "from_date": "2026-13-01"}, "schedule.from_date", "not a date"),
        ({"type": "once", "at": "tomorrow"}, "schedule.at", "not a date-time"),
        ({"type": "cron", "cron": "* * *"}, "schedule.cron", "has 3 fields"),
        ({"type": "cron", "cron": "0 0 25 * * ?"}, "schedule.cron", "hour 25"),
        (
            {"type": "cron", "cron": "*/5 * * * *", "timezone": "Mars/Base"},
            "schedule.timezone",
            "unknown timezone",
        ),
        ({"type": "cron", "cron": "*/5 * * * *", "max_runs": 0}, "schedule.max_runs", "at least 1"),
        (
            {
                "type": "interval",
                "every": "5m",
                "start": "2026-01-02T00:00",
                "end": "2026-01-01T00:00",
            },
            "schedule.end",
            "after start",
        ),
        ({"type": "interval", "every": "5m", "extra": 1}, "schedule.extra", "unknown key"),
    ],
)
def test_schedule_mistakes(schedule: dict[str, Any], path: str, fragment: str) -> None:
    found = errors(minimal(schedule=schedule))
    assert path in found, found
    assert fragment in found[path]


def test_each_schedule_kind_is_accepted() -> None:
    for schedule in [
        {"type": "once", "at": None, "expires": "30m", "retry_every": "5m"},
        {"type": "once", "at": "2026-12-01T08:00"},
        {"type": "cron", "cron": "*/5 * * * *"},
        {"type": "cron", "cron": "0 0 12 ? * MON-FRI"},
        {"type": "cron", "cron": "0 0 0 ? * 6#3 2030"},
        {"type": "interval", "every": "10m"},
        {"type": "random", "min_delay": "10m", "max_delay": "60m"},
        {
            "type": "window",
            "from_date": "2026-12-01",
            "to_date": "2026-12-24",
            "from_time": "08:00",
            "to_time": "18:00",
            "weekdays": ["mon", "tue", "wed", "thu", "fri"],
            "retry_every": "5m",
        },
    ]:
        assert errors(minimal(schedule=schedule)) == {}, schedule


def test_policies_alerts_parameters_mistakes() -> None:
    found = errors(
        minimal(
            policies={
                "retry": {"attempts": -1},
                "timeout": "forever",
                "overlap": "sometimes",
                "misfire": {"policy": "all", "cap": 0},
            },
            alerts={"emails": ["not-an-email"], "on": ["exploded"]},
            parameters={"n": {"type": "integer", "default": "many"}, "c": {"type": "choice"}},
        )
    )
    assert found["policies.retry.attempts"] == "must be at least 0"
    assert "not a duration" in found["policies.timeout"]
    assert "policies.overlap" in found
    assert found["policies.misfire.cap"] == "must be at least 1"
    assert "not an email" in found["alerts.emails"]
    assert "alerts.on[0]" in found
    assert "not a integer" in found["parameters.n"] or "integer" in found["parameters.n"]
    assert "choices" in found["parameters.c.choices"]


def test_overlap_allow_up_to_n() -> None:
    assert errors(minimal(policies={"overlap": {"policy": "allow", "max": 3}})) == {}


def test_kind_sections_must_match() -> None:
    assert errors({"name": "c", "kind": "command"}) == {"command": "is required for a command job"}
    found = errors({"name": "d", "kind": "datagen", "command": {"argv": ["x"]}})
    assert found["datagen"] == "is required for a datagen job"
    assert found["command"] == "only a command job has a command"
    # Left out, kind is datagen: the message says what to add.
    found = errors({"name": "e", "command": {"argv": ["x"]}})
    assert found["command"] == 'only a command job has a command (add "kind": "command")'


def test_datagen_mistakes_name_their_fields() -> None:
    found = errors(
        {
            "name": "j",
            "datagen": {
                "datasets": [],
                "buffer_size": 0,
                "threads": 0,
                "locale": "xx_YY",
                "generator": {"format": "csv", "options": {"delimiter": ";;", "bogus": 1}},
                "sinks": [
                    {
                        "type": "http",
                        "options": {"url": "ftp://x", "headers": {"Authorization": "Bearer abc"}},
                    },
                    {"type": "postgres", "options": {"dsn": "postgresql://u:secret@h/db"}},
                    {"preset": "missing"},
                    {},
                ],
            },
        },
        known_presets=set(),
    )
    assert found["datagen.datasets"] == "needs at least 1 item(s)"
    assert found["datagen.buffer_size"] == "must be at least 1"
    assert found["datagen.threads"] == "must be at least 1"
    assert "unknown locale" in found["datagen.locale"]
    assert found["datagen.generator.options.delimiter"] == "must be exactly one character"
    assert found["datagen.generator.options.bogus"] == "unknown key"
    assert "http://" in found["datagen.sinks[0].options.url"]
    assert "env:NAME" in found["datagen.sinks[0].options.headers"]
    assert "password in clear" in found["datagen.sinks[1].options.dsn"]
    assert found["datagen.sinks[2].preset"] == "no sink preset named 'missing'"
    assert "either type" in found["datagen.sinks[3]"]


def test_secret_references_are_accepted() -> None:
    assert (
        errors(
            minimal(
                datagen={
                    "datasets": ["users"],
                    "sinks": [
                        {"type": "postgres", "options": {"dsn": "env:PG_DSN"}},
                        {
                            "type": "http",
                            "options": {
                                "url": "https://x.example",
                                "headers": {"Authorization": "file:/run/token"},
                            },
                        },
                    ],
                }
            )
        )
        == {}
    )


def test_http_timeout_and_backoff_take_a_duration_or_seconds() -> None:
    def http_errors(**options: object) -> dict[str, str]:
        sink = {"type": "http", "options": {"url": "https://x.example", **options}}
        return errors(minimal(datagen={"datasets": ["users"], "sinks": [sink]}))

    assert http_errors(timeout=1.5, backoff=0) == {}
    assert http_errors(timeout="2m", backoff="500ms") == {}
    found = http_errors(timeout=0, backoff=[1])
    assert found["datagen.sinks[0].options.timeout"] == "must be longer than zero"
    assert "number of seconds" in found["datagen.sinks[0].options.backoff"]


def test_not_an_object() -> None:
    assert errors([1, 2]) == {"": "a job spec must be a JSON object"}


class TestCron:
    def test_unix_and_quartz(self) -> None:
        assert not parse_cron("*/5 * * * *").has_seconds
        quartz = parse_cron("*/2 * * * * *")
        assert quartz.has_seconds

    def test_quartz_weekdays_start_at_sunday_1(self) -> None:
        # Quartz 2-6 is Monday to Friday; croniter counts from Sunday = 0.
        assert parse_cron("0 0 12 ? * 2-6").croniter_text.endswith("1-5")
        assert "Monday through Friday" in describe_cron("0 0 12 ? * 2-6")

    @pytest.mark.parametrize(
        ("expr", "fragment"),
        [
            ("61 * * * *", "minute 61 is out of range 0-59"),
            ("* 24 * * *", "hour 24 is out of range 0-23"),
            ("* * 0 * *", "day of month 0 is out of range 1-31"),
            ("* * * 13 *", "month 13 is out of range 1-12"),
            ("0 0 12 ? * 6#7", "week number"),
            ("0 ? * * *", "'?' is only allowed"),
            ("*/0 * * * *", "positive whole number"),
            ("", "must not be empty"),
        ],
    )
    def test_refusals_say_why(self, expr: str, fragment: str) -> None:
        with pytest.raises(CronError, match=fragment.replace("?", r"\?").replace("*", r"\*")):
            parse_cron(expr)

    def test_in_words(self) -> None:
        assert describe_cron("*/2 * * * * *") == "Every 2 seconds"
        assert describe_cron("30 3 * * *") == "At 03:30"


def test_durations() -> None:
    assert parse_duration("90s") == 90
    assert parse_duration("5m") == 300
    assert parse_duration("1h30m") == 5400
    assert parse_duration(12) == 12
    with pytest.raises(ValueError):
        parse_duration("5 parsecs")


def test_overlap_and_misfire_take_the_word_or_the_object() -> None:
    from jobtui.engine.model.spec import validate_spec as check

    for policies in (
        {"overlap": "allow", "misfire": "once"},
        {"overlap": {"policy": "allow"}, "misfire": {"policy": "once"}},
    ):
        spec, found = check(minimal(policies=policies), known_datasets=DATASETS)
        assert found == [] and spec is not None
        # allow without max: no limit; the misfire word keeps the default cap.
        assert (spec.policies.overlap_policy.policy, spec.policies.overlap_policy.max) == (
            "allow",
            None,
        )
        assert (spec.policies.misfire.policy, spec.policies.misfire.cap) == ("once", 10)
    found = errors(minimal(policies={"overlap": "often", "misfire": ["all"]}))
    assert found == {
        "policies.overlap": 'must be one of skip, queue, allow, or an object such as {"policy": "allow", "max": 3}',
        "policies.misfire": 'must be one of skip, once, all, or an object such as {"policy": "all", "cap": 10}',
    }
    # Only the object's own mistake, not the word form's as well.
    assert errors(minimal(policies={"overlap": {"policy": "allow", "max": 0}})) == {
        "policies.overlap.max": "must be at least 1"
    }


def test_offending_values_are_shortened_and_keys_named_as_given() -> None:
    found = errors(
        minimal(
            schedule={"type": "interval", "every": "5m", "timezone": "Z" * 5000},
            str={"a": 1},  # a key named like a type is still a key
            tags=["x" * 300],
            policies={"timeout": "9" * 300 + "!"},
        )
    )
    assert found["schedule.timezone"] == (
        f"unknown timezone '{'Z' * 57}…' (5,000 characters) (use an IANA name like Europe/Paris)"
    )
    assert found["str"] == "unknown key"
    assert found["tags"].startswith(f"tag '{'x' * 57}…' (300 characters): use up to 40")
    assert found["policies.timeout"].startswith(f"'{'9' * 57}…' (301 characters) is not a duration")
    assert all(len(message) < 200 for message in found.values())


def test_specs_that_crashed_validation_are_refused_with_their_field() -> None:
    spec = minimal()
    spec["datagen"]["generator"] = {"format": {"x": 1}}
    spec["datagen"]["sinks"] = [{"type": ["file"]}]
    found = errors(spec)
    assert found["datagen.generator.format"].startswith("must be one of 'jsonl'")
    assert found["datagen.sinks[0].type"].startswith("must be one of 'console'")
    # A time zone name the file system refuses (too long, a directory, a NUL).
    for zone in ("A" * 5000, "Europe", "Europe/\x00Paris", "../../../etc/passwd"):
        found = errors(minimal(schedule={"type": "interval", "every": "5m", "timezone": zone}))
        assert found["schedule.timezone"].startswith("unknown timezone"), zone
        assert "zoneinfo" not in found["schedule.timezone"]
    # Durations that are no number of seconds.
    for value in (True, float("nan"), float("inf"), "nan", "1e400s", "inf"):
        found = errors(minimal(policies={"timeout": value}))
        assert "policies.timeout" in found, value
    # Nesting and text no JSON file can hold as Python data.
    deep: list[object] = []
    node = deep
    for _ in range(5000):
        node.append([])
        node = node[0]  # type: ignore[assignment]
    assert errors(minimal(description=deep)) == {
        "description[0][0][0]…": "nests deeper than 50 levels"
    }
    assert errors(minimal(description="caf\udce9")) == {
        "description": "'caf\\udce9' is not valid Unicode text"
    }
