"""Engine errors. Each maps onto one CLI exit code (DESIGN.md §4 rule 7)."""

from __future__ import annotations

from dataclasses import dataclass


class JobtuiError(Exception):
    """Base of every error the engine raises on purpose."""

    exit_code = 1


class InvalidInput(JobtuiError):
    """The caller gave something the engine refuses (exit 2)."""

    exit_code = 2


class Conflict(InvalidInput):
    """The request clashes with what is stored (a taken name, a preset in use)."""


class NotFound(JobtuiError):
    """A job, run, dataset, preset or version that does not exist (exit 3)."""

    exit_code = 3


class StorageError(JobtuiError):
    """The database cannot be used as asked (newer schema, network filesystem)."""

    exit_code = 2


@dataclass(frozen=True)
class FieldError:
    """One validation mistake: where (a dotted path) and why."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class SpecError(InvalidInput):
    """A job spec (or dataset, or preset) with one or more mistakes, all named at once."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))
