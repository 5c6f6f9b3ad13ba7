"""Each step of the pipeline compiler on its own: intent words, schema linking, join planning, rendering."""

from __future__ import annotations

import sqlglot

from tools.text2sql.models import ColumnSpec, JoinSpec, SemanticLayer, TableSpec
from tools.text2sql.pipeline.intent import parse_intent
from tools.text2sql.pipeline.joins import JoinGraph
from tools.text2sql.pipeline.linking import QuestionLinker, SchemaLexicon, identifier_words, singular, stem
from tools.text2sql.pipeline.plan import AntiJoin, Condition, Having, Ordering, Output, QueryPlan
from tools.text2sql.pipeline.render import render_plan
from tools.text2sql.values import ValueIndex, ValueTarget


def kinds(text: str) -> list[str]:
    return [cue.kind for cue in parse_intent(text).cues]


def shop_layer() -> SemanticLayer:
    return SemanticLayer(name="draft-shop", tables={
        "shows": TableSpec(primary_key="show_id", columns={"show_id": ColumnSpec(role="key"),
                                                            "show_name": ColumnSpec(role="name")}),
        "Stores": TableSpec(primary_key="store_id", columns={
            "store_id": ColumnSpec(role="key"), "store_name": ColumnSpec(role="name"),
            "city": ColumnSpec(role="category", synonyms=["城市"])}),
        "Sales": TableSpec(primary_key="sale_id", columns={
            "sale_id": ColumnSpec(role="key"), "store_id": ColumnSpec(role="key"),
            "item_id": ColumnSpec(role="key"), "amount": ColumnSpec(role="number", synonyms=["金额"])}),
        "Items": TableSpec(primary_key="item_id", synonyms=["商品"], columns={
            "item_id": ColumnSpec(role="key"), "item_name": ColumnSpec(role="name", synonyms=["商品名称"])}),
        "Audit": TableSpec(columns={"note": ColumnSpec()}),
    }, joins=[JoinSpec(left="Sales.store_id", right="Stores.store_id"),
              JoinSpec(left="Sales.item_id", right="Items.item_id")])


# ------------------------------------------------------------------------------------------------- intent

def test_comparisons_carry_operator_and_number() -> None:
    cues = {cue.text: (cue.operator, cue.number) for cue in parse_intent("with at least 2 items or 3 or more").cues
            if cue.kind == "compare"}
    assert cues == {"at least 2": (">=", 2.0), "3 or more": (">=", 3.0)}
    between = parse_intent("between one and two paragraphs").of("between")[0]
    assert (between.number, between.upper) == (1.0, 2.0)


def test_english_and_chinese_cues() -> None:
    assert {"count", "group"} <= set(kinds("how many stores for each city"))
    assert "anti" in kinds("stores that have no sales") and "negation" in kinds("cities other than paris")
    assert {"group", "count"} <= set(kinds("每个城市有多少家店")) and "anti" in kinds("没有销售的商店")
    assert "star" in kinds("show all the information about stores") and "star" in kinds("商店的全部信息")
    assert parse_intent("top 3 stores").of("limit")[0].number == 3 and parse_intent("前3家店").of("limit")[0].number == 3


def test_substring_cue_keeps_its_text() -> None:
    cue = parse_intent("a city containing the substring 'west'").of("like")[0]
    assert (cue.text, cue.operator) == ("west", "contains")
    assert parse_intent("城市名里含有“West”的商店").of("like")[0].text == "West"


# ------------------------------------------------------------------------------------------------- linking

def test_word_forms_meet() -> None:
    assert singular("categories") == "category" and singular("ids") == "id" and singular("address") == "address"
    assert stem("arriving") == stem("arrived") == stem("arrival")
    assert identifier_words("TV_Channels") == ["tv", "channel"]
    assert identifier_words("dateArrived") == ["date", stem("arrival")]


def test_column_words_link_without_the_table_prefix_and_in_plural() -> None:
    linker = QuestionLinker(SchemaLexicon(shop_layer()), ValueIndex(), "List the names and ids of stores")
    links = {link.text: link for link in linker.link()}
    assert ("Stores", "store_name") in {(t.table, t.column) for t in links["names"].targets}
    assert ("Stores", "store_id") in {(t.table, t.column) for t in links["ids"].targets}
    assert "Stores" in links["stores"].tables


