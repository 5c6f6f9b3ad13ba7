"""Join paths of a drafted layer: declared foreign keys, then guesses from column naming checked on the data.

Naming covers the schemas that declare nothing: `owner_id`/`ownerId`/`breed_code` → the table named
owner(s)/breed(s) with that key, role-prefixed keys (`current_address_id` → addresses), a column that has
the same name as another table's primary key, and a bare noun column (`channel`) naming a table. Every
naming guess is kept only when the sampled values of the column are found in the target key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import Engine

from tools.text2sql.drafting.profile import TableProfile
from tools.text2sql.drafting.words import singular, table_noun
from tools.text2sql.models import JoinSpec

KEY_SUFFIXES = ("id", "code", "key", "ref", "number", "no", "num")
VALUES_CHECKED = 100
MIN_FOUND_SHARE = 0.8


@dataclass(frozen=True)
class Candidate:
    """A naming guess: `table.column` → `target.target_column`."""

    table: str
    column: str
    target: str
    target_column: str

    def spec(self) -> JoinSpec:
        return JoinSpec(left=f"{self.table}.{self.column}", right=f"{self.target}.{self.target_column}",
                        source="naming")


def join_key(join: JoinSpec) -> frozenset[str]:
    """The same join written either way round (and in any letter case) is one join."""
    return frozenset((join.left.lower(), join.right.lower()))


def primary_key_of(table: TableProfile) -> str | None:
    """The single-column primary key: declared, else `id`, else `<table>_id` (composite keys give None)."""
    if len(table.primary_key) == 1:
        return table.primary_key[0]
    if table.primary_key:
        return None
    noun = "_".join(table_noun(table.name).words)
    by_lower = {name.lower(): name for name in table.columns}
    for guess in ("id", f"{noun}_id", f"{noun}id"):
        if guess in by_lower:
            return by_lower[guess]
    return None


def declared_joins(tables: dict[str, TableProfile]) -> list[JoinSpec]:
    """Foreign keys as joins (table and column names matched without regard to case; duplicates dropped)."""
    by_lower = {name.lower(): table for name, table in tables.items()}
    joins: dict[frozenset[str], JoinSpec] = {}
    for table in tables.values():
        for key in table.foreign_keys:
            target = by_lower.get(key.referred_table.lower())
            if target is None:
                continue
            remote_columns = key.referred_columns or [primary_key_of(target) or ""]
            for local, remote in zip(key.columns, remote_columns, strict=False):
                local_name = _column_named(table, local)
                remote_name = _column_named(target, remote)
                if local_name and remote_name:
                    join = JoinSpec(left=f"{table.name}.{local_name}", right=f"{target.name}.{remote_name}",
                                    source="foreign_key")
                    joins.setdefault(join_key(join), join)
    return list(joins.values())


@dataclass
class _Targets:
    """Tables a column may point at, by key column name and by noun words, built once per draft."""

    by_key: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # lower key name → (table, key)
    by_noun: dict[tuple[str, ...], list[tuple[str, str]]] = field(default_factory=dict)
    by_noun_tail: dict[tuple[str, ...], list[tuple[str, str]]] = field(default_factory=dict)  # `channel` of tv channel

    @classmethod
    def of(cls, tables: dict[str, TableProfile]) -> _Targets:
        targets = cls()
        for table in tables.values():
            key = primary_key_of(table)
            if key is None:
                continue
            noun = table_noun(table.name).words
            targets.by_key.setdefault(key.lower(), []).append((table.name, key))
            targets.by_noun.setdefault(noun, []).append((table.name, key))
            for start in range(1, len(noun)):
                targets.by_noun_tail.setdefault(noun[start:], []).append((table.name, key))
        return targets


def naming_joins(engine: Engine, tables: dict[str, TableProfile], known: list[JoinSpec]) -> list[JoinSpec]:
    """Joins guessed from names for columns no declared foreign key covers, each checked on sampled values."""
    covered = {part.lower() for join in known for part in (join.left, join.right) if join.source == "foreign_key"}
    taken = {join_key(join) for join in known}
    targets = _Targets.of(tables)
    found: list[JoinSpec] = []
    for table in tables.values():
        for column in table.columns:
            if f"{table.name}.{column}".lower() in covered:
                continue
            candidate = _best_candidate(targets, table, column)
            if candidate is None:
                continue
            join = candidate.spec()
            if join_key(join) in taken or not _values_found(engine, candidate):
                continue
            taken.add(join_key(join))
            found.append(join)
    return found


def _column_named(table: TableProfile, name: str) -> str | None:
    if name in table.columns:
        return name
    return next((column for column in table.columns if column.lower() == name.lower()), None)


def _best_candidate(targets: _Targets, table: TableProfile, column: str) -> Candidate | None:
    """The one table this column most plausibly points at, or None when no table or several fit equally.

    Strength, best first: 0 the same name as another table's key (`student_id`), 1 `owner_id` → owner,
    2 a role-prefixed key (`current_address_id` → address), 3 a bare noun (`channel` → tv channel).
    """
    words = [singular(word) for word in table.columns[column].words]
    if not words or column == primary_key_of(table):
        return None
    has_suffix = len(words) > 1 and words[-1] in KEY_SUFFIXES
    stem = tuple(words[:-1] if has_suffix else words)
    matches: list[tuple[int, tuple[str, str]]] = []
    if words[-1] in KEY_SUFFIXES:
        matches += [(0, target) for target in targets.by_key.get(column.lower(), [])]
    if has_suffix:
        matches += [(1, target) for target in targets.by_noun.get(stem, [])]
        for start in range(1, len(stem)):
            matches += [(2, target) for target in targets.by_noun.get(stem[start:], [])]
    else:
        matches += [(3, target) for index in (targets.by_noun, targets.by_noun_tail) for target in index.get(stem, [])]
    strongest: dict[str, tuple[int, str]] = {}
    for strength, (target, key) in sorted(matches):
        if target != table.name:
            strongest.setdefault(target, (strength, key))
    if not strongest:
        return None
    best_strength = min(strength for strength, _ in strongest.values())
    best = [(target, key) for target, (strength, key) in strongest.items() if strength == best_strength]
    return Candidate(table.name, column, *best[0]) if len(best) == 1 else None


def _values_found(engine: Engine, candidate: Candidate) -> bool:
    """Whether most sampled distinct values of the column exist in the target key (True for empty tables)."""
    preparer = engine.dialect.identifier_preparer
    column, table = preparer.quote(candidate.column), preparer.quote(candidate.table)
    target_column, target = preparer.quote(candidate.target_column), preparer.quote(candidate.target)
    # Identifiers from the database's catalogue, quoted by the dialect.
    statement = text(
        f"SELECT COUNT(*), SUM(CASE WHEN sampled.value IN (SELECT {target_column} FROM {target}) THEN 1 ELSE 0 END) "
        f"FROM (SELECT DISTINCT {column} AS value FROM {table} WHERE {column} IS NOT NULL "
        f"LIMIT {VALUES_CHECKED}) AS sampled")
    with engine.connect() as connection:
        total, found = connection.execute(statement).one()
    return not total or (found or 0) / total >= MIN_FOUND_SHARE
