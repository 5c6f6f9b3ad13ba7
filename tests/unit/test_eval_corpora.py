"""Unit tests for evaluation corpora: finding and validating corpus folders, and each corpus's own settings."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from evals.corpora import (
    REPO_ROOT,
    CorpusError,
    available_corpora,
    corpus_environment,
    discover_corpora,
    load_corpus,
    resolve_corpora,
)
from tests.conftest import TESTDATA_DIR

TINY = TESTDATA_DIR / "evals" / "corpora" / "tiny"
TINY_DOCUMENTS_FROM_ROOT = TINY.joinpath("documents").relative_to(REPO_ROOT)


def _corpus_folder(root: Path, name: str, corpus_yaml: str | None = None, documents: bool = False) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    shutil.copyfile(TINY / "README.md", folder / "README.md")
    shutil.copyfile(TINY / "questions.jsonl", folder / "questions.jsonl")
    if corpus_yaml is not None:
        (folder / "corpus.yaml").write_text(corpus_yaml, encoding="utf-8")
    if documents:
        shutil.copytree(TINY / "documents", folder / "documents")
    return folder


def test_a_corpus_with_its_own_documents_folder_loads_by_path_and_by_name(tmp_path: Path) -> None:
    corpus = load_corpus(TINY)
    assert corpus.name == "tiny" and corpus.documents_dir == TINY / "documents"
    assert corpus.questions_path == TINY / "questions.jsonl" and corpus.entities_file is None
    by_name = load_corpus("tiny", corpora_dir=TINY.parent)
    assert by_name.documents_dir == corpus.documents_dir


def test_corpus_yaml_paths_are_relative_to_the_repository_root(tmp_path: Path) -> None:
    entities = tmp_path / "entities.yaml"
    entities.write_text("entities: []\n", encoding="utf-8")
    _corpus_folder(tmp_path, "other", f"documents: {TINY_DOCUMENTS_FROM_ROOT}\nentities: {entities}\n")
    corpus = load_corpus("other", corpora_dir=tmp_path)
    assert corpus.documents_dir == TINY / "documents"
    assert corpus.entities_file == entities and corpus.pricing_policy_file is None


def test_the_bundled_company_b_corpus_points_at_the_second_company() -> None:
    corpus = load_corpus("company_b")
    assert corpus.documents_dir == TESTDATA_DIR / "company_b" / "knowledge"
    assert corpus.entities_file == TESTDATA_DIR / "company_b" / "knowledge" / "entities.yaml"
    assert corpus.pricing_policy_file is not None and corpus.pricing_policy_file.is_file()
    assert "company_b" in available_corpora()


@pytest.mark.parametrize(("corpus_yaml", "documents", "message"), [
    ("documents: [not, a, path]\n", False, "documents: Input is not a valid path"),
    (f"documents: {TINY_DOCUMENTS_FROM_ROOT}\nshelf: 3\n", False, "shelf: Extra inputs are not permitted"),
    ("entities: x.yaml\n", False, "corpus.yaml names no documents folder and there is no documents/ folder"),
    ("documents: [unclosed\n", False, "not valid YAML"),
    (f"documents: {TINY_DOCUMENTS_FROM_ROOT}\nentities: no/such/entities.yaml\n", False,
     "entities: file no/such/entities.yaml not found"),
    (f"documents: {TINY_DOCUMENTS_FROM_ROOT}\n", True, "has both documents/ and corpus.yaml"),
    (None, False, "needs a documents/ folder or a corpus.yaml"),
])
def test_a_bad_corpus_folder_is_a_clear_error(tmp_path: Path, corpus_yaml: str | None, documents: bool,
                                              message: str) -> None:
    _corpus_folder(tmp_path, "bad", corpus_yaml, documents)
    with pytest.raises(CorpusError, match="corpus bad: ") as raised:
        load_corpus("bad", corpora_dir=tmp_path)
    assert message in str(raised.value)


def test_unknown_names_and_incomplete_folders_are_named(tmp_path: Path) -> None:
    _corpus_folder(tmp_path, "known", documents=True)
    with pytest.raises(CorpusError, match=r"unknown corpus nope .*known"):
        resolve_corpora(["nope"], corpora_dir=tmp_path)
    (tmp_path / "known" / "README.md").unlink()
    with pytest.raises(CorpusError, match="README.md is missing"):
        resolve_corpora(["all"], corpora_dir=tmp_path)


def test_all_means_every_folder_and_missing_documents_only_skip_discovery(tmp_path: Path) -> None:
    _corpus_folder(tmp_path, "alpha", documents=True)
    _corpus_folder(tmp_path, "beta", "documents: not/in/this/checkout\n")
    corpora, notes = discover_corpora(tmp_path)
    assert [corpus.name for corpus in corpora] == ["alpha"]
    assert len(notes) == 1 and "beta" in notes[0] and "not/in/this/checkout" in notes[0]
    with pytest.raises(CorpusError, match="documents folder not/in/this/checkout not found"):
        resolve_corpora(["all"], corpora_dir=tmp_path)  # asked for explicitly: an error, not a skip


def test_a_dev_corpus_runs_only_when_named(tmp_path: Path) -> None:
    _corpus_folder(tmp_path, "gated", documents=True)
    _corpus_folder(tmp_path, "tuning", "dev: true\n", documents=True)
    corpora, notes = discover_corpora(tmp_path)
    assert [corpus.name for corpus in corpora] == ["gated"]
    assert len(notes) == 1 and "tuning" in notes[0] and "not gated" in notes[0]
    assert [corpus.name for corpus in resolve_corpora(["all"], corpora_dir=tmp_path)] == ["gated"]
    named = resolve_corpora(["tuning"], corpora_dir=tmp_path)
    assert [corpus.name for corpus in named] == ["tuning"] and named[0].dev


def test_the_public_dev_corpus_is_a_dev_corpus() -> None:
    assert load_corpus("public_dev").dev
    assert "public_dev" not in [corpus.name for corpus in discover_corpora()[0]]


def test_a_corpus_runs_under_its_own_home_registry_and_policy_and_the_run_settings_come_back(
        tmp_path: Path, salesbot_home: Path) -> None:
    from salesbot.settings import get_settings

    entities = tmp_path / "entities.yaml"
    entities.write_text("entities: []\n", encoding="utf-8")
    _corpus_folder(tmp_path, "other", f"documents: {TINY_DOCUMENTS_FROM_ROOT}\nentities: {entities}\n")
    corpus = load_corpus("other", corpora_dir=tmp_path)
    before = get_settings()
    assert before.entities_file is not None and before.pricing_policy_file is not None  # the demo company's
    os.environ["SALESBOT_DATABASE_URL"] = f"sqlite:///{tmp_path / 'run-sales.db'}"
    os.environ["SALESBOT_CHROMA_URL"] = "http://127.0.0.1:9"  # the run's Chroma server: never the corpus's
    try:
        with corpus_environment(corpus, tmp_path / "corpus-home"):
            inside = get_settings()
            assert inside.chroma_url is None  # the corpus's vectors live under its own home
            assert inside.home_dir == tmp_path / "corpus-home"
            assert inside.entities_file == entities
            assert inside.pricing_policy_file is None  # no policy of the demo company leaks in
            assert inside.sales_database_url == f"sqlite:///{tmp_path / 'corpus-home' / 'sales.db'}"
        after = get_settings()
        assert after.home_dir == salesbot_home and after.entities_file == before.entities_file
        assert after.pricing_policy_file == before.pricing_policy_file
        assert os.environ["SALESBOT_DATABASE_URL"] == f"sqlite:///{tmp_path / 'run-sales.db'}"
        assert os.environ["SALESBOT_CHROMA_URL"] == "http://127.0.0.1:9"
    finally:
        os.environ.pop("SALESBOT_DATABASE_URL", None)
        os.environ.pop("SALESBOT_CHROMA_URL", None)


def _patch_system(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """A system that finds nothing and refuses everything; records (home, question) per retrieval."""
    from agent.models import TurnResult
    from evals import runner
    from salesbot.settings import get_settings

    asked: list[tuple[str, str]] = []

    def retrieve(query: str, role: str, k: int) -> list[Any]:
        asked.append((str(get_settings().home_dir), query))
        return []

    monkeypatch.setattr(runner, "real_retrieve", retrieve)
    monkeypatch.setattr(runner, "real_answer", lambda request: TurnResult(answer="Not found.", refused=True))
    monkeypatch.setattr(runner, "ensure_sample_knowledge", lambda: "knowledge base: (test) not ingested")
    monkeypatch.setattr(runner, "ensure_corpus_knowledge", lambda corpus: f"corpus {corpus.name}: (test)")
    return asked


def _summary(output: str) -> dict[str, Any]:
    return json.loads(output.strip().splitlines()[-1])


def test_which_question_sets_a_run_scores(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from evals import runner
    from evals.loading import GOLDEN_DEV, GOLDEN_TEST
    from evals.runner import EvalOptions, question_sets

    _corpus_folder(tmp_path, "alpha", documents=True)
    _corpus_folder(tmp_path, "beta", documents=True)
    monkeypatch.setattr(runner, "discover_corpora", lambda: discover_corpora(tmp_path))

    def sets(**options: Any) -> list[tuple[str, str]]:
        return [(question_set.name, question_set.prefix) for question_set in question_sets(EvalOptions(**options), [])]

    assert sets(suite="rag") == [("golden_test", "")]
    assert sets(suite="rag", split="dev") == [("golden_dev", "")]
    assert sets(suite="rag", split="all") == [("golden_all", "")]
    assert sets(suite="rag", corpora=[str(TINY)]) == [("tiny", "tiny.")]
    assert sets(suite="rag", corpora=[str(TINY)], split="dev") == [("golden_dev", ""), ("tiny", "tiny.")]
    # `all` (what CI runs): the test split and every corpus present.
    assert sets(suite="all") == [("golden_test", ""), ("alpha", "alpha."), ("beta", "beta.")]
    assert sets(suite="all", dataset_path=TINY / "questions.jsonl") == [("questions", "")]
    whole = question_sets(EvalOptions(suite="rag", split="all"), [])[0].dataset
    assert GOLDEN_DEV.name in whole.path and GOLDEN_TEST.name in whole.path
    dev_and_test = [question_sets(EvalOptions(suite="rag", split=split), [])[0].dataset for split in ("dev", "test")]
    assert [question.id for question in whole.questions] == [
        question.id for part in dev_and_test for question in part.questions]
    assert not {question.id for question in dev_and_test[0].questions} & {
        question.id for question in dev_and_test[1].questions}


def test_cli_split_dev_scores_the_dev_split(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from connectors.cli import app
    from evals.loading import GOLDEN_DEV, load_dataset

    _patch_system(monkeypatch)
    result = CliRunner().invoke(app, ["eval", "retrieval", "--split", "dev", "--report", str(tmp_path / "dev")])
    assert result.exit_code == 1, result.output  # a retriever that finds nothing misses the gates
    summary = _summary(result.stdout)
    assert set(summary) == {"suite", "metrics", "thresholds", "failed", "report"}
    dev = load_dataset(GOLDEN_DEV).questions
    assert summary["metrics"]["retrieval.questions"] == sum(question.has_retrieval_target for question in dev)
    report = json.loads(Path(summary["report"]).read_text(encoding="utf-8"))
    assert report["config"]["split"] == "dev" and report["datasets"] == {"golden_dev": str(GOLDEN_DEV)}
    assert {outcome["id"] for outcome in report["questions"]} == {question.id for question in dev}
    unknown = CliRunner().invoke(app, ["eval", "retrieval", "--split", "train"])
    assert unknown.exit_code == 2 and "unknown split 'train'" in unknown.output


def test_cli_corpus_runs_only_that_corpus_under_its_own_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                             salesbot_home: Path) -> None:
    from connectors.cli import app

    asked = _patch_system(monkeypatch)
    result = CliRunner().invoke(app, ["eval", "rag", "--corpus", str(TINY), "--report", str(tmp_path / "r")])
    assert result.exit_code in (0, 1), result.output
    metrics = _summary(result.stdout)["metrics"]
    assert metrics["tiny.rag.refusal_recall"] == 1.0 and metrics["tiny.rag.answerable_refused_rate"] == 1.0
    assert not any(name.startswith("rag.") for name in metrics)  # no golden split without --split
    assert {home for home, _ in asked} == {str(salesbot_home / "eval-corpora" / "tiny")}

    report = json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8"))
    assert set(report["datasets"]) == {"tiny"}
    assert {outcome["corpus"] for outcome in report["questions"]} == {"tiny"}
    assert "| tiny |" in (tmp_path / "r" / "report.md").read_text(encoding="utf-8")  # headline figures row


def test_cli_bad_corpus_exits_2_with_the_reason(tmp_path: Path) -> None:
    from connectors.cli import app

    _corpus_folder(tmp_path, "broken", "documents: [1, 2]\n")
    for arguments, message in [
        (["eval", "rag", "--corpus", str(tmp_path / "broken")], "corpus broken: "),
        (["eval", "rag", "--corpus", "no_such_corpus"], "unknown corpus no_such_corpus"),
        (["eval", "rag", "--split", "dev", "--dataset", str(TINY / "questions.jsonl")], "give one of them"),
    ]:
        result = CliRunner().invoke(app, arguments)
        assert result.exit_code == 2, (arguments, result.output)
        assert message in result.output and "Traceback" not in result.output
