"""The entity graph: customers, products, competitors, contracts, partners, their aliases and relations."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlmodel import Session, col, delete, select

from knowledge.tables import ChunkEntity, Entity, EntityAlias, EntityRelation, KnowledgeDocument

ENTITY_TYPES = ("customer", "product", "competitor", "contract", "partner")
_STRIP = re.compile(r"[\s\-_.·,，()（）'\"“”‘’]+")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN_EDGE = re.compile(r"[a-z0-9]")
# What may stand between the characters of an alias in running text ("People's", "QM-X3", "清泉 X3").
_SEPARATORS = r"[\s\-_.·,，'’()（）]*"


def alias_key(alias: str) -> str:
    """Normalized form used for alias lookups: lowercase without spaces or punctuation."""
    return _STRIP.sub("", alias.lower())


def entity_id_for(entity_type: str, key: str) -> str:
    return f"{entity_type}:{alias_key(key) or key}"


def pinyin_alias(name: str) -> str | None:
    """'华东人民医院' → 'huadongrenminyiyuan', so an English question can name a Chinese customer."""
    if not _CJK.search(name):
        return None
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(name))


@dataclass(frozen=True)
class EntityMatch:
    entity_id: str
    alias: str
    start: int
    end: int


class AliasMatcher:
    """Finds entity aliases in text: longest match wins, Latin aliases only at word boundaries."""

    def __init__(self, aliases: list[tuple[str, str]]) -> None:
        patterns: list[tuple[re.Pattern[str], str, str]] = []
        for alias, entity_id in aliases:
            key = alias_key(alias)
            if len(key) < 2:
                continue
            body = _SEPARATORS.join(re.escape(char) for char in key)
            left = r"(?<![a-z0-9])" if _LATIN_EDGE.match(key[0]) else ""
            right = r"(?![a-z0-9])" if _LATIN_EDGE.match(key[-1]) else ""
            patterns.append((re.compile(left + body + right), alias, entity_id))
        self._patterns = patterns

    def find(self, text: str) -> list[EntityMatch]:
        lowered = text.lower()
        found = [
            EntityMatch(entity_id, alias, match.start(), match.end())
            for pattern, alias, entity_id in self._patterns
            for match in pattern.finditer(lowered)
        ]
        found.sort(key=lambda match: (-(match.end - match.start), match.start, match.entity_id))
        chosen: list[EntityMatch] = []
        for match in found:
            if all(match.end <= other.start or match.start >= other.end for other in chosen):
                chosen.append(match)
        return sorted(chosen, key=lambda match: match.start)

    def entity_ids(self, text: str) -> list[str]:
        seen: dict[str, None] = {}
        for match in self.find(text):
            seen.setdefault(match.entity_id, None)
        return list(seen)


def upsert_entity(session: Session, entity_type: str, key: str, name: str, aliases: list[str]) -> str:
    entity_id = entity_id_for(entity_type, key)
    if session.get(Entity, entity_id) is None:
        session.add(Entity(entity_id=entity_id, entity_type=entity_type, name=name))
    # Ordered, not a set: which spelling is stored for a normalized key must not depend on the hash seed.
    ordered = list(dict.fromkeys([name, key, *aliases]))
    if entity_type in ("customer", "partner", "competitor"):
        ordered += [extra for alias in ordered if (extra := pinyin_alias(alias))]
    for alias in dict.fromkeys(ordered):
        normalized = alias_key(alias)
        if normalized and session.get(EntityAlias, (normalized, entity_id)) is None:
            session.add(EntityAlias(alias_key=normalized, entity_id=entity_id, alias=alias))
    return entity_id


def load_entity_registry(session: Session, path: Path) -> int:
    """Read an entities.yaml (`entities: [{type, key, name, aliases}]`) into the graph; returns the count."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    count = 0
    for item in data.get("entities") or []:
        entity_type = str(item.get("type", "")).strip()
        if entity_type not in ENTITY_TYPES:
            continue
        name = str(item.get("name") or item.get("key"))
        upsert_entity(session, entity_type, str(item.get("key") or name), name,
                      [str(alias) for alias in item.get("aliases") or []])
        count += 1
    return count


