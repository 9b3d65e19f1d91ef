"""Datasets: built-in and custom record schemas, samples, inference, field types."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobtui.engine.api.base import EngineBase
from jobtui.engine.model.codec import dumps
from jobtui.engine.model.errors import Conflict, InvalidInput, NotFound
from jobtui.engine.model.types import Dataset
from jobtui.engine.store import datasets as dataset_rows
from jobtui.engine.store import jobs as job_rows

if TYPE_CHECKING:
    from jobtui.engine.datagen.catalog import FieldTypeInfo


class DatasetsAPI(EngineBase):
    def known_dataset_names(self) -> set[str]:
        from jobtui.engine.datagen.builtins import BUILTIN_DATASETS

        return set(BUILTIN_DATASETS) | dataset_rows.names(self.store)

    # -- reading ------------------------------------------------------------------------
    def list_datasets(self) -> list[Dataset]:
        """Built-ins first (in their shipped order), then custom datasets by name."""
        from jobtui.engine.datagen.builtins import BUILTIN_DATASETS

        out = [
            Dataset(d["name"], d.get("description", ""), True, list(d["fields"]))
            for d in BUILTIN_DATASETS.values()
        ]
        return out + dataset_rows.list_custom(self.store)

    def get_dataset(self, name: str) -> Dataset:
        from jobtui.engine.datagen.builtins import BUILTIN_DATASETS

        builtin = BUILTIN_DATASETS.get(name)
        if builtin is not None:
            return Dataset(name, builtin.get("description", ""), True, list(builtin["fields"]))
        custom = dataset_rows.get_custom(self.store, name)
        if custom is None:
            raise NotFound(f"no dataset named {name!r}")
        return custom

    def _dataset_spec_or_none(self, name: str) -> dict[str, Any] | None:
        try:
            return self.get_dataset(name).to_spec()
        except NotFound:
            return None

    # -- writing ------------------------------------------------------------------------
    def save_dataset(self, spec: dict[str, Any], replace: bool = False) -> Dataset:
        """Store a custom dataset (validated; every mistake named). Built-in names are
        refused; an existing custom dataset is replaced only with `replace`."""
        from jobtui.engine.datagen.builtins import BUILTIN_DATASETS
        from jobtui.engine.datagen.fields import validate_dataset

        clean = validate_dataset(spec, lookup=self._dataset_spec_or_none)
        name = clean["name"]
        if name in BUILTIN_DATASETS:
            raise Conflict(f"name: {name!r} is a built-in dataset; choose another name")
        workspace = clean.pop("workspace", None) or "default"
        now = self.now()
        with self.store.transaction():
            ws_id = self._workspace_id(workspace, create=True)
            exists = dataset_rows.dataset_id(self.store, name)
            if exists is not None and not replace:
                raise Conflict(f"name: a dataset named {name!r} exists already (use replace)")
            columns = {"description": clean["description"], "spec": dumps(clean)}
            columns["workspace_id"] = ws_id
            if exists is None:
                columns["name"] = name
            dataset_rows.save(self.store, exists, columns, now)
        return self.get_dataset(name)

    def jobs_using_dataset(self, name: str) -> list[str]:
        out = []
        for job, spec in job_rows.using(self.store, f"%{json.dumps(name)}%"):
            datasets = (spec.get("datagen") or {}).get("datasets") or []
            if name in datasets:
                out.append(job)
        return out

    def datasets_referencing(self, name: str) -> list[str]:
        from jobtui.engine.datagen.fields import references

        out = []
        for other, spec in dataset_rows.specs_except(self.store, name):
            if any(ds == name for _, ds, _ in references(spec.get("fields", []))):
                out.append(other)
        return out

    def delete_dataset(self, name: str) -> None:
        """Refused for built-ins, and while a job or another dataset uses it (named)."""
        from jobtui.engine.datagen.builtins import BUILTIN_DATASETS

        if name in BUILTIN_DATASETS:
            raise InvalidInput(f"{name!r} is a built-in dataset and cannot be deleted")
        with self.store.transaction():
            self.get_dataset(name)
            users = self.jobs_using_dataset(name)
            if users:
                raise Conflict(f"dataset {name!r} is used by job(s): {', '.join(users)}")
            refs = self.datasets_referencing(name)
            if refs:
                raise Conflict(f"dataset {name!r} is referenced by dataset(s): {', '.join(refs)}")
            dataset_rows.delete(self.store, name)

    # -- generating ---------------------------------------------------------------------
    def _dataset_spec(self, name: str) -> dict[str, Any]:
        return self.get_dataset(name).to_spec()

    def dataset_closure(self, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The specs plus every dataset they reference (transitively), for a generator."""
        from jobtui.engine.datagen.lookup import closure

        return closure(specs, self._dataset_spec)

    def sample_dataset(
        self,
        name_or_spec: str | Mapping[str, Any],
        n: int = 5,
        seed: int | None = None,
        locale: str = "en_US",
    ) -> list[dict[str, Any]]:
        """`n` records of a dataset (by name, or an unsaved spec, validated first)."""
        from jobtui.engine.datagen.fields import check_locale, validate_dataset
        from jobtui.engine.datagen.generate import DatasetGenerator

        if isinstance(name_or_spec, str):
            spec = self.get_dataset(name_or_spec).to_spec()
        else:
            spec = validate_dataset(dict(name_or_spec), lookup=self._dataset_spec_or_none)
        if not 0 < n <= 100_000:
            raise InvalidInput("n: must be between 1 and 100000")
        try:
            check_locale(locale)
        except ValueError as exc:
            raise InvalidInput(f"locale: {exc}") from None
        gen = DatasetGenerator(self.dataset_closure([spec]), seed=seed, locale=locale)
        return gen.sample(spec["name"], n)

    def infer_dataset(
        self, path: str | Path, name: str, explain: bool = False, table: str | None = None
    ) -> dict[str, Any]:
        """A dataset spec inferred from a sample CSV / JSON / JSON lines / Parquet / Avro /
        Excel file, a JSON Schema or SQL CREATE TABLE statements (not saved). `table`: the
        workbook's sheet or the SQL file's table to read.

        With `explain`: `{"dataset": spec, "columns": [{"column", "field", "type", "why"}],
        "warnings": [...]}` — per column what was inferred and why, and what looks wrong
        in the file (a first line that is metadata rather than a header...)."""
        from jobtui.engine.datagen.fields import validate_dataset
        from jobtui.engine.datagen.infer import infer_spec

        out = infer_spec(path, name, explain=explain, table=table)
        validate_dataset(out["dataset"] if explain else out)
        return out

    def field_types(self) -> list[FieldTypeInfo]:
        """Built-in field kinds and Faker providers (name, description, example)."""
        from jobtui.engine.datagen.catalog import field_types

        return field_types()

    def encode_records(
        self, fmt: str, options: dict[str, Any], dataset: str, records: list[dict[str, Any]]
    ) -> bytes:
        """Records of `dataset` serialised whole in format `fmt` (header, body, footer)."""
        from jobtui.engine.datagen.formats import encode_all

        return encode_all(fmt, options, self.get_dataset(dataset).to_spec(), records)
