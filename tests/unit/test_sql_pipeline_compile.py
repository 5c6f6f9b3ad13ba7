"""The pipeline compiler end to end on a tiny library database it has no rules for: each question shape, run."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import create_engine

from tools.text2sql.compiler import RuleCompiler
from tools.text2sql.models import ColumnSpec, JoinSpec, SemanticLayer, TableSpec
from tools.text2sql.values import build_value_index

ROWS = """
CREATE TABLE authors (author_id INTEGER PRIMARY KEY, name TEXT, country TEXT, birth_year TEXT);
CREATE TABLE books (book_id INTEGER PRIMARY KEY, author_id INTEGER REFERENCES authors(author_id), title TEXT,
                    genre TEXT, pages INTEGER, price REAL);
CREATE TABLE loans (loan_id INTEGER PRIMARY KEY, book_id INTEGER REFERENCES books(book_id), loan_date TEXT);
INSERT INTO authors VALUES (1, 'Ann Lee', 'France', '1950'), (2, 'Bo Chen', 'China', '1972'),
                           (3, 'Cy Diaz', 'Spain', '1990');
INSERT INTO books VALUES (1, 1, 'Night Sea', 'Poetry', 120, 10.0), (2, 1, 'Red Hill', 'Novel', 300, 25.0),
                         (3, 2, 'Blue Door', 'Novel', 250, 18.0), (4, 2, 'Old Road', 'Poetry', 90, 8.0),
                         (5, 2, 'Grey Sky', 'Essay', 200, 30.0);
