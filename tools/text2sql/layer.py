"""Semantic layers: draft one from a live schema, load the bundled or saved YAML, and pick one for a database."""

from __future__ import annotations

import hashlib
import logging
import re
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from salesbot.yaml_files import load_yaml_model
from tools.text2sql.models import ColumnSpec, JoinSpec, SemanticLayer, TableSpec

LAYERS_DIR = Path(__file__).resolve().parent / "layers"
logger = logging.getLogger(__name__)

# Text columns with at most this many distinct values are treated as categories (filters, group-bys).
CATEGORY_MAX_DISTINCT = 60
NAME_COLUMN_WORDS = ("name", "title", "company", "composer")


def plural_forms(word: str) -> list[str]:
    """Singular and plural spellings of an English word (Chinese words are returned unchanged)."""
    if not word.isascii():
        return [word]
    forms = {word}
    if word.endswith("ies"):
        forms.add(word[:-3] + "y")
    elif word.endswith("ses") or word.endswith("xes"):
        forms.add(word[:-2])
    elif word.endswith("s") and not word.endswith("ss"):
        forms.add(word[:-1])
    else:
        forms.add(word[:-1] + "ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else word + "s")
        if word.endswith(("s", "x", "ch", "sh")):
            forms.add(word + "es")
    return sorted(forms)


def load_layer(path: Path | str) -> SemanticLayer:
    """Read and validate a semantic layer YAML file."""
    return load_yaml_model(Path(path), SemanticLayer)


def save_layer(layer: SemanticLayer, path: Path | str) -> Path:
    """Write a layer as YAML (drafts land here so people can edit synonyms and joins)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = layer.model_dump(mode="json", exclude_defaults=True)
    data["tables"] = {name: spec.model_dump(mode="json", exclude_defaults=True) for name, spec in layer.tables.items()}
    target.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


@lru_cache(maxsize=8)
def bundled_layers() -> tuple[SemanticLayer, ...]:
    """Every layer shipped in tools/text2sql/layers/."""
    return tuple(load_layer(path) for path in sorted(LAYERS_DIR.glob("*.yaml")))


def _dialect_of(url: str) -> str:
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    return {"postgresql": "postgres", "sqlite": "sqlite", "mysql": "mysql"}.get(scheme, scheme)


def _column_role(table: str, column: str, type_name: str, is_key: bool, distinct: int | None) -> str:
    lowered = type_name.lower()
    if is_key or column == "id" or column.endswith(("_id", "_key", "_sku")) or column in ("key", "sku", "ref"):
        return "key"
    if any(word in lowered for word in ("date", "time")) or column.endswith(("_at", "_on", "_date")):
        return "date"
    if any(word in lowered for word in ("int", "num", "dec", "real", "float", "double")):
        return "number"
    if any(word in column for word in NAME_COLUMN_WORDS):
        return "name"
    if distinct is not None and distinct <= CATEGORY_MAX_DISTINCT:
        return "category"
    return "text"


def draft_layer(engine: Engine, name: str) -> SemanticLayer:
    """A first semantic layer from the schema: roles by type and name, joins from FKs or `x_id` naming.

    It is a draft: people add synonyms (Chinese and English), value synonyms and ranking words by editing
    the YAML it is saved to.
    """
    inspector = inspect(engine)
    table_names = inspector.get_table_names()
    tables: dict[str, TableSpec] = {}
    joins: list[JoinSpec] = []
    with engine.connect() as connection:
        for table in table_names:
            columns: dict[str, ColumnSpec] = {}
            primary = (inspector.get_pk_constraint(table) or {}).get("constrained_columns") or []
            for column in inspector.get_columns(table):
                column_name = column["name"]
                distinct = None
                if str(column["type"]).upper() in ("TEXT", "VARCHAR", "") or "CHAR" in str(column["type"]).upper():
                    quoted_table = engine.dialect.identifier_preparer.quote(table)
                    quoted_column = engine.dialect.identifier_preparer.quote(column_name)
                    distinct = connection.execute(
                        text(f"SELECT COUNT(DISTINCT {quoted_column}) FROM {quoted_table}")  # names from the schema
                    ).scalar()
                role = _column_role(table, column_name, str(column["type"]), column_name in primary, distinct)
                words = column_name.replace("_", " ")
                columns[column_name] = ColumnSpec(
                    role=role,  # type: ignore[arg-type]
                    synonyms=[words] if words != column_name else [],
                    index_values=role in ("name", "category"),
                    aggregation="sum",
                )
            primary_key = primary[0] if primary else ("id" if "id" in columns else None)
            label: list[str] = [c for c in ("first_name", "last_name") if c in columns] or [
                c for c, spec in columns.items() if spec.role == "name"
            ][:1]
            time_column = next((c for c, spec in columns.items() if spec.role == "date"), None)
            singular = plural_forms(table)
            tables[table] = TableSpec(
                synonyms=[form.replace("_", " ") for form in singular],
                primary_key=primary_key,
                label=label,
                time_column=time_column,
                columns=columns,
            )
            for foreign_key in inspector.get_foreign_keys(table):
                for local, remote in zip(
                    foreign_key["constrained_columns"], foreign_key["referred_columns"], strict=False
                ):
                    joins.append(JoinSpec(left=f"{table}.{local}", right=f"{foreign_key['referred_table']}.{remote}"))
    if not joins:
        joins = _joins_by_naming(tables)
    return SemanticLayer(name=name, dialect=_dialect_of(str(engine.url)), tables=tables, joins=joins)


def _joins_by_naming(tables: dict[str, TableSpec]) -> list[JoinSpec]:
    """Guess joins when the schema declares no foreign keys: `artist_id` → artists.id."""
    joins = []
    for table, spec in tables.items():
        for column in spec.columns:
            match = re.fullmatch(r"(\w+)_id", column)
            if not match:
                continue
            for candidate in plural_forms(match.group(1)):
                if candidate in tables and candidate != table and tables[candidate].primary_key:
                    joins.append(JoinSpec(left=f"{table}.{column}", right=f"{candidate}.{tables[candidate].primary_key}"))
                    break
    return joins


def database_table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def layer_for_database(engine: Engine, layers_dir: Path | None = None, url: str | None = None) -> SemanticLayer | None:
    """The semantic layer that fits this database: an edited one, a bundled one, or a new draft.

    A layer fits when all its tables exist in the database; the fitting layer with the most tables wins,
    and layers under `layers_dir` (SALESBOT_HOME/semantic_layers, where people keep edited copies) win
    ties over the bundled ones. With none fitting, a draft is saved there for editing. None when the
    database has no tables.
    """
    tables = database_table_names(engine)
    if not tables:
        return None
    user_layers = []
    if layers_dir is not None and layers_dir.is_dir():
        for path in sorted(layers_dir.glob("*.yaml")):
            try:
                user_layers.append(load_layer(path))
            except Exception as error:  # one broken file must not hide the others; say which
                logger.warning("ignoring semantic layer %s: %s", path, error)
    # On equal coverage: layers people wrote or renamed, then the bundled ones, then machine drafts.
    candidates = [(len(layer.tables), 0 if layer.name.startswith("draft-") else 2, layer)
                  for layer in user_layers if set(layer.tables) <= tables]
    candidates += [(len(layer.tables), 1, layer) for layer in bundled_layers() if set(layer.tables) <= tables]
    if candidates:
        return max(candidates, key=lambda item: (item[0], item[1]))[2]
    url_digest = hashlib.sha1((url or str(engine.url)).encode()).hexdigest()[:12]
    layer = draft_layer(engine, name=f"draft-{url_digest}")
    if layers_dir is not None:
        saved = save_layer(layer, layers_dir / f"draft-{url_digest}.yaml")
        logger.info("drafted a semantic layer for %s at %s", url or engine.url, saved)
    return layer
