"""Option schemas of each generator format. The wizard builds its form from these."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"


class FormatOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JsonLinesOptions(FormatOptions):
    ensure_ascii: bool = Field(False, description="Escape non-ASCII characters")


class JsonArrayOptions(FormatOptions):
    indent: int | None = Field(
        None, ge=0, le=8, description="Spaces of indentation (none: compact)"
    )
    ensure_ascii: bool = Field(False, description="Escape non-ASCII characters")


class CsvOptions(FormatOptions):
    delimiter: str = Field(",", description="One character between fields")
    header: bool = Field(True, description="First line names the columns")
    quoting: Literal["minimal", "all", "nonnumeric", "none"] = Field(
        "minimal",
        description="Which fields are quoted (empty strings always are; nulls never; "
        "none: \\-escapes, and an empty string reads back as null)",
    )
    quotechar: str = Field('"', description="One character that quotes a field")
    line_terminator: Literal["\n", "\r\n"] = Field("\n", description="End of each line")

    @field_validator("delimiter", "quotechar")
    @classmethod
    def _one_character(cls, value: str) -> str:
        if len(value) != 1:
            raise ValueError("must be exactly one character")
        return value


class SqlOptions(FormatOptions):
    dialect: Literal["sqlite", "postgresql", "mysql"] = Field("sqlite", description="SQL dialect")
    table: str | None = Field(
        None, pattern=IDENTIFIER, description="Table name (default: the dataset's name)"
    )
    rows_per_statement: int = Field(100, ge=1, le=10_000, description="Rows in one INSERT")
    create_table: bool = Field(False, description="Start with CREATE TABLE IF NOT EXISTS")


class XmlOptions(FormatOptions):
    root: str = Field("records", pattern=r"^[A-Za-z_][\w.-]*$", description="Root element")
    item: str = Field("record", pattern=r"^[A-Za-z_][\w.-]*$", description="Element per record")
    indent: bool = Field(True, description="One element per line, indented")


FORMAT_OPTIONS: dict[str, type[FormatOptions]] = {
    "jsonl": JsonLinesOptions,
    "json": JsonArrayOptions,
    "csv": CsvOptions,
    "sql": SqlOptions,
    "xml": XmlOptions,
}

FORMAT_EXTENSIONS: dict[str, str] = {
    "jsonl": "jsonl",
    "json": "json",
    "csv": "csv",
    "sql": "sql",
    "xml": "xml",
}

FORMAT_LABELS: dict[str, str] = {
    "jsonl": "JSON lines",
    "json": "JSON array",
    "csv": "CSV",
    "sql": "SQL inserts",
    "xml": "XML",
}
