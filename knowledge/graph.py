"""The entity graph: customers, products, competitors, contracts, partners, their aliases and relations."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz, process
from sqlmodel import Session, col, delete, select

from knowledge.tables import (
    ChunkEntity,
    Entity,
    EntityAlias,
    EntityRelation,
    KnowledgeChunk,
    KnowledgeDocument,
)
from salesbot.roles import can_read
from salesbot.text import has_cjk

ENTITY_TYPES = ("customer", "product", "competitor", "contract", "partner")
# Organisations: their names get legal-form, city-prefix and pinyin variants when they are registered.
ORGANISATION_TYPES = ("customer", "partner", "competitor")
_STRIP = re.compile(r"[\s\-_.·,，()（）'\"“”‘’]+")
_LATIN_EDGE = re.compile(r"[a-z0-9]")
# What may stand between the characters of an alias in running text ("People's", "AB-12", "<brand> 12").
_SEPARATORS = r"[\s\-_.·,，'’()（）]*"

# Legal forms people drop when they name an organisation (a general list, not any one company's).
# Longest first, so "股份有限公司" goes before "有限公司" and "Co., Ltd." before "Ltd.".
CJK_LEGAL_FORMS = ("集团股份有限公司", "集团有限公司", "股份有限公司", "有限责任公司", "有限公司", "股份公司",
                   "集团公司", "集团", "公司")
LATIN_LEGAL_FORMS = ("Joint Stock Company", "Public Limited Company", "Limited Liability Company", "Corporation",
                     "Company Limited", "Co., Ltd.", "Co. Ltd.", "Co., Ltd", "Co. Ltd", "Co.,Ltd.", "Pty Ltd",
                     "Pty. Ltd.", "Company", "Limited", "Ltd.", "Ltd", "Inc.", "Inc", "LLC", "L.L.C.", "GmbH",
                     "Corp.", "Corp", "S.A.", "S.p.A.", "B.V.", "N.V.", "A/S", "AS", "AG", "AB", "Oy", "SIA", "JSC",
                     "PLC", "plc", "LLP", "LP", "SE", "S.r.l.", "Sp. z o.o.", "K.K.")
_LATIN_LEGAL_SUFFIX = re.compile(
    r"(?:[\s,]+(?:" + "|".join(re.escape(form) for form in sorted(LATIN_LEGAL_FORMS, key=len, reverse=True))
    + r"))+\s*$")
# A near miss ("<hospital> with one wrong character", "Northwnd") must score at least this (rapidfuzz, 0–100),
# and only aliases this long take part: on shorter ones one wrong character is a different name.
FUZZY_THRESHOLD = 80.0
FUZZY_MIN_ALIAS = 4


def alias_key(alias: str) -> str:
    """Normalized form used for alias lookups: lowercase without spaces or punctuation."""
    return _STRIP.sub("", alias.lower())


def entity_id_for(entity_type: str, key: str) -> str:
    return f"{entity_type}:{alias_key(key) or key}"


def entity_type_of(entity_id: str) -> str:
    return entity_id.split(":", 1)[0]


def pinyin_alias(name: str) -> str | None:
    """A Chinese name in pinyin (no tones, no spaces), so an English question can name a Chinese customer."""
    if not has_cjk(name):
        return None
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(name))


def strip_legal_form(name: str) -> str | None:
    """The name without its trailing legal form(s) ('<brand>有限公司' → '<brand>', '<Brand> Co., Ltd.' →
    '<Brand>'); None when there is none or too little would be left."""
    stripped = name.strip()
    while True:
        before = stripped
        stripped = _LATIN_LEGAL_SUFFIX.sub("", stripped).rstrip(" ,")
        for form in CJK_LEGAL_FORMS:  # the longest form that ends the name, and only that one
            if stripped.endswith(form):
                if len(stripped) - len(form) >= 2:
                    stripped = stripped[: -len(form)].rstrip()
                break
        if stripped == before:
            break
    return stripped if stripped != name.strip() and len(alias_key(stripped)) >= 2 else None


def registered_aliases(entity_type: str, key: str, name: str, aliases: Iterable[str],
                       attributes: Mapping[str, Any] | None = None) -> list[str]:
    """Every alias an entity is registered under: its name, key and listed aliases, and for organisations the
    same without legal form, without the entity's own `city` attribute in front, and in pinyin."""
    ordered = list(dict.fromkeys(alias.strip() for alias in [name, key, *aliases] if alias and alias.strip()))
    if entity_type in ORGANISATION_TYPES:
        ordered += [stripped for alias in ordered if (stripped := strip_legal_form(alias))]
        city = str((attributes or {}).get("city") or "").strip()
        if city:
            ordered += [alias[len(city):].strip() for alias in ordered
                        if alias.lower().startswith(city.lower()) and len(alias_key(alias[len(city):])) >= 2]
        ordered += [extra for alias in ordered if (extra := pinyin_alias(alias))]
    return list(dict.fromkeys(ordered))


