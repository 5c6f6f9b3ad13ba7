"""The server profile's fixtures: a fresh database per test, on the session's PostgreSQL server (tests/conftest.py
starts one PostgreSQL and one Chroma server per session)."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from tests.servers import PostgresServer

REPO_ROOT = Path(__file__).resolve().parents[3]
_database_numbers = itertools.count(1)


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