def test_request_words_never_link_to_the_schema() -> None:
    linker = QuestionLinker(SchemaLexicon(shop_layer()), ValueIndex(), "show the shows")
    linked = [link.text for link in linker.link()]
    assert linked == ["shows"]


def test_chinese_is_matched_without_spaces_longest_first() -> None:
    linker = QuestionLinker(SchemaLexicon(shop_layer()), ValueIndex(), "每个城市的商品名称")
    linked = {link.text: {(t.table, t.column) for t in link.targets} for link in linker.link()}
    assert linked["城市"] == {("Stores", "city")}
    assert ("Items", "item_name") in linked["商品名称"]


def test_values_link_to_their_column() -> None:
    index = ValueIndex()
    index.add("Paris", ValueTarget("Stores", ("city",), ("Paris",), 3))
    links = QuestionLinker(SchemaLexicon(shop_layer()), index, "stores in Paris").link()
    assert [(link.kind, link.values[0].values) for link in links if link.kind == "value"] == [("value", ("Paris",))]


# ------------------------------------------------------------------------------------------------- joins

def test_join_path_is_the_shortest_and_knows_the_child_side() -> None:
    graph = JoinGraph(shop_layer())
    path = graph.path("Stores", "Items")
    assert [edge.to_table for edge in path or []] == ["Sales", "Items"]
    assert graph.is_to_many(path[0]) and not graph.is_to_many(path[1])  # type: ignore[index]
    assert graph.path("Stores", "Audit") is None
    assert graph.connect(["Items", "Stores"]) is not None and graph.connect(["Items", "Audit"]) is None


# ------------------------------------------------------------------------------------------------- render

def render(plan: QueryPlan) -> str:
    layer = shop_layer()
    sql = render_plan(plan, layer, JoinGraph(layer))
    sqlglot.parse_one(sql, read="sqlite")  # renders valid SQL
    return sql


def test_render_group_having_and_order_by_count() -> None:
    sql = render(QueryPlan(base="Stores", outputs=[Output("column", "Stores", "store_name")], tables=["Sales"],
                           group_by=[("Stores", "store_id")], having=Having(">=", 2),
                           order_by=[Ordering("count", "Sales", descending=True)], limit=1))
    assert "GROUP BY Stores.store_id HAVING COUNT(*) >= 2 ORDER BY COUNT(*) DESC LIMIT 1" in sql
    assert "JOIN Sales ON" in sql


def test_render_negation_anti_join_and_text_numbers() -> None:
    sql = render(QueryPlan(base="Stores", outputs=[Output("column", "Stores", "store_name")],
                           conditions=[Condition("Stores", "city", "!=", "Paris"),
                                       Condition("Stores", "store_id", ">", 3.0, numeric=True)],
                           anti_joins=[AntiJoin("Sales")]))
    assert "Stores.city <> 'Paris'" in sql and "CAST(Stores.store_id AS REAL) > 3" in sql
    assert "NOT Stores.store_id IN (SELECT Sales.store_id FROM Sales" in sql


def test_render_set_operation_and_star() -> None:
    other = QueryPlan(base="Items", outputs=[Output("column", "Items", "item_name")])
    sql = render(QueryPlan(base="Stores", outputs=[Output("column", "Stores", "store_name")],
                           compound=("except", other)))
    assert " EXCEPT " in sql
    assert render(QueryPlan(base="Stores", outputs=[Output("star", "Stores")])).startswith("SELECT * FROM Stores")


def test_a_shared_head_noun_is_given_to_each_word_of_a_list() -> None:
    layer = SemanticLayer(name="draft-people", tables={"people": TableSpec(columns={
        "first_name": ColumnSpec(role="name"), "middle_name": ColumnSpec(role="name"),
        "last_name": ColumnSpec(role="name")})})
    linker = QuestionLinker(SchemaLexicon(layer), ValueIndex(), "the first, middle and last names of people")
    columns = [link.targets[0].column for link in linker.link() if link.columns]
    assert columns == ["first_name", "middle_name", "last_name"]
