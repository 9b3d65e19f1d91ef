"""Datasets: built-in and custom record schemas."""

from __future__ import annotations

from jobtui.engine.base import EngineBase


class DatasetsAPI(EngineBase):
    def known_dataset_names(self) -> set[str]:
        from jobtui.engine.datagen.builtins import BUILTIN_DATASETS

        custom = {r["name"] for r in self.store.query("SELECT name FROM datasets")}
        return set(BUILTIN_DATASETS) | custom
