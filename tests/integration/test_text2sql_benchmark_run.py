"""benchmarks/text2sql.py end to end on a few questions: drafted layers on temporary copies, figures as JSON,
the data folder's databases unchanged."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.text2sql import DATA, file_digests, main


def test_the_benchmark_writes_strict_and_lenient_figures_per_database(tmp_path: Path) -> None:
    before = file_digests(DATA)
    output = tmp_path / "figures.json"
    main(["--sets", "store_1", "spider_dev", "spider_dev_zh", "--limit", "1", "--json", str(output)])
    figures = json.loads(output.read_text(encoding="utf-8"))
    assert figures["databases_unchanged"] is True and file_digests(DATA) == before
    by_key = {item["key"]: item for item in figures["sets"]}
    assert set(by_key) == {"store_1", "spider_dev", "spider_dev_zh"}
    assert by_key["store_1"]["layer"] == "hand-edited" and by_key["spider_dev"]["layer"] == "drafted"
    for item in by_key.values():
        assert 0.0 <= item["strict"] <= item["lenient"] <= 1.0
    assert len(by_key["spider_dev"]["per_database"]) == 4
    assert by_key["spider_dev"]["questions"] == 4 and by_key["spider_dev_zh"]["language"] == "zh"
    assert not list((DATA / "spider_dev").glob("*.yaml"))  # no draft was written into the data folder


def test_with_a_model_the_benchmark_asks_it_only_where_the_rules_fail(tmp_path: Path) -> None:
    import shutil

    from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
    from langchain_core.messages import AIMessage

    from benchmarks.text2sql import RulesThenLlm

    database = tmp_path / "store_1.sqlite"
    shutil.copy(DATA / "store_1.sqlite", database)
    model = FakeMessagesListChatModel(responses=[AIMessage(content="SELECT COUNT(*) FROM genres")])
    answer = RulesThenLlm(model)
    sure = answer("How many genres are there?", "admin", db_url=f"sqlite:///{database}", make_chart=False)
    assert sure.method == "rules" and answer.consulted == 0
    unreadable = answer("Zorblax quux frobnicate?", "admin", db_url=f"sqlite:///{database}", make_chart=False)
    assert answer.consulted == 1 and unreadable.method == "llm" and unreadable.rows == [[25]]