INSERT INTO loans VALUES (1, 1, '2024-01-02'), (2, 1, '2024-02-03'), (3, 3, '2024-03-04'), (4, 5, '2024-04-05');
"""


def library_layer() -> SemanticLayer:
    """A layer as a draft would write it: words from identifiers, a few Chinese synonyms, no hand rules."""
    return SemanticLayer(
        name="draft-library",
        tables={
            "authors": TableSpec(synonyms=["author", "authors", "作者"], primary_key="author_id", label=["name"],
                                 columns={
                                     "author_id": ColumnSpec(role="key"),
                                     "name": ColumnSpec(role="name", index_values=True, synonyms=["名字"]),
                                     "country": ColumnSpec(role="category", index_values=True, synonyms=["国家"]),
                                     "birth_year": ColumnSpec(role="text", stored_as="year",
                                                              synonyms=["birth year", "出生年份"]),
                                 }),
            "books": TableSpec(synonyms=["book", "books", "书"], primary_key="book_id", label=["title"], columns={
                "book_id": ColumnSpec(role="key"),
                "author_id": ColumnSpec(role="key"),
                "title": ColumnSpec(role="name", index_values=True, synonyms=["标题"]),
                "genre": ColumnSpec(role="category", index_values=True, synonyms=["体裁"]),
                "pages": ColumnSpec(role="number", synonyms=["页数"]),
                "price": ColumnSpec(role="number", synonyms=["价格"]),
            }),
            "loans": TableSpec(synonyms=["loan", "loans", "借阅"], primary_key="loan_id", columns={
                "loan_id": ColumnSpec(role="key"),
                "book_id": ColumnSpec(role="key"),
                "loan_date": ColumnSpec(role="date", synonyms=["loan date"]),
            }),
        },
        joins=[JoinSpec(left="books.author_id", right="authors.author_id", source="foreign_key"),
               JoinSpec(left="loans.book_id", right="books.book_id", source="foreign_key")],
    )


@pytest.fixture(scope="module")
def library() -> tuple[RuleCompiler, sqlite3.Connection]:
    connection = sqlite3.connect(":memory:", check_same_thread=False)
    connection.executescript(ROWS)
    engine = create_engine("sqlite://", creator=lambda: connection)
    layer = library_layer()
    return RuleCompiler(layer, build_value_index(engine, layer)), connection


def ask(library: tuple[RuleCompiler, sqlite3.Connection], question: str) -> tuple[str, list[tuple]]:
    compiler, connection = library
    sql = compiler.compile(question).sql
    return sql, connection.execute(sql).fetchall()


def test_sorted_by_a_column_orders_rows_and_does_not_sum(library) -> None:
    sql, rows = ask(library, "List the titles of books sorted by pages.")
    assert rows == [("Old Road",), ("Night Sea",), ("Grey Sky",), ("Blue Door",), ("Red Hill",)]
    assert "SUM" not in sql.upper()


def test_not_before_a_value_negates_it(library) -> None:
    _, rows = ask(library, "Which books are not of genre Novel? List the titles.")
    assert sorted(rows) == [("Grey Sky",), ("Night Sea",), ("Old Road",)]


def test_superlative_over_a_column(library) -> None:
    _, rows = ask(library, "What is the title of the most expensive book?")
    assert rows == [("Grey Sky",)]


def test_the_row_with_the_most_related_rows(library) -> None:
    _, rows = ask(library, "Which author has the most books? Give the name.")
    assert rows == [("Bo Chen",)]


def test_at_least_n_related_rows_is_a_having(library) -> None:
    sql, rows = ask(library, "Show the names of authors with at least 3 books.")
    assert rows == [("Bo Chen",)]
    assert "HAVING" in sql.upper()


def test_all_the_information_selects_every_column(library) -> None:
    _, rows = ask(library, "Show all the information about authors from France.")
    assert rows == [(1, "Ann Lee", "France", "1950")]


def test_both_values_of_one_column_intersect(library) -> None:
    sql, rows = ask(library, "Which authors wrote both Poetry and Novel books? Give the names.")
    assert sorted(rows) == [("Ann Lee",), ("Bo Chen",)]
    assert "INTERSECT" in sql.upper()


def test_that_have_no_related_rows_is_an_anti_join(library) -> None:
    _, rows = ask(library, "What are the names of authors that have no books?")
    assert rows == [("Cy Diaz",)]


def test_count_of_different_values(library) -> None:
    _, rows = ask(library, "How many different genres are there?")
    assert rows == [(3,)]


def test_names_come_from_the_joined_table(library) -> None:
    _, rows = ask(library, "List the title of each book and the name of its author.")
    assert len(rows) == 5 and ("Grey Sky", "Bo Chen") in rows


def test_a_year_stored_as_text_compares_as_a_number(library) -> None:
    sql, rows = ask(library, "Which authors have a birth year before 1980? Give the names.")
    assert sorted(rows) == [("Ann Lee",), ("Bo Chen",)]
    assert "CAST" in sql.upper()


def test_minimum_and_maximum(library) -> None:
    _, rows = ask(library, "What is the minimum and maximum price of books?")
    assert sorted(rows[0]) == [8.0, 30.0]


def test_top_n(library) -> None:
    _, rows = ask(library, "List the titles of the top 2 most expensive books.")
    assert rows == [("Grey Sky",), ("Red Hill",)]


def test_chinese_count_per_group(library) -> None:
    _, rows = ask(library, "每种体裁有多少本书？")
    assert sorted(rows) == [("Essay", 1), ("Novel", 2), ("Poetry", 2)]


def test_chinese_superlative_after_the_noun(library) -> None:
    _, rows = ask(library, "价格最高的书的标题是什么？")
    assert rows == [("Grey Sky",)]


def test_chinese_negation_is_an_anti_join(library) -> None:
    _, rows = ask(library, "没有书的作者有哪些？")
    assert rows == [("Cy Diaz",)]


def test_chinese_comparison_reads_the_column_before_it(library) -> None:
    _, rows = ask(library, "页数超过200的书有哪些？列出标题。")
    assert sorted(rows) == [("Blue Door",), ("Red Hill",)]


def test_words_no_step_read_make_the_answer_unsure(library) -> None:
    compiler, _ = library
    assert compiler.compile("How many books do the authors whose flux capacitors hum quietly own?").unsure
    assert not compiler.compile("How many books are there?").unsure


def test_the_number_of_rows_compared_is_a_having(library) -> None:
    _, rows = ask(library, "List the names of authors having the number of books greater than 2.")
    assert rows == [("Bo Chen",)]


def test_count_per_related_table_names_the_groups(library) -> None:
    _, rows = ask(library, "How many books are there for each author?")
    assert sorted(rows) == [("Ann Lee", 2), ("Bo Chen", 3)]
