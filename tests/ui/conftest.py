"""Fixtures for the dashboard tests (the data itself lives in seed.py)."""

from collections.abc import Iterator

import pytest

from tests.ui.helpers import StubWizard
from tests.ui.seed import frozen_tz, seeded

__all__ = ["frozen_tz", "seeded", "stub_wizard"]


@pytest.fixture
def stub_wizard() -> Iterator[list[tuple[object, bool]]]:
    """What the stand-in wizard was opened with; build the app with
    `screens=StubWizardScreens` for n / e / D to push it instead of the real (heavier) one."""
    StubWizard.opened = []
    yield StubWizard.opened
