"""Jobs through the facade: create, list, status, versions, trash, duplicate, presets."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from jobtui.engine import Conflict, Engine, InvalidInput, JobStatus, NotFound, SpecError
from tests.conftest import datagen_spec


def spec(tmp_path: Path, name: str, **extra: Any) -> dict[str, Any]:
    return datagen_spec(name, tmp_path / "out", **extra)


def table_counts(engine: Engine) -> dict[str, int]:
    return {
        t: engine.store.query_one(f"SELECT COUNT(*) FROM {t}")[0]  # type: ignore[index]
        for t in ("jobs", "job_versions", "workspaces", "runs")
    }


def test_create_and_get(engine: Engine, tmp_path: Path) -> None:
    job = engine.create_job(spec(tmp_path, "alpha", description="first", tags=["x", "y"]))
    assert job.qualified_name == "default/alpha"
    assert job.version == 1
    assert job.status is JobStatus.NEVER_RUN
    assert job.tags == ("x", "y")
    assert engine.get_job("alpha").spec == spec(
        tmp_path, "alpha", description="first", tags=["x", "y"]
    )
    assert engine.get_job("default/alpha").id == job.id
    assert engine.get_job(job.id).name == "alpha"


def test_bad_spec_stores_nothing(engine: Engine, tmp_path: Path) -> None:
    before = table_counts(engine)
    with pytest.raises(SpecError) as caught:
        engine.create_job(
            {
                "name": "",
                "workspace": "new-space",
                "datagen": {"datasets": ["nope"], "max_records": 0, "sinks": [{"type": "console"}]},
            }
        )
    paths = {e.path for e in caught.value.errors}
    assert paths == {"name", "datagen.datasets[0]", "datagen.max_records"}
    assert table_counts(engine) == before


def test_names_are_unique_per_workspace(engine: Engine, tmp_path: Path) -> None:
    engine.create_job(spec(tmp_path, "same"))
    with pytest.raises(SpecError, match="exists already"):
        engine.create_job(spec(tmp_path, "same"))
    engine.create_job(spec(tmp_path, "same", workspace="other"))
    with pytest.raises(NotFound, match="several jobs"):
        engine.get_job("same")
    assert engine.get_job("other/same").workspace == "other"


def test_status_is_derived_from_schedule_activity_and_last_run(
    engine: Engine, tmp_path: Path
) -> None:
    manual = engine.create_job(spec(tmp_path, "manual"))
    cron = engine.create_job(
        spec(tmp_path, "cron", schedule={"type": "cron", "cron": "*/5 * * * *"})
    )
    paused = engine.create_job(spec(tmp_path, "paused", active=False))
    assert engine.get_job(manual.id).status is JobStatus.NEVER_RUN
    assert engine.get_job(cron.id).status is JobStatus.SCHEDULED
    assert engine.get_job(paused.id).status is JobStatus.PAUSED

    def add_run(job_id: int, state: str) -> int:
        cur = engine.store.execute(
            "INSERT INTO runs (job_id, job_version, trigger, state, queued_at) "
            "VALUES (?, 1, 'manual', ?, ?)",
            (job_id, state, time.time()),
        )
        return int(cur.lastrowid or 0)

    run_id = add_run(manual.id, "running")
    assert engine.get_job(manual.id).status is JobStatus.RUNNING
    engine.store.execute("UPDATE runs SET state = 'failed', records = 7 WHERE id = ?", (run_id,))
    job = engine.get_job(manual.id)
    assert job.status is JobStatus.FAILED
    assert job.last_run is not None and job.last_run.records == 7
    # A skipped or missed fire is history, not status.
    add_run(manual.id, "skipped")
    assert engine.get_job(manual.id).status is JobStatus.FAILED
    add_run(cron.id, "succeeded")
    assert engine.get_job(cron.id).status is JobStatus.SCHEDULED
    add_run(manual.id, "succeeded")
    assert engine.get_job(manual.id).status is JobStatus.SUCCEEDED
    engine.store.execute("UPDATE jobs SET expired = 1 WHERE id = ?", (cron.id,))
    assert engine.get_job(cron.id).status is JobStatus.EXPIRED


def test_list_search_filter_sort_and_counts(engine: Engine, tmp_path: Path) -> None:
    engine.create_job(spec(tmp_path, "billing-export", description="monthly invoices"))
    engine.create_job(spec(tmp_path, "users-feed", tags=["crm"]))
    engine.create_job(spec(tmp_path, "zeta", active=False, workspace="ops"))
    engine.create_job(spec(tmp_path, "sys-prune"), system=True)

    names = [j.name for j in engine.list_jobs()]
    assert names == ["billing-export", "users-feed", "zeta"]
    assert [j.name for j in engine.list_jobs(search="invoice")] == ["billing-export"]
    assert [j.name for j in engine.list_jobs(search="crm")] == ["users-feed"]
    assert [j.name for j in engine.list_jobs(search="%")] == []  # LIKE wildcards are literal
    assert [j.name for j in engine.list_jobs(statuses=["paused"])] == ["zeta"]
    assert [j.name for j in engine.list_jobs(workspace="ops")] == ["zeta"]
    assert next(j.name for j in engine.list_jobs(sort="name", descending=True)) == "zeta"
    assert "sys-prune" in [j.name for j in engine.list_jobs(include_system=True)]
    assert engine.count_jobs() == 3
    counts = engine.status_counts()
    assert counts[JobStatus.NEVER_RUN] == 2 and counts[JobStatus.PAUSED] == 1
    assert [j.name for j in engine.list_jobs(limit=1, offset=1)] == ["users-feed"]
    with pytest.raises(InvalidInput, match="sort"):
        engine.list_jobs(sort="name; DROP TABLE jobs")


def test_versions_rollback_star_diff(engine: Engine, tmp_path: Path) -> None:
    original = spec(tmp_path, "v")
    engine.create_job(original, "first cut")
    changed = json.loads(json.dumps(original))
    changed["datagen"]["max_records"] = 500
    job = engine.update_job("v", changed, "more records")
    assert job.version == 2
    assert engine.update_job("v", changed, "no change").version == 2  # nothing new stored
    versions = engine.list_versions("v")
    assert [(v.version, v.note) for v in versions] == [(2, "more records"), (1, "first cut")]
    assert versions[0].author

    diff = engine.diff_versions("v", 1, 2)
    assert '-    "max_records": 10' in diff and '+    "max_records": 500' in diff

    rolled = engine.rollback_job("v", 1)
    assert rolled.version == 3
    assert engine.get_job("v").spec == original
    assert engine.list_versions("v")[0].note == "rolled back to version 1"
    with pytest.raises(InvalidInput, match="current definition"):
        engine.rollback_job("v", 3)

    assert engine.star_version("v", 2).starred
    assert [v.version for v in engine.list_versions("v") if v.starred] == [2]
    with pytest.raises(NotFound):
        engine.star_version("v", 99)


def test_apply_creates_then_versions(engine: Engine, tmp_path: Path) -> None:
    _job, what = engine.apply_job(spec(tmp_path, "ap"))
    assert what == "created"
    again, what = engine.apply_job(spec(tmp_path, "ap"))
    assert what == "unchanged" and again.version == 1
    changed, what = engine.apply_job(spec(tmp_path, "ap", description="d"), note="desc")
    assert what == "updated" and changed.version == 2


def test_import_export_round_trip(engine: Engine, tmp_path: Path) -> None:
    specs = [
        spec(tmp_path, "one", schedule={"type": "interval", "every": "10m"}, tags=["a"]),
        {
            "name": "two",
            "kind": "command",
            "workspace": "ops",
            "command": {"argv": ["echo", "hi"], "env": {"TOKEN": "env:T"}},
        },
    ]
    engine.import_jobs(specs)
    exported = sorted(engine.export_jobs(), key=lambda s: s["name"])
    assert exported == sorted(specs, key=lambda s: s["name"])


def test_import_is_all_or_nothing(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        engine.import_jobs([spec(tmp_path, "good"), {"name": "bad", "kind": "command"}])
    assert [e.path for e in caught.value.errors] == ["[1].command"]
    assert engine.count_jobs() == 0


def test_pause_resume_are_state_not_versions(engine: Engine, tmp_path: Path) -> None:
    engine.create_job(spec(tmp_path, "p"))
    paused = engine.pause_job("p")
    assert paused.status is JobStatus.PAUSED and not paused.active
    assert paused.version == 1 and engine.export_job("p")["active"] is False
    job = engine.resume_job("p")
    assert job.active and job.version == 1
    assert [v.note for v in engine.list_versions("p")] == ["created"]
    # A spec that differs only in its active flag is state too (jobs apply, the wizard).
    data = dict(engine.export_job("p"), active=False)
    assert engine.update_job("p", data, "pause by spec").version == 1
    assert engine.get_job("p").status is JobStatus.PAUSED
    assert engine.apply_job(dict(data, active=True))[1] == "updated"  # resumed, still v1
    assert engine.get_job("p").active and engine.get_job("p").version == 1


def test_rollback_keeps_the_active_state(engine: Engine, tmp_path: Path) -> None:
    engine.create_job(spec(tmp_path, "r"))  # v1, active
    engine.update_job("r", spec(tmp_path, "r", description="v2"))
    engine.pause_job("r")
    rolled = engine.rollback_job("r", 1)
    # A rollback restores a definition; pausing or resuming stays the user's call.
    assert rolled.version == 3 and rolled.description != "v2"
    assert not rolled.active and rolled.status is JobStatus.PAUSED
    engine.resume_job("r")
    # An old version stored paused (before pause was state) does not pause the job either.
    old_paused = dict(spec(tmp_path, "r", description="v4"), active=False)
    engine.update_job("r", old_paused, "paused edit")  # v4, paused
    engine.resume_job("r")
    assert engine.rollback_job("r", 1).version == 5
    back = engine.rollback_job("r", 4)
    assert back.version == 6 and back.description == "v4" and back.active


def test_duplicate_has_a_fresh_history(engine: Engine, tmp_path: Path) -> None:
    engine.create_job(spec(tmp_path, "src"))
    engine.update_job("src", spec(tmp_path, "src", description="v2"))
    copy = engine.duplicate_job("src", "copy")
    assert copy.version == 1
    assert copy.spec["description"] == "v2"
    assert len(engine.list_versions("copy")) == 1
    with pytest.raises(SpecError, match="exists already"):
        engine.duplicate_job("src", "copy")


def test_delete_to_trash_and_restore(engine: Engine, tmp_path: Path) -> None:
    job = engine.create_job(spec(tmp_path, "t"))
    engine.store.execute(
        "INSERT INTO runs (job_id, job_version, trigger, state, queued_at) "
        "VALUES (?, 1, 'manual', 'succeeded', 1)",
        (job.id,),
    )
    engine.delete_job("t")
    assert engine.list_jobs() == []
    assert [j.name for j in engine.list_trash()] == ["t"]
    with pytest.raises(NotFound):
        engine.get_job("t")
    restored = engine.restore_job("t")
    assert restored.last_run is not None  # history came back
    engine.delete_job("t")
    engine.create_job(spec(tmp_path, "t"))
    with pytest.raises(Conflict, match="rename it first"):
        engine.restore_job(job.id)


def test_purge_removes_history_at_once(engine: Engine, tmp_path: Path) -> None:
    job = engine.create_job(spec(tmp_path, "gone"))
    engine.delete_job("gone", purge=True)
    assert engine.store.query_one("SELECT 1 FROM jobs WHERE id = ?", (job.id,)) is None
    assert engine.store.query_one("SELECT 1 FROM job_versions WHERE job_id = ?", (job.id,)) is None


def test_trash_is_purged_after_seven_days(
    clocked_engine: Engine, clock: Any, tmp_path: Path
) -> None:
    clocked_engine.create_job(spec(tmp_path, "old"))
    clocked_engine.delete_job("old")
    clock.advance(6 * 86400)
    assert clocked_engine.purge_trash() == 0
    clock.advance(2 * 86400)
    assert clocked_engine.purge_trash() == 1
    assert clocked_engine.list_trash() == []


def test_workspaces(engine: Engine, tmp_path: Path) -> None:
    engine.create_workspace("team")
    with pytest.raises(Conflict):
        engine.create_workspace("team")
    engine.create_job(spec(tmp_path, "w", workspace="team"))
    engine.rename_workspace("team", "squad")
    assert engine.get_job("w").workspace == "squad"
    assert engine.get_job("w").spec["workspace"] == "squad"
    assert {w.name: w.job_count for w in engine.list_workspaces()} == {"default": 0, "squad": 1}


def test_sink_presets_mask_secrets_and_refuse_deletion_in_use(
    engine: Engine, tmp_path: Path
) -> None:
    engine.save_preset(
        {"name": "pg", "type": "postgres", "options": {"dsn": "env:PG_DSN", "table": "t"}}
    )
    engine.save_preset(
        {
            "name": "hook",
            "type": "http",
            "options": {"url": "https://h.example", "headers": {"X-Api-Key": "env:KEY"}},
        }
    )
    assert engine.get_preset("pg").options["dsn"] == "env:PG_DSN"
    with pytest.raises(SpecError, match="password in clear"):
        engine.save_preset(
            {"name": "bad", "type": "postgres", "options": {"dsn": "postgresql://u:pw@h/db"}}
        )
    with pytest.raises(Conflict):
        engine.save_preset({"name": "pg", "type": "console"})
    engine.create_job(
        spec(tmp_path, "uses-pg", datagen={"datasets": ["users"], "sinks": [{"preset": "pg"}]})
    )
    with pytest.raises(Conflict, match="default/uses-pg"):
        engine.delete_preset("pg")
    engine.delete_preset("hook")
    assert [p.name for p in engine.list_presets()] == ["pg"]
    assert engine.resolve_sink({"preset": "pg"})["type"] == "postgres"


def test_demo_seed_only_on_an_empty_database(engine: Engine) -> None:
    count = engine.seed_demo()
    assert count >= 5
    kinds = {
        j.spec.get("schedule", {}).get("type") if j.spec.get("schedule") else None
        for j in (engine.get_job(s.id) for s in engine.list_jobs())
    }
    assert {None, "cron", "interval", "random", "window", "once"} <= kinds
    assert engine.seed_demo() == 0
