"""Step 3, planning: tie each intent cue to the linked schema words next to it and build a QueryPlan.

Every rule is about the shape of a question, never about one database: "the X with the most Y" groups X and
orders by the count of Y; "at least 2 Y" is a HAVING on that count; "not … any Y" is an anti-join; a column
after "sorted by" is ordered, not aggregated; "names" of a row come from its table's label columns.
"""

from __future__ import annotations

from tools.text2sql import lexicon
from tools.text2sql.pipeline.linking import Link, SchemaTarget
from tools.text2sql.pipeline.plan import AntiJoin, Condition, Having, Ordering, Output, QueryPlan
from tools.text2sql.pipeline.reading import Item, Reading
from tools.text2sql.pipeline.schema_choice import NAME_WORDS, SchemaChoice
from tools.text2sql.values import ValueTarget

# Chinese puts these after the noun they govern ("狗的数量", "评分最高"): look back before looking ahead.
POSTFIX_CJK_CUES = frozenset(("数量", "个数", "数目", "总数", "数"))
# Characters a Chinese negation may have before its noun ("从来没给狗做过治疗"): a verb and its particles.
CJK_ANTI_GAP = 6
WEAK_LINK = 0.3  # a column phrase covering less than this share of the column's words
# Words that may stand before "number of" when it is a count ("the total number of", "the largest number of").
COUNT_LEAD_WORDS = frozenset("total average maximum minimum largest smallest greatest highest lowest most least "
                             "overall same whole".split())
# "是多少" / "多少钱" ask for a value, not for a count.
VALUE_QUESTION_BEFORE = ("是", "为", "有")
VALUE_QUESTION_AFTER = ("钱", "岁")


class PlanError(ValueError):
    """The question has no table or column the plan could be built on."""


