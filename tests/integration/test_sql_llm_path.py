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


def _run_llm_path(model: RecordingChatModel, question: str, store_url: str):  # type: ignore[no-untyped-def]
    from tools.text2sql.context import database_context
    from tools.text2sql.llm_path import answer_with_llm

    context = database_context(store_url)
    return answer_with_llm(model, question, context.layer, store_url, 1000, value_index=context.value_index)


# A question no rule can read: the service asks the model whichever way it routes (model first, or model only
# where the rules fail).
UNREADABLE = "Zorblax quux frobnicate?"


def test_model_sql_is_guarded_and_run(store_url: str) -> None:
    model = scripted("```sql\nSELECT name FROM media_types ORDER BY name\n```")
    outcome = _run_llm_path(model, "Which media types exist?", store_url)
    assert outcome.result is not None and outcome.refused_reason is None
    assert outcome.result.rows[0] == ["AAC audio file"] and len(outcome.result.rows) == 5
    assert outcome.sql.endswith("LIMIT 1000")
    prompt = model.prompts[0]
    assert "media_types" in prompt and "Which media types exist?" in prompt
    assert "Q: Average track length in each media type" in prompt  # a similar solved example grounds it


def test_broken_sql_is_repaired_with_the_error_shown_to_the_model(store_url: str) -> None:
    model = scripted("SELECT nme FROM genres", "```sql\nSELECT COUNT(*) FROM genres\n```")
    outcome = _run_llm_path(model, "How many genres are there?", store_url)
    assert outcome.result is not None and outcome.result.rows == [[25]] and outcome.attempts == 2
    assert len(model.prompts) == 2
    assert "SELECT nme FROM genres" in model.prompts[1] and "nme" in model.prompts[1].split("Error:")[1]


def test_execution_error_is_repaired(store_url: str) -> None:
    model = scripted("SELECT name FROM genres GROUP BY", "SELECT name FROM genres WHERE name = 'Jazz'")
    outcome = _run_llm_path(model, "Is there a Jazz genre?", store_url)
    assert outcome.result is not None and outcome.result.rows == [["Jazz"]] and len(model.prompts) == 2


def test_a_delete_from_the_model_is_refused_and_nothing_changes(store_url: str) -> None:
    database = Path(store_url.removeprefix("sqlite:///"))
    before = database.read_bytes()
    model = scripted("```sql\nDELETE FROM customers\n```")
    answer = answer_data_question(UNREADABLE, "manager", db_url=store_url, llm=model)
    assert answer.refused and answer.method == "llm" and answer.rows == []
    assert "DELETE" in answer.message
    assert database.read_bytes() == before


def test_after_two_failed_repairs_the_model_gives_up_and_says_so(store_url: str) -> None:
    model = scripted("SELECT nope FROM genres", "SELECT still_nope FROM genres", "SELECT never FROM genres")
    answer = answer_data_question(UNREADABLE, "manager", db_url=store_url, llm=model)
    assert len(model.prompts) == 3  # first try + two repairs
    assert answer.method == "none" and answer.rows == [] and not answer.refused
    assert "3 tries" in answer.message


# --- Grounding: the part of the layer the question needs, its stored values, solved examples; all bounded ---

def _store_layer_and_values(store_url: str):  # type: ignore[no-untyped-def]
    from tools.text2sql.context import database_context

    context = database_context(store_url)
    return context.layer, context.value_index


def test_the_prompt_holds_the_tables_and_values_the_question_names_and_not_the_others(store_url: str) -> None:
    from tools.text2sql.llm_path import answer_with_llm

    layer, values = _store_layer_and_values(store_url)
    model = scripted("```sql\nSELECT COUNT(*) FROM tracks JOIN genres ON tracks.genre_id = genres.id "
                     "WHERE genres.name = 'Rock'\n```")
    outcome = answer_with_llm(model, "How many tracks of the genre Rock are there?", layer, store_url, 1000,
                              value_index=values)
    assert outcome.result is not None and outcome.result.rows == [[1297]]
    prompt = model.prompts[0]
    assert "tracks [" in prompt and "genres [" in prompt and "tracks.genre_id = genres.id" in prompt
    assert "genres.name = 'Rock'" in prompt  # a value hint, spelled as stored
    for unrelated in ("employees [", "invoice_lines [", "playlists [", "customers ["):
        assert unrelated not in prompt


def test_a_link_table_joins_two_named_tables(store_url: str) -> None:
    from tools.text2sql.llm_path import build_grounding

    layer, values = _store_layer_and_values(store_url)
    grounding = build_grounding("Which tracks are on the playlist named Grunge?", layer, values)
    assert {"tracks", "playlists", "playlist_tracks"} <= set(grounding.tables)
    assert "playlists.name = 'Grunge'" in grounding.value_hints
    assert "invoices" not in grounding.tables


