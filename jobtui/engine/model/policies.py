"""The policies (retry, misfire, overlap, timeout), alerts and typed parameters of a job spec."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from jobtui.engine.model.base import (
    ALERT_STATES,
    EMAIL,
    Duration,
    PositiveDuration,
    Strict,
)
from jobtui.engine.model.shape import (
    brief,
)


class RetryPolicy(Strict):
    attempts: int = Field(
        0,
        ge=0,
        le=100,
        description="Tries in all, the first included (2: one retry; 0 or 1: no retry)",
    )
    delay: Duration = Field("1m", description="Between a failed try and the next")


MISFIRE_POLICIES = ("skip", "once", "all")
OVERLAP_POLICIES = ("skip", "queue", "allow")


class MisfirePolicy(Strict):
    policy: Literal["skip", "once", "all"] = "once"
    cap: int = Field(10, ge=1, le=10_000)


class OverlapPolicy(Strict):
    policy: Literal["skip", "queue", "allow"] = "skip"
    max: int | None = Field(
        None, ge=1, le=100, description="With allow: at most this many at once (none: no limit)"
    )


def _policy_form(value: Any, choices: tuple[str, ...], example: str) -> Any:
    """A policy given as a word or as an object: both forms for overlap and misfire."""
    if isinstance(value, str) and value in choices:
        return value
    if isinstance(value, dict):
        return value
    words = ", ".join(choices)
    raise ValueError(f"must be one of {words}, or an object such as {example}")


class Policies(Strict):
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    timeout: PositiveDuration | None = None
    # "allow" (or {"policy": "allow"} without max) lets any number of runs overlap.
    overlap: OverlapPolicy = Field(default_factory=OverlapPolicy)
    misfire: MisfirePolicy = Field(default_factory=MisfirePolicy)

    @field_validator("overlap", mode="before")
    @classmethod
    def _overlap_form(cls, value: Any) -> Any:
        value = _policy_form(value, OVERLAP_POLICIES, '{"policy": "allow", "max": 3}')
        return {"policy": value} if isinstance(value, str) else value

    @field_validator("misfire", mode="before")
    @classmethod
    def _misfire_form(cls, value: Any) -> Any:
        value = _policy_form(value, MISFIRE_POLICIES, '{"policy": "all", "cap": 10}')
        return {"policy": value} if isinstance(value, str) else value

    @property
    def overlap_policy(self) -> OverlapPolicy:
        """The overlap policy (either form); `max` None: no limit (allow without max)."""
        return self.overlap


class Alerts(Strict):
    emails: list[str] = Field(default_factory=list)
    on: list[Literal[ALERT_STATES]] = Field(default_factory=lambda: ["failed"])  # type: ignore[valid-type]
    after_consecutive_failures: int = Field(1, ge=1, le=1000)
    on_recovery: bool = False

    @field_validator("emails")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for address in value:
            if not EMAIL.match(address):
                raise ValueError(f"{brief(address)} is not an email address")
        return value


class Parameter(Strict):
    type: Literal["string", "integer", "number", "boolean", "date", "choice"] = "string"
    default: Any = None
    choices: list[str | int | float] | None = None
    required: bool = False
    description: str = ""

    @model_validator(mode="after")
    def _default_fits(self) -> Parameter:
        if self.type == "choice" and not self.choices:
            raise ValueError("choices: a choice parameter needs choices")
        if self.default is not None:
            coerce_parameter(self, self.default)
        return self


def coerce_parameter(param: Parameter, value: Any) -> Any:
    """A value (often a string from the command line) as the parameter's type."""
    kind = param.type
    try:
        if kind == "string":
            return str(value)
        if kind == "integer":
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        if kind == "number":
            return float(value)
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            text = str(value).lower()
            if text in ("true", "yes", "1", "on"):
                return True
            if text in ("false", "no", "0", "off"):
                return False
            raise ValueError
        if kind == "date":
            return date.fromisoformat(str(value)).isoformat()
        if kind == "choice":
            assert param.choices is not None
            for choice in param.choices:
                if str(choice) == str(value):
                    return choice
            raise ValueError
    except (TypeError, ValueError):
        pass
    expected = {"choice": f"one of {param.choices}", "date": "a date like 2026-12-01"}.get(
        kind, f"a {kind}"
    )
    raise ValueError(f"{brief(value)} is not {expected}")


# -- kinds -------------------------------------------------------------------
