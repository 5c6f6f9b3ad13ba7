"""Shared fixtures: every test gets its own SALESBOT_HOME and a clean environment."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

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


@pytest.fixture(autouse=True)
def salesbot_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty data directory per test; SALESBOT_* variables from the outer shell are cleared."""
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
    reset_runtime()
    yield home
    reset_runtime()


@pytest.fixture(scope="session")
def sample_kb_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample knowledge base ingested and the sales DB seeded once per session (copied per test)."""
    from knowledge.ingest import ingest_paths
    from salesbot.settings import SAMPLES_DIR, reset_runtime
    from tools.sales.seed import seed_sample_company

    template = tmp_path_factory.mktemp("sample-home")
    previous = {name: os.environ.get(name) for name in ("SALESBOT_HOME", "SALESBOT_PRICING_POLICY_FILE")}
    os.environ["SALESBOT_HOME"] = str(template)
    os.environ["SALESBOT_PRICING_POLICY_FILE"] = str(SAMPLE_POLICY_FILE)
    reset_runtime()
    try:
        report = ingest_paths([SAMPLES_DIR])
        assert report.ok, [failure.model_dump() for failure in report.failed]
        seed_sample_company()
    finally:
        reset_runtime()  # closes engines and clients so the files can be copied consistently
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return template


@pytest.fixture()
def sample_home(sample_kb_template: Path, salesbot_home: Path) -> Path:
    """This test's SALESBOT_HOME, holding a private copy of the ingested samples and the seeded sales DB."""
    import shutil

    from salesbot.settings import reset_runtime

    shutil.copytree(sample_kb_template, salesbot_home, dirs_exist_ok=True)
    reset_runtime()
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
