"""Option schemas of each generator format. The wizard builds its form from these."""

from __future__ import annotations

from typing import Any, Literal

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
        description="Which fields are quoted (none: \\-escapes; '' then reads back as null)",
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


class ParquetOptions(FormatOptions):
    compression: Literal["none", "snappy", "gzip", "zstd", "lz4", "brotli"] = Field(
        "snappy", description="Codec of the column chunks"
    )
    row_group_size: int = Field(
        100_000, ge=1_000, le=10_000_000, description="Records in one row group"
    )


class AvroOptions(FormatOptions):
    codec: Literal["null", "deflate", "bzip2", "xz"] = Field(
        "null", description="Codec of the data blocks"
    )


EXCEL_MAX_ROWS = 1_048_576  # rows in one sheet, Excel's limit (the header row included)


class ExcelOptions(FormatOptions):
    header: bool = Field(True, description="First row names the columns")
    rows_per_sheet: int = Field(
        EXCEL_MAX_ROWS - 1,
        ge=1,
        le=EXCEL_MAX_ROWS - 1,
        description="Records per sheet; more go on to a new sheet (Excel holds 1,048,576 rows)",
    )
    date_format: str = Field("yyyy-mm-dd", min_length=1, description="Excel format of dates")
    datetime_format: str = Field(
        "yyyy-mm-dd hh:mm:ss", min_length=1, description="Excel format of timestamps"
    )


# A hint for forms: the value is text of several lines (a TextArea, not an Input).
MULTILINE: dict[str, Any] = {"multiline": True}


class TemplateOptions(FormatOptions):
    """Jinja2 templates in a sandbox. `record` sees each field by name, `record` (the
    whole record), `index` (0-based) and `dataset`; `header` and `footer` see `dataset`
    and `fields`, the footer `count` too. Nulls render empty. Filters beyond Jinja's own:
    `json`, `fixed(width, align)`, `ldif(attribute)`."""

    header: str = Field("", description="Template written once, first", json_schema_extra=MULTILINE)
    record: str = Field(
        ...,
        min_length=1,
        description="Template written for each record",
        examples=["{{ record | json }}"],  # forms start a new template from it
        json_schema_extra=MULTILINE,
    )
    footer: str = Field("", description="Template written once, last", json_schema_extra=MULTILINE)
    line_end: Literal["\n", "\r\n", ""] = Field("\n", description="Written after each record")
    extension: str = Field(
        "txt", pattern=r"^[A-Za-z0-9]{1,10}$", description="File extension ({ext})"
    )

    @field_validator("header", "record", "footer")
    @classmethod
    def _compiles(cls, value: str) -> str:
        from jinja2 import TemplateSyntaxError
        from jinja2.sandbox import SandboxedEnvironment

        try:
            SandboxedEnvironment().parse(value)
        except TemplateSyntaxError as exc:
            raise ValueError(f"template error on line {exc.lineno}: {exc.message}") from None
        return value


FORMAT_OPTIONS: dict[str, type[FormatOptions]] = {
    "jsonl": JsonLinesOptions,
    "json": JsonArrayOptions,
    "csv": CsvOptions,
    "sql": SqlOptions,
    "xml": XmlOptions,
    "parquet": ParquetOptions,
    "avro": AvroOptions,
    "excel": ExcelOptions,
    "template": TemplateOptions,
}

FORMAT_EXTENSIONS: dict[str, str] = {
    "jsonl": "jsonl",
    "json": "json",
    "csv": "csv",
    "sql": "sql",
    "xml": "xml",
    "parquet": "parquet",
    "avro": "avro",
    "excel": "xlsx",
    "template": "txt",
}

FORMAT_LABELS: dict[str, str] = {
    "jsonl": "JSON lines",
    "json": "JSON array",
    "csv": "CSV",
    "sql": "SQL inserts",
    "xml": "XML",
    "parquet": "Parquet",
    "avro": "Avro",
    "excel": "Excel (xlsx)",
    "template": "Template (Jinja2)",
}


def format_extension(fmt: str, options: dict[str, Any] | None = None) -> str:
    """The file extension of a format's output (`{ext}` in file paths)."""
    if fmt == "template" and options and options.get("extension"):
        return str(options["extension"])
    return FORMAT_EXTENSIONS.get(fmt, fmt)
