"""SQL names and column types: one rule for the SQL formats and the table sinks."""

from __future__ import annotations

import re

from jobtui.engine.model.errors import InvalidInput


def quote_identifier(name: str, dialect: str = "ansi") -> str:
    """`name` quoted for `dialect` (backticks for mysql, double quotes otherwise)."""
    if dialect == "mysql":
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


def table_name(template: str, *, dataset: str, job: str, run: int) -> str:
    """A sink's table name from its template (`{dataset}`, `{job}`, `{run}`), reduced to
    letters, digits and underscores."""
    try:
        name = template.format(dataset=dataset, job=job, run=run)
    except (KeyError, IndexError, ValueError) as exc:
        raise InvalidInput(f"table template {template!r}: {exc}") from None
    name = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not name:
        raise InvalidInput(f"table template {template!r} gives an empty name")
    return name


# A dataset's columns have generic types (datagen.formats.column_types: INTEGER, REAL,
# BOOLEAN, TEXT, DATE, DATETIME, JSON); each dialect spells them its own way.
SQL_TYPES = {
    "sqlite": {
        # BIGINT (INTEGER affinity in SQLite) so that the same file loads into PostgreSQL,
        # whose INTEGER is 32-bit.
        "INTEGER": "BIGINT",
        "REAL": "REAL",
        "BOOLEAN": "INTEGER",
        "TEXT": "TEXT",
        "DATE": "TEXT",
        "DATETIME": "TEXT",
        "JSON": "TEXT",
    },
    "postgresql": {
        "INTEGER": "BIGINT",
        "REAL": "DOUBLE PRECISION",
        "BOOLEAN": "BOOLEAN",
        "TEXT": "TEXT",
        "DATE": "DATE",
        "DATETIME": "TIMESTAMP",
        "JSON": "JSONB",
    },
    "mysql": {
        "INTEGER": "BIGINT",
        "REAL": "DOUBLE",
        "BOOLEAN": "BOOLEAN",
        "TEXT": "TEXT",
        "DATE": "DATE",
        "DATETIME": "DATETIME",
        "JSON": "JSON",
    },
}
