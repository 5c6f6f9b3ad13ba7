"""The server profile's fixtures: one PostgreSQL and one Chroma server per session, a fresh database per test."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import ChromaServer, PostgresServer, chroma_server_or_skip, postgres_server_or_skip

REPO_ROOT = Path(__file__).resolve().parents[3]
_database_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    yield from postgres_server_or_skip()


@pytest.fixture(scope="session")
def chroma_server() -> Iterator[ChromaServer]:
    yield from chroma_server_or_skip()


@pytest.fixture()
def server_database(postgres_server: PostgresServer, salesbot_home: Path,
                    monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh Postgres database as SALESBOT_DATABASE_URL for this test (and the subprocesses it starts)."""
    from salesbot.settings import reset_runtime

    url = postgres_server.create_database(f"salesbot_{os.getpid()}_{next(_database_numbers)}")
    monkeypatch.setenv("SALESBOT_DATABASE_URL", url)
    reset_runtime()
    return url


def subprocess_env(**overrides: str) -> dict[str, str]:
    """This test's environment (SALESBOT_* included) for a child salesbot process."""
    return {**os.environ, **overrides}
