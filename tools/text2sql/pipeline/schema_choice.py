"""Which table or column each schema phrase means, read from the words around it and the tables named."""

from __future__ import annotations

import re

from tools.text2sql.models import SemanticLayer
from tools.text2sql.pipeline.linking import SchemaTarget
from tools.text2sql.pipeline.reading import Item, Reading

BINDING_AFTER = re.compile(r"^(?:of|for|in|from|about|on|of the|for the|in the|from the|about the|of all the|of all|"
                           r"for all|for all the|for each|of each|for every|of every|of any|的)?$")
NAME_WORDS = frozenset(("name", "names", "title", "titles", "名称", "名字", "姓名", "名"))


class SchemaChoice:
    """Resolves schema phrases for one question; `choose_columns` fixes one reading of every column phrase."""

    def __init__(self, reading: Reading) -> None:
        self.reading = reading
        self.layer: SemanticLayer = reading.layer

    def table_of(self, item: Item) -> str | None:
        """The table an item names outright (a table phrase at least as strong as any column reading)."""
        if item.link is None or item.link.kind != "schema":
            return None
        tables = [t for t in item.link.targets if t.column is None]
        # A column that only holds another table's key ("频道" is TV_Channel, not Cartoon.Channel) names the table.
        columns = [t for t in item.link.targets if t.column is not None and not (tables and self.is_join_column(t))]
        if not tables and columns:
            parents = {self.referenced_table(t) for t in columns}
            if len(parents) == 1 and None not in parents:
                return parents.pop()  # "频道" names only Cartoon.Channel and TV_series.Channel: the channel table
        if tables and (not columns or max(t.strength for t in columns) < 1.0 or item.role == "table"):
            best = max(t.strength for t in tables)
            return self.prefer_table([t.table for t in tables if t.strength == best])
        return None

    def referenced_table(self, target: SchemaTarget) -> str | None:
        """The table a foreign-key column points to (None for any other column)."""
        name = f"{target.table}.{target.column}"
        for join in self.layer.joins:
            if join.left == name and join.right.split(".", 1)[0] != target.table:
                return join.right.split(".", 1)[0]
        return None

    def is_join_column(self, target: SchemaTarget) -> bool:
        spec = self.layer.tables[target.table]
        if target.column == spec.primary_key or spec.columns[target.column or ""].role == "key":
            return True
        return any(f"{target.table}.{target.column}" in (join.left, join.right) for join in self.layer.joins)

    def prefer_table(self, tables: list[str]) -> str:
        mentioned = self.mentioned_tables(include_columns=False)
        for table in tables:
            if table in mentioned:
                return table
        return tables[0]

    def mentioned_tables(self, include_columns: bool = True) -> list[str]:
        tables: dict[str, None] = {}
        for item in self.reading.schema_items():
            link = item.link
            assert link is not None
            named = [t.table for t in link.targets if t.column is None]
            if len(named) == 1:
                tables.setdefault(named[0])
        for item in self.reading.items:
            if item.link is not None and item.link.kind == "value" and len({v.table for v in item.link.values}) == 1:
                tables.setdefault(item.link.values[0].table)
        if include_columns:
            for item in self.reading.schema_items():
                if item.choice is not None:
                    tables.setdefault(item.choice.table)
        return list(tables)

    def choose_columns(self) -> None:
        """Pick one reading of every column phrase: the table bound next to it, a table named in the question,
        the table whose key it is, then the strongest."""
        mentioned = self.mentioned_tables(include_columns=False)
        for item in self.reading.schema_items():
            link = item.link
            assert link is not None
            if self.table_of(item) is not None:
                item.role = "table"
                continue
            bound = self.bound_table(item)
            columns = link.columns
            if link.text.lower() in NAME_WORDS and bound and not any(c.table == bound for c in columns):
                label = self.label_columns(bound)
                if label:
                    item.choice = SchemaTarget(bound, label[0], 1.0)
                    item.role = "label"
                    continue

            chosen_tables = [i.choice.table for i in self.reading.schema_items() if i.choice is not None]
            item.choice = max(columns, key=lambda t: self.column_rank(t, bound, mentioned, chosen_tables))
            if len({c.table for c in columns if c.strength == item.choice.strength}) > 1 and bound is None and (
                    item.choice.table not in mentioned):
                self.reading.doubts.append(f"'{link.text}' may be a column of several tables")

    def column_rank(self, target: SchemaTarget, bound: str | None, mentioned: list[str],
                    chosen_tables: list[str]) -> tuple[bool | float | int, ...]:
        """Order of preference among a phrase's columns (larger is better)."""
        spec = self.layer.tables[target.table]
        connected = not mentioned or any(self.reading.graph.path(target.table, t) is not None for t in mentioned)
        return (target.table == bound, connected, target.table in mentioned, target.strength >= 0.9,
                target.table in chosen_tables, spec.primary_key == target.column, target.strength,
                -mentioned.index(target.table) if target.table in mentioned else -99)

    def bound_table(self, item: Item) -> str | None:
        """'name of the dogs', 'dog name', "dog's name": the table named right next to a column word; in a list
        ("ids, names and descriptions of documents") the table after the list binds every column of it."""
        schema = self.reading.schema_items()
        index = schema.index(item)
        while index + 1 < len(schema) and self.table_of(schema[index + 1]) is None and set(
                self.reading.words_between(schema[index].end, schema[index + 1].start)) <= {"and", "the", "their",
                                                                                          "its", "和", "与", "、"}:
            index += 1
        if index + 1 < len(schema):
            following = schema[index + 1]
            table = self.table_of(following)
            gap = " ".join(self.reading.words_between(schema[index].end, following.start))
            if table and BINDING_AFTER.match(gap):
                return table
        index = schema.index(item)
        if index > 0:
            previous = schema[index - 1]
            table = self.table_of(previous)
            gap = " ".join(self.reading.words_between(previous.end, item.start))
            if table and gap in ("", "s", "whose", "'s", "的"):
                return table
        return None

    def label_columns(self, table: str) -> list[str]:
        """The columns that name a row: the layer's label, else a name/title column, else the key."""
        spec = self.layer.tables[table]
        if spec.label:
            return [c for c in spec.label if c in spec.columns]
        named = [c for c in spec.columns if any(w in c.lower() for w in ("name", "title"))]
        if named:
            return named[:1]
        return [spec.primary_key] if spec.primary_key in spec.columns else list(spec.columns)[:1]

    def key_of(self, table: str) -> list[tuple[str, str]]:
        key = self.layer.tables[table].primary_key
        if key and key in self.layer.tables[table].columns:
            return [(table, key)]
        return [(table, c) for c in self.layer.tables[table].label]
