"""Counts without scans (issue 18): the per-status counters the triggers keep agree with a
scan of the jobs after every kind of change, the trigram search finds what LIKE finds,
and the page's sparklines come from one query."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from jobtui.engine import Engine, JobStatus
from jobtui.engine.run import lifecycle
from tests.conftest import datagen_spec

SEARCHES = ["", "bil", "BILL", "ling-", "in", "%", "_x", 'a"b', "crm", "zz", "invoices"]


def scanned(engine: Engine, **q: Any) -> tuple[int, dict[JobStatus, int]]:
    """What the counters must say, counted the old way: a scan of the live jobs."""
    rows = engine.list_jobs(**q)
    counts = dict.fromkeys(JobStatus, 0)
    for job in rows:
        counts[job.status] += 1
    return len(rows), counts


def assert_counts_agree(engine: Engine) -> None:
    for search, workspace, system in itertools.product(SEARCHES, (None, "ops"), (False, True)):
        q: dict[str, Any] = {"search": search or None, "workspace": workspace}
        q["include_system"] = system
        total, counts = scanned(engine, **q)
        assert engine.count_jobs(**q) == total, q
        assert engine.status_counts(**q) == counts, q
        for status in (JobStatus.PAUSED, JobStatus.SUCCEEDED, JobStatus.NEVER_RUN):
            assert engine.count_jobs(**q, statuses=[status.value]) == counts[status], (q, status)


def run_to(engine: Engine, name: str, state: str) -> int:
    run = engine.queue_run(name)
    lifecycle.claim(engine.store, run.id, engine.now())
    engine.store.execute(
        "UPDATE runs SET state = ?, ended_at = ? WHERE id = ?", (state, engine.now(), run.id)
    )
    return run.id


def test_counters_follow_every_change_of_a_jobs_status(engine: Engine, tmp_path: Path) -> None:
    out = tmp_path / "out"
    engine.create_job(datagen_spec("billing-export", out, description="monthly invoices"))
    engine.create_job(datagen_spec("users-feed", out, tags=["crm"]))
    engine.create_job(datagen_spec("zeta", out, active=False, workspace="ops"))
    engine.create_job(datagen_spec("a-b", out, description='quote " in it'))
    engine.create_job(datagen_spec("sys-prune", out), system=True)
    assert_counts_agree(engine)
    run_id = run_to(engine, "billing-export", "succeeded")  # never_run -> succeeded
    run_to(engine, "users-feed", "failed")
    assert engine.status_counts()[JobStatus.SUCCEEDED] == 1
    assert_counts_agree(engine)
    engine.set_active("users-feed", False)  # -> paused
    engine.store.execute("UPDATE jobs SET expired = 1 WHERE name = 'a-b'")  # the daemon's flag
    assert_counts_agree(engine)
    engine.update_job("billing-export", datagen_spec("billing-export", out, description="x"))
    engine.delete_job("zeta")  # to the trash: counted there, not in the list
    assert engine.count_jobs(workspace="ops") == 0
    assert_counts_agree(engine)
    engine.restore_job("zeta")
    engine.delete_job("a-b", purge=True)  # gone for good
    engine.store.execute("DELETE FROM runs WHERE id = ?", (run_id,))  # retention
    assert_counts_agree(engine)
    engine.rename_workspace("ops", "operations")
    assert engine.count_jobs(workspace="operations") == 1
    # The counters hold no stale rows below zero, whatever happened.
    assert engine.store.query_one("SELECT MIN(n) FROM job_counts")[0] >= 0  # type: ignore[index]


def test_search_by_trigram_finds_exactly_what_like_finds(engine: Engine, tmp_path: Path) -> None:
    out = tmp_path / "out"
    for name in ["billing-export", "BILLING-import", "users", "pill"]:
        engine.create_job(datagen_spec(name, out))
    engine.create_job(datagen_spec("accent", out, description="Bíll and BÍLL"))
    found = [j.name for j in engine.list_jobs(search="bill")]
    # LIKE's rule: ASCII case folds, other letters do not ("Bíll" has no "bill").
    assert found == ["billing-export", "BILLING-import"]
    assert [j.name for j in engine.list_jobs(search="íll")] == ["accent"]
    assert [j.name for j in engine.list_jobs(search="ÍLL")] == ["accent"]
    short = [j.name for j in engine.list_jobs(search="ll")]  # no trigram: a scan
    assert short == ["accent", "billing-export", "BILLING-import", "pill"]
    engine.update_job("users", datagen_spec("users", out, description="billed monthly"))
    assert "users" in [j.name for j in engine.list_jobs(search="billed")]


def test_sparklines_of_a_page_in_one_query(engine: Engine, tmp_path: Path) -> None:
    out = tmp_path / "out"
    for name in ("a", "b", "c"):
        engine.create_job(datagen_spec(name, out))
    states = ["succeeded", "failed", "succeeded", "cancelled"]
    for state in states:
        run_to(engine, "a", state)
    run_to(engine, "b", "failed")
    ids = {j.name: j.id for j in engine.list_jobs()}
    queries: list[str] = []
    engine.store.conn.set_trace_callback(queries.append)
    try:
        sparks = engine.recent_run_states(list(ids.values()), per_job=3)
    finally:
        engine.store.conn.set_trace_callback(None)
    assert sparks == {ids["a"]: states[-3:], ids["b"]: ["failed"], ids["c"]: []}
    assert len([q for q in queries if q.lstrip().upper().startswith("SELECT")]) == 1


def test_a_search_counts_up_to_a_cap_and_pages_the_same_either_way(
    engine: Engine, tmp_path: Path, monkeypatch: Any
) -> None:
    """A filter keystroke at 100k jobs (issue 18): with `cap`, a search counts at most cap + 1
    matches (per status: lower bounds among them); under the cap the figures are exact; a
    page sorted by name is the same whether the name index is walked or the matches sorted."""
    from jobtui.engine.store import jobs as job_rows

    out = tmp_path / "out"
    for i in range(12):
        engine.create_job(datagen_spec(f"Billing-{i:02d}", out, active=i % 3 != 0))
    engine.create_job(datagen_spec("users", out, description="no bills here"))
    engine.create_job(datagen_spec("orders", out, workspace="ops", tags=["billing"]))
    assert engine.count_jobs(search="billing") == 13
    assert engine.count_jobs(search="billing", cap=5) == 6  # "5+"
    capped = engine.status_counts(search="billing", cap=5)
    exact = engine.status_counts(search="billing")
    assert sum(capped.values()) == 6
    assert all(capped[s] <= exact[s] for s in JobStatus)
    for q in ({"search": "billing"}, {"search": "bil", "workspace": "ops"}, {"search": "bi"}):
        assert engine.count_jobs(**q, cap=100) == engine.count_jobs(**q)
        assert engine.status_counts(**q, cap=100) == engine.status_counts(**q)
        assert engine.count_jobs(**q, statuses=["paused"], cap=100) == engine.count_jobs(
            **q, statuses=["paused"]
        )
    sorted_pages = [
        [j.name for j in engine.list_jobs(search="billing", limit=5, offset=o, descending=d)]
        for o in (0, 5, 10)
        for d in (False, True)
    ]
    monkeypatch.setattr(job_rows, "WALK_FROM", 3)  # 13 candidates: the name index is walked
    walked = [
        [j.name for j in engine.list_jobs(search="billing", limit=5, offset=o, descending=d)]
        for o in (0, 5, 10)
        for d in (False, True)
    ]
    assert walked == sorted_pages
    assert sorted_pages[0] == ["Billing-00", "Billing-01", "Billing-02", "Billing-03", "Billing-04"]
    assert sorted_pages[5] == ["Billing-02", "Billing-01", "Billing-00"]
    paused = engine.list_jobs(search="billing", statuses=["paused"], limit=10)
    assert [j.name for j in paused] == ["Billing-00", "Billing-03", "Billing-06", "Billing-09"]


def test_the_list_sorted_by_last_run_reads_an_index_not_a_sort_of_every_job(
    engine: Engine, tmp_path: Path
) -> None:
    """Sorted by last run, newest first (the direction flips both keys: never-run jobs
    lead), the list comes in that order and SQLite walks `jobs_last_run` for it rather
    than sorting all jobs (25 ms at 100k)."""
    out = tmp_path / "out"
    for name in ("a", "b", "c"):
        engine.create_job(datagen_spec(name, out))
    for name in ("b", "a"):
        run_to(engine, name, "succeeded")
    queries: list[str] = []
    engine.store.conn.set_trace_callback(queries.append)
    try:
        rows = engine.list_jobs(limit=100, sort="last_run", descending=True)
    finally:
        engine.store.conn.set_trace_callback(None)
    assert [j.name for j in rows] == ["c", "a", "b"]
    listing = next(q for q in queries if "ORDER BY" in q and "last_run_started_at" in q)
    plan = " / ".join(str(r[3]) for r in engine.store.query("EXPLAIN QUERY PLAN " + listing))
    assert "USING INDEX jobs_last_run" in plan, plan
    assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan
