"""Tables on small terminals (issue 20, points 5, 6, 9 and 14): column priorities and
sideways scrolling, readable names, sort marks, j/k in every table, the focused pane's
border, and checkboxes whose state shows in their shape."""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.widgets import Checkbox, SelectionList

from jobtui.engine import Engine
from jobtui.screens.help import HelpScreen
from jobtui.screens.history import HistoryScreen
from jobtui.screens.history import columns as run_columns
from jobtui.screens.job_detail import JobDetailScreen
from jobtui.screens.job_rows import COLUMNS as JOB_COLUMNS
from jobtui.widgets.forms import FieldSpec, make_control
from jobtui.widgets.tables import TickList
from jobtui.widgets.vtable import fit_columns, middle_ellipsis
from tests.ui.helpers import build, press, settle, table
from tests.ui.seed import NOW, add_run, datagen

SMALL = (80, 24)


def header(app: App[Any]) -> str:
    return table(app).render_line(0).text


def row_text(app: App[Any], y: int) -> str:
    return table(app).render_line(y).text


# -- column priorities and sideways scrolling (point 5) ---------------------------------------


def test_a_narrow_table_keeps_the_important_columns_and_every_other_is_reachable():
    for cols in (JOB_COLUMNS, run_columns(True), run_columns(False)):
        width = 80 - 2 - 1 - 1  # the gutter, the "more" mark and the scrollbar
        first = fit_columns(cols, width)
        shown = [cols[i].key for i, _ in first.shown]
        assert cols[0].key in shown and first.right > 0
        # Every column drawn is wide enough for its label (and sort mark): nothing clipped.
        assert all(w >= cols[i].base_width for i, w in first.shown)
        assert sum(w for _, w in first.shown) + len(first.shown) - 1 <= width
        # The most important columns come first; the rest are a scroll away.
        kept = {cols[i].priority for i, _ in first.shown if not cols[i].pinned}
        dropped = {c.priority for c in cols if c.key not in shown}
        assert max(kept) <= min(dropped)
        reachable = set()
        for offset in range(first.max_offset + 1):
            scrolled = fit_columns(cols, width, offset)
            assert scrolled.shown[0][0] == 0  # the pinned first column stays
            reachable |= {cols[i].key for i, _ in scrolled.shown}
        assert reachable == {c.key for c in cols}
        assert fit_columns(cols, width, first.max_offset).right == 0


def test_a_wide_table_shows_every_column():
    for cols in (JOB_COLUMNS, run_columns(True)):
        wide = fit_columns(cols, 140 - 4)
        assert [i for i, _ in wide.shown] == list(range(len(cols)))
        assert wide.right == 0 and wide.max_offset == 0


