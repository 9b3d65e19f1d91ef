"""Job detail pictures (issue 20, point 20): the trend of the last runs with failures
marked, and a running run's records/s over time."""

from __future__ import annotations

from jobtui.screens.job_detail import JobDetailScreen
from tests.ui.helpers import build, settle

SIZE = (140, 40)


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def test_trend_shows_duration_and_records_per_run_with_failures_marked(seeded):
    engine, ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pilot.app.push_screen(JobDetailScreen(engine, ids["orders-csv"]))
        await settle(pilot)
        lines = text_of(app.screen, "#duration-chart").splitlines()
        assert lines[0].startswith("duration") and "max 1m25s" in lines[0]
        assert lines[1].startswith("records") and "max 1,000" in lines[1]
        # 12 finished runs, oldest left; the 8th failed (the running one is not counted).
        bars = lines[0].split()[1]
        assert len(bars) == 12 and bars[0] < bars[-1]  # durations grew from 30s to 85s
        marks = lines[2].split()[0]
        assert marks == "·······✗····"
        assert "✗ failed: 1 of 12" in lines[2]


async def test_a_running_run_shows_its_records_per_second_over_time(seeded):
    engine, ids = seeded
    run = ids["running-run"]  # 600 records 60 s after its start: 10/s so far
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = JobDetailScreen(engine, ids["orders-csv"])
        pilot.app.push_screen(screen)
        await settle(pilot)
        assert "now 10/s" in text_of(screen, "#rate-chart")
        engine.store.execute("UPDATE runs SET records = 1200 WHERE id = ?", (run,))
        engine.store.execute(
            "UPDATE run_tasks SET records = 1200 WHERE run_id = ? AND position = 0", (run,)
        )
        engine.clock.advance(10)
        screen.poll_now()
        await settle(pilot)
        chart = text_of(screen, "#rate-chart")
        assert chart.startswith("records/s")
        assert "now 60/s · peak 60/s" in chart