def test_a_chinese_question_is_grounded_by_the_layers_chinese_words_and_stored_values(store_url: str) -> None:
    from tools.text2sql.llm_path import build_grounding

    layer, values = _store_layer_and_values(store_url)
    grounding = build_grounding("住在 Calgary 的员工有哪些？", layer, values)
    assert grounding.tables[0] == "employees"
    assert "employees.city = 'Calgary'" in grounding.value_hints
    assert "tracks" not in grounding.tables


def test_a_drafted_layer_gets_generic_solved_examples_and_never_its_own_questions(tmp_path: Path) -> None:
    import sqlite3

    from tools.text2sql.executor import read_only_engine
    from tools.text2sql.layer import draft_layer
    from tools.text2sql.llm_path import build_grounding
    from tools.text2sql.values import build_value_index

    database = tmp_path / "fresh.sqlite"
    with sqlite3.connect(database) as connection:
        connection.executescript(
            "CREATE TABLE shop (shop_id INTEGER PRIMARY KEY, name TEXT, city TEXT);"
            "CREATE TABLE clerk (clerk_id INTEGER PRIMARY KEY, name TEXT, age INTEGER,"
            " shop_id INTEGER REFERENCES shop(shop_id));"
            "CREATE TABLE supplier (supplier_id INTEGER PRIMARY KEY, company TEXT, phone TEXT);"
            "CREATE TABLE invoice_item (item_id INTEGER PRIMARY KEY, supplier_id INTEGER"
            " REFERENCES supplier(supplier_id), price REAL);"
            "INSERT INTO shop VALUES (1, 'North Hall', 'Lyon'), (2, 'Riverside', 'Nantes');"
            "INSERT INTO clerk VALUES (1, 'Ada', 31, 1), (2, 'Bo', 24, 2);"
            "INSERT INTO supplier VALUES (1, 'Acme Paper', '555');"
            "INSERT INTO invoice_item VALUES (1, 1, 9.5);")
    engine = read_only_engine(f"sqlite:///{database}")
    layer = draft_layer(engine, name="draft-fresh")
    values = build_value_index(engine, layer)
    engine.dispose()
    grounding = build_grounding("List the names of the clerks of the shop in Lyon ordered by age", layer, values)
    assert set(grounding.tables) == {"clerk", "shop"}
    assert "shop.city = 'Lyon'" in grounding.value_hints
    assert grounding.examples == []  # a drafted layer has no examples of its own
    assert grounding.generic_examples and "ORDER BY" in grounding.generic_examples[0].sql
    assert "supplier" not in grounding.schema_text() and "invoice_item" not in grounding.schema_text()


def test_the_grounding_stays_bounded_on_a_wide_database() -> None:
    from tools.text2sql.llm_path import (
        MAX_BRIDGE_TABLES,
        MAX_GROUNDING_TABLES,
        MAX_SCHEMA_CHARS,
        MAX_VALUE_HINTS,
        build_grounding,
    )
    from tools.text2sql.models import ColumnSpec, JoinSpec, SemanticLayer, TableSpec
    from tools.text2sql.values import ValueIndex, ValueTarget

    tables = {f"ledger_{index}": TableSpec(
        synonyms=[f"ledger {index}"], primary_key="id",
        columns={"id": ColumnSpec(role="key"), **{f"amount_{column}": ColumnSpec(role="number", synonyms=[
            f"ledger {index} amount {column}"]) for column in range(40)}}) for index in range(60)}
    joins = [JoinSpec(left=f"ledger_{index}.id", right=f"ledger_{index + 1}.id") for index in range(59)]
    layer = SemanticLayer(name="wide", tables=tables, joins=joins)
    values = ValueIndex()
    for index in range(30):
        values.add(f"region{index}", ValueTarget(f"ledger_{index}", ("amount_0",), (f"region{index}",), 30))
    question = " and ".join(f"ledger {index} region{index}" for index in range(0, 60, 2))
    grounding = build_grounding(question, layer, values)
    assert len(grounding.tables) <= MAX_GROUNDING_TABLES + MAX_BRIDGE_TABLES
    assert len(grounding.schema) <= MAX_SCHEMA_CHARS
    assert len(grounding.value_hints) <= MAX_VALUE_HINTS
    unrelated = build_grounding("how are things", layer, values)  # names no table: every table, still bounded
    assert len(unrelated.schema) <= MAX_SCHEMA_CHARS


def test_a_question_the_rules_read_confidently_never_reaches_the_model(store_url: str) -> None:
    model = scripted("```sql\nSELECT 42\n```")
    answer = answer_data_question("How many genres are there?", role="manager", db_url=store_url, llm=model)
    assert answer.method == "rules" and answer.rows == [[25]]
    assert model.prompts == []


def test_a_question_the_rules_cannot_read_goes_to_the_model(store_url: str) -> None:
    model = scripted("```sql\nSELECT COUNT(*) FROM genres\n```")
    answer = answer_data_question(UNREADABLE, role="manager", db_url=store_url, llm=model)
    assert answer.method == "llm" and answer.rows == [[25]]
    assert len(model.prompts) == 1
