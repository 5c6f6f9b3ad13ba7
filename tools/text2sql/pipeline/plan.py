"""The query plan the planner builds and the renderer turns into SQL: only layer identifiers and literals."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Output:
    """One selected expression: a column, an aggregate of a column, a count of rows, or every column."""

    kind: str  # column | aggregate | count | star
    table: str
    column: str | None = None
    aggregation: str | None = None  # avg | sum | min | max | count
    distinct: bool = False


@dataclass(frozen=True)
class Condition:
    """A row filter on one column: = != > >= < <= like between, or a comparison with the column's average."""

    table: str
    column: str
    operator: str
    value: str | float | None = None
    upper: float | None = None
    numeric: bool = False
    against_average: bool = False


@dataclass(frozen=True)
class Having:
    """A filter on each group's row count (or aggregate of a column)."""

    operator: str
    number: float
    upper: float | None = None
    table: str | None = None
    column: str | None = None
    aggregation: str = "count"


@dataclass(frozen=True)
class Ordering:
    """Order by a column, a group's row count, or an aggregate."""

    kind: str  # column | count | aggregate
    table: str
    column: str | None = None
    aggregation: str | None = None
    descending: bool = False


@dataclass
class AntiJoin:
    """Rows of the subject with no related row (optionally: no related row matching `conditions`); with
    `negated` False, rows that have one (a semi-join: "dogs who went through treatments")."""

    related: str
    conditions: list[Condition] = field(default_factory=list)
    negated: bool = True


@dataclass
class QueryPlan:
    """Everything the renderer needs; tables are joined along the layer's joins."""

    base: str
    outputs: list[Output] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    any_condition: bool = False
    group_by: list[tuple[str, str]] = field(default_factory=list)
    having: Having | None = None
    order_by: list[Ordering] = field(default_factory=list)
    limit: int | None = None
    distinct: bool = False
    anti_joins: list[AntiJoin] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    compound: tuple[str, QueryPlan] | None = None  # (intersect | union | except, the other side)
    doubts: list[str] = field(default_factory=list)

    def needed_tables(self) -> list[str]:
        """Tables the FROM clause must hold, the base first."""
        tables = [self.base, *self.tables]
        tables += [o.table for o in self.outputs] + [c.table for c in self.conditions] + [t for t, _ in self.group_by]
        tables += [o.table for o in self.order_by if o.kind != "count"]
        if self.having and self.having.table:
            tables.append(self.having.table)
        return list(dict.fromkeys(t for t in tables if t))
