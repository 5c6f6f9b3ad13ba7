"""Throwaway PostgreSQL and Chroma servers on 127.0.0.1 for the server-profile tests (started once per session).

PostgreSQL comes from the distribution's package (/usr/lib/postgresql/*/bin); `initdb` refuses to run as root, so
as root it runs through `runuser -u postgres --` in a temporary directory owned by postgres. Chroma is the
chromadb package's own `chroma run`. Both listen only on 127.0.0.1, on a free port, and stop at teardown.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

START_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def postgres_bin_dir() -> Path | None:
    """The newest installed PostgreSQL's bin directory (PATH's initdb first), or None when none is installed."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(path.split("/")[4]))
    return Path(candidates[-1]).parent if candidates else None


def chroma_executable() -> Path | None:
    candidate = Path(sys.executable).parent / "chroma"
    if candidate.is_file():
        return candidate
    found = shutil.which("chroma")
    return Path(found) if found else None


@dataclass
class PostgresServer:
    """A running throwaway cluster; `create_database` gives each test module a clean database."""

    bin_dir: Path
    root: Path
    port: int
    run_as: list[str]

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _admin(self, *statements: str) -> None:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True,
                             connect_timeout=10) as connection:
            for statement in statements:
                connection.execute(statement)  # type: ignore[arg-type]

    def create_database(self, name: str, template: str | None = None) -> str:
        """CREATE DATABASE name (dropping an old one), a copy of `template` when given; its SQLAlchemy URL."""
        copy_of = f' TEMPLATE "{template}"' if template else ""
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"{copy_of}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _pg_ctl(self, *arguments: str, timeout: float = START_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.run_as, str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *arguments],
                              capture_output=True, text=True, timeout=timeout)

    @classmethod
    def start(cls, bin_dir: Path) -> PostgresServer:
        root = Path(tempfile.mkdtemp(prefix="salesbot-pg-"))
        run_as: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to the postgres user
            shutil.chown(root, user="postgres", group="postgres")
            run_as = ["runuser", "-u", "postgres", "--"]
        server = cls(bin_dir=bin_dir, root=root, port=free_port(), run_as=run_as)
        initdb = subprocess.run([*run_as, str(bin_dir / "initdb"), "-D", str(server.data_dir), "-A", "trust",
                                 "-U", "postgres", "-E", "UTF8", "--no-sync"],
                                capture_output=True, text=True, timeout=START_TIMEOUT_S)
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed: {initdb.stderr or initdb.stdout}")
        # Throwaway data: no fsync; the socket lives in our own directory, not /var/run/postgresql.
        options = (f"-c listen_addresses=127.0.0.1 -p {server.port} -k {root} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        started = server._pg_ctl("-w", "-t", str(START_TIMEOUT_S), "-l", str(root / "server.log"), "-o", options,
                                 "start")
        if started.returncode != 0:
            log = (root / "server.log").read_text(errors="replace") if (root / "server.log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {started.stderr or started.stdout}\n{log[-2000:]}")
        return server

    def stop(self) -> None:
        self._pg_ctl("-m", "immediate", "stop", timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class ChromaServer:
    process: subprocess.Popen[bytes]
    path: Path
    port: int
    admin_client: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _admin(self) -> Any:
        """One admin client for the session: every chromadb client holds its own HTTP connection pool."""
        import chromadb

        if self.admin_client is None:
            self.admin_client = chromadb.AdminClient(chromadb.Settings(
                chroma_api_impl="chromadb.api.fastapi.FastAPI", chroma_server_host="127.0.0.1",
                chroma_server_http_port=self.port, anonymized_telemetry=False))
        return self.admin_client

    def create_database(self, name: str) -> str:
        """A new, empty Chroma database (default tenant) for SALESBOT_CHROMA_DATABASE; returns its name."""
        self._admin().create_database(name)
        return name

    def drop_database(self, name: str) -> None:
        try:
            self._admin().delete_database(name)
        except Exception:  # noqa: BLE001 - cleanup of a throwaway server; a leftover database is harmless
            pass

    def client(self, database: str) -> Any:
        import chromadb

        return chromadb.HttpClient(host="127.0.0.1", port=self.port, database=database,
                                   settings=chromadb.Settings(anonymized_telemetry=False))

    def copy_database(self, source: str, target: str) -> None:
        """Every collection of `source` (ids, embeddings, documents, metadata) into the existing `target`."""
        source_client, target_client = self.client(source), self.client(target)
        try:
            self._copy_collections(source_client, target_client)
        finally:
            for client in (source_client, target_client):
                client._server._session.close()  # chromadb's close() leaves its HTTP connection pool open
                client.close()

    @staticmethod
    def _copy_collections(source_client: Any, target_client: Any) -> None:
        for listed in source_client.list_collections():
            collection = source_client.get_collection(listed.name)
            copy = target_client.create_collection(listed.name, metadata=collection.metadata,
                                                   embedding_function=None)
            offset, batch = 0, 1000
            while True:
                rows = collection.get(include=["embeddings", "documents", "metadatas"], limit=batch, offset=offset)
                if not rows["ids"]:
                    break
                copy.add(ids=rows["ids"], embeddings=rows["embeddings"], documents=rows["documents"],
                         metadatas=rows["metadatas"])
                offset += batch

    @classmethod
    def start(cls, executable: Path) -> ChromaServer:
        path = Path(tempfile.mkdtemp(prefix="salesbot-chroma-"))
        port = free_port()
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        process = subprocess.Popen([str(executable), "run", "--path", str(path), "--host", "127.0.0.1",
                                    "--port", str(port)], stdout=subprocess.DEVNULL,
                                   stderr=open(path / "server.log", "wb"), env=env)  # noqa: SIM115
        server = cls(process=process, path=path, port=port)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"chroma run exited: {(path / 'server.log').read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(f"{server.url}/api/v2/heartbeat", timeout=2):
                    return server
            except OSError:
                time.sleep(0.2)
        server.stop()
        raise RuntimeError(f"chroma run did not answer on {server.url} within {START_TIMEOUT_S} s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)
        shutil.rmtree(self.path, ignore_errors=True)


def postgres_server_or_skip() -> Iterator[PostgresServer]:
    """Body of a session fixture: a started server, or pytest.skip when PostgreSQL is not installed."""
    import pytest

    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin); "
                    "apt-get install postgresql (CI does)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: initdb cannot run as root")
    server = PostgresServer.start(bin_dir)
    try:
        yield server
    finally:
        server.stop()


def chroma_server_or_skip() -> Iterator[ChromaServer]:
    import pytest

    executable = chroma_executable()
    if executable is None:
        pytest.skip("the `chroma` command (chromadb package) is not installed")
    server = ChromaServer.start(executable)
    try:
        yield server
    finally:
        server.stop()
