"""Sink presets ("global sinks"): named sink configurations jobs refer to by name."""

from __future__ import annotations

import json
from typing import Any

from jobtui.engine.api.base import EngineBase
from jobtui.engine.model.codec import dumps
from jobtui.engine.model.errors import Conflict, FieldError, SpecError
from jobtui.engine.model.secrets import mask_secrets
from jobtui.engine.model.types import SinkPreset
from jobtui.engine.store import jobs as job_rows
from jobtui.engine.store import presets as preset_rows


def check_preset(data: Any) -> dict[str, Any]:
    """Validate a preset document {name, type, options, workspace?}; raise SpecError."""
    from pydantic import ValidationError

    from jobtui.engine.model.sinks import SINK_OPTIONS
    from jobtui.engine.model.spec import NAME_PATTERN, errors_of

    if not isinstance(data, dict):
        raise SpecError([FieldError("", "a sink preset must be a JSON object")])
    errors: list[FieldError] = []
    for key in data:
        if key not in ("name", "type", "options", "workspace"):
            errors.append(FieldError(key, "unknown key"))
    name = data.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        errors.append(FieldError("name", "use letters, digits, '.', '_' and '-'"))
    sink_type = data.get("type")
    options = data.get("options", {})
    if sink_type not in SINK_OPTIONS:
        errors.append(FieldError("type", f"must be one of {', '.join(SINK_OPTIONS)}"))
    elif not isinstance(options, dict):
        errors.append(FieldError("options", "must be an object"))
    else:
        try:
            SINK_OPTIONS[sink_type].model_validate(options)
        except ValidationError as exc:
            errors += errors_of(exc, "options")
    if errors:
        raise SpecError(errors)
    return {
        "name": name,
        "type": sink_type,
        "options": options,
        "workspace": data.get("workspace", "default"),
    }


class SinksAPI(EngineBase):
    def list_presets(self) -> list[SinkPreset]:
        return preset_rows.list_presets(self.store)

    def get_preset(self, name: str, masked: bool = True) -> SinkPreset:
        preset = preset_rows.get_preset(self.store, name)
        if masked:
            return SinkPreset(**{**preset.__dict__, "options": mask_secrets(preset.options)})
        return preset

    def save_preset(self, data: dict[str, Any], replace: bool = False) -> SinkPreset:
        """Create a preset (or replace it when `replace`)."""
        clean = check_preset(data)
        now = self.now()
        with self.store.transaction():
            ws_id = self._workspace_id(clean["workspace"], create=True)
            exists = preset_rows.preset_id(self.store, clean["name"])
            if exists is not None and not replace:
                raise Conflict(f"name: a sink preset named {clean['name']!r} exists already")
            columns = {"type": clean["type"], "options": dumps(clean["options"])}
            columns["workspace_id"] = ws_id
            if exists is None:
                columns["name"] = clean["name"]
            preset_rows.save(self.store, exists, columns, now)
        return self.get_preset(clean["name"])

    def jobs_using_preset(self, name: str) -> list[str]:
        out = []
        for job, spec in job_rows.using(self.store, f'%"preset":%{json.dumps(name)}%'):
            sinks = (spec.get("datagen") or {}).get("sinks") or []
            if any(s.get("preset") == name for s in sinks if isinstance(s, dict)):
                out.append(job)
        return out

    def delete_preset(self, name: str) -> None:
        """Refused while a job uses the preset, naming the jobs."""
        with self.store.transaction():
            self.get_preset(name)
            users = self.jobs_using_preset(name)
            if users:
                raise Conflict(f"sink preset {name!r} is used by: {', '.join(users)}")
            preset_rows.delete(self.store, name)

    def resolve_sink(self, sink: dict[str, Any]) -> dict[str, Any]:
        """An inline sink from a spec's sink entry (presets expanded; secrets still references)."""
        return preset_rows.resolve_sink(self.store, sink)
