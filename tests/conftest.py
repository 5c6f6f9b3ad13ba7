"""Shared fixtures: every test gets its own SALESBOT_HOME and a clean environment."""

from __future__ import annotations

import itertools
import os
import shutil
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.servers import ChromaServer, PostgresServer, chroma_server_or_skip, postgres_server_or_skip

# Never reach a hub for model weights, and keep Chroma quiet; set before any test imports them.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

# Shared fakes and fixtures (tiny GGUF, scripted chat models, OpenAI stub server) live in one module.
pytest_plugins = ["tests.fakes"]

TESTS_DIR = Path(__file__).resolve().parent
TESTDATA_DIR = TESTS_DIR / "data"
SAMPLES_DIR = TESTS_DIR.parent / "samples"
SAMPLE_POLICY_FILE = SAMPLES_DIR / "policy" / "pricing_policy.yaml"
SAMPLE_ENTITIES_FILE = SAMPLES_DIR / "entities.yaml"

# SALESBOT_TEST_PROFILE=server: every test runs on the server profile, i.e. on one PostgreSQL and one Chroma server
# started for the session (tests/servers.py), each test with its own fresh Postgres database and Chroma database,
# exported as SALESBOT_DATABASE_URL / SALESBOT_CHROMA_URL / SALESBOT_CHROMA_DATABASE (subprocesses inherit them).
# Unset (or "embedded"): SQLite files and embedded Chroma under the per-test SALESBOT_HOME.
TEST_PROFILE = os.environ.get("SALESBOT_TEST_PROFILE", "embedded") or "embedded"
if TEST_PROFILE not in ("embedded", "server"):
    raise pytest.UsageError(f"SALESBOT_TEST_PROFILE={TEST_PROFILE!r}: expected 'embedded' or 'server'")
