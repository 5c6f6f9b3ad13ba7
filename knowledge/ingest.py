"""The indexing path: files → chunks → SQLite rows, BM25 tokens, Chroma vectors and entity links."""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, Field
from sqlmodel import Session, delete, select

from knowledge import bilingual
from knowledge.base import KnowledgeBase, get_knowledge_base
from knowledge.chunking import CHUNKER_VERSION, Chunk, chunk_document
from knowledge.graph import AliasMatcher, add_defined_short_names, all_aliases, link_document
from knowledge.injection import strip_instructions
from knowledge.loaders import (
    ENTITY_REGISTRY_NAMES,
    DocumentLoadError,
    LoadedDocument,
    is_ingestable,
    load_document,
)
from knowledge.registry import load_entity_registry
from knowledge.store import access_level
from knowledge.tables import ChunkEntity, KnowledgeChunk, KnowledgeDocument
from knowledge.text import TOKENIZER_VERSION, tokenize
from salesbot.errors import UserFacingError
from salesbot.yaml_files import ConfigFileError

logger = logging.getLogger(__name__)


class FileResult(BaseModel):
    path: str
    source: str
    status: str = Field(description="ingested | updated | unchanged | failed | pruned")
    chunks: int = 0
    reason: str | None = None
    flagged_injection: bool = False
    access: list[str] = Field(default_factory=list, description="Effective access list stored (['*'] = everyone).")
    access_warning: str | None = Field(default=None, description="Why access was forced to admin-only.")


class IngestReport(BaseModel):
    results: list[FileResult] = Field(default_factory=list)
    entities_loaded: int = 0

    @property
    def failed(self) -> list[FileResult]:
        return [result for result in self.results if result.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    def count(self, status: str) -> int:
        return sum(1 for result in self.results if result.status == status)


def doc_id_for(path: Path) -> str:
    return hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]


def discover_files(paths: Iterable[Path]) -> tuple[list[Path], list[Path], list[FileResult]]:
    """(documents, entity registries, results for paths that don't exist or links that leave their folder)."""
    documents: list[Path] = []
    registries: list[Path] = []
    missing: list[FileResult] = []
    for path in paths:
        if not path.exists():
            missing.append(FileResult(path=str(path), source=path.name, status="failed",
                                      reason="no such file or directory"))
            continue
        candidates = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        root = path.resolve()
        for candidate in candidates:
            # A link out of the folder (to /etc/passwd, a home directory) must never become a document.
            if path.is_dir() and not candidate.resolve().is_relative_to(root):
                missing.append(FileResult(path=str(candidate), source=candidate.name, status="failed",
                                          reason="symbolic link points outside the folder being ingested; "
                                          "not followed"))
                continue
            if candidate.name.lower() in ENTITY_REGISTRY_NAMES:
                registries.append(candidate)
            elif is_ingestable(candidate) or (path.is_file() and not candidate.name.endswith(".meta.yaml")):
                documents.append(candidate)
    return documents, registries, missing


class IngestBusyError(UserFacingError):
    """Another `salesbot ingest` holds the knowledge base's ingest lock for longer than we wait."""


INGEST_LOCK_WAIT_S = 300.0
_LOCK_POLL_S = 0.2