@dataclass(frozen=True)
class EntityMatch:
    entity_id: str
    alias: str
    start: int
    end: int
    score: float = 100.0

    @property
    def entity_type(self) -> str:
        return entity_type_of(self.entity_id)


class AliasMatcher:
    """The one alias matcher: finds entity aliases in text (longest match wins, Latin aliases only at word
    boundaries), resolves a mention (exact → unique contained → near miss) and finds near misses in text."""

    def __init__(self, aliases: list[tuple[str, str]]) -> None:
        patterns: list[tuple[re.Pattern[str], str, str]] = []
        by_key: dict[str, list[str]] = {}
        for alias, entity_id in aliases:
            key = alias_key(alias)
            if len(key) < 2:
                continue
            body = _SEPARATORS.join(re.escape(char) for char in key)
            left = r"(?<![a-z0-9])" if _LATIN_EDGE.match(key[0]) else ""
            right = r"(?![a-z0-9])" if _LATIN_EDGE.match(key[-1]) else ""
            patterns.append((re.compile(left + body + right), alias, entity_id))
            owners = by_key.setdefault(key, [])
            if entity_id not in owners:
                owners.append(entity_id)
        self._patterns = patterns
        self._by_key = by_key

    def find(self, text: str, types: Iterable[str] | None = None) -> list[EntityMatch]:
        """Exact alias mentions in text, non-overlapping, in text order (only entities of `types` if given)."""
        wanted = set(types) if types else None
        lowered = text.lower()
        found = [
            EntityMatch(entity_id, alias, match.start(), match.end())
            for pattern, alias, entity_id in self._patterns
            if wanted is None or entity_type_of(entity_id) in wanted
            for match in pattern.finditer(lowered)
        ]
        found.sort(key=lambda match: (-(match.end - match.start), match.start, match.entity_id))
        chosen: list[EntityMatch] = []
        for match in found:
            if all(match.end <= other.start or match.start >= other.end for other in chosen):
                chosen.append(match)
        return sorted(chosen, key=lambda match: match.start)

    def entity_ids(self, text: str, types: Iterable[str] | None = None) -> list[str]:
        seen: dict[str, None] = {}
        for match in self.find(text, types):
            seen.setdefault(match.entity_id, None)
        return list(seen)

    def near_miss(self, text: str, types: Iterable[str] | None = None) -> EntityMatch | None:
        """The best fuzzy mention of an alias of at least FUZZY_MIN_ALIAS characters (one wrong character in a
        long name), aligned by rapidfuzz; None below FUZZY_THRESHOLD."""
        wanted = set(types) if types else None
        lowered = text.lower()
        best: EntityMatch | None = None
        for _pattern, alias, entity_id in self._patterns:
            if (wanted is not None and entity_type_of(entity_id) not in wanted) or len(alias_key(alias)) < \
                    FUZZY_MIN_ALIAS:
                continue
            candidate = _align(alias.lower(), lowered)
            if candidate is None:
                continue
            score, start, end = candidate
            if best is None or score > best.score or (score == best.score and len(alias) > len(best.alias)):
                best = EntityMatch(entity_id, alias, start, end, score)
        return best

    def resolve(self, mention: str, types: Iterable[str] | None = None, fuzzy: bool = True) -> str | None:
        """The one entity a mention names: an exact alias, else the one entity whose aliases it contains, else
        (with fuzzy) the nearest alias; None when nothing or more than one entity fits."""
        wanted = set(types) if types else None

        def allowed(entity_id: str) -> bool:
            return wanted is None or entity_type_of(entity_id) in wanted

        exact = [entity_id for entity_id in self._by_key.get(alias_key(mention), []) if allowed(entity_id)]
        if exact:
            return exact[0] if len(exact) == 1 else None
        contained = self.entity_ids(mention, wanted)
        if contained:
            return contained[0] if len(contained) == 1 else None
        # A short form of one entity's names: "<Brand>" for "<Brand> People's Hospital" (a whole leading word).
        lowered = " ".join(mention.lower().split())
        if len(alias_key(lowered)) >= 3:
            owners = {entity_id for _pattern, alias, entity_id in self._patterns if allowed(entity_id)
                      and alias.lower().startswith(lowered) and (len(alias) == len(lowered) or has_cjk(
                          alias[len(lowered) - 1]) or not alias[len(lowered)].isalnum())}
            if len(owners) == 1:
                return owners.pop()
        if not fuzzy:
            return None
        keys = [key for key, owners in self._by_key.items()
                if len(key) >= FUZZY_MIN_ALIAS and len([owner for owner in owners if allowed(owner)]) == 1]
        nearest = process.extractOne(alias_key(mention), keys, scorer=fuzz.ratio, score_cutoff=FUZZY_THRESHOLD)
        if nearest is not None:
            return next(owner for owner in self._by_key[nearest[0]] if allowed(owner))
        in_text = self.near_miss(mention, wanted)
        return in_text.entity_id if in_text else None