def resolve_entity(session: Session, name: str, entity_type: str | None = None) -> Entity | None:
    """Look an entity up by any alias (exact normalized match first, then a unique alias contained in the name)."""
    normalized = alias_key(name)
    statement = select(Entity).join(EntityAlias, col(EntityAlias.entity_id) == col(Entity.entity_id)).where(
        EntityAlias.alias_key == normalized)
    if entity_type:
        statement = statement.where(Entity.entity_type == entity_type)
    entity = session.exec(statement).first()
    if entity is not None:
        return entity
    matches = AliasMatcher(all_aliases(session)).entity_ids(name)
    candidates = [session.get(Entity, entity_id) for entity_id in matches]
    candidates = [item for item in candidates if item and (entity_type is None or item.entity_type == entity_type)]
    return candidates[0] if len(candidates) == 1 else None


def all_aliases(session: Session) -> list[tuple[str, str]]:
    statement = select(EntityAlias).order_by(col(EntityAlias.entity_id), col(EntityAlias.alias_key))
    return [(row.alias, row.entity_id) for row in session.exec(statement)]


def link_document(session: Session, doc_id: str, doc_type: str, title: str, customers: list[str],
                  products: list[str], competitors: list[str], partners: list[str]) -> list[str]:
    """Create document-level entities and relations from metadata; returns the entity ids the document is about."""
    session.exec(delete(EntityRelation).where(EntityRelation.doc_id == doc_id))  # type: ignore[arg-type]
    linked: dict[str, str] = {}
    for entity_type, names in (("customer", customers), ("product", products),
                               ("competitor", competitors), ("partner", partners)):
        for name in names:
            entity = resolve_entity(session, name, entity_type)
            entity_id = entity.entity_id if entity else upsert_entity(session, entity_type, name, name, [])
            linked[entity_id] = entity_type
    if doc_type == "contract":
        contract_id = upsert_entity(session, "contract", doc_id, title, [title])
        linked[contract_id] = "contract"
        for entity_id, entity_type in list(linked.items()):
            if entity_type in ("customer", "partner"):
                session.add(EntityRelation(source_entity_id=contract_id, relation="party",
                                           target_entity_id=entity_id, doc_id=doc_id))
            elif entity_type == "product":
                session.add(EntityRelation(source_entity_id=contract_id, relation="covers",
                                           target_entity_id=entity_id, doc_id=doc_id))
    product_ids = [entity_id for entity_id, kind in linked.items() if kind == "product"]
    competitor_ids = [entity_id for entity_id, kind in linked.items() if kind == "competitor"]
    for product_id in product_ids:
        for competitor_id in competitor_ids:
            session.add(EntityRelation(source_entity_id=product_id, relation="competes_with",
                                       target_entity_id=competitor_id, doc_id=doc_id))
    return list(linked)


@dataclass
class EntityView:
    entity_id: str
    entity_type: str
    name: str
    aliases: list[str]
    relations: list[tuple[str, str, str]]
    documents: list[tuple[str, str]]


def describe_entity(session: Session, name: str) -> EntityView | None:
    """An entity, its aliases, relations (both directions) and the documents linked to it."""
    entity = resolve_entity(session, name)
    if entity is None:
        return None
    aliases = sorted({row.alias for row in session.exec(
        select(EntityAlias).where(EntityAlias.entity_id == entity.entity_id))})
    relations: list[tuple[str, str, str]] = []
    for relation in session.exec(select(EntityRelation).where(
            (EntityRelation.source_entity_id == entity.entity_id)
            | (EntityRelation.target_entity_id == entity.entity_id))):
        source = session.get(Entity, relation.source_entity_id)
        target = session.get(Entity, relation.target_entity_id)
        relations.append((source.name if source else relation.source_entity_id, relation.relation,
                          target.name if target else relation.target_entity_id))
    doc_ids = {row.doc_id for row in session.exec(select(ChunkEntity).where(
        ChunkEntity.entity_id == entity.entity_id))}
    documents = sorted({(doc.source, doc.title) for doc_id in doc_ids
                        if (doc := session.get(KnowledgeDocument, doc_id)) is not None})
    return EntityView(entity.entity_id, entity.entity_type, entity.name, aliases, sorted(set(relations)), documents)
