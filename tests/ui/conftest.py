"""Fixtures for the dashboard tests (the data itself lives in seed.py)."""

from tests.ui.seed import frozen_tz, seeded

__all__ = ["frozen_tz", "seeded"]