def _align(alias: str, text: str) -> tuple[float, int, int] | None:
    """(score, start, end) of the best fuzzy placement of `alias` in `text`; Latin aliases cover whole words."""
    if len(text) < len(alias):
        score = fuzz.ratio(alias, text.strip())
        return (score, 0, len(text)) if score >= FUZZY_THRESHOLD else None
    alignment = fuzz.partial_ratio_alignment(alias, text, score_cutoff=FUZZY_THRESHOLD)
    if alignment is None:
        return None
    start, end = alignment.dest_start, alignment.dest_end
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    if _LATIN_EDGE.match(alias[:1]) or _LATIN_EDGE.match(alias[-1:]):
        while start > 0 and text[start - 1].isascii() and text[start - 1].isalnum():
            start -= 1
        while end < len(text) and text[end].isascii() and text[end].isalnum():
            end += 1
        score = fuzz.ratio(alias, text[start:end])
        if score < FUZZY_THRESHOLD:
            return None
        return score, start, end
    return alignment.score, start, end


def upsert_entity(session: Session, entity_type: str, key: str, name: str, aliases: list[str],
                  attributes: Mapping[str, Any] | None = None) -> str:
    """Create (or extend) an entity with its registered aliases; attributes given here are merged in."""
    entity_id = entity_id_for(entity_type, key)
    entity = session.get(Entity, entity_id)
    if entity is None:
        session.add(Entity(entity_id=entity_id, entity_type=entity_type, name=name, key=key,
                           attributes=dict(attributes or {})))
    elif attributes:
        entity.attributes = {**(entity.attributes or {}), **attributes}
        entity.key = entity.key or key
        session.add(entity)
    # Ordered, not a set: which spelling is stored for a normalized key must not depend on the hash seed.
    for alias in registered_aliases(entity_type, key, name, aliases, attributes):
        normalized = alias_key(alias)
        if normalized and session.get(EntityAlias, (normalized, entity_id)) is None:
            session.add(EntityAlias(alias_key=normalized, entity_id=entity_id, alias=alias))
    return entity_id


# Contracts define short names for their parties: "佛山某某制冷设备有限公司（以下简称“某某”）", "Acme Ltd.
# (hereinafter "Acme")". The short name is how people then talk about that organisation.
_DEFINED_TERM = re.compile(
    r"[（(]\s*(?:以下(?:简称|称)|下称|简称|hereinafter(?:\s+referred\s+to\s+as)?|the)\s*[:：]?\s*"
    r"[“\"「『]([^”\"」』）)\n]{2,30})[”\"」』]\s*[）)]", re.IGNORECASE)
# Defined terms that name a role in the contract, not the organisation (甲方, the Buyer, this Agreement).
_ROLE_TERMS = frozenset(alias_key(term) for term in (
    "甲方", "乙方", "丙方", "买方", "卖方", "供方", "需方", "采购方", "供应商", "经销商", "用户", "本合同", "本协议", "合同",
    "协议", "Buyer", "Seller", "Supplier", "Customer", "Purchaser", "Vendor", "Distributor", "Agreement",
    "Contract", "Party", "Parties", "Goods", "Products", "Services", "Territory", "Effective Date"))


def add_defined_short_names(session: Session, text: str, entity_ids: Iterable[str]) -> int:
    """Register the short names a document defines for the organisations it is about; returns how many.

    Only an alias of one of `entity_ids` ending right before the definition counts, so a definition never
    attaches to an organisation the document is not about."""
    organisations = [entity_id for entity_id in entity_ids if entity_id.split(":", 1)[0] in ORGANISATION_TYPES]
    if not organisations:
        return 0
    aliases = [(row.alias, row.entity_id) for row in session.exec(
        select(EntityAlias).where(col(EntityAlias.entity_id).in_(organisations)))]
    matcher = AliasMatcher(aliases)
    added = 0
    for definition in _DEFINED_TERM.finditer(text):
        short = definition.group(1).strip()
        if alias_key(short) in _ROLE_TERMS or len(alias_key(short)) < 2:
            continue
        before = text[max(0, definition.start() - 80):definition.start()]
        named = [match for match in matcher.find(before) if not before[match.end:].strip(" \t.,，、")]
        if not named:
            continue
        entity = session.get(Entity, named[-1].entity_id)
        if entity is not None:
            upsert_entity(session, entity.entity_type, entity.key or entity.name, entity.name, [short])
            added += 1
    return added


