"""Fixtures for the dashboard tests (the data itself lives in seed.py)."""

from collections.abc import Iterator

import pytest

from tests.ui.helpers import StubWizard
from tests.ui.seed import frozen_tz, seeded

__all__ = ["frozen_tz", "seeded", "stub_wizard"]


@pytest.fixture
def stub_wizard(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[object, bool]]]:
    """n / e / D push this stand-in instead of the real (heavier) wizard."""
    StubWizard.opened = []
    monkeypatch.setattr("jobtui.screens.jobs.wizard_screen", lambda: StubWizard)
    yield StubWizard.opened
