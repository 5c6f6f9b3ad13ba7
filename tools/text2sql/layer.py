"""Semantic layers: load the bundled or saved YAML, save drafts people can read, and pick one for a database."""

from __future__ import annotations

import hashlib
import logging
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from salesbot.yaml_files import load_yaml_model
from tools.text2sql.drafting import draft_layer
from tools.text2sql.drafting.words import plural_forms
from tools.text2sql.models import SemanticLayer

__all__ = ["bundled_layers", "draft_layer", "layer_for_database", "load_layer", "plural_forms", "save_layer"]

LAYERS_DIR = Path(__file__).resolve().parent / "layers"
logger = logging.getLogger(__name__)


def load_layer(path: Path | str) -> SemanticLayer:
    """Read and validate a semantic layer YAML file."""
    return load_yaml_model(Path(path), SemanticLayer)


DRAFT_HEADER = """\
# Semantic layer DRAFTED by salesbot from the schema of {source} and a sample of its values: review it.
# How to edit (then run `salesbot sql layer check THIS_FILE --db URL`):
#   tables.T.synonyms / columns.C.synonyms  words people use for a table or column, English and Chinese in one list
#   label / label_synonyms                  the columns that name a row (asked for as "the names of ...")
#   role: key|name|category|number|date|text; usage: measure (added up) | dimension (grouped) | identifier
#   stored_as: number|year|date             a text column holding numbers, years or dates
#   value_synonyms: {word: stored value}    e.g. {California: CA}
#   joins: source: naming                   guessed from column names (checked on sampled values): confirm them
# Keep edited copies in $SALESBOT_HOME/semantic_layers/ and change `name` (names starting with draft- rank last).
"""


def draft_header(source: str) -> str:
    """The comment block at the top of a drafted layer: what it is and how to edit it."""
    return DRAFT_HEADER.replace("{source}", source)


class _LayerDumper(yaml.SafeDumper):
    """Block style for the structure, one line per column and word list, so a layer reads like the bundled ones."""


class _FlowMapping(dict):
    """A mapping written on one line (a column, a join)."""


class _FlowSequence(list):
    """A list written on one line (synonyms, label columns)."""


def _flow_mapping(dumper: yaml.SafeDumper, data: _FlowMapping) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True)


def _flow_sequence(dumper: yaml.SafeDumper, data: _FlowSequence) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


_LayerDumper.add_representer(_FlowMapping, _flow_mapping)
_LayerDumper.add_representer(_FlowSequence, _flow_sequence)


COLUMN_KEY_ORDER = ("role", "usage", "stored_as", "aggregation", "index_values", "synonyms", "ranking_words",
                    "value_synonyms", "description")


def _column_key_order(item: tuple[str, object]) -> int:
    """What a column is first (role, usage, type), then its words."""
    return COLUMN_KEY_ORDER.index(item[0]) if item[0] in COLUMN_KEY_ORDER else len(COLUMN_KEY_ORDER)


def layer_yaml(layer: SemanticLayer, header: str = "") -> str:
    """The layer as YAML people can read and edit (defaults left out), after an optional comment header."""
    data = layer.model_dump(mode="json", exclude_defaults=True)
    data["tables"] = {name: spec.model_dump(mode="json", exclude_defaults=True) for name, spec in layer.tables.items()}
    for table in data["tables"].values():
        for key in ("synonyms", "label", "label_synonyms"):
            if key in table:
                table[key] = _FlowSequence(table[key])
        table["columns"] = {name: _FlowMapping(sorted(column.items(), key=_column_key_order))
                            for name, column in table.get("columns", {}).items()}
    if "joins" in data:
        data["joins"] = [_FlowMapping(join) for join in data["joins"]]
    return header + yaml.dump(data, Dumper=_LayerDumper, allow_unicode=True, sort_keys=False, width=120)


def save_layer(layer: SemanticLayer, path: Path | str, header: str = "") -> Path:
    """Write a layer as YAML (drafts land here so people can edit synonyms and joins)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(layer_yaml(layer, header), encoding="utf-8")
    return target


@lru_cache(maxsize=8)
def bundled_layers() -> tuple[SemanticLayer, ...]:
    """Every layer shipped in tools/text2sql/layers/."""
    return tuple(load_layer(path) for path in sorted(LAYERS_DIR.glob("*.yaml")))


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
        saved = save_layer(layer, layers_dir / f"draft-{url_digest}.yaml", header=draft_header("this database"))
        logger.info("drafted a semantic layer for %s at %s", url or engine.url, saved)
    return layer
