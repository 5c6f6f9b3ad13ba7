"""Evaluation corpora (evals/corpora/NAME/): documents and questions nobody tuned on, each run in its own data dir.

A corpus folder holds README.md (where the documents come from, how the questions were written),
questions.jsonl (the golden format, evals/datasets/README.md), a documents/ folder or a corpus.yaml naming the
documents folder, and optionally an entity registry and a pricing policy, relative to the repository root
(`dev: true` in corpus.yaml marks a tuning corpus that `eval all` skips). Each corpus is ingested into its own SALESBOT_HOME with only its own registry, so corpora never mix with
each other or with the bundled samples.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from evals.loading import EVALS_DIR, DatasetError
from salesbot.yaml_files import ConfigFileError, load_yaml_model

CORPORA_DIR = EVALS_DIR / "corpora"
REPO_ROOT = EVALS_DIR.parent
QUESTIONS_FILE = "questions.jsonl"
CONFIG_FILE = "corpus.yaml"
DOCUMENTS_DIR = "documents"
README_FILE = "README.md"
ALL_CORPORA = "all"
# Under the run's SALESBOT_HOME: one data directory per corpus, kept between runs (ingest is incremental).
CORPUS_HOMES = "eval-corpora"


class CorpusError(DatasetError):
    """A corpus folder that cannot be used; the message names the folder and what is wrong."""


class CorpusMissingDocumentsError(CorpusError):
    """corpus.yaml names a documents folder that is not there (an installed wheel carries no tests/ folder)."""


class CorpusFile(BaseModel):
    """corpus.yaml: where a corpus's documents (and the company's own registry and policy) live."""

    model_config = ConfigDict(extra="forbid")

    documents: Path | None = Field(default=None, description="Folder of documents, relative to the repository "
                                   "root; without it the corpus's own documents/ folder.")
    entities: Path | None = Field(default=None, description="The company's entity registry file (entities.yaml).")
    pricing_policy: Path | None = Field(default=None, description="The company's pricing policy YAML; without it "
                                        "the corpus has no pricing policy at all.")
    dev: bool = Field(default=False, description="A tuning corpus (may be read while tuning): run only when named "
                      "with --corpus, never by `eval all` or `--corpus all`, so no gate depends on it.")


@dataclass(frozen=True)
class EvalCorpus:
    """A usable corpus: its name is the metric prefix (`NAME.rag.key_fact_coverage`)."""

    name: str
    folder: Path
    questions_path: Path
    documents_dir: Path
    entities_file: Path | None = None
    pricing_policy_file: Path | None = None
    dev: bool = False


def available_corpora(corpora_dir: Path = CORPORA_DIR) -> list[str]:
    """Names of the corpus folders present, sorted."""
    if not corpora_dir.is_dir():
        return []
    return sorted(path.name for path in corpora_dir.iterdir()
                  if path.is_dir() and not path.name.startswith((".", "_")))


def load_corpus(name_or_path: str | Path, corpora_dir: Path = CORPORA_DIR) -> EvalCorpus:
    """A corpus by name (a folder of evals/corpora/) or by the path of its folder; CorpusError when unusable."""
    folder = _corpus_folder(name_or_path, corpora_dir)
    for required in (README_FILE, QUESTIONS_FILE):
        if not (folder / required).is_file():
            raise CorpusError(f"corpus {folder.name}: {required} is missing in {folder}")
    config_path = folder / CONFIG_FILE
    local_documents = folder / DOCUMENTS_DIR
    if not config_path.is_file():
        if not local_documents.is_dir():
            raise CorpusError(f"corpus {folder.name}: needs a {DOCUMENTS_DIR}/ folder or a {CONFIG_FILE}")
        return EvalCorpus(name=folder.name, folder=folder, questions_path=folder / QUESTIONS_FILE,
                          documents_dir=local_documents)
    try:
        config = load_yaml_model(config_path, CorpusFile)
    except ConfigFileError as error:
        raise CorpusError(f"corpus {folder.name}: {error}") from error
    if config.documents is None:
        if not local_documents.is_dir():
            raise CorpusError(f"corpus {folder.name}: {CONFIG_FILE} names no documents folder and there is no "
                              f"{DOCUMENTS_DIR}/ folder")
        documents_dir = local_documents
    else:
        if local_documents.exists():
            raise CorpusError(f"corpus {folder.name}: has both {DOCUMENTS_DIR}/ and {CONFIG_FILE} documents:; "
                              "keep one")
        documents_dir = _repo_path(config.documents)
        if not documents_dir.is_dir():
            raise CorpusMissingDocumentsError(
                f"corpus {folder.name}: documents folder {config.documents} not found under {REPO_ROOT} "
                "(corpus.yaml paths are relative to the repository root; a source checkout is needed)")
    files = {"entities": config.entities, "pricing_policy": config.pricing_policy}
    for key, path in files.items():
        if path is not None and not _repo_path(path).is_file():
            raise CorpusError(f"corpus {folder.name}: {CONFIG_FILE}: {key}: file {path} not found under {REPO_ROOT}")
    return EvalCorpus(
        name=folder.name, folder=folder, questions_path=folder / QUESTIONS_FILE, documents_dir=documents_dir,
        entities_file=_repo_path(config.entities) if config.entities else None,
        pricing_policy_file=_repo_path(config.pricing_policy) if config.pricing_policy else None,
        dev=config.dev)


def resolve_corpora(requested: list[str], corpora_dir: Path = CORPORA_DIR) -> list[EvalCorpus]:
    """`--corpus` values (names, folder paths, or `all` for every gated corpus present): each must be usable.

    `all` leaves dev corpora out (they are tuned on, so no figure that gates may come from them); a dev corpus
    named explicitly runs.
    """
    corpora: list[EvalCorpus] = []
    for value in dict.fromkeys(requested):
        if value == ALL_CORPORA:
            corpora.extend(corpus for corpus in (load_corpus(name, corpora_dir)
                                                 for name in available_corpora(corpora_dir)) if not corpus.dev)
        else:
            corpora.append(load_corpus(value, corpora_dir))
    corpora = list({corpus.folder: corpus for corpus in corpora}.values())
    seen: set[str] = set()
    for corpus in corpora:
        if corpus.name in seen:
            raise CorpusError(f"two corpora are named {corpus.name}: their metrics would collide")
        seen.add(corpus.name)
    return corpora


def discover_corpora(corpora_dir: Path = CORPORA_DIR) -> tuple[list[EvalCorpus], list[str]]:
    """Every corpus present, for `salesbot eval all`; one whose documents are absent is skipped with a note.

    A malformed corpus still raises: only the documents of a corpus.yaml may be missing (an installed package
    has no tests/ folder), and the note says so in the report.
    """
    corpora: list[EvalCorpus] = []
    notes: list[str] = []
    for name in available_corpora(corpora_dir):
        try:
            corpus = load_corpus(name, corpora_dir)
        except CorpusMissingDocumentsError as error:
            notes.append(f"{error}; not run")
            continue
        if corpus.dev:
            notes.append(f"corpus {name}: a dev (tuning) corpus, not gated; run it with --corpus {name}")
            continue
        corpora.append(corpus)
    return corpora, notes


def corpus_home(run_home: Path, corpus: EvalCorpus) -> Path:
    return run_home / CORPUS_HOMES / corpus.name


@contextmanager
def corpus_environment(corpus: EvalCorpus, home: Path) -> Iterator[None]:
    """Settings for one corpus: its own data directory, registry and policy, and nothing of the run's company.

    Settings are read from SALESBOT_* once per process (get_settings is cached), so the variables are set,
    every cache dropped, and both restored afterwards.
    """
    from salesbot.settings import reset_runtime

    overrides = {
        "SALESBOT_HOME": str(home),
        "SALESBOT_ENTITIES_FILE": str(corpus.entities_file) if corpus.entities_file else None,
        "SALESBOT_PRICING_POLICY_FILE": str(corpus.pricing_policy_file) if corpus.pricing_policy_file else None,
        # The corpus's stores are its own (SQLite files, embedded Chroma) under its home, never the run's: on the
        # server profile a kept SALESBOT_CHROMA_URL put the corpus's vectors into the run's collections.
        "SALESBOT_DATABASE_URL": None,
        "SALESBOT_CHROMA_URL": None,
        "SALESBOT_CHROMA_DATABASE": None,
        "SALESBOT_SEED_FILE": None,
    }
    saved = {name: os.environ.get(name) for name in overrides}
    home.mkdir(parents=True, exist_ok=True)
    _apply(overrides)
    reset_runtime()
    try:
        yield
    finally:
        _apply(saved)
        reset_runtime()


def _apply(values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _corpus_folder(name_or_path: str | Path, corpora_dir: Path) -> Path:
    candidate = Path(name_or_path)
    if candidate.is_dir() and (len(candidate.parts) > 1 or not (corpora_dir / candidate).is_dir()):
        return candidate.resolve()
    folder = corpora_dir / str(name_or_path)
    if not folder.is_dir():
        known = ", ".join(available_corpora(corpora_dir)) or "none"
        raise CorpusError(f"unknown corpus {name_or_path!s} (corpora in {corpora_dir}: {known}; "
                          f"or give the path of a corpus folder)")
    return folder


def _repo_path(path: Path) -> Path:
    return path if path.is_absolute() else REPO_ROOT / path
