"""Text-to-SQL value lookup asks the entity registry: a short form or another language's name finds the row
whose column stores the full name (the registry's matcher, not a second list of names in the layer)."""

from __future__ import annotations

from pathlib import Path


def test_a_registry_alias_finds_the_stored_customer_name(sample_home: Path) -> None:
    from tools.model_tools import answer_data_question

    short = answer_data_question("江南二院2025年的成交额是多少", "manager")
    full = answer_data_question("江南第二医院2025年的成交额是多少", "manager")
    assert not short.refused and "'江南第二医院'" in short.sql, short.message
    assert short.rows == full.rows and short.rows[0][-1]


def test_values_of_other_databases_get_no_registry_aliases(sample_home: Path, tmp_path: Path) -> None:
    import sqlite3

    from tools.text2sql.context import database_context

    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE clinics (id INTEGER PRIMARY KEY, name TEXT)")
        connection.execute("INSERT INTO clinics (name) VALUES ('江南第二医院')")
    context = database_context(f"sqlite:///{path}")
    assert "江南二院" not in context.value_index.phrases  # the registry describes the sales database only


def test_competitor_names_in_another_language_come_from_the_registry(sample_home: Path) -> None:
    # The sales layer lists no competitor spellings of its own: the registry's aliases find the stored name.
    from salesbot.yaml_files import read_yaml
    from tools.model_tools import answer_data_question
    from tools.text2sql.layer import LAYERS_DIR

    layer = read_yaml(LAYERS_DIR / "sales.yaml")
    assert "value_synonyms" not in layer["tables"]["deals"]["columns"]["competitor"]
    answer = answer_data_question("北辰物联参与的交易有多少笔", "manager")
    assert not answer.refused and "deals.competitor = 'Beichen IoT'" in answer.sql, answer.message
