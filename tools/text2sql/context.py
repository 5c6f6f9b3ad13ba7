"""Per-database context (semantic layer, value index, rule compiler), built once and cached by URL and file age."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from typing import Any

from salesbot.settings import get_settings, on_reset
from tools.text2sql.compiler import RuleCompiler
from tools.text2sql.executor import read_only_engine, sqlite_path
from tools.text2sql.layer import layer_for_database
from tools.text2sql.models import SemanticLayer
from tools.text2sql.values import REGISTRY_VALUE_TYPES, ValueIndex, add_registry_aliases, build_value_index


class EmptyDatabaseError(RuntimeError):
    """The database has no tables (or no rows in any table the layer knows)."""


@dataclass
class DatabaseContext:
    url: str
    layer: SemanticLayer
    value_index: ValueIndex
    compiler: RuleCompiler


_contexts: dict[tuple[Any, ...], DatabaseContext] = {}
_lock = threading.Lock()


def _file_stamp(url: str) -> float:
    path = sqlite_path(url)
    if path is None or not path.exists():
        return 0.0
    stamps = [path.stat().st_mtime]
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        stamps.append(wal.stat().st_mtime)
    return max(stamps)


def database_context(url: str, layers_dir=None, today: date | None = None) -> DatabaseContext:
    """The cached context for a database; rebuilt when a SQLite file changes (new seed data)."""
    layer_stamp = max((path.stat().st_mtime for path in layers_dir.glob("*.yaml")), default=0.0) if (
        layers_dir is not None and layers_dir.is_dir()) else 0.0
    registry = _registry_for(url)
    key = (url, max(_file_stamp(url), layer_stamp), str(today), registry.state() if registry is not None else None)
    with _lock:
        context = _contexts.get(key)
        if context is not None:
            return context
    engine = read_only_engine(url)
    try:
        layer = layer_for_database(engine, layers_dir, url=url)
        if layer is None:
            raise EmptyDatabaseError(url)
        value_index = build_value_index(engine, layer)
        if registry is not None:
            add_registry_aliases(value_index, lambda value: _aliases_of(registry, value))
    finally:
        engine.dispose()
    context = DatabaseContext(url, layer, value_index, RuleCompiler(layer, value_index, today))
    with _lock:
        _contexts[key] = context
    return context


def value_index_for(url: str, layer: SemanticLayer) -> ValueIndex:
    """The value index of the cached context for this database and layer (the service has just built it, so
    the LLM path reuses it); one built now when none is cached."""
    with _lock:
        for context in _contexts.values():
            if context.url == url and context.layer is layer:
                return context.value_index
    engine = read_only_engine(url)
    try:
        return build_value_index(engine, layer)
    finally:
        engine.dispose()


def _registry_for(url: str) -> Any:
    """The entity registry for the sales database (whose customers and products it names); None for any other
    database, whose values the registry knows nothing about."""
    if url != get_settings().sales_database_url:
        return None
    from knowledge.base import get_entity_registry

    return get_entity_registry()


def _aliases_of(registry: Any, value: str) -> tuple[str, ...] | None:
    entity = registry.exact(value, REGISTRY_VALUE_TYPES)
    return entity.aliases if entity is not None else None


@on_reset
def clear_contexts() -> None:
    """Forget cached layers and value indexes (tests and `reset_runtime()` call this)."""
    with _lock:
        _contexts.clear()
