"""The runs part of the Engine facade."""

from __future__ import annotations

from jobtui.engine.base import EngineBase


class RunsAPI(EngineBase):
    pass