@contextmanager
def ingest_lock(kb: KnowledgeBase, wait_s: float = INGEST_LOCK_WAIT_S,
                on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """One ingest at a time per SALESBOT_HOME, across processes (flock on a lock file, released on exit or crash).

    Tries without blocking first; if another process holds it, calls on_wait once and polls up to wait_s."""
    lock_path = kb.settings.home_dir / "ingest.lock"
    handle = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait_s
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told and on_wait is not None:
                    on_wait()
                told = True
                if time.monotonic() >= deadline:
                    raise IngestBusyError(
                        f"another `salesbot ingest` is running on {kb.settings.home_dir} (waited {wait_s:.0f} s); "
                        "try again when it has finished") from None
                time.sleep(_LOCK_POLL_S)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        os.close(handle)


# (title, text) → {"customer": [names], "product": [...], "competitor": [...], "partner": [...]}; an LLM-backed
# extractor is passed in by the caller when a model is configured (knowledge/ never imports the agent layer).
EntityExtractor = Callable[[str, str], dict[str, list[str]]]
EXTRACTION_CHARS = 2000


def ingest_paths(paths: Iterable[Path | str], prune: bool = False,
                 on_file: Callable[[FileResult], None] | None = None,
                 knowledge_base: KnowledgeBase | None = None,
                 entity_extractor: EntityExtractor | None = None,
                 lock_wait_s: float = INGEST_LOCK_WAIT_S,
                 on_lock_wait: Callable[[], None] | None = None) -> IngestReport:
    """Ingest files and folders incrementally; a bad file is reported and the rest still ingested.

    Holds the ingest lock throughout; IngestBusyError when another ingest keeps it longer than lock_wait_s."""
    kb = knowledge_base or get_knowledge_base()
    with ingest_lock(kb, lock_wait_s, on_lock_wait):
        return _ingest_locked(kb, paths, prune, on_file, entity_extractor)


def _ingest_locked(kb: KnowledgeBase, paths: Iterable[Path | str], prune: bool,
                   on_file: Callable[[FileResult], None] | None,
                   entity_extractor: EntityExtractor | None) -> IngestReport:
    roots = [Path(path) for path in paths]
    documents, registries, missing = discover_files(roots)
    report = IngestReport(results=list(missing))
    with kb.session() as session:
        for registry in registries:
            try:
                report.entities_loaded += load_entity_registry(session, registry)
            except ConfigFileError as error:  # a broken registry is reported like a broken document
                report.results.append(FileResult(path=str(registry), source=registry.name, status="failed",
                                                 reason=str(error)))
        if registries:
            kb.bump_generation(session)
        session.commit()
    # A new chunker or tokenizer changes stored chunks and BM25 tokens: re-ingest even unchanged files.
    fingerprint = f"{CHUNKER_VERSION}.{TOKENIZER_VERSION}:{kb.fingerprint if kb.settings.embedding != 'none' else 'none'}"
    for path in documents:
        result = _ingest_one(kb, path, fingerprint, entity_extractor)
        report.results.append(result)
        if on_file:
            on_file(result)
    if prune:
        for result in _prune(kb, roots, {str(path.resolve()) for path in documents}):
            report.results.append(result)
            if on_file:
                on_file(result)
    # The cross-language dictionary is built once per machine (seconds): here, not in a user's first question.
    bilingual.dictionary()
    return report


def _ingest_one(kb: KnowledgeBase, path: Path, fingerprint: str,
                entity_extractor: EntityExtractor | None = None) -> FileResult:
    """One file, whatever it holds: any failure is this file's result (named with a reason), never the batch's.

    The reason is written for the user; the exception behind an unexpected failure goes to the debug log only."""
    try:
        document = load_document(path, fingerprint, kb.settings.ingest_unclear_access)
    except DocumentLoadError as error:
        return _failed(path, str(error))
    except OSError as error:
        return _failed(path, f"cannot read file ({error.strerror or 'I/O error'})")
    except Exception:  # a loader bug or a parser error nobody foresaw: still only this file fails
        logger.debug("loading %s failed", path, exc_info=True)
        return _failed(path, "could not be read (unexpected problem in its content)")
    try:
        chunks = chunk_document(document)
    except Exception:
        logger.debug("chunking %s failed", path, exc_info=True)
        return _failed(path, "could not be split into passages (unexpected problem in its text)")
    if not chunks:
        return _failed(path, "no text found in the file")
    doc_id = doc_id_for(path)
    with kb.session() as session:
        existing = session.get(KnowledgeDocument, doc_id)
        if existing is not None and existing.content_hash == document.content_hash:
            return FileResult(path=str(path), source=document.source, status="unchanged", chunks=existing.chunk_count,
                              access=document.access, access_warning=document.access_warning)
    try:
        chunk_count, flagged = _write_document(kb, doc_id, document, chunks, entity_extractor)
    except Exception:  # one bad document must not stop the batch; the report names it
        logger.debug("indexing %s failed", path, exc_info=True)
        return _failed(path, "could not be written to the search index (see the debug log)")
    return FileResult(path=str(path), source=document.source, status="updated" if existing else "ingested",
                      chunks=chunk_count, flagged_injection=flagged, access=document.access,
                      access_warning=document.access_warning)


def _failed(path: Path, reason: str) -> FileResult:
    return FileResult(path=str(path), source=path.name, status="failed", reason=reason)


def _write_document(kb: KnowledgeBase, doc_id: str, document: LoadedDocument, chunks: list[Chunk],
                    entity_extractor: EntityExtractor | None = None) -> tuple[int, bool]:
    level = access_level(document.access)
    rows: list[KnowledgeChunk] = []
    for chunk in chunks:
        cleaned, flagged = strip_instructions(chunk.text)
        search_text = f"{document.title}\n{chunk.section}\n{cleaned}"
        rows.append(KnowledgeChunk(
            chunk_id=f"{doc_id}:{chunk.ordinal}", doc_id=doc_id, ordinal=chunk.ordinal, section=chunk.section,
            text=cleaned, raw_text=chunk.text, tokens=" ".join(tokenize(search_text)), access_level=level,
            language=document.language, flagged_injection=flagged))
    any_flagged = any(row.flagged_injection for row in rows)
    metadata = document.model_dump(include={"access", "customers", "products", "competitors", "partners"})
    with kb.session() as session:
        _delete_document_rows(session, doc_id)
        session.add(KnowledgeDocument(
            doc_id=doc_id, path=document.path, source=document.source, title=document.title,
            doc_type=document.doc_type, language=document.language, access_json=json.dumps(document.access),
            access_level=level, metadata_json=json.dumps(metadata, ensure_ascii=False),
            content_hash=document.content_hash, chunk_count=len(rows), flagged_injection=any_flagged))
        session.flush()
        session.add_all(rows)
        about = link_document(session, doc_id, document.doc_type, document.title, document.customers,
                              document.products, document.competitors, document.partners)
        add_defined_short_names(session, document.text, about)
        if entity_extractor is not None:
            _add_extracted_entities(session, entity_extractor, document.title,
                                    "\n".join(row.text for row in rows)[:EXTRACTION_CHARS])
        session.flush()
        matcher = AliasMatcher(all_aliases(session))
        # Whoever a document's title names is what the document is about ("Distributor Agreement — <partner>"),
        # even when its metadata forgot to list it.
        about += [entity_id for entity_id in matcher.entity_ids(document.title)
                  if entity_id not in about and not entity_id.startswith("contract:")]
        row_products = _qa_row_products(session, document)
        for row in rows:
            links = entity_link_weights(about, row_products.get(row.ordinal, []),
                                        matcher.entity_ids(f"{row.section}\n{row.text}"), document.doc_type)
            session.add_all(ChunkEntity(chunk_id=row.chunk_id, entity_id=entity_id, doc_id=doc_id, link=link,
                                        weight=weight) for entity_id, (link, weight) in links.items())
        # Vectors first, then commit: if embedding fails the SQLite side rolls back and the file is reported.
        if kb.dense_store is not None and kb.embedder is not None:
            kb.dense_store.delete_document(doc_id)
            vectors = kb.embedder.embed([f"{document.title}\n{row.section}\n{row.text}" for row in rows])
            kb.dense_store.add(level, [row.chunk_id for row in rows], vectors, [row.text for row in rows],
                               [{"doc_id": doc_id, "source": document.source, "section": row.section,
                                 "doc_type": document.doc_type, "access": list(document.access),
                                 "access_level": level} for row in rows])
        kb.bump_generation(session)
        session.commit()
    return len(rows), any_flagged


ABOUT_WEIGHT = 2.0
MENTION_WEIGHT = 1.0


def entity_link_weights(about: list[str], row_about: list[str], mentioned: list[str],
                        doc_type: str = "") -> dict[str, tuple[str, float]]:
    """Link strength per entity for one chunk: metadata links beat mentions; shared links are split by type.

    A contract is about its parties and only covers its products, so its product links count as mentions:
    "<product> operating temperature" should reach the product's white paper before a purchase contract for it.
    """

    def split_by_type(entity_ids: list[str], total: float) -> dict[str, float]:
        per_type: dict[str, int] = {}
        for entity_id in entity_ids:
            kind = entity_id.split(":", 1)[0]
            per_type[kind] = per_type.get(kind, 0) + 1
        return {entity_id: total / per_type[entity_id.split(":", 1)[0]] for entity_id in entity_ids}

    links: dict[str, tuple[str, float]] = {}
    for entity_id, weight in split_by_type(list(dict.fromkeys(about)), ABOUT_WEIGHT).items():
        if doc_type == "contract" and entity_id.startswith("product:"):
            weight = weight * MENTION_WEIGHT / ABOUT_WEIGHT
        links[entity_id] = ("about", weight)
    for entity_id in row_about:  # a QA row's product column: about this row only
        links[entity_id] = ("about", max(MENTION_WEIGHT, links.get(entity_id, ("", 0.0))[1]))
    for entity_id, weight in split_by_type(list(dict.fromkeys(mentioned)), MENTION_WEIGHT).items():
        if entity_id not in links:
            links[entity_id] = ("mentions", weight)
    return links


def _add_extracted_entities(session: Session, extractor: EntityExtractor, title: str, text: str) -> None:
    """Grow the graph with entities a model found; their chunks are then linked by the alias matcher."""
    from knowledge.graph import ENTITY_TYPES, resolve_entity, upsert_entity

    try:
        found = extractor(title, text)
    except Exception:  # extraction is an enrichment: a model failure must not fail the document
        logger.warning("entity extraction failed for %s; continuing without it", title, exc_info=True)
        return
    for entity_type, names in found.items():
        if entity_type not in ENTITY_TYPES:
            continue
        for name in names:
            name = name.strip()
            if len(name) >= 2 and resolve_entity(session, name, entity_type) is None:
                upsert_entity(session, entity_type, name, name, [])


def _qa_row_products(session: Session, document: LoadedDocument) -> dict[int, list[str]]:
    """Each QA row's product column → its product entity (a product the graph does not know yet is added)."""
    from knowledge.graph import resolve_entity, upsert_entity

    products: dict[int, list[str]] = {}
    for ordinal, row in enumerate(document.qa_rows):
        if row.product:
            entity = resolve_entity(session, row.product, "product")
            products[ordinal] = [entity.entity_id if entity is not None else
                                 upsert_entity(session, "product", row.product, row.product, [])]
    return products


def _delete_document_rows(session: Session, doc_id: str) -> None:
    session.exec(delete(ChunkEntity).where(ChunkEntity.doc_id == doc_id))  # type: ignore[arg-type]
    session.exec(delete(KnowledgeChunk).where(KnowledgeChunk.doc_id == doc_id))  # type: ignore[arg-type]
    existing = session.get(KnowledgeDocument, doc_id)
    if existing is not None:
        session.delete(existing)
    session.flush()


def delete_document(kb: KnowledgeBase, doc_id: str) -> None:
    with kb.session() as session:
        _delete_document_rows(session, doc_id)
        if kb.dense_store is not None:
            kb.dense_store.delete_document(doc_id)
        kb.bump_generation(session)
        session.commit()


def _prune(kb: KnowledgeBase, roots: list[Path], seen_paths: set[str]) -> list[FileResult]:
    """Drop documents stored under the given folders whose files are gone."""
    folders = [str(root.resolve()) for root in roots if root.is_dir()]
    results = []
    with kb.session() as session:
        stored = session.exec(select(KnowledgeDocument)).all()
    for document in stored:
        inside = any(document.path.startswith(folder.rstrip("/") + "/") for folder in folders)
        if inside and document.path not in seen_paths and not Path(document.path).exists():
            delete_document(kb, document.doc_id)
            results.append(FileResult(path=document.path, source=document.source, status="pruned"))
    return results
