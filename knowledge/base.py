"""The knowledge base of one SALESBOT_HOME: graph tables (SQLite, or the server database), Chroma, cached indexes."""

from __future__ import annotations

import threading
from functools import cached_property

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from knowledge.embeddings import Embedder, embedding_fingerprint, load_embedder
from knowledge.graph import AliasMatcher, all_aliases
from knowledge.lexical import LexicalIndex
from knowledge.registry import EntityRegistry
from knowledge.store import ChromaChunkStore
from knowledge.tables import IndexState, KnowledgeChunk
from salesbot.database import dialect_insert, engine_for, upgrade_schema
from salesbot.settings import Settings, get_settings, on_reset


class KnowledgeBase:
    """Everything the ingest and query paths share; indexes rebuild when another process bumps the generation.

    The generation lives in the graph database, so with the server profile (SALESBOT_DATABASE_URL) a query process
    rebuilds its in-memory BM25 index and alias matcher after an ingest in any other process: each read path
    compares one small row with the generation its cache was built at.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine: Engine = engine_for(settings.database_url or f"sqlite:///{settings.graph_db_path}")
        upgrade_schema(self.engine, "knowledge")
        self._lock = threading.RLock()
        self._lexical: tuple[int, LexicalIndex] | None = None
        self._matcher: tuple[int, AliasMatcher, dict[str, list[str]]] | None = None

    @cached_property
    def embedder(self) -> Embedder | None:
        return load_embedder(self.settings.embedding)

    @cached_property
    def fingerprint(self) -> str:
        return embedding_fingerprint(self.settings.embedding)

    @cached_property
    def dense_store(self) -> ChromaChunkStore | None:
        if self.embedder is None:
            return None
        return ChromaChunkStore(self.settings.chroma_dir, self.fingerprint, server_url=self.settings.chroma_url,
                                database=self.settings.chroma_database, timeout_s=self.settings.chroma_timeout_s)

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def generation(self) -> int:
        with self.session() as session:
            state = session.get(IndexState, "generation")
            return state.value if state else 0

    def bump_generation(self, session: Session) -> None:
        """One atomic increment in the ingest's transaction: two processes ingesting at once never write the
        same generation (a read-then-write could, and a reader would keep a stale index)."""
        table = IndexState.__table__  # type: ignore[attr-defined]
        session.execute(dialect_insert(self.engine, table).values(key="generation", value=1).on_conflict_do_update(
            index_elements=["key"], set_={"value": table.c.value + 1}))

    def lexical_index(self, generation: int | None = None) -> LexicalIndex:
        """The BM25 index of this generation (read here unless the caller already read it this search)."""
        generation = self.generation() if generation is None else generation
        with self._lock:
            if self._lexical is None or self._lexical[0] != generation:
                with self.session() as session:
                    rows = session.exec(select(KnowledgeChunk.chunk_id, KnowledgeChunk.tokens,
                                               KnowledgeChunk.access_level)).all()
                index = LexicalIndex([row[0] for row in rows], [row[1].split() for row in rows],
                                     [row[2] for row in rows])
                self._lexical = (generation, index)
            return self._lexical[1]

    def _alias_views(self, generation: int | None = None) -> tuple[AliasMatcher, dict[str, list[str]]]:
        """The alias matcher and each entity's aliases, read once per index generation."""
        generation = self.generation() if generation is None else generation
        with self._lock:
            if self._matcher is None or self._matcher[0] != generation:
                with self.session() as session:
                    pairs = all_aliases(session)
                by_entity: dict[str, list[str]] = {}
                for alias, entity_id in pairs:
                    by_entity.setdefault(entity_id, []).append(alias)
                self._matcher = (generation, AliasMatcher(pairs), by_entity)
            return self._matcher[1], self._matcher[2]

    def alias_matcher(self, generation: int | None = None) -> AliasMatcher:
        return self._alias_views(generation)[0]

    def entity_aliases(self) -> dict[str, list[str]]:
        """entity id → its aliases (ordered), for grounding answers in the entities a question names."""
        return self._alias_views()[1]

    @cached_property
    def entity_registry(self) -> EntityRegistry:
        """The registry every layer asks (graph + SALESBOT_ENTITIES_FILE + registered outside sources)."""
        return EntityRegistry(self.session, self.generation, self.settings.entities_file)


_instance: KnowledgeBase | None = None
_instance_lock = threading.Lock()


def get_knowledge_base() -> KnowledgeBase:
    """The process-wide knowledge base for the current settings."""
    global _instance
    with _instance_lock:
        if _instance is None:
            _instance = KnowledgeBase(get_settings())
        return _instance


def get_entity_registry() -> EntityRegistry:
    """The process-wide entity registry (of the process-wide knowledge base)."""
    return get_knowledge_base().entity_registry


@on_reset
def _forget_knowledge_base() -> None:
    global _instance
    with _instance_lock:
        _instance = None