class Planner:
    """Builds one QueryPlan from a Reading; each method is one rule and marks the items it consumes."""

    def __init__(self, reading: Reading) -> None:
        self.reading = reading
        self.schema = SchemaChoice(reading)
        self.layer = reading.layer
        self.items = reading.items
        self.plan_outputs: list[Output] = []
        self.conditions: list[Condition] = []
        self.anti: list[AntiJoin] = []
        self.group: list[tuple[str, str]] = []
        self.group_tables: list[str] = []
        self.orders: list[Ordering] = []
        self.limit: int | None = None
        self.having: Having | None = None
        self.count_table: str | None = None
        self.count_by: Ordering | None = None
        self.distinct = False
        self.star = False
        self.intersect_values: list[Condition] = []
        self.union_tables: list[str] = []
        self.intersect_tables: list[str] = []
        self.any_condition = False
        self.alphabetical: Ordering | None = None  # "in alphabetical order": order by the first column shown

    # ---------------------------------------------------------------- item helpers











    # ---------------------------------------------------------------- the rules, in order

    def build(self) -> QueryPlan:
        plan = self._build()
        if any(not item.used for item in self.reading.cues("anti")) and not any(c.operator == "!=" for c in plan.conditions):
            plan.doubts.append("a negation no rule used")
        return plan

    def _build(self) -> QueryPlan:
        self.schema.choose_columns()
        self.read_substrings()
        self.read_values()
        self.read_comparisons()
        self.read_anti_joins()
        self.read_counts()
        self.read_top_by()
        self.read_aggregates()
        self.read_superlatives()
        self.read_grouping()
        self.read_ordering()
        self.read_misc()
        return self.assemble()

    def read_substrings(self) -> None:
        for cue_item in self.reading.cues("like"):
            cue = cue_item.cue
            assert cue is not None
            before = self.reading.previous_schema(cue_item)
            after = self.reading.next_schema(cue_item, frozenset(("it", "in", "their", "its")))
            if before is not None and self.schema.table_of(before) and after is not None and after.choice is not None:
                before = None  # "documents that contain the letter w in their description": the description
            column_item = before or after or self.reading.previous_schema_across(
                cue_item, ("名", "名里", "名称里", "名字里", "里", "中"))
            if column_item is not None and column_item.link is not None and column_item.link.text in NAME_WORDS:
                owner = self.reading.previous_schema_across(column_item, ("whose", "with", "的", ""))
                if owner is not None and owner.choice is not None:
                    column_item = owner  # "a state whose name contains …": the state itself
            target = self.choice_or_label(column_item) if column_item is not None else None
            if target is None or target.column is None:
                continue
            if column_item is not None:
                column_item.used, column_item.role = True, "filter"
            pattern = {"prefix": f"{cue.text}%", "suffix": f"%{cue.text}"}.get(cue.operator or "", f"%{cue.text}%")
            self.conditions.append(Condition(target.table, target.column, "like", pattern))
            cue_item.used = True

    def read_values(self) -> None:
        """Each stored value becomes col = value, tied to the column named beside it; "not" before it negates."""
        values = [i for i in self.items if i.link is not None and i.link.kind in ("value", "literal")]
        previous_condition: tuple[Item, Condition] | None = None
        for item in values:
            link = item.link
            assert link is not None
            hint = self.reading.previous_schema(item) or self.reading.next_schema(item)
            target = self.value_target(link, hint)
            if target is None:
                continue
            table, column_name, value = target
            operator = "!=" if self.negated(item) else "="
            condition = Condition(table, column_name, operator, value)
            if previous_condition is not None and previous_condition[1].column == column_name and (
                    previous_condition[1].table == table):
                between = self.reading.words_between(previous_condition[0].end, item.start)
                if any(w in ("and", "和", "与", "及", "以及") for w in between) and operator == "=":
                    self.intersect_values.append(condition)
                    previous_condition = (item, condition)
                    item.used = True
                    continue
                if any(w in ("or", "或", "或者") for w in between):
                    self.any_condition = True
            elif previous_condition is not None:
                between = self.reading.words_between(previous_condition[0].end, item.start)
                if any(w in ("or", "或", "或者") for w in between):
                    self.any_condition = True
            self.conditions.append(condition)
            previous_condition = (item, condition)
            item.used = True

    def choice_or_label(self, item: Item) -> SchemaTarget | None:
        """The column an item links to, else the label (name) column of its table: "the state" is its name."""
        if item.choice is not None:
            return item.choice
        table = self.schema.table_of(item)
        label = self.schema.label_columns(table) if table else []
        return SchemaTarget(table, label[0], 1.0) if table and label else None

    def value_target(self, link: Link, hint: Item | None) -> tuple[str, str, str] | None:
        if link.kind == "literal":
            column_target = self.choice_or_label(hint) if hint is not None else None
            if column_target is None or column_target.column is None:
                return None
            hint.used, hint.role = True, "hint"  # type: ignore[union-attr]
            return column_target.table, column_target.column, link.text
        candidates: list[ValueTarget] = list(link.values)
        if hint is not None and hint.link is not None:
            hinted = [v for v in candidates if any(
                t.table == v.table and (t.column is None or t.column in v.columns) for t in hint.link.targets)]
            if hinted:
                candidates = hinted
                if hint.choice is not None and hint.choice.column in hinted[0].columns:
                    hint.used, hint.role = True, "hint"
                elif hint.choice is not None:
                    hint.choice = SchemaTarget(hinted[0].table, hinted[0].columns[0], 1.0)
                    hint.used, hint.role = True, "hint"
        mentioned = self.schema.mentioned_tables(include_columns=False)
        candidates.sort(key=lambda v: (v.table not in mentioned, v.cardinality))
        chosen = candidates[0]
        if len(chosen.columns) > 1:
            for column_name, value in zip(chosen.columns, chosen.values, strict=True):
                self.conditions.append(Condition(chosen.table, column_name, "=", value))
            return None
        return chosen.table, chosen.columns[0], chosen.values[0]

    def negated(self, item: Item) -> bool:
        for cue_item in self.reading.cues("negation", "anti"):
            if cue_item.end <= item.start and len(self.reading.words_between(cue_item.end, item.start)) <= 3:
                if not cue_item.used:
                    cue_item.used = True
                    return True
        return False

    def read_comparisons(self) -> None:
        """A number compared: with a table after it, a count of those rows (HAVING); else a column beside it."""
        for cue_item in self.reading.cues("compare", "between"):
            cue = cue_item.cue
            assert cue is not None and cue.number is not None
            following = self.reading.next_schema(cue_item, frozenset(("or", "more", "less", "fewer", "and", "than")))
            counted = self.before_count_cue(cue_item)
            counted_table = self.reading.previous_schema(counted) if counted is not cue_item else None
            previous_table = self.reading.previous_schema(cue_item)
            if counted_table is None and previous_table is not None and self.schema.table_of(previous_table):
                lead = [c for c in self.reading.cues("count") if c.end <= previous_table.start and
                        self.reading.only_filler(c.end, previous_table.start)]
                if lead:  # "the number of tracks greater than 10"
                    counted, counted_table = lead[-1], previous_table
            if counted_table is not None and self.schema.table_of(counted_table):
                counted.used = True  # "模板数量少于3个": a count of templates compared
                counted_table.used, counted_table.role = True, "having"
                self.having = Having(cue.operator or ">", cue.number, cue.upper, self.schema.table_of(counted_table))
                cue_item.used = True
                continue
            previous = self.reading.previous_schema(cue_item)
            if previous is not None and previous.choice is not None and previous.choice.column and not self.schema.table_of(
                    previous) and not cue.text.isascii():
                following = None  # "版本号大于5的模板": the number compares the column before it
            if following is not None and self.schema.table_of(following):
                following.used, following.role = True, "having"
                self.having = Having(cue.operator or ">", cue.number, cue.upper, self.schema.table_of(following))
                cue_item.used = True
                continue
            column_item = self.reading.previous_schema(cue_item) or following
            if column_item is None or column_item.choice is None or column_item.choice.column is None:
                continue
            target = column_item.choice
            spec = self.layer.tables[target.table].columns[target.column or ""]
            numeric = spec.stored_as in ("number", "year") or spec.role == "text"
            column_item.used, column_item.role = True, "filter"
            operator = cue.operator or "="
            value = cue.number
            self.conditions.append(Condition(target.table, target.column or "", operator, value, cue.upper,
                                             numeric=numeric))
            cue_item.used = True
        for cue_item in self.reading.cues("average_ref"):
            column_item = self.reading.previous_schema(cue_item)
            text = cue_item.cue.text if cue_item.cue else ""
            operator = "<" if any(w in text for w in ("below", "less", "lower", "under", "低于", "小于")) else ">"
            column_item = column_item or self._last_column_before(cue_item)
            if column_item is None or column_item.choice is None:
                continue
            column_item.used, column_item.role = True, "filter"
            cue_item.used = True
            self.conditions.append(Condition(column_item.choice.table, column_item.choice.column or "", operator,
                                             against_average=True))

    def _last_column_before(self, item: Item) -> Item | None:
        before = [o for o in self.reading.schema_items() if o.end <= item.start and o.choice is not None]
        return before[-1] if before else None

    def read_anti_joins(self) -> None:
        """"… that have no Y", "not used by any Y", "never …": subject rows with no related Y row."""
        for cue_item in self.reading.cues("anti"):
            if cue_item.used:
                continue
            target = self.reading.next_schema(cue_item, frozenset(("have", "has", "had", "any", "been", "use", "used", "got",
                                                           "gone", "through", "received", "receive", "get", "go",
                                                           "own", "owned", "play", "playing", "operate", "perform",
                                                           "performed", "treated", "treat", "registered", "enrolled",
                                                           "included", "listed", "shown", "made", "done", "do",
                                                           "cost", "taken", "take", "any", "one", "yet", "ever",
                                                           "single", "by", "in", "for", "on", "at", "of", "to",
                                                           "temporarily", "currently")))
            if target is None and cue_item.cue is not None and not cue_item.cue.text.isascii():
                target = self.schema_within(cue_item, CJK_ANTI_GAP)
            table = self.schema.table_of(target) if target is not None else None
            if target is None or table is None:
                continue
            target.used, target.role = True, "anti"
            cue_item.used = True
            conditions = [c for c in self.conditions if c.table == table or self._after(c, target)]
            self.conditions = [c for c in self.conditions if c not in conditions]
            self.anti.append(AntiJoin(table, conditions))

    def schema_within(self, item: Item, characters: int) -> Item | None:
        """The table a Chinese negation governs: the last table phrase in its clause before a "的" (没给狗做过治疗:
        治疗; 没有养狗的主人: 狗), else the first table after it."""
        text = self.reading.text
        clause_end = len(text)
        for index in range(item.end, len(text)):
            if text[index] in "的，。？！,.?!;；":
                clause_end = index
                break
        inside = [o for o in self.reading.schema_items() if item.end <= o.start and o.end <= clause_end
                  and o.start - item.end <= characters and self.schema.table_of(o)]
        if inside:
            return inside[-1]
        after = [o for o in self.reading.schema_items() if o.start >= item.end and self.schema.table_of(o)]
        return after[0] if after else None

    def _after(self, condition: Condition, item: Item) -> bool:
        return any(i.end > item.start and i.used and i.link is not None and i.link.kind in ("value", "literal")
                   and i.link.values and i.link.values[0].table == condition.table for i in self.items)

    def read_counts(self) -> None:
        """'how many Y' / 'number of Y' / 'Y的数量': count rows of Y; 'how many different X': count distinct X."""
        for cue_item in self.reading.cues("count"):
            if cue_item.used:
                continue
            distinct = any(c.start >= cue_item.end and c.start - cue_item.end < 12 for c in
                           [i.cue for i in self.reading.cues("distinct")] if c is not None)
            text = cue_item.cue.text if cue_item.cue else ""
            if text == "数" and not self.right_after_table(cue_item):
                continue
            if text.startswith("number") and self.compound_noun_before(cue_item):
                cue_item.used = True  # "the phone number of the student": a column, not a count
                continue
            if text == "多少" and self.asks_for_value(cue_item):
                cue_item.used = True
                continue
            if text in POSTFIX_CJK_CUES and self.superlative_follows(cue_item):
                continue  # "狗的数量最多的品种": the superlative reads the count
            target = self.reading.previous_schema(cue_item) if text in POSTFIX_CJK_CUES else self.reading.next_schema(cue_item)
            if target is None and not text.isascii():
                target = self.reading.next_schema(cue_item) or self.reading.previous_schema(cue_item)
            cue_item.used = True
            if target is None:
                self.count_table = self.count_table or ""
                continue
            table = self.schema.table_of(target)
            if table and not (distinct and target.choice is not None):
                if target.role == "having":
                    continue
                target.used, target.role = True, "count"
                self.count_table = table
                self.plan_outputs.append(Output("count", table))
                continue
            if target.choice is not None and target.choice.column:
                target.used, target.role = True, "count"
                for column_item in [target, *self.and_list(target)]:
                    column_item.used, column_item.role = True, "count"
                    choice = column_item.choice
                    assert choice is not None
                    self.plan_outputs.append(Output("aggregate", choice.table, choice.column, "count", distinct=True))
                self.count_table = target.choice.table

    def compound_noun_before(self, item: Item) -> bool:
        words = self.reading.words_between(max(0, item.start - 30), item.start)
        return bool(words) and words[-1] not in lexicon.STOPWORDS | lexicon.REQUEST_WORDS | COUNT_LEAD_WORDS

    def asks_for_value(self, item: Item) -> bool:
        before = self.reading.text[max(0, item.start - 1):item.start]
        after = self.reading.text[item.end:item.end + 1]
        previous = self.reading.previous_schema(item)
        following = self.reading.next_schema(item)
        if following is not None and self.schema.table_of(following):
            return False  # "有多少本书": a count of books
        return after in VALUE_QUESTION_AFTER or (before in VALUE_QUESTION_BEFORE and (
            previous is None or self.schema.table_of(previous) is None))

    def right_after_table(self, item: Item) -> bool:
        before = [o for o in self.reading.schema_items() if o.end == item.start]
        return bool(before) and self.schema.table_of(before[0]) is not None

    def superlative_follows(self, item: Item) -> bool:
        return any(c.start >= item.end and self.reading.only_filler(item.end, c.start) for c in
                   [i for i in self.reading.cues("desc", "asc")])

    def and_list(self, item: Item) -> list[Item]:
        """Column items listed after `item` with "and" or commas ("series names and contents")."""
        result = []
        schema = self.reading.schema_items()
        index = schema.index(item)
        for other in schema[index + 1:]:
            words = self.reading.words_between(schema[schema.index(other) - 1].end, other.start)
            if other.choice is None or not set(words) <= {"and", "the", ",", "和", "与"} or not words:
                break
            result.append(other)
        return result

    def read_aggregates(self) -> None:
        for cue_item in self.reading.cues("avg", "sum", "max", "min"):
            cue = cue_item.cue
            assert cue is not None
            target = self.reading.next_schema(cue_item, frozenset(("and",)), skip_cues=("avg", "sum", "max", "min", "and"))
            if target is None and not cue.text.isascii():
                target = self.reading.previous_schema(cue_item)
            if target is None or target.choice is None or target.choice.column is None:
                continue
            if cue.kind == "sum" and target.role == "count":
                continue  # "total number of X" is a count
            target.used, target.role = True, "aggregate"
            cue_item.used = True
            self.plan_outputs.append(Output("aggregate", target.choice.table, target.choice.column, cue.kind))

    def read_top_by(self) -> None:
        """'the top 5 countries by number of invoices' / 'by total sales': rank groups by that count or sum."""
        for cue_item in self.reading.cues("limit"):
            by_position = self.reading.text.find(" by ", cue_item.end)
            if by_position < 0 or self.orders or self.count_by:
                continue
            following = [i for i in self.items if i.start >= by_position + 3 and not i.used]
            if not following:
                continue
            first = following[0]
            if first.cue is not None and first.cue.kind == "count":
                table_item = self.reading.next_schema(first)
                if table_item is not None and self.schema.table_of(table_item):
                    first.used = table_item.used = True
                    table_item.role = "count_order"
                    self.count_by = Ordering("count", self.schema.table_of(table_item) or "", descending=True)
            elif first.cue is not None and first.cue.kind in ("sum", "avg", "max", "min"):
                column_item = self.reading.next_schema(first)
                if column_item is not None and column_item.choice is not None and column_item.choice.column:
                    first.used, column_item.role = True, "order"
                    self.count_by = Ordering("aggregate", column_item.choice.table, column_item.choice.column,
                                             first.cue.kind, descending=True)
            elif first.choice is not None and first.choice.column:
                first.role = "order"
                self.orders.append(Ordering("column", first.choice.table, first.choice.column, descending=True))

    def read_superlatives(self) -> None:
        """'the most Y' (a table): order groups by their count; 'the highest X' (a column): order rows by X."""
        for cue_item in self.reading.cues("desc", "asc", "recent", "earliest", "oldest", "youngest", "expensive", "cheap"):
            cue = cue_item.cue
            assert cue is not None
            if cue_item.used or self.orders or self.count_by:
                continue
            descending = cue.kind in ("desc", "recent", "oldest", "expensive")
            if cue.kind in ("desc", "asc"):
                if cue.text.isascii():
                    target = self.reading.next_schema(cue_item, frozenset(("number", "of", "amount", "highly")))
                else:
                    target = self.reading.previous_schema(self.before_count_cue(cue_item)) or self.reading.next_schema(cue_item)
                if target is None:
                    continue
                table = self.schema.table_of(target)
                if table:
                    target.used, target.role = True, "count_order"
                    self.count_by = Ordering("count", table, descending=descending)
                elif target.choice is not None and target.choice.column:
                    # "价格最高的书": a column before a Chinese superlative only says how the rows are ranked
                    target.role = "order" if target.start > cue_item.start or cue.text.isascii() else "ranked"
                    target.used = target.role == "ranked"
                    self.orders.append(Ordering("column", target.choice.table, target.choice.column,
                                                descending=descending))
                else:
                    continue
                cue_item.used = True
                self.limit = self.limit or 1
                continue
            column_target = self.class_column(cue.kind)
            if column_target is None:
                continue
            table, column_name, descending = column_target
            cue_item.used = True
            ranked = self.reading.next_schema(cue_item, frozenset(("aired", "performed", "released", "registered")))
            if ranked is not None and ranked.choice is not None and self._other_columns(ranked):
                ranked.used, ranked.role = True, "ranked"  # "the amount of the most expensive charge type"
            for other in self.reading.schema_items():
                if other.choice is not None and (other.choice.table, other.choice.column) == (table, column_name) and (
                        other.start > cue_item.start):
                    other.used, other.role = True, "order"
            self.orders.append(Ordering("column", table, column_name, descending=descending))
            self.limit = self.limit or 1

    def before_count_cue(self, item: Item) -> Item:
        """The count word right before a Chinese superlative ("数量最多"), if any, else the item itself."""
        counts = [c for c in self.reading.cues("count") if c.end <= item.start and self.reading.only_filler(c.end, item.start)]
        return counts[-1] if counts else item

    def _other_columns(self, item: Item) -> bool:
        return any(o is not item and o.choice is not None and not o.used for o in self.reading.schema_items())

    def class_column(self, kind: str) -> tuple[str, str, bool] | None:
        """The column a superlative adjective orders by: dates for "most recent", money for "most expensive"."""
        tables = self.schema.mentioned_tables() or list(self.layer.tables)
        wanted = {"recent": ("date", True), "earliest": ("date", False), "oldest": ("age", True),
                  "youngest": ("age", False), "expensive": ("money", True), "cheap": ("money", False)}[kind]
        for word_class in ([wanted[0], "date"] if wanted[0] == "age" else [wanted[0]]):
            for table in tables:
                for name, spec in self.layer.tables[table].columns.items():
                    words = name.lower()
                    if spec.role == "key":
                        continue
                    numeric = spec.role == "number" or spec.stored_as in ("number", "year")
                    dated = spec.role == "date" or spec.stored_as in ("date", "year")
                    if word_class in ("money", "age") and not numeric and not any(
                            w == words for w in lexicon.COLUMN_CLASS_WORDS[word_class]):
                        continue
                    if word_class == "date" and not (dated or "date" in words):
                        continue
                    if any(w in words for w in lexicon.COLUMN_CLASS_WORDS[word_class]) or (
                            word_class == "date" and dated):
                        descending = wanted[1] if word_class == wanted[0] else not wanted[1]
                        return table, name, descending
        return None

    def read_grouping(self) -> None:
        for cue_item in self.reading.cues("group"):
            target = self.reading.next_schema(cue_item, frozenset(("of", "the", "listed", "one", "these", "those")))
            if target is None and cue_item.cue is not None and not cue_item.cue.text.isascii():
                target = self.reading.next_schema(cue_item)
            if target is None:
                continue
            table = self.schema.table_of(target)
            if table:
                if target.role in ("count", "having"):
                    continue
                target.used, target.role = True, "group"
                self.group_tables.append(table)
            elif target.choice is not None and target.choice.column:
                target.role = "group"
                self.group.append((target.choice.table, target.choice.column))
            cue_item.used = True

    def read_ordering(self) -> None:
        descending = bool(self.reading.cues("descending"))
        for cue_item in self.reading.cues("order"):
            target = self.reading.next_schema(cue_item, frozenset(("their", "its", "the")))
            if target is None or target.choice is None or target.choice.column is None:
                continue
            target.used, target.role = True, "order"
            cue_item.used = True
            self.orders.append(Ordering("column", target.choice.table, target.choice.column, descending=descending))
        if self.reading.cues("alphabetical") or (self.reading.cues("descending") and not self.orders):
            self.alphabetical = Ordering("column", "", descending=descending)

    def read_misc(self) -> None:
        for cue_item in self.reading.cues("limit"):
            cue = cue_item.cue
            assert cue is not None and cue.number is not None
            self.limit = int(cue.number)
        self.distinct = bool(self.reading.cues("distinct")) and not any(o.kind in ("count", "aggregate") for o in self.plan_outputs)
        self.star = bool(self.reading.cues("star"))
        for cue_item in self.reading.cues("both", "either"):
            first = self.reading.next_schema(cue_item)
            if first is None or not self.schema.table_of(first):
                continue
            second = self.reading.next_schema(first, frozenset(("and", "or")))
            if second is not None and self.schema.table_of(second):
                first.used = second.used = True
                first.role = second.role = "set"
                kind = self.intersect_tables if cue_item.cue and cue_item.cue.kind == "both" else self.union_tables
                kind.extend([self.schema.table_of(first) or "", self.schema.table_of(second) or ""])

    # ---------------------------------------------------------------- assembly

    def projected_columns(self) -> list[SchemaTarget]:
        chosen = []
        strong = [i for i in self.reading.schema_items() if not i.used and i.choice is not None and i.role not in (
            "order", "hint", "filter") and i.choice.strength >= WEAK_LINK]
        for item in self.reading.schema_items():
            if item.used or item.choice is None or item.choice.column is None:
                continue
            if strong and item.choice.strength < WEAK_LINK and item not in strong:
                continue  # a weak partial word ("TV" in "cartoons on TV") does not add a column beside real ones
            if item.role in ("order", "hint", "filter") and item.role != "group":
                if item.role == "order" and self.limit == 1 and self._asked_before_tables(item):
                    chosen.append(item.choice)
                continue
            chosen.append(item.choice)
        return list(dict.fromkeys(chosen))

    def _asked_before_tables(self, item: Item) -> bool:
        return not any(self.schema.table_of(o) for o in self.reading.schema_items() if o.end <= item.start)

    def subject(self, columns: list[SchemaTarget]) -> str:
        if self.count_table:
            return self.count_table
        if columns:
            return columns[0].table
        tables = [self.schema.table_of(i) for i in self.reading.schema_items() if self.schema.table_of(i) and i.role not in (
            "anti", "having", "count_order", "set")]
        if tables:
            return tables[0] or ""
        for output in self.plan_outputs:
            return output.table
        mentioned = self.schema.mentioned_tables()
        if mentioned:
            return mentioned[0]
        raise PlanError("no table or column of the database was named")

    def assemble(self) -> QueryPlan:
        columns = self.projected_columns()
        if self.intersect_tables or self.union_tables:
            return self.assemble_table_set(columns)
        subject = self.subject(columns)
        outputs = [Output("column", c.table, c.column) for c in columns]
        aggregates = list(self.plan_outputs)
        if self.star and not aggregates:
            outputs = [Output("star", subject)]
        if self.count_table == "" and not aggregates:
            aggregates = [Output("count", subject)]  # "有多少部?" with the counted noun unnamed: the subject
        if not outputs and aggregates and self.group_tables and not self.group:
            outputs = self.label_outputs(self.group_tables[0])  # "tracks in each genre": name the genres
        if not outputs and not aggregates:
            outputs = self.label_outputs(subject)
            if self.reading.text.lstrip().startswith(("when", "什么时候", "何时")):
                outputs = [Output("column", o.table, o.column) for o in self.orders] or self.date_outputs(subject)
        plan_semi = self.existence_joins(subject, outputs)
        plan = QueryPlan(base=subject, outputs=[], conditions=list(self.conditions), any_condition=self.any_condition,
                         anti_joins=list(self.anti) + plan_semi, limit=self.limit,
                         doubts=list(self.reading.doubts))
        plan.tables = [t for t in self.group_tables]
        counted = self.count_by.table if self.count_by else (self.having.table if self.having else None)
        if counted:
            plan.tables.append(counted)
            key_table = next((o.table for o in outputs if o.table != counted), None) or (
                self.group_tables[0] if self.group_tables else None)
            if key_table is None and not outputs:
                key_table = subject if subject != counted else None
            group = self.schema.key_of(key_table) if key_table else [(o.table, o.column or "") for o in outputs if o.column]
            plan.group_by = group or self.group
            if self.count_by:
                plan.order_by = [self.count_by]
            if self.having:
                plan.having = self.having
        elif aggregates and (outputs or self.group or self.group_tables) and not self.orders:
            plan.group_by = self.group or [(o.table, o.column or "") for o in outputs if o.column] or [
                key for table in self.group_tables for key in self.schema.key_of(table)]
        plan.outputs = list(dict.fromkeys(outputs + aggregates))
        if not plan.order_by:
            plan.order_by = list(self.orders)
        if not plan.order_by and plan.limit and plan.group_by and aggregates:
            first = aggregates[0]  # "the top 5 by how many": the largest groups first
            plan.order_by = [Ordering("count" if first.kind == "count" else "aggregate", first.table, first.column,
                                      first.aggregation, descending=True)]
        if self.alphabetical is not None and not plan.order_by and outputs and outputs[0].column:
            plan.order_by = [Ordering("column", outputs[0].table, outputs[0].column,
                                      descending=self.alphabetical.descending)]
        plan.distinct = self.distinct
        if plan.base not in plan.needed_tables()[1:] and outputs and outputs[0].table != plan.base and not counted:
            plan.base = outputs[0].table
        if self.intersect_values:
            plan.compound = ("intersect", self.with_swapped_value(plan))
        return plan

    def label_outputs(self, table: str) -> list[Output]:
        return [Output("column", table, c) for c in self.schema.label_columns(table)]

    def date_outputs(self, table: str) -> list[Output]:
        spec = self.layer.tables[table]
        dated = [c for c, col in spec.columns.items() if col.role == "date" or "date" in c.lower()]
        return [Output("column", table, dated[0])] if dated else self.label_outputs(table)

    def existence_joins(self, subject: str, outputs: list[Output]) -> list[AntiJoin]:
        """A table named but not otherwise used ("dogs who went through treatments"): rows that have one."""
        used_tables = {o.table for o in outputs} | {c.table for c in self.conditions} | {subject}
        used_tables |= {t for t, _ in self.group} | set(self.group_tables)
        if self.count_by:
            used_tables.add(self.count_by.table)
        if self.having and self.having.table:
            used_tables.add(self.having.table)
        semi = []
        for item in self.reading.schema_items():
            table = self.schema.table_of(item)
            if table is None or item.used or table in used_tables or item.role in ("set",):
                continue
            if self.reading.graph.path(table, subject):
                semi.append(AntiJoin(table, negated=False))
                used_tables.add(table)
        return semi

    def with_swapped_value(self, plan: QueryPlan) -> QueryPlan:
        """The other side of an INTERSECT: the same query with the second value in place of the first."""
        second = self.intersect_values[0]
        first = next(c for c in plan.conditions if (c.table, c.column) == (second.table, second.column))
        other = QueryPlan(base=plan.base, outputs=list(plan.outputs), conditions=[
            second if c is first else c for c in plan.conditions], anti_joins=list(plan.anti_joins),
            group_by=list(plan.group_by), having=plan.having, tables=list(plan.tables), distinct=plan.distinct)
        return other

    def assemble_table_set(self, columns: list[SchemaTarget]) -> QueryPlan:
        """'both A and B' / 'either A or B': the same column from two tables, intersected or united."""
        tables = self.intersect_tables or self.union_tables
        operator = "intersect" if self.intersect_tables else "union"
        if not columns:
            raise PlanError("no column to compare between the two tables")
        words = columns[0].column or ""
        sides = []
        for table in tables[:2]:
            spec = self.layer.tables[table]
            match = words if words in spec.columns else next((c for c in spec.columns if c.lower() == words.lower()), None)
            if match is None:
                raise PlanError(f"{table} has no column {words}")
            sides.append(QueryPlan(base=table, outputs=[Output("column", table, match)]))
        sides[0].compound = (operator, sides[1])
        return sides[0]