SERVER_PROFILE = TEST_PROFILE == "server"
SERVER_ENV_NAMES = ("SALESBOT_DATABASE_URL", "SALESBOT_CHROMA_URL", "SALESBOT_CHROMA_DATABASE")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "embedded_only(reason): meaningful only on the embedded profile (SQLite "
                            "files, embedded Chroma); skipped, with the reason, under SALESBOT_TEST_PROFILE=server")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not SERVER_PROFILE:
        return
    for item in items:
        marker = item.get_closest_marker("embedded_only")
        if marker is not None:
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            item.add_marker(pytest.mark.skip(reason=f"embedded profile only: {reason}"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    yield from postgres_server_or_skip()


@pytest.fixture(scope="session")
def chroma_server() -> Iterator[ChromaServer]:
    yield from chroma_server_or_skip()


_namespace_numbers = itertools.count(1)


@dataclass
class ServerNamespace:
    """One Postgres database and one Chroma database of the same name on the session's servers."""

    postgres: PostgresServer
    chroma: ChromaServer
    name: str

    @classmethod
    def create(cls, request: pytest.FixtureRequest, name: str) -> ServerNamespace:
        namespace = cls(request.getfixturevalue("postgres_server"), request.getfixturevalue("chroma_server"), name)
        namespace.postgres.create_database(name)
        namespace.chroma.drop_database(name)
        namespace.chroma.create_database(name)
        return namespace

    def environment(self) -> dict[str, str]:
        return {"SALESBOT_DATABASE_URL": self.postgres.url(self.name), "SALESBOT_CHROMA_URL": self.chroma.url,
                "SALESBOT_CHROMA_DATABASE": self.name}

    def copy_from(self, template: str) -> None:
        """Replace this namespace's content with a copy of the template namespace's (runtime reset first)."""
        self.postgres.create_database(self.name, template=template)
        self.chroma.drop_database(self.name)
        self.chroma.create_database(self.name)
        self.chroma.copy_database(template, self.name)

    def drop(self) -> None:
        self.postgres.drop_database(self.name)
        self.chroma.drop_database(self.name)


@pytest.fixture()
def server_namespace(request: pytest.FixtureRequest) -> Iterator[ServerNamespace]:
    """This test's own databases on the session's servers (server profile only)."""
    namespace = ServerNamespace.create(request, f"test_{next(_namespace_numbers)}")
    yield namespace
    from salesbot.settings import reset_runtime

    reset_runtime()  # the product's engines and clients let go before the databases are dropped
    namespace.drop()


@pytest.fixture(autouse=True)
def salesbot_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[Path]:
    """An empty data directory per test; SALESBOT_* variables from the outer shell are cleared. On the server
    profile the test also gets its own Postgres and Chroma databases (SALESBOT_DATABASE_URL and friends)."""
    from salesbot.settings import reset_runtime

    for name in list(os.environ):
        if name.startswith("SALESBOT_"):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "salesbot-home"
    monkeypatch.setenv("SALESBOT_HOME", str(home))
    # The demo company's policy and registry file: customers and products resolve without an ingest.
    # Tests of another company (or of a missing policy) set or delete these themselves.
    monkeypatch.setenv("SALESBOT_PRICING_POLICY_FILE", str(SAMPLE_POLICY_FILE))
    monkeypatch.setenv("SALESBOT_ENTITIES_FILE", str(SAMPLE_ENTITIES_FILE))
    if SERVER_PROFILE:
        namespace: ServerNamespace = request.getfixturevalue("server_namespace")
        for name, value in namespace.environment().items():
            monkeypatch.setenv(name, value)
    reset_runtime()
    yield home
    reset_runtime()


@contextmanager
def building_template(request: pytest.FixtureRequest, template: Path, name: str,
                      environment: dict[str, str | None]) -> Iterator[None]:
    """os.environ while a session or module fixture builds a template home (SALESBOT_HOME=template plus
    `environment`, None = unset); on the server profile also the template's own databases, named `name`."""
    from salesbot.settings import reset_runtime

    wanted: dict[str, str | None] = {"SALESBOT_HOME": str(template), **environment}
    if SERVER_PROFILE:
        wanted.update(ServerNamespace.create(request, name).environment())
    previous = {variable: os.environ.get(variable) for variable in wanted}
    for variable, value in wanted.items():
        if value is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = value
    reset_runtime()
    try:
        yield
    finally:
        reset_runtime()  # closes engines and clients so the files (or the template database) can be copied
        for variable, value in previous.items():
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value


def restore_template(request: pytest.FixtureRequest, template: Path, name: str, home: Path) -> None:
    """This test's home (and, on the server profile, its databases) becomes a copy of template `name`."""
    from salesbot.settings import reset_runtime

    reset_runtime()
    shutil.copytree(template, home, dirs_exist_ok=True)
    if SERVER_PROFILE:
        namespace: ServerNamespace = request.getfixturevalue("server_namespace")
        namespace.copy_from(name)
    reset_runtime()


@pytest.fixture(scope="session")
def sample_kb_template(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """The bundled sample knowledge base ingested and the sales DB seeded once per session (copied per test)."""
    from knowledge.ingest import ingest_paths
    from salesbot.settings import SAMPLES_DIR
    from tools.sales.seed import seed_sample_company

    template = tmp_path_factory.mktemp("sample-home")
    with building_template(request, template, "template_samples",
                           {"SALESBOT_PRICING_POLICY_FILE": str(SAMPLE_POLICY_FILE)}):
        report = ingest_paths([SAMPLES_DIR])
        assert report.ok, [failure.model_dump() for failure in report.failed]
        seed_sample_company()
    return template


@pytest.fixture()
def sample_home(sample_kb_template: Path, salesbot_home: Path, request: pytest.FixtureRequest) -> Path:
    """This test's SALESBOT_HOME, holding a private copy of the ingested samples and the seeded sales DB."""
    restore_template(request, sample_kb_template, "template_samples", salesbot_home)
    return salesbot_home


def claim_from_racing_threads(stores: Sequence[Any], platform: str, key: str, threads: int = 8) -> list[bool]:
    """`threads` threads released at once by a barrier, alternating over `stores` (dedupe store instances), each
    claiming the same delivery key; returns every claim's outcome."""
    barrier = threading.Barrier(threads)
    outcomes: list[bool] = []

    def claim(index: int) -> None:
        barrier.wait()
        outcomes.append(stores[index % len(stores)].claim(platform, key))

    started = [threading.Thread(target=claim, args=(index,)) for index in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    return outcomes
