"""SQLModel tables of the knowledge store (its own SQLite file): documents, chunks, entities, relations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel


class KnowledgeTable(SQLModel, registry=registry()):
    """Base with its own metadata, so knowledge tables never land in the sales database (and vice versa)."""


def _now() -> datetime:
    return datetime.now(UTC)


class KnowledgeDocument(KnowledgeTable, table=True):
    __tablename__ = "documents"
    doc_id: str = Field(primary_key=True)
    path: str = Field(index=True, unique=True)
    source: str
    title: str
    doc_type: str
    language: str
    access_json: str
    access_level: str
    metadata_json: str = Field(sa_column=Column(Text, nullable=False))
    content_hash: str
    chunk_count: int = 0
    flagged_injection: bool = False
    ingested_at: datetime = Field(default_factory=_now)


class KnowledgeChunk(KnowledgeTable, table=True):
    __tablename__ = "chunks"
    chunk_id: str = Field(primary_key=True)
    doc_id: str = Field(index=True, foreign_key="documents.doc_id")
    ordinal: int
    section: str
    text: str = Field(sa_column=Column(Text, nullable=False))
    raw_text: str = Field(sa_column=Column(Text, nullable=False))
    tokens: str = Field(sa_column=Column(Text, nullable=False))
    access_level: str = Field(index=True)
    language: str
    flagged_injection: bool = False


class Entity(KnowledgeTable, table=True):
    __tablename__ = "entities"
    entity_id: str = Field(primary_key=True)
    entity_type: str = Field(index=True)
    name: str
    key: str = Field(default="", description="The key as written in the source (a SKU, a customer key); "
                     "entity_id holds its normalised form.")
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, default=dict),
                                       description="Facts the data gives: name_en, region, industry, city, line, ...")


class EntityAlias(KnowledgeTable, table=True):
    __tablename__ = "entity_aliases"
    alias_key: str = Field(primary_key=True, description="Normalized alias (lowercase, no spaces).")
    entity_id: str = Field(primary_key=True, foreign_key="entities.entity_id")
    alias: str


class EntityRelation(KnowledgeTable, table=True):
    __tablename__ = "entity_relations"
    __table_args__ = (Index("ix_relation_source", "source_entity_id"), Index("ix_relation_target", "target_entity_id"))
    relation_id: int | None = Field(default=None, primary_key=True)
    source_entity_id: str
    relation: str
    target_entity_id: str
    doc_id: str | None = Field(default=None, index=True)


class ChunkEntity(KnowledgeTable, table=True):
    """chunk–mentions–entity, and document-level links (from front matter) copied onto every chunk."""

    __tablename__ = "chunk_entities"
    chunk_id: str = Field(primary_key=True)
    entity_id: str = Field(primary_key=True, index=True)
    doc_id: str = Field(index=True)
    link: str = Field(description="'about' (document or row metadata) or 'mentions' (found in the text).")
    weight: float = Field(default=1.0, description="Specificity: a document about one product links it more "
                          "strongly than a price list about eight.")


class IndexState(KnowledgeTable, table=True):
    """A generation counter bumped on every write, so query processes know when to rebuild BM25."""

    __tablename__ = "index_state"
    key: str = Field(primary_key=True)
    value: int = 0
