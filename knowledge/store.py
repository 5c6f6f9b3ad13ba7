"""The Chroma store: one collection per access level, so a query never touches what a role can't read.

Embedded (a PersistentClient under SALESBOT_HOME) by default; a Chroma server (`chroma run`) when
SALESBOT_CHROMA_URL is set, with the same collections, so several salesbot processes share one vector store.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from salesbot.roles import EVERYONE, ROLE_ORDER, normalize_role
from salesbot.settings import on_reset

# "public" holds documents without an access list; the others hold documents whose lowest allowed role is it.
ACCESS_LEVELS = ["public", *ROLE_ORDER]


def access_level(access: list[str]) -> str:
    """The lowest role that may read a document with this access list ('public' when open to everyone)."""
    if not access or EVERYONE in access:
        return "public"
    return min((normalize_role(role) for role in access), key=ROLE_ORDER.index)


def readable_levels(role: str) -> list[str]:
    """Access levels a role may read: public plus its own and every lower role."""
    rank = ROLE_ORDER.index(normalize_role(role))
    return ["public", *ROLE_ORDER[: rank + 1]]


_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def _client(path: Path, server_url: str | None = None, database: str = "default_database",
            timeout_s: float | None = None) -> Any:
    """One client per store location: an HttpClient for a server URL (and database), else a PersistentClient at
    path. A server client's HTTP requests time out after timeout_s (chromadb's own client has no timeout)."""
    import chromadb

    key = f"{server_url}#{database}" if server_url else str(path)
    with _clients_lock:
        if key not in _clients:
            settings = chromadb.Settings(anonymized_telemetry=False)
            if server_url:
                host, port, ssl = chroma_server_address(server_url)
                client = chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=settings, database=database)
                if timeout_s is not None:
                    set_http_timeout(client, timeout_s)
                _clients[key] = client
            else:
                path.mkdir(parents=True, exist_ok=True)
                _clients[key] = chromadb.PersistentClient(path=key, settings=settings)
        return _clients[key]


def set_http_timeout(client: Any, timeout_s: float) -> None:
    """Give an HttpClient's HTTP session a timeout. chromadb (1.5) builds its httpx.Client with timeout=None and
    offers no setting for it, so this sets it on that session; a chromadb without one fails here, loudly."""
    import httpx

    session = client._server._session
    if not isinstance(session, httpx.Client):
        raise TypeError(f"unexpected chromadb HTTP session {type(session)!r}; cannot set its timeout")
    session.timeout = httpx.Timeout(timeout_s)


def chroma_server_address(server_url: str) -> tuple[str, int, bool]:
    """(host, port, ssl) of a Chroma server URL such as http://127.0.0.1:8000; a bad URL is a config error."""
    parts = urlsplit(server_url if "//" in server_url else f"http://{server_url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"SALESBOT_CHROMA_URL={server_url!r} is not a Chroma server URL like http://127.0.0.1:8000")
    ssl = parts.scheme == "https"
    return parts.hostname, parts.port or (443 if ssl else 8000), ssl


@on_reset
def _forget_clients() -> None:
    with _clients_lock:
        for key, client in _clients.items():
            if "#" in key:  # an HttpClient: each has its own HTTP connection pool, which chromadb never closes
                client._server._session.close()
                client.close()
        _clients.clear()


class ChromaChunkStore:
    """Dense vectors of chunks; we pass embeddings ourselves (Chroma's default embedder would download)."""

    def __init__(self, path: Path, fingerprint: str, server_url: str | None = None,
                 database: str = "default_database", timeout_s: float | None = None) -> None:
        self._client = _client(path, server_url, database, timeout_s)
        self._fingerprint = fingerprint
        self._collections: dict[str, Any] = {}

    def _collection(self, level: str) -> Any:
        if level not in self._collections:
            self._collections[level] = self._client.get_or_create_collection(
                name=f"chunks-{level}-{self._fingerprint}", embedding_function=None,
                metadata={"hnsw:space": "cosine"})
        return self._collections[level]

    def add(self, level: str, ids: list[str], vectors: np.ndarray, documents: list[str],
            metadatas: list[dict[str, Any]]) -> None:
        collection = self._collection(level)
        for start in range(0, len(ids), 2000):
            end = start + 2000
            collection.add(ids=ids[start:end], embeddings=vectors[start:end].tolist(),
                           documents=documents[start:end], metadatas=metadatas[start:end])

    def delete_document(self, doc_id: str) -> None:
        for level in ACCESS_LEVELS:
            self._collection(level).delete(where={"doc_id": doc_id})

    def query(self, role: str, vector: np.ndarray, n_results: int) -> list[tuple[str, float]]:
        """(chunk_id, cosine similarity) best first, searching only the collections this role may read."""
        hits: list[tuple[str, float]] = []
        for level in readable_levels(role):
            # No count() first: chromadb (1.x) answers an empty or smaller collection with what it holds, and each
            # count is one more round trip to a Chroma server per level per search.
            result = self._collection(level).query(query_embeddings=[vector.tolist()], n_results=n_results,
                                                   include=["distances"])
            hits.extend((chunk_id, 1.0 - float(distance))
                        for chunk_id, distance in zip(result["ids"][0], result["distances"][0], strict=True))
        hits.sort(key=lambda hit: -hit[1])
        return hits[:n_results]

    def count(self) -> int:
        return sum(self._collection(level).count() for level in ACCESS_LEVELS)
