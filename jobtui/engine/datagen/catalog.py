"""What a field can be, for the UI's searchable picker: built-in kinds and Faker providers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldTypeInfo:
    """One entry of the picker: `kind` is "builtin" or "faker"; `template` is a field spec
    (without its name) the UI can start from."""

    name: str
    kind: str
    description: str
    example: str
    template: dict[str, Any] = field(default_factory=dict)

    @property
    def search_text(self) -> str:
        return f"{self.name} {self.kind} {self.description}".lower()


BUILTIN_KINDS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("sequence", "1, 2, 3... (start, step)", "1", {"type": "sequence", "start": 1, "step": 1}),
    (
        "choice",
        "One of a list of values, optionally weighted",
        "paid",
        {"type": "choice", "values": ["a", "b"], "weights": [3, 1]},
    ),
    (
        "integer",
        "Whole number in a range (min, max)",
        "42",
        {"type": "integer", "min": 0, "max": 100},
    ),
    (
        "float",
        "Decimal number in a range (min, max, decimals)",
        "19.99",
        {"type": "float", "min": 0, "max": 100, "decimals": 2},
    ),
    ("boolean", "true / false (true_percent)", "true", {"type": "boolean", "true_percent": 50}),
    ("uuid", "Random UUID (version 4)", "3f1c...-4b2e-...", {"type": "uuid"}),
    (
        "date_range",
        "Date between start and end (ISO, or a strftime format)",
        "2024-03-17",
        {"type": "date_range", "start": "2024-01-01", "end": "2024-12-31"},
    ),
    (
        "datetime_range",
        "Date and time between start and end",
        "2024-03-17T08:41:09",
        {"type": "datetime_range", "start": "2024-01-01T00:00:00", "end": "2024-12-31T23:59:59"},
    ),
    (
        "pattern",
        "Shaped code: ? a letter, # a digit, others literal",
        "AB-1234",
        {"type": "pattern", "pattern": "??-####"},
    ),
    (
        "words",
        "A few words drawn from a vocabulary (weights, min_words, max_words)",
        "Meadow Lake Municipal",
        {"type": "words", "words": ["Meadow", "Lake", "Municipal"], "max_words": 3},
    ),
    ("constant", "The same value in every record", "EU", {"type": "constant", "value": ""}),
    (
        "reference",
        "A value of another dataset's field (made in the same run)",
        "customers.id",
        {"type": "reference", "dataset": "customers", "field": "id"},
    ),
    (
        "object",
        "Nested fields",
        '{"city": ...}',
        {"type": "object", "fields": [{"name": "city", "type": "faker", "provider": "city"}]},
    ),
    (
        "list",
        "A list of one field (min_items, max_items)",
        '["red", "blue"]',
        {
            "type": "list",
            "item": {"type": "faker", "provider": "word"},
            "min_items": 0,
            "max_items": 3,
        },
    ),
]


def field_types() -> list[FieldTypeInfo]:
    from jobtui.engine.datagen.providers import provider_catalog

    out = [
        FieldTypeInfo(name, "builtin", description, example, template)
        for name, description, example, template in BUILTIN_KINDS
    ]
    for name, description, example in provider_catalog():
        out.append(
            FieldTypeInfo(name, "faker", description, example, {"type": "faker", "provider": name})
        )
    return out
