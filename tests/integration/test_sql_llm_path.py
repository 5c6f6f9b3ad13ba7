"""The LLM path with scripted fake chat models: grounding prompt, guard, repair loop, fallback to the rules."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage

from tools.text2sql.service import answer_data_question

STORE_1 = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "text2sql" / "store_1.sqlite"


class RecordingChatModel(FakeMessagesListChatModel):
    """A scripted chat model that also keeps the prompts it was sent."""

    prompts: list[str] = []

    def invoke(self, input, config=None, **kwargs):  # type: ignore[no-untyped-def,override]
        self.prompts.append(input if isinstance(input, str) else str(input))
        return super().invoke(input, config, **kwargs)


def scripted(*replies: str) -> RecordingChatModel:
    return RecordingChatModel(responses=[AIMessage(content=reply) for reply in replies], prompts=[])


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    copy = tmp_path / "store_1.sqlite"
    shutil.copy(STORE_1, copy)
    return f"sqlite:///{copy}"


def test_model_sql_is_guarded_and_run(store_url: str) -> None:
    model = scripted("```sql\nSELECT name FROM media_types ORDER BY name\n```")
    answer = answer_data_question("Which media types exist?", "manager", db_url=store_url, llm=model)
    assert answer.method == "llm" and not answer.refused
    assert answer.rows[0] == ["AAC audio file"] and len(answer.rows) == 5
    assert answer.sql.endswith("LIMIT 1000")
    prompt = model.prompts[0]
    assert "media_types" in prompt and "Which media types exist?" in prompt
    assert "Q: Average track length in each media type" in prompt  # a similar solved example grounds it


def test_broken_sql_is_repaired_with_the_error_shown_to_the_model(store_url: str) -> None:
    model = scripted("SELECT nme FROM genres", "```sql\nSELECT COUNT(*) FROM genres\n```")
    answer = answer_data_question("How many genres are there?", "manager", db_url=store_url, llm=model)
    assert answer.method == "llm" and answer.rows == [[25]]
    assert len(model.prompts) == 2
    assert "SELECT nme FROM genres" in model.prompts[1] and "nme" in model.prompts[1].split("Error:")[1]


def test_execution_error_is_repaired(store_url: str) -> None:
    model = scripted("SELECT name FROM genres GROUP BY", "SELECT name FROM genres WHERE name = 'Jazz'")
    answer = answer_data_question("Is there a Jazz genre?", "manager", db_url=store_url, llm=model)
    assert answer.rows == [["Jazz"]] and len(model.prompts) == 2


def test_a_delete_from_the_model_is_refused_and_nothing_changes(store_url: str) -> None:
    database = Path(store_url.removeprefix("sqlite:///"))
    before = database.read_bytes()
    model = scripted("```sql\nDELETE FROM customers\n```")
    answer = answer_data_question("How many customers are there?", "manager", db_url=store_url, llm=model)
    assert answer.refused and answer.method == "llm" and answer.rows == []
    assert "DELETE" in answer.message
    assert database.read_bytes() == before


def test_after_two_failed_repairs_the_rules_answer(store_url: str) -> None:
    model = scripted("SELECT nope FROM genres", "SELECT still_nope FROM genres", "SELECT never FROM genres")
    answer = answer_data_question("How many genres are there?", "manager", db_url=store_url, llm=model)
    assert len(model.prompts) == 3  # first try + two repairs
    assert answer.method == "rules" and answer.rows == [[25]]
    assert "3 tries" in answer.message
