"""The entity registry every layer asks: the knowledge graph's entities, an optional registry file, and entities
other layers register (the sales database's customers, the pricing policy's SKUs), behind one matcher."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator
from sqlmodel import Session, col, select

from knowledge.graph import (
    AliasMatcher,
    alias_key,
    entity_id_for,
    entity_type_of,
    registered_aliases,
    upsert_entity,
)
from knowledge.tables import Entity, EntityAlias
from salesbot.yaml_files import load_yaml_model

logger = logging.getLogger(__name__)

EntityType = Literal["customer", "product", "competitor", "contract", "partner"]
_LATIN_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9 .,&'’()/\-]*$")


class RegistryEntry(BaseModel):
    """One entity as a registry file (entities.yaml) or another layer gives it."""

    type: EntityType
    key: str = Field(default="", description="Stable key (a customer key, a SKU); the name when left out.")
    name: str = Field(default="", description="Canonical name; the key when left out.")
    aliases: list[str] = Field(default_factory=list, description="Other names people use.")
    attributes: dict[str, Any] = Field(default_factory=dict,
                                       description="name_en, region, industry, city, line, ... as the data gives.")

    @model_validator(mode="after")
    def _key_or_name(self) -> RegistryEntry:
        self.key, self.name = str(self.key).strip(), str(self.name).strip()
        if not self.key and not self.name:
            raise ValueError("an entity needs a key or a name")
        self.key = self.key or self.name
        self.name = self.name or self.key
        self.aliases = [str(alias).strip() for alias in self.aliases if str(alias).strip()]
        return self


class EntityRegistryFile(BaseModel):
    """An entities.yaml: `entities: [{type, key, name, aliases, attributes}]`."""

    entities: list[RegistryEntry] = Field(default_factory=list)


def read_registry_file(path: Path) -> list[RegistryEntry]:
    """The entries of an entities.yaml; ConfigFileError names the file, the key and the problem."""
    return load_yaml_model(Path(path), EntityRegistryFile).entities


def load_entity_registry(session: Session, path: Path) -> int:
    """Read an entities.yaml into the graph; returns the count."""
    entries = read_registry_file(path)
    for entry in entries:
        upsert_entity(session, entry.type, entry.key, entry.name, entry.aliases, entry.attributes)
    return len(entries)


@dataclass(frozen=True)
class RegistryEntity:
    """An entity as the registry knows it, merged over every source that names it."""

    entity_id: str
    entity_type: str
    key: str
    name: str
    aliases: tuple[str, ...] = ()
    attributes: Mapping[str, Any] = field(default_factory=dict)

    def latin_name(self) -> str:
        """attributes.name_en, else the name when it is Latin, else the first Latin alias, else the name."""
        name_en = str(self.attributes.get("name_en") or "").strip()
        if name_en:
            return name_en
        if _LATIN_NAME.match(self.name):
            return self.name
        return next((alias for alias in self.aliases if _LATIN_NAME.match(alias) and alias != self.key and
                     not alias.islower()), self.name)


@dataclass(frozen=True)
class RegistryMatch:
    """An entity mentioned in a text: where, under which alias, and how sure (100 = exact alias)."""

    entity_id: str
    entity_type: str
    alias: str
    start: int
    end: int
    score: float = 100.0


class _RegistryView:
    """The registry at one moment: entities by id and the matcher over all their aliases."""

    def __init__(self, entities: list[RegistryEntity]) -> None:
        self.entities = {entity.entity_id: entity for entity in entities}
        self.matcher = AliasMatcher([(alias, entity.entity_id) for entity in entities for alias in entity.aliases])
        self.by_alias_key: dict[str, set[str]] = {}
        for entity in entities:
            for alias in entity.aliases:
                self.by_alias_key.setdefault(alias_key(alias), set()).add(entity.entity_id)


class EntityRegistry:
    """Customers, products, competitors, partners and contracts, asked by name from any layer.

    Rebuilt when the knowledge base's generation, the registry file or an external source changes; cheap to
    ask otherwise. Sources, in order of precedence for names and attributes: the knowledge graph, the
    SALESBOT_ENTITIES_FILE registry file, then entities registered with `register_external`.
    """

    def __init__(self, session_factory: Callable[[], Session], generation: Callable[[], int],
                 entities_file: Path | None = None) -> None:
        self._session_factory = session_factory
        self._generation = generation
        self._entities_file = entities_file
        self._external: dict[str, tuple[RegistryEntry, ...]] = {}
        self._external_version = 0
        self._lock = threading.RLock()
        self._view: tuple[tuple[Any, ...], _RegistryView] | None = None

    # ------------------------------------------------------------------ sources

    def register_external(self, source: str, entities: Iterable[RegistryEntry]) -> None:
        """Add (or replace) the entities one outside source knows, e.g. the sales database's customers."""
        entries = tuple(entities)
        with self._lock:
            if self._external.get(source) != entries:
                self._external[source] = entries
                self._external_version += 1

    def _file_state(self) -> tuple[str, int] | None:
        path = self._entities_file
        if path is None or not path.is_file():
            return None
        return str(path), path.stat().st_mtime_ns

    def _current(self) -> _RegistryView:
        state = (self._generation(), self._file_state(), self._external_version)
        with self._lock:
            if self._view is None or self._view[0] != state:
                self._view = (state, _RegistryView(self._collect()))
            return self._view[1]

    def _collect(self) -> list[RegistryEntity]:
        merged: dict[str, dict[str, Any]] = {}

        def add(entity_id: str, entity_type: str, key: str, name: str, aliases: Iterable[str],
                attributes: Mapping[str, Any]) -> None:
            entry = merged.setdefault(entity_id, {"type": entity_type, "key": key, "name": name, "aliases": {},
                                                  "attributes": {}})
            for alias in aliases:
                entry["aliases"].setdefault(alias, None)
            entry["attributes"] = {**attributes, **entry["attributes"]}  # earlier sources win
            entry["key"] = entry["key"] or key

        with self._session_factory() as session:
            entities = session.exec(select(Entity).order_by(col(Entity.entity_id))).all()
            aliases: dict[str, list[str]] = {}
            for row in session.exec(select(EntityAlias).order_by(col(EntityAlias.entity_id),
                                                                  col(EntityAlias.alias_key))):
                aliases.setdefault(row.entity_id, []).append(row.alias)
        for entity in entities:
            add(entity.entity_id, entity.entity_type, entity.key or entity.name, entity.name,
                [entity.name, *aliases.get(entity.entity_id, [])], entity.attributes or {})
        file_entries: list[RegistryEntry] = []
        if self._file_state() is not None and self._entities_file is not None:
            file_entries = read_registry_file(self._entities_file)
        for source_entries in [file_entries, *self._external.values()]:
            for item in source_entries:
                add(entity_id_for(item.type, item.key), item.type, item.key, item.name,
                    registered_aliases(item.type, item.key, item.name, item.aliases, item.attributes),
                    item.attributes)
        return [RegistryEntity(entity_id=entity_id, entity_type=entry["type"], key=entry["key"], name=entry["name"],
                               aliases=tuple(entry["aliases"]), attributes=dict(entry["attributes"]))
                for entity_id, entry in sorted(merged.items())]

    # ------------------------------------------------------------------ questions

    @property
    def matcher(self) -> AliasMatcher:
        return self._current().matcher

    def find(self, text: str, types: Iterable[str] | None = None) -> list[RegistryMatch]:
        """Every entity (of `types`, if given) named in the text by an exact alias, in text order."""
        return [_match(found) for found in self._current().matcher.find(text, types)]

    def first_in_text(self, text: str, types: Iterable[str] | None = None) -> RegistryMatch | None:
        """The first entity the text names exactly; failing that, the best near miss (fuzzy)."""
        view = self._current()
        found = view.matcher.find(text, types)
        if found:
            return _match(found[0])
        near = view.matcher.near_miss(text, types)
        return _match(near) if near is not None else None

    def resolve(self, mention: str, types: Iterable[str] | None = None) -> RegistryEntity | None:
        """The one entity a mention refers to: exact alias → unique contained alias → near miss."""
        cleaned = " ".join((mention or "").split())
        if not cleaned:
            return None
        view = self._current()
        entity_id = view.matcher.resolve(cleaned, types)
        return view.entities.get(entity_id) if entity_id else None

    def get(self, entity_id: str) -> RegistryEntity | None:
        return self._current().entities.get(entity_id)

    def exact(self, name: str, types: Iterable[str] | None = None) -> RegistryEntity | None:
        """The one entity (of `types`) one of whose aliases is exactly `name` (normalised); no fuzzy step, so
        callers can use it on every stored value of a database column."""
        view = self._current()
        wanted = set(types) if types is not None else None
        owners = [view.entities[entity_id] for entity_id in view.by_alias_key.get(alias_key(name), ())
                  if entity_id in view.entities and (wanted is None or entity_type_of(entity_id) in wanted)]
        return owners[0] if len(owners) == 1 else None

    def state(self) -> tuple[Any, ...]:
        """A token that changes whenever the registry's content may have changed (for callers' caches)."""
        return (self._generation(), self._file_state(), self._external_version)

    def of_type(self, entity_type: str) -> list[RegistryEntity]:
        """Every entity of one type (sorted by entity id, so the order is stable)."""
        return [entity for entity in self._current().entities.values() if entity.entity_type == entity_type]


def _match(found: Any) -> RegistryMatch:
    return RegistryMatch(entity_id=found.entity_id, entity_type=entity_type_of(found.entity_id), alias=found.alias,
                         start=found.start, end=found.end, score=found.score)
