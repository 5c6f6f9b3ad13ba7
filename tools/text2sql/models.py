"""Pydantic types of the text-to-SQL package: the semantic layer, query plans and the answer contract."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ColumnRole = Literal["key", "name", "category", "number", "date", "text"]
Aggregation = Literal["count", "sum", "avg", "min", "max"]
# Layer files are edited by hand: a misspelt key (`synonym:`) is an error, never silently ignored.
LAYER_FILE_CONFIG = ConfigDict(extra="forbid")


class SqlAnswer(BaseModel):
    """The answer to one data question; `salesbot sql --json` prints exactly model_dump() of it."""

    sql: str = ""
    columns: list[str] = Field(default_factory=list)
    rows: list[list[Any]] = Field(default_factory=list)
    chart: str | None = None
    refused: bool = False
    message: str = ""
    method: Literal["rules", "llm", "sql", "none"] = Field(
        default="none", description="Which path produced the SQL: rule compiler, LLM, user-typed SQL, or none."
    )
    truncated: bool = Field(default=False, description="True when the row cap cut the result.")


class ColumnSpec(BaseModel):
    """One column of the semantic layer: its role and the words people use for it."""

    model_config = LAYER_FILE_CONFIG

    role: ColumnRole = "text"
    synonyms: list[str] = Field(default_factory=list)
    index_values: bool = Field(default=False, description="Index distinct values so filter words resolve here.")
    aggregation: Aggregation = Field(default="sum", description="Default aggregation when it is a measure.")
    ranking_words: dict[str, Literal["asc", "desc"]] = Field(
        default_factory=dict, description="Superlatives that order rows by this column, e.g. youngest: desc."
    )
    value_synonyms: dict[str, str] = Field(
        default_factory=dict, description="Words that mean a stored value, e.g. California: CA, 巴西: Brazil."
    )
    description: str = ""
    stored_as: Literal["number", "year", "date"] | None = Field(
        default=None, description="A text column whose values are numbers, years or dates (compare as that type)."
    )
    usage: Literal["measure", "dimension", "identifier"] | None = Field(
        default=None, description="Measure (aggregated), dimension (grouped/filtered) or identifier; None: by role."
    )


class TableSpec(BaseModel):
    """One table: synonyms, key, the columns that name a row, and its time column."""

    model_config = LAYER_FILE_CONFIG

    synonyms: list[str] = Field(default_factory=list)
    primary_key: str | None = None
    label: list[str] = Field(default_factory=list, description="Columns that name a row (title, first+last name).")
    label_synonyms: list[str] = Field(default_factory=list, description="Words for the label, e.g. full name.")
    time_column: str | None = None
    columns: dict[str, ColumnSpec] = Field(default_factory=dict)
    description: str = ""


class JoinSpec(BaseModel):
    """A foreign-key join written as `table.column` on both sides."""

    model_config = LAYER_FILE_CONFIG

    left: str
    right: str
    source: Literal["foreign_key", "naming", "manual"] = Field(
        default="manual", description="Declared foreign key, inferred from column naming, or written by a person."
    )


class MeasureSpec(BaseModel):
    """A named business measure: an aggregate over an expression written by the layer's author."""

    model_config = LAYER_FILE_CONFIG

    name: str
    table: str
    expression: str = Field(description="SQL expression over the table's columns (from the layer, never user text).")
    aggregation: Aggregation = "sum"
    condition: str | None = Field(default=None, description="Optional SQL condition, e.g. deals.outcome = 'won'.")
    synonyms: list[str] = Field(default_factory=list)
    description: str = ""


class SemanticLayer(BaseModel):
    """Everything the compiler, the guard and the LLM prompt know about one database."""

    model_config = LAYER_FILE_CONFIG

    name: str
    description: str = ""
    dialect: str = "sqlite"
    tables: dict[str, TableSpec]
    joins: list[JoinSpec] = Field(default_factory=list)
    measures: list[MeasureSpec] = Field(default_factory=list)


class SolvedExample(BaseModel):
    """A question with SQL known to be right, retrieved to ground the LLM."""

    question: str
    sql: str


class GuardVerdict(BaseModel):
    """Whether a SQL text may run, and the rewritten SQL (LIMIT enforced) when it may."""

    allowed: bool
    sql: str = ""
    reason: str = ""
    unsafe: bool = Field(default=False, description="Refused for safety (a write, PRAGMA…), not for a mistake.")
    truncated_limit: bool = False


class QueryResult(BaseModel):
    """Rows from the read-only executor."""

    columns: list[str]
    rows: list[list[Any]]
    truncated: bool = False
