"""Baseline of the knowledge store: documents, chunks, entities (as first shipped), aliases, relations, links.

Revision ID: knowledge_0001
Revises:
Create Date: 2026-12-04

Generated once with autogenerate from the models, then reviewed: plain SQLAlchemy types (no sqlmodel types, so
later sqlmodel releases cannot change this revision), the same DDL `create_all` wrote. A database made before
migrations existed already has some or all of these tables: each table that exists is left as it is (its indexes
were created with it, in the same transaction), the missing ones are created, and the version table is written.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from salesbot.migrations.operations import existing_tables

revision: str = "knowledge_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    existing = existing_tables()
    if "chunk_entities" not in existing:
        op.create_table(
            "chunk_entities",
            sa.Column("chunk_id", sa.String(), nullable=False),
            sa.Column("entity_id", sa.String(), nullable=False),
            sa.Column("doc_id", sa.String(), nullable=False),
            sa.Column("link", sa.String(), nullable=False),
            sa.Column("weight", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("chunk_id", "entity_id"),
        )
        op.create_index(op.f("ix_chunk_entities_doc_id"), "chunk_entities", ["doc_id"])
        op.create_index(op.f("ix_chunk_entities_entity_id"), "chunk_entities", ["entity_id"])
    if "documents" not in existing:
        op.create_table(
            "documents",
            sa.Column("doc_id", sa.String(), nullable=False),
            sa.Column("path", sa.String(), nullable=False),
            sa.Column("source", sa.String(), nullable=False),
            sa.Column("title", sa.String(), nullable=False),
            sa.Column("doc_type", sa.String(), nullable=False),
            sa.Column("language", sa.String(), nullable=False),
            sa.Column("access_json", sa.String(), nullable=False),
            sa.Column("access_level", sa.String(), nullable=False),
            sa.Column("metadata_json", sa.Text(), nullable=False),
            sa.Column("content_hash", sa.String(), nullable=False),
            sa.Column("chunk_count", sa.Integer(), nullable=False),
            sa.Column("flagged_injection", sa.Boolean(), nullable=False),
            sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("doc_id"),
        )
        op.create_index(op.f("ix_documents_path"), "documents", ["path"], unique=True)
    if "entities" not in existing:
        op.create_table(
            "entities",
            sa.Column("entity_id", sa.String(), nullable=False),
            sa.Column("entity_type", sa.String(), nullable=False),
            sa.Column("name", sa.String(), nullable=False),
            sa.PrimaryKeyConstraint("entity_id"),
        )
        op.create_index(op.f("ix_entities_entity_type"), "entities", ["entity_type"])
    if "entity_relations" not in existing:
        op.create_table(
            "entity_relations",
            sa.Column("relation_id", sa.Integer(), nullable=False),
            sa.Column("source_entity_id", sa.String(), nullable=False),
            sa.Column("relation", sa.String(), nullable=False),
            sa.Column("target_entity_id", sa.String(), nullable=False),
            sa.Column("doc_id", sa.String(), nullable=True),
            sa.PrimaryKeyConstraint("relation_id"),
        )
        op.create_index(op.f("ix_entity_relations_doc_id"), "entity_relations", ["doc_id"])
        op.create_index("ix_relation_source", "entity_relations", ["source_entity_id"])
        op.create_index("ix_relation_target", "entity_relations", ["target_entity_id"])
    if "index_state" not in existing:
        op.create_table(
            "index_state",
            sa.Column("key", sa.String(), nullable=False),
            sa.Column("value", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("key"),
        )
    if "chunks" not in existing:
        op.create_table(
            "chunks",
            sa.Column("chunk_id", sa.String(), nullable=False),
            sa.Column("doc_id", sa.String(), nullable=False),
            sa.Column("ordinal", sa.Integer(), nullable=False),
            sa.Column("section", sa.String(), nullable=False),
            sa.Column("text", sa.Text(), nullable=False),
            sa.Column("raw_text", sa.Text(), nullable=False),
            sa.Column("tokens", sa.Text(), nullable=False),
            sa.Column("access_level", sa.String(), nullable=False),
            sa.Column("language", sa.String(), nullable=False),
            sa.Column("flagged_injection", sa.Boolean(), nullable=False),
            sa.ForeignKeyConstraint(["doc_id"], ["documents.doc_id"]),
            sa.PrimaryKeyConstraint("chunk_id"),
        )
        op.create_index(op.f("ix_chunks_access_level"), "chunks", ["access_level"])
        op.create_index(op.f("ix_chunks_doc_id"), "chunks", ["doc_id"])
    if "entity_aliases" not in existing:
        op.create_table(
            "entity_aliases",
            sa.Column("alias_key", sa.String(), nullable=False),
            sa.Column("entity_id", sa.String(), nullable=False),
            sa.Column("alias", sa.String(), nullable=False),
            sa.ForeignKeyConstraint(["entity_id"], ["entities.entity_id"]),
            sa.PrimaryKeyConstraint("alias_key", "entity_id"),
        )


def downgrade() -> None:
    op.drop_table("entity_aliases")
    op.drop_table("chunks")
    op.drop_table("index_state")
    op.drop_table("entity_relations")
    op.drop_table("entities")
    op.drop_table("documents")
    op.drop_table("chunk_entities")