def resolve_entity(session: Session, name: str, entity_type: str | None = None) -> Entity | None:
    """Look an entity up by any alias (exact normalized match first, then a unique alias contained in the name).

    No fuzzy step here: ingestion must not merge two differently named organisations."""
    normalized = alias_key(name)
    statement = select(Entity).join(EntityAlias, col(EntityAlias.entity_id) == col(Entity.entity_id)).where(
        EntityAlias.alias_key == normalized)
    if entity_type:
        statement = statement.where(Entity.entity_type == entity_type)
    entity = session.exec(statement).first()
    if entity is not None:
        return entity
    entity_id = AliasMatcher(all_aliases(session)).resolve(name, [entity_type] if entity_type else None, fuzzy=False)
    return session.get(Entity, entity_id) if entity_id else None


def all_aliases(session: Session) -> list[tuple[str, str]]:
    statement = select(EntityAlias).order_by(col(EntityAlias.entity_id), col(EntityAlias.alias_key))
    return [(row.alias, row.entity_id) for row in session.exec(statement)]


def link_document(session: Session, doc_id: str, doc_type: str, title: str, customers: list[str],
                  products: list[str], competitors: list[str], partners: list[str]) -> list[str]:
    """Create document-level entities and relations from metadata; returns the entity ids the document is about.

    A name the graph does not know yet becomes a new entity: a customer named only in a contract's front matter
    (or its party line) is known to every layer from then on."""
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


def describe_entity(session: Session, name: str, role: str | None = None) -> EntityView | None:
    """An entity, its aliases, relations (both directions) and the documents linked to it.

    With a role, only what that role may read: documents it may not read are left out, and so are relations
    and defined short names that come only from such documents; an entity known only from them is not found."""
    entity = resolve_entity(session, name)
    if entity is None:
        return None
    doc_cache: dict[str, KnowledgeDocument | None] = {}

    def readable(doc_id: str | None) -> bool:
        if doc_id is None or role is None:
            return True
        if doc_id not in doc_cache:
            doc_cache[doc_id] = session.get(KnowledgeDocument, doc_id)
        doc = doc_cache[doc_id]
        return doc is not None and can_read(role, json.loads(doc.access_json) or ["admin"])

    relation_rows = list(session.exec(select(EntityRelation).where(
        (EntityRelation.source_entity_id == entity.entity_id)
        | (EntityRelation.target_entity_id == entity.entity_id))))
    doc_ids = {row.doc_id for row in session.exec(select(ChunkEntity).where(
        ChunkEntity.entity_id == entity.entity_id))}
    linked = doc_ids | {row.doc_id for row in relation_rows if row.doc_id is not None}
    if role is not None and linked and not any(readable(doc_id) for doc_id in linked):
        return None  # known only from documents this role may not read: as if it did not exist
    hidden_aliases = _aliases_only_from(session, entity, [d for d in linked if not readable(d)],
                                        [d for d in linked if readable(d)]) if role is not None else set()
    aliases = sorted({row.alias for row in session.exec(
        select(EntityAlias).where(EntityAlias.entity_id == entity.entity_id)) if row.alias_key not in hidden_aliases})
    relations: list[tuple[str, str, str]] = []
    for relation in relation_rows:
        if not readable(relation.doc_id):
            continue
        source = session.get(Entity, relation.source_entity_id)
        target = session.get(Entity, relation.target_entity_id)
        relations.append((source.name if source else relation.source_entity_id, relation.relation,
                          target.name if target else relation.target_entity_id))
    documents = sorted({(doc.source, doc.title) for doc_id in doc_ids
                        if readable(doc_id) and (doc := session.get(KnowledgeDocument, doc_id)) is not None})
    return EntityView(entity.entity_id, entity.entity_type, entity.name, aliases, sorted(set(relations)), documents)


def _aliases_only_from(session: Session, entity: Entity, restricted: list[str], readable: list[str]) -> set[str]:
    """Alias keys of short names defined in restricted documents' text and in none of the readable ones."""

    def defined(doc_ids: list[str]) -> set[str]:
        if not doc_ids:
            return set()
        texts = session.exec(select(KnowledgeChunk.raw_text).where(col(KnowledgeChunk.doc_id).in_(doc_ids)))
        return {alias_key(match.group(1).strip()) for text in texts for match in _DEFINED_TERM.finditer(text)}

    base = {alias_key(alias) for alias in registered_aliases(entity.entity_type, entity.key or entity.name,
                                                             entity.name, [], entity.attributes)}
    return defined(restricted) - defined(readable) - base
