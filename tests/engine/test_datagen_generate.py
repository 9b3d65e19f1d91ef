"""The generator: same seed same bytes (1 or 2 processes, any batch size), references that
resolve, nullable / unique / weights honoured, realistic values."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jobtui.engine.datagen import parallel
from jobtui.engine.datagen.builtins import BUILTIN_DATASETS
from jobtui.engine.datagen.formats import make_encoder
from jobtui.engine.datagen.generate import DatasetGenerator, Permutation, record_count
from jobtui.engine.datagen.parallel import (
    SLOT_SIZE,
    GeneratorProcesses,
    chunk_args,
    make_pool,
    parallel_chunks,
)
from jobtui.engine.datagen.spool import SPOOL_PREFIX, sweep_spools
from jobtui.engine.model.errors import InvalidInput

ALL = list(BUILTIN_DATASETS.values())


def output(name: str, count: int, seed: int, batch: int = 1000, fmt: str = "jsonl") -> bytes:
    gen = DatasetGenerator(ALL, seed=seed)
    enc = make_encoder(fmt, {}, BUILTIN_DATASETS[name])
    parts = [enc.header()]
    parts += [enc.encode(b) for b in gen.batches(name, count, batch)]
    parts.append(enc.footer())
    return b"".join(parts)


def records(spec_fields: list[dict[str, Any]], n: int, seed: int = 1) -> list[dict[str, Any]]:
    gen = DatasetGenerator([{"name": "t", "fields": spec_fields}], seed=seed)
    return [r for b in gen.batches("t", n, 700) for r in b]


@pytest.mark.parametrize("name", sorted(BUILTIN_DATASETS))
def test_same_seed_same_bytes_whatever_the_batch_size(name: str) -> None:
    a = output(name, 1300, seed=11, batch=1000)
    assert a == output(name, 1300, seed=11, batch=1000)
    assert a == output(name, 1300, seed=11, batch=333)
    assert a != output(name, 1300, seed=12)
    assert a.count(b"\n") == 1300


def test_a_sample_is_the_start_of_the_run() -> None:
    full = DatasetGenerator(ALL, seed=5)
    head = next(iter(full.batches("users", 3000, 1000)))[:5]
    assert DatasetGenerator(ALL, seed=5).sample("users", 5) == head


@pytest.mark.parametrize("processes", [2, 3])
def test_several_processes_give_the_same_bytes_as_one(processes: int) -> None:
    """Also the end of the run, where every batch is given out and the one awaited is the
    last helper's (with 3 processes the caller once spun there forever: `stop` ends that
    here, and the bytes then fall short)."""
    deadline = time.monotonic() + 60

    def overdue() -> bool:
        return time.monotonic() > deadline

    single = output("users", 6000, seed=3, batch=1000)
    enc = make_encoder("jsonl", {}, BUILTIN_DATASETS["users"])
    base = chunk_args([BUILTIN_DATASETS["users"]], 3, "en_US", "users", 6000)
    parts = [data for data, _, _, _ in parallel_chunks(base, 500, processes, stop=overdue)]
    assert enc.header() + b"".join(parts) + enc.footer() == single
    json_single = output("orders", 2500, seed=3, batch=1000, fmt="json")
    enc = make_encoder("json", {}, BUILTIN_DATASETS["orders"])
    base = chunk_args(ALL, 3, "en_US", "orders", 2500, fmt="json", counts={"customers": 2500})
    parts = [data for data, _, _, _ in parallel_chunks(base, 250, processes, stop=overdue)]
    enc.advance(2500)
    assert enc.header() + b"".join(parts) + enc.footer() == json_single


def test_users_look_real() -> None:
    rows = DatasetGenerator(ALL, seed=1).sample("users", 500)
    emails = [r["email"] for r in rows]
    assert len(set(emails)) == 500
    assert all(re.match(r"^[a-z0-9._]+@[a-z0-9.-]+\.[a-z]+$", e) for e in emails)
    assert all(" " in r["name"] and r["name"][0].isupper() for r in rows)
    assert all("\n" in r["address"] for r in rows)
    assert len({r["name"] for r in rows}) > 450
    assert all(
        re.match(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", r["id"])
        for r in rows
    )
    assert all(18 <= r["age"] <= 90 for r in rows)
    assert all("2018-01-01" <= r["signup_date"] <= "2025-12-31" for r in rows)


def test_references_point_at_existing_records() -> None:
    gen = DatasetGenerator(ALL, seed=9)
    customers = [r for b in gen.batches("customers", 300, 100) for r in b]
    orders = [r for b in gen.batches("orders", 2000, 500) for r in b]
    payments = [r for b in gen.batches("payments", 1000, 500) for r in b]
    ids = {c["id"] for c in customers}
    assert {o["customer_id"] for o in orders} <= ids
    assert len({o["customer_id"] for o in orders}) > 250
    assert {p["order_id"] for p in payments} <= {o["id"] for o in orders}


def test_references_to_non_sequence_fields_and_unique_references() -> None:
    people = {
        "name": "people",
        "fields": [{"name": "email", "type": "faker", "provider": "email", "unique": True}],
    }
    owners = {
        "name": "owners",
        "fields": [
            {
                "name": "who",
                "type": "reference",
                "dataset": "people",
                "field": "email",
                "unique": True,
            }
        ],
    }
    gen = DatasetGenerator([people, owners], seed=4, counts={"people": 50})
    emails = {r["email"] for b in gen.batches("people", 50, 50) for r in b}
    who = [r["who"] for b in gen.batches("owners", 50, 20) for r in b]
    assert set(who) == emails and len(who) == 50
    with pytest.raises(InvalidInput, match="unique reference"):
        list(gen.batches("owners", 51, 20))


def test_nullable_unique_and_weights_are_honoured() -> None:
    rows = records(
        [
            {"name": "maybe", "type": "integer", "min": 1, "max": 9, "nullable": 30},
            {"name": "code", "type": "pattern", "pattern": "?#", "unique": True},
            {"name": "n", "type": "integer", "min": 0, "max": 4999, "unique": True},
            {
                "name": "d",
                "type": "date_range",
                "start": "2024-01-01",
                "end": "2037-09-09",
                "unique": True,
            },
            {"name": "pick", "type": "choice", "values": ["a", "b", "c"], "weights": [70, 25, 5]},
            {"name": "word", "type": "faker", "provider": "color_name", "unique": True},
        ],
        260,
    )
    nulls = sum(1 for r in rows if r["maybe"] is None)
    assert 50 <= nulls <= 110
    for key in ("code", "n", "d", "word"):
        assert len({r[key] for r in rows}) == 260, key
    assert all(re.match(r"^[A-Z][0-9]$", r["code"]) for r in rows)
    rows = records(
        [{"name": "pick", "type": "choice", "values": ["a", "b", "c"], "weights": [70, 25, 5]}],
        20000,
    )
    counts = Counter(r["pick"] for r in rows)
    assert 0.67 < counts["a"] / 20000 < 0.73
    assert 0.22 < counts["b"] / 20000 < 0.28
    assert 0.035 < counts["c"] / 20000 < 0.065


def test_unique_beyond_the_value_space_is_refused() -> None:
    with pytest.raises(InvalidInput, match="only 26 distinct"):
        records([{"name": "x", "type": "pattern", "pattern": "?", "unique": True}], 27)
    with pytest.raises(InvalidInput, match="only 3 distinct"):
        records([{"name": "x", "type": "choice", "values": [1, 2, 3], "unique": True}], 4)


def test_kinds_ranges_and_nesting() -> None:
    rows = records(
        [
            {"name": "seq", "type": "sequence", "start": 10, "step": 5},
            {"name": "f", "type": "float", "min": 1.5, "max": 2.5, "decimals": 1},
            {"name": "b", "type": "boolean", "true_percent": 100},
            {"name": "k", "type": "constant", "value": "EU"},
            {
                "name": "t",
                "type": "datetime_range",
                "start": "2024-03-10T22:00:00",
                "end": "2024-03-11T02:00:00",
            },
            {
                "name": "o",
                "type": "object",
                "fields": [
                    {"name": "city", "type": "faker", "provider": "city"},
                    {"name": "zip", "type": "pattern", "pattern": "#####"},
                ],
            },
            {
                "name": "l",
                "type": "list",
                "item": {"type": "integer", "min": 1, "max": 3},
                "min_items": 1,
                "max_items": 3,
            },
            {"name": "fr", "type": "faker", "provider": "name", "locale": "fr_FR"},
            {
                "name": "fmt",
                "type": "date_range",
                "start": "2024-01-01",
                "end": "2024-01-31",
                "format": "%d/%m/%Y",
            },
        ],
        1500,
    )
    assert [r["seq"] for r in rows[:3]] == [10, 15, 20] and rows[-1]["seq"] == 10 + 5 * 1499
    assert all(1.5 <= r["f"] <= 2.5 for r in rows)
    assert all(r["b"] is True and r["k"] == "EU" for r in rows)
    assert all("2024-03-10T22:00:00" <= r["t"] <= "2024-03-11T02:00:00" for r in rows)
    assert all(set(r["o"]) == {"city", "zip"} and len(r["o"]["zip"]) == 5 for r in rows)
    assert all(1 <= len(r["l"]) <= 3 and set(r["l"]) <= {1, 2, 3} for r in rows)
    assert all(re.match(r"^\d\d/01/2024$", r["fmt"]) for r in rows)


def test_permutation_is_a_bijection_and_counts_are_seeded() -> None:
    for size in (1, 2, 7, 1000, 4097):
        perm = Permutation(size, 42)
        assert sorted(perm(i) for i in range(size)) == list(range(size))
    assert record_count(1, "users", 100, False) == 100
    counts = {record_count(s, "users", 100, True) for s in range(20)}
    assert all(1 <= c <= 100 for c in counts) and len(counts) > 5
    assert record_count(3, "users", 100, True) == record_count(3, "users", 100, True)


def test_digest_is_stable_across_generators() -> None:
    # Same seed in a fresh generator (fresh pools) → the same bytes.
    a = hashlib.sha256(output("clickstream", 1200, seed=77)).hexdigest()
    b = hashlib.sha256(output("clickstream", 1200, seed=77)).hexdigest()
    assert a == b


@pytest.mark.parametrize("locale", ["de_DE", "ja_JP", "fr_FR"])
def test_builtins_work_in_other_locales(locale: str) -> None:
    gen = DatasetGenerator(ALL, seed=1, locale=locale)
    for name in ("users", "customers"):
        rows = gen.sample(name, 50)
        assert len(rows) == 50
        assert all(re.match(r"^[a-z0-9._]+@[a-z0-9.-]+$", r["email"]) for r in rows)


def test_a_customers_address_is_of_one_country() -> None:
    # de_DE has no state_abbr: its own Bundesland, not an American state, and DE.
    from faker.providers.address.de_DE import Provider as GermanAddress

    german = DatasetGenerator(ALL, seed=1, locale="de_DE").sample("customers", 200)
    assert {r["address"]["state"] for r in german} <= set(GermanAddress.states)
    assert {r["address"]["country"] for r in german} == {"DE"}
    american = DatasetGenerator(ALL, seed=1).sample("customers", 200)
    assert all(re.fullmatch(r"[A-Z]{2}", r["address"]["state"]) for r in american)
    assert {r["address"]["country"] for r in american} == {"US"}


def test_parallel_records_and_stop() -> None:
    spec = BUILTIN_DATASETS["iot_readings"]
    base = chunk_args([spec], 5, "en_US", "iot_readings", 3000, need_records=True)
    got = list(parallel_chunks(base, 1000, 2))
    assert [n for _, _, n, _ in got] == [1000, 1000, 1000]
    rows = [r for _, records, _, _ in got for r in records or []]
    assert rows == [
        r for b in DatasetGenerator([spec], seed=5).batches("iot_readings", 3000, 1000) for r in b
    ]
    seen: list[Any] = []
    for item in parallel_chunks(base, 500, 2, stop=lambda: len(seen) >= 2):
        seen.append(item)
    assert len(seen) == 2


def test_a_helper_that_dies_costs_only_speed() -> None:
    """Killing the helper mid-run: the caller makes its batches, the bytes do not change,
    and the helper processes reused for the next dataset are the live ones."""
    single = output("users", 6000, seed=3, batch=500)
    enc = make_encoder("jsonl", {}, BUILTIN_DATASETS["users"])
    base = chunk_args([BUILTIN_DATASETS["users"]], 3, "en_US", "users", 6000)
    pool = make_pool(1)
    try:
        parts = []
        for i, (data, _, _, _) in enumerate(parallel_chunks(base, 500, 2, pool=pool)):
            parts.append(data)
            if i == 2:
                for helper in pool.helpers:
                    helper.process.kill()
                    helper.process.join(timeout=10)  # dead before the caller goes on
        assert enc.header() + b"".join(parts) + enc.footer() == single
        assert pool.helpers == []
        again = [data for data, _, _, _ in parallel_chunks(base, 500, 2, pool=pool)]
        assert enc.header() + b"".join(again) + enc.footer() == single
    finally:
        pool.shutdown()
    assert not os.path.exists(pool.spool)


@pytest.mark.parametrize("slot_size", [1024, 200_000])
def test_results_bigger_than_a_slot_go_through_spool_files(slot_size: int) -> None:
    """A 500-record users batch is ~130 kB: with 1 kB slots every result the helper makes
    goes through a spool file, with 200 kB slots through shared memory. The bytes are the
    same, over two datasets on the same helper, and nothing is left behind."""
    single = output("users", 6000, seed=3, batch=500)
    enc = make_encoder("jsonl", {}, BUILTIN_DATASETS["users"])
    base = chunk_args([BUILTIN_DATASETS["users"]], 3, "en_US", "users", 6000)
    pool = make_pool(1, slot_size=slot_size)

    def patient() -> bool:
        # Before each batch, while the helper has batches, wait for its next word, so it
        # makes some of them.
        helper = pool.helpers[0]
        if helper.assigned:
            helper.conn.poll(5)
        return False

    try:
        for _ in range(2):
            lines: list[str] = []
            chunks = parallel_chunks(base, 500, 2, pool=pool, stop=patient, report=lines.append)
            parts = [data for data, _, _, _ in chunks]
            assert enc.header() + b"".join(parts) + enc.footer() == single
            by_caller = re.search(r"made (\d+) of 12 batches", lines[0])
            assert by_caller is not None and int(by_caller.group(1)) < 12
            assert [n for n in os.listdir(pool.spool) if not n.startswith("ring-")] == []
    finally:
        pool.shutdown()
    assert not os.path.exists(pool.spool)


def test_every_process_splits_the_pools_the_same_way() -> None:
    """Each pool in exactly one share, shares of about equal size, the same in any process
    (a fresh generator stands for the helper's)."""
    shares = []
    for _ in range(2):
        gen = DatasetGenerator(ALL, seed=3)
        gen.touch_pools("users", 6000)
        shares.append(gen.pools.split(2))
    assert shares[0] == shares[1]
    keys = [key for share in shares[0] for key in share]
    assert len(keys) == len(set(keys)) > 10
    sizes = [sum(key[-1] if isinstance(key[-1], int) else 0 for key in s) for s in shares[0]]
    assert all(share for share in shares[0])
    assert max(sizes) < 2 * min(sizes)


def helper_shares(
    seed: int, slot_size: int, prepare: Callable[[GeneratorProcesses], None] | None = None
) -> tuple[int, int]:
    """Make 6,000 users in two processes, the helper up before the dataset comes (as when
    the worker starts the helpers' server first thing), after `prepare(pool)`; check the
    bytes are one process's and nothing is left in the spool. (Pools the helper filled,
    pools.)"""
    single = output("users", 6000, seed=seed, batch=500)
    enc = make_encoder("jsonl", {}, BUILTIN_DATASETS["users"])
    base = chunk_args([BUILTIN_DATASETS["users"]], seed, "en_US", "users", 6000)
    pool = make_pool(1, slot_size=slot_size)
    try:
        assert len(pool.started()) == 1
        if prepare is not None:
            prepare(pool)
        lines: list[str] = []
        chunks = parallel_chunks(base, 500, 2, pool=pool, report=lines.append)
        parts = [data for data, _, _, _ in chunks]
        assert enc.header() + b"".join(parts) + enc.footer() == single
        assert [n for n in os.listdir(pool.spool) if not n.startswith("ring-")] == []
    finally:
        pool.shutdown()
    shared = re.search(r"\((\d+) of (\d+) by helpers\)", lines[0])
    assert shared is not None, lines
    return int(shared.group(1)), int(shared.group(2))


# A seed per case: this process caches its generators, whose pools would be filled already.
@pytest.mark.parametrize(("slot_size", "seed"), [(SLOT_SIZE, 31), (1024, 32)])
def test_a_helper_fills_a_share_of_the_pools(
    slot_size: int, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The helper fills its share of the Faker pools beside the caller, which takes it
    (back through shared memory, or a spool file with 1 kB slots)."""
    monkeypatch.setattr(parallel, "SHARE_PATIENCE", 60.0)
    by_helper, pools = helper_shares(seed, slot_size)
    assert 0 < by_helper < pools


@pytest.mark.parametrize(("slot_size", "seed"), [(SLOT_SIZE, 33), (1024, 34)])
def test_a_share_of_the_pools_that_comes_late_is_dropped(
    slot_size: int, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A caller with nothing to fill of its own and no patience fills every pool itself;
    the helper's share, which comes only after that, is dropped (its spool file too)."""
    monkeypatch.setattr(parallel, "SHARE_PATIENCE", 0.0)
    real_shares, real_warm = parallel.pool_shares, parallel.warm_pools

    def caller_shares(args: dict[str, Any], shares: int) -> list[list[Any]]:
        keys = [key for share in real_shares(args, shares) for key in share]
        return [[], keys]

    def prepare(pool: GeneratorProcesses) -> None:
        def warm_once_the_share_is_on_its_way(args: dict[str, Any]) -> Any:
            assert pool.helpers[0].conn.poll(30)  # the helper's share, now too late
            return real_warm(args)

        monkeypatch.setattr(parallel, "warm_pools", warm_once_the_share_is_on_its_way)

    monkeypatch.setattr(parallel, "pool_shares", caller_shares)
    by_helper, _ = helper_shares(seed, slot_size, prepare)
    assert by_helper == 0


def test_spool_directories_of_dead_workers_are_swept(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f"{SPOOL_PREFIX}{dead.pid}-abc"
    live = tmp_path / f"{SPOOL_PREFIX}{os.getpid()}-def"
    other = tmp_path / "unrelated"
    for directory in (stale, live, other):
        directory.mkdir()
        (directory / "part").write_bytes(b"x")
    assert sweep_spools(str(tmp_path)) == 1
    assert not stale.exists()
    assert live.exists() and other.exists()
