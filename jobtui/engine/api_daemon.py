"""The daemon part of the Engine facade."""

from __future__ import annotations

from jobtui.engine.base import EngineBase


class DaemonAPI(EngineBase):
    pass