def test_middle_ellipsis_keeps_both_ends_of_a_name():
    gen, rand = "analytics/people-gen", "analytics/people-random"
    for width in (12, 14, 18):
        a, b = middle_ellipsis(gen, width), middle_ellipsis(rand, width)
        assert a != b and len(a) <= width and len(b) <= width
        assert a.startswith("analytics"[: (width - 1) // 2]) and "…" in b
    assert middle_ellipsis("short", 12) == "short"


async def test_right_scrolls_to_the_columns_an_80_column_list_hides(seeded):
    engine, _ = seeded
    app = build(engine)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        first = header(app)
        assert "NAME" in first and "STATUS" in first and "RECORDS" not in first
        assert first.rstrip().endswith("▸")  # more columns to the right
        for _ in range(len(JOB_COLUMNS)):
            if "RECORDS" in header(app):
                break
            await press(pilot, "right")
        shown = header(app)
        assert "RECORDS" in shown and "RECENT" in shown
        assert shown.startswith("◂") and "NAME" in shown  # the name stays pinned
        orders = next(y for y in range(1, 7) if "orders-csv" in row_text(app, y))
        assert "600" in row_text(app, orders)  # the records of its (running) last run
        for _ in range(len(JOB_COLUMNS)):
            await press(pilot, "left")
        assert header(app) == first


async def test_all_runs_at_80_columns_show_errors_and_scroll_to_the_rest(seeded):
    engine, _ = seeded
    for name in ("people-gen", "people-random"):
        job = engine.create_job(datagen(name, workspace="default"))
        add_run(engine, job.id, "succeeded", NOW - 100, NOW - 90, records=50)
    app = build(engine)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        app.push_screen(HistoryScreen(engine, None))
        await settle(pilot)
        first = header(app)
        assert "JOB" in first and "STATE" in first and "ERROR" in first
        assert "END" not in first
        rows = [row_text(app, y) for y in (1, 2)]
        assert any("people-gen" in r for r in rows)  # the name's end stays readable
        assert any("people-random" in r or "…ople-random" in r for r in rows)
        seen = first
        for _ in range(10):
            await press(pilot, "right")
            seen += header(app)
        for label in ("END", "TOOK", "RECORDS", "TRIGGER", "TITLE"):
            assert label in seen, label


async def test_the_help_dialog_fits_an_80_column_terminal(seeded):
    engine, _ = seeded
    app = build(engine)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        dialog = app.screen.query_one("#help")
        assert dialog.region.x >= 0 and dialog.region.right <= SMALL[0]
        assert dialog.region.bottom <= SMALL[1]


# -- sort marks and the schedule's order (point 6) ----------------------------------------


def test_sorting_by_schedule_follows_the_next_fire_not_the_words(engine: Engine):
    ten = engine.create_job(datagen("every-ten", schedule={"type": "interval", "every": "10m"}))
    five = engine.create_job(datagen("every-five", schedule={"type": "interval", "every": "5m"}))
    engine.create_job(datagen("manual"))
    # The daemon owns next_fire_at; stand in for it.
    engine.store.execute("UPDATE jobs SET next_fire_at = ? WHERE id = ?", (NOW + 600, ten.id))
    engine.store.execute("UPDATE jobs SET next_fire_at = ? WHERE id = ?", (NOW + 300, five.id))
    names = [j.name for j in engine.list_jobs(sort="schedule")]
    assert names == ["every-five", "every-ten", "manual"]
    assert [j.name for j in engine.list_jobs(sort="schedule", descending=True)][-2:] == [
        "every-ten",
        "every-five",
    ]


async def test_every_sortable_header_shows_its_mark(seeded):
    engine, _ = seeded
    app = build(engine)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        shown = header(app)
        assert "NAME ▲" in shown
        for label in ("WORKSPACE", "STATUS", "SCHEDULE", "NEXT RUN", "LAST RUN", "RECORDS"):
            assert f"{label} ↕" in shown, label
        assert "RECENT ↕" not in shown  # the sparkline does not sort
        await press(pilot, "o")  # the next column
        assert "WORKSPACE ▲" in header(app) and "NAME ↕" in header(app)
        await press(pilot, "O")
        assert "WORKSPACE ▼" in header(app)


# -- j/k in every table, the focused pane (point 9) ---------------------------------------------


async def test_j_and_k_move_in_the_versions_and_tab_shows_which_pane_has_focus(seeded):
    engine, ids = seeded
    job = engine.get_job(ids["users-demo"])
    for n in (2, 3):
        engine.update_job(job.id, {**job.spec, "description": f"v{n}"}, f"v{n}")
    app = build(engine)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        app.push_screen(JobDetailScreen(engine, job.id))
        await settle(pilot)
        versions = app.screen.query_one("#versions")
        spec = app.screen.query_one("#detail-spec")
        assert app.focused is versions
        await press(pilot, "j", "j")
        assert versions.cursor_row == 2  # type: ignore[attr-defined]
        await press(pilot, "k")
        assert versions.cursor_row == 1  # type: ignore[attr-defined]
        # The focused pane's border is heavy, the other's round (a shape, not only a colour).
        assert versions.styles.border_top[0] == "heavy"
        assert spec.styles.border_top[0] == "round"
        await press(pilot, "tab")
        assert app.focused is spec
        assert spec.styles.border_top[0] == "heavy"
        assert versions.styles.border_top[0] == "round"


async def test_help_moves_with_j_and_k_too(seeded):
    engine, _ = seeded
    app = build(engine)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await press(pilot, "question_mark")
        rows = app.screen.query_one("#help-table")
        await press(pilot, "j", "j", "j")
        assert rows.cursor_row == 3  # type: ignore[attr-defined]
        await press(pilot, "k")
        assert rows.cursor_row == 2  # type: ignore[attr-defined]


# -- checkboxes by shape (point 14) --------------------------------------------------------------


class Boxes(App[None]):
    def compose(self) -> ComposeResult:
        spec = FieldSpec("on", "on", "on", "bool")
        yield make_control(spec, True)
        yield make_control(FieldSpec("off", "off", "off", "bool"), False)
        yield TickList(("users", "users", True), ("orders", "orders"), id="ticks")


async def test_checked_and_unchecked_differ_in_shape_not_only_colour():
    app = Boxes()
    async with app.run_test(size=SMALL) as pilot:
        on, off = app.query(Checkbox)
        assert str(on.render()).startswith("[x]")
        assert str(off.render()).startswith("[ ]")
        on.toggle()
        await pilot.pause()
        assert str(on.render()).startswith("[ ]")
        ticks = app.query_one("#ticks", SelectionList)
        assert ticks.render_line(0).text.startswith("[x] users")
        assert ticks.render_line(1).text.startswith("[ ] orders")


async def test_the_sorted_column_stays_on_an_80_column_screen(seeded):
    engine, _ = seeded
    app = build(engine)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        assert "SCHEDULE" not in header(app)
        await press(pilot, "o", "o", "o")  # name → workspace → status → schedule
        assert "SCHEDULE ▲" in header(app) and "NAME ↕" in header(app)
