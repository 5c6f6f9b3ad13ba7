"""Rule-based (no-LLM) text-to-SQL: generic rules over the semantic layer, SQL built with sqlglot expressions.

`RuleCompiler` routes a question: machine-drafted layers go to the pipeline (tools/text2sql/pipeline: intent →
linking → plan → joins → render); layers people edited go to the layer planner below, which knows their measures,
periods, time grains and ranking words, with the pipeline as its fallback when it cannot read a question.

Rules: counts, sums and averages of measures, group by a dimension or an entity, top/bottom N, HAVING on
counts, filters from indexed values, LIKE patterns, anti-joins ("never"), EXCEPT/INTERSECT ("but not",
"both"), entity lookups, time filters and grains. User words only become string or number literals;
identifiers always come from the layer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

import sqlglot
from sqlglot import exp

from salesbot.text import has_cjk
from tools.text2sql import lexicon
from tools.text2sql.mentions import Mention, QuestionReading, SchemaTarget, Vocabulary, shortest_join_path
from tools.text2sql.models import SemanticLayer
from tools.text2sql.pipeline.compile import PipelineCompiler, PipelineOutcome
from tools.text2sql.pipeline.planner import PlanError
from tools.text2sql.pipeline.render import RenderError
from tools.text2sql.values import ValueIndex, ValueTarget

ADJACENT_GAPS = {"", "is", "are", "named", "called", "titled", "=", "of", "the", "in the", "is the", "为", "是", "叫"}
QUESTION_WORD_BEFORE = re.compile(r"(?:哪些|哪个|哪家|哪位|哪款|\bwhich|\bwhat)\s*$")
STRONG_NEGATION = re.compile(r"\bnever\b|从未|从来没")
# How far before/after a mention the rules look for a question word or a count word (bounded, so the cost
# per mention does not grow with the question).
QUESTION_WORD_WINDOW = 64
LOOKAHEAD_WINDOW = 200
GENERIC_WORDS = {"name", "names", "title", "titles", "名称", "名字"}
BINDING_GAPS_AFTER = re.compile(r"^(?:of|in|for|from)(?:\s+(?:the|all|all the|every|each|this|that))?$|^的$")
BINDING_GAPS_BEFORE = re.compile(r"^(?:whose|'|s|的|)$")


class CannotCompileError(ValueError):
    """The rules could not read the question; the message says what was missing."""


@dataclass
class CompiledQuery:
    """SQL produced by the rules plus a short explanation of how the question was read.

    `unsure` is True when the rules doubt their reading (words they did not read, a column several tables
    have); a caller with a language model may ask it instead, and keep this SQL as the fallback.
    """

    sql: str
    explanation: str
    unsure: bool = False
    doubts: list[str] = field(default_factory=list)


@dataclass
class Measure:
    """An aggregate to compute: COUNT(*) of a table, or AGG(expression) of a column or layer measure."""

    table: str
    aggregation: str
    column: str | None = None
    measure_name: str | None = None
    mentions: int = 1

    @property
    def alias(self) -> str:
        if self.measure_name:
            return self.measure_name
        if self.aggregation == "count" and self.column is None:
            return f"{self.table}_count"
        return f"{self.aggregation}_{self.measure_name or self.column}"


@dataclass
class Filter:
    table: str
    condition: exp.Expr
    start: int = 0
    column_key: tuple[str, ...] = ()


@dataclass
class Plan:
    tables: list[str] = field(default_factory=list)
    base: str | None = None
    outputs: list[tuple[str, str]] = field(default_factory=list)  # (table, column) plain columns
    measures: list[Measure] = field(default_factory=list)
    show_measures: bool = True
    group_columns: list[tuple[str, str]] = field(default_factory=list)
    group_key_table: str | None = None
    grain: tuple[str, str, str] | None = None  # (table, column, unit)
    filters: list[Filter] = field(default_factory=list)
    or_filters: bool = False
    having: tuple[str, float] | None = None
    order: list[tuple[exp.Expr, bool]] = field(default_factory=list)
    limit: int | None = None
    distinct: bool = False
    anti_table: str | None = None
    set_operation: tuple[str, Filter, Filter] | None = None  # (except|intersect, first side's filter, second's)
    compared_years: list[int] = field(default_factory=list)


class RuleCompiler:
    """Question → SQL for one semantic layer and its value index, without any language model."""

    def __init__(self, layer: SemanticLayer, value_index: ValueIndex, today: date | None = None) -> None:
        self.vocabulary = Vocabulary(layer, value_index, today)
        self.pipeline = PipelineCompiler(layer, value_index)
        # A machine draft (named draft-…/drafted-…) only knows words from identifiers: the pipeline reads it
        # first. A layer people edited (measures, time grains, ranking words written for it) goes to the
        # planner written for those, and the pipeline answers what that planner cannot.
        self.pipeline_first = layer.name.startswith("draft")

    def compile(self, question: str) -> CompiledQuery:
        if self.pipeline_first:
            outcome = self._pipeline(question)
            if outcome is not None:
                return CompiledQuery(outcome.sql, "", unsure=outcome.unsure, doubts=outcome.doubts)
            return self._layer_planner(question)
        try:
            return self._layer_planner(question)
        except CannotCompileError:
            outcome = self._pipeline(question)
            if outcome is None or outcome.unsure:
                raise
            return CompiledQuery(outcome.sql, "")

    def _pipeline(self, question: str) -> PipelineOutcome | None:
        try:
            return self.pipeline.compile(question)
        except (PlanError, RenderError):
            return None

    def _layer_planner(self, question: str) -> CompiledQuery:
        reading = QuestionReading(self.vocabulary, question)
        reading.find_mentions()
        return _Planner(reading).build()


class _Planner:
    def __init__(self, reading: QuestionReading) -> None:
        self.reading = reading
        self.layer = reading.layer
        self.vocabulary = reading.vocabulary
        self.mentions = reading.sorted_mentions()
        # Positions by identity and the schema mentions/tables, computed once: the rules ask for them per mention,
        # and recomputing them (or `list.index`, which compares dataclasses field by field) made the compiler's
        # cost grow with the square of the question's length.
        self._positions = {id(mention): index for index, mention in enumerate(self.mentions)}
        self._schema_mentions = [m for m in self.mentions if m.kind == "schema"]
        self._mentioned_tables: list[str] | None = None
        self.lower = reading.lower
        self.plan = Plan()
        self.value_filters: list[tuple[Mention, ValueTarget]] = []
        self.count_table: str | None = None
        self.count_distinct: tuple[str, str] | None = None
        self.numeric: list[tuple[Mention, SchemaTarget]] = []
        self.group_mention: Mention | None = None
        self.rank_direction: str | None = None
        self.rank_mention: Mention | None = None
        self.rank_start: int | None = None
        self.limit: int | None = None
        self.entity_tables: list[str] = []

    # ------------------------------------------------------------------ small helpers

    def schema_mentions(self) -> list[Mention]:
        return list(self._schema_mentions)

    def mentioned_tables(self) -> list[str]:
        if self._mentioned_tables is None:
            tables: dict[str, None] = {}
            for mention in self._schema_mentions:
                for target in mention.schema_targets:
                    if target.kind == "table":
                        tables.setdefault(target.table)
            self._mentioned_tables = list(tables)
        return list(self._mentioned_tables)

    def table_target(self, mention: Mention) -> str | None:
        for target in mention.schema_targets:
            if target.kind == "table":
                return target.table
        return None

    def column_role(self, table: str, column: str) -> str:
        return self.layer.tables[table].columns[column].role

    def gap(self, left: Mention, right: Mention) -> str:
        return self.reading.gap(left.end, right.start)

    def neighbour(self, mention: Mention, after: bool) -> Mention | None:
        ordered = self.mentions
        index = self._positions.get(id(mention))
        if index is None:
            index = ordered.index(mention)
        other_index = index + 1 if after else index - 1
        if 0 <= other_index < len(ordered):
            return ordered[other_index]
        return None

    def bound_table(self, mention: Mention) -> str | None:
        """A column word tied to a table next to it: 'name of albums', 'artist whose name', 'genres name'."""
        following = self.neighbour(mention, after=True)
        if following and following.kind == "schema" and self.table_target(following):
            if BINDING_GAPS_AFTER.match(self.gap(mention, following)):
                return self.table_target(following)
        previous = self.neighbour(mention, after=False)
        if previous and previous.kind == "schema" and self.table_target(previous):
            if BINDING_GAPS_BEFORE.match(self.gap(previous, mention)):
                return self.table_target(previous)
        return None

    def pick_target(self, mention: Mention, kinds: tuple[str, ...], preferred: list[str]) -> SchemaTarget | None:
        targets = [t for t in mention.schema_targets if t.kind in kinds]
        if not targets:
            return None
        bound = self.bound_table(mention)
        if bound and "label" in kinds and mention.text in GENERIC_WORDS and not any(t.table == bound for t in targets):
            return SchemaTarget("label", bound)  # "names of the albums": albums are named by their label (title)
        order = ([bound] if bound else []) + preferred
        for table in order:
            for target in targets:
                if target.table == table:
                    return target
        return targets[0]

    # ------------------------------------------------------------------ rules

    def resolve_values(self) -> None:
        # Tables named outright, then tables of the measures asked for ("<销售>的成交额" → deals.rep, not tasks.owner).
        mentioned = self.mentioned_tables() + [
            t.table for m in self.schema_mentions() for t in m.schema_targets if t.kind == "measure"]
        for mention in [m for m in self.mentions if m.kind == "value"]:
            candidates = mention.value_targets
            for neighbour, after in ((self.neighbour(mention, False), False), (self.neighbour(mention, True), True)):
                if neighbour is None or neighbour.kind != "schema":
                    continue
                gap = self.gap(mention, neighbour) if after else self.gap(neighbour, mention)
                if gap not in ADJACENT_GAPS:
                    continue
                hinted = [
                    c for c in candidates
                    if any(t.table == c.table and (t.kind == "table" or t.name in c.columns) for t in neighbour.schema_targets)
                ]
                if hinted:
                    candidates = hinted
                    neighbour.role = neighbour.role or "hint"
                    break
            if len({c.table for c in candidates}) > 1:
                in_question = [c for c in candidates if c.table in mentioned]
                candidates = in_question or sorted(candidates, key=lambda c: c.cardinality)
            target = candidates[0]
            mention.resolved = target
            self.value_filters.append((mention, target))
            if target.table not in self.entity_tables:
                self.entity_tables.append(target.table)

    def detect_count(self) -> None:
        for match in self.reading.free_matches(lexicon.COUNT):
            following = self.reading.next_mention(match.end(), ("schema", "value"))
            if following is None or following.kind != "schema" or len(self.lower[match.end():following.start].split()) > 3:
                following = None
            if following is not None:
                numeric = [t for t in following.schema_targets if t.kind == "measure" or (
                    t.kind == "column" and self.column_role(t.table, t.name or "") == "number")]
                table = self.table_target(following)
                if table and not numeric:
                    self.count_table = table
                    following.role = "count"
                    return
                if numeric:
                    return  # "how many milliseconds" / "多少金额": a numeric column, not a count
                column = self.pick_target(following, ("column",), self.mentioned_tables())
                if column and self.column_role(column.table, column.name or "") in ("category", "name"):
                    self.count_distinct = (column.table, column.name or "")
                    following.role = "count"
                    return
            self.count_table = ""  # count of the subject, decided later
            return

    def detect_ranking(self) -> None:
        top = lexicon.TOP_N.search(self.lower)
        if top:
            self.limit = int(next(group for group in top.groups() if group))
        rank_words = [m for m in self.mentions if m.kind == "rank"]
        if rank_words:
            self.rank_mention = rank_words[0]
        for pattern, direction in ((lexicon.RANK_DESC, "desc"), (lexicon.RANK_ASC, "asc")):
            for match in self.reading.free_matches(pattern):
                if self.rank_start is None or match.start() < self.rank_start:
                    self.rank_direction, self.rank_start = direction, match.start()
                    # "the most invoices": a superlative right before a table means "count of that table"
                    following = self.reading.next_mention(match.end(), ("schema", "value", "number"))
                    if following is not None and following.kind == "schema" and self.count_table is None:
                        gap = self.lower[match.end():following.start].strip()
                        table = self.table_target(following)
                        numeric = any(t.kind in ("measure",) or (t.kind == "column" and self.column_role(
                            t.table, t.name or "") == "number") for t in following.schema_targets)
                        if table and not numeric and gap in ("", "number of", "amount of"):
                            self.count_table = table
                            following.role = "count"
                    # Chinese puts the superlative after the noun: "客户最多" (the most customers).
                    preceding = self.reading.previous_mention(match.start(), ("schema", "value"))
                    if preceding is not None and preceding.kind == "schema" and self.count_table is None and (
                            self.lower[preceding.end:match.start()].strip() in ("", "的")) and has_cjk(match.group(0)):
                        table = self.table_target(preceding)
                        if table and not any(t.kind == "measure" for t in preceding.schema_targets):
                            self.count_table = table
                            preceding.role = "count"
        if self.limit is None:
            time_ranking: bool | None = None  # searched once, not once per number (linear in the question)
            for mention in [m for m in self.mentions if m.kind == "number" and m.role is None]:
                following = self.neighbour(mention, after=True)
                if following is not None and following.kind in ("schema", "rank") and self.gap(mention, following) in (
                    "", "most", "least", "highest", "lowest", "most recent", "the", "top"):
                    if time_ranking is None:
                        time_ranking = bool(lexicon.TIME_RANKING[0][0].search(self.lower) or
                                            lexicon.TIME_RANKING[1][0].search(self.lower))
                    if self.rank_direction or self.rank_mention or time_ranking:
                        self.limit = int(mention.number or 1)
                        mention.role = "limit"
                        break

    def detect_numeric(self) -> None:
        preferred = self.entity_tables + ([self.count_table] if self.count_table else []) + self.mentioned_tables()
        for mention in self.schema_mentions():
            if mention.role:
                continue
            target = self.pick_target(mention, ("measure", "column"), preferred)
            if target is None:
                continue
            if lexicon.SUM.fullmatch(mention.text) and self.followed_by_count(mention):
                mention.role = "aggregate-word"  # "total number of orders", "total tracks": a count, not a sum
                continue
            if target.kind == "measure" or self.column_role(target.table, target.name or "") == "number":
                # A mention that is also a table word ("orders") stays a table unless a measure is meant.
                if target.kind == "column" and self.table_target(mention) and not any(
                    t.kind == "column" and self.column_role(t.table, t.name or "") == "number" for t in mention.schema_targets[:1]
                ):
                    continue
                mention.role = "numeric"
                mention.resolved = target
                self.numeric.append((mention, target))

    def followed_by_count(self, mention: Mention) -> bool:
        rest = self.lower[mention.end:mention.end + LOOKAHEAD_WINDOW]  # a bounded window: linear over a question
        if lexicon.COUNT.match(rest.lstrip()):
            return True
        following = self.neighbour(mention, after=True)
        return bool(following and following.kind == "schema" and self.table_target(following)
                    and not self.gap(mention, following))

    def aggregation_for(self, mention: Mention, default: str) -> str:
        window = self.lower[max(0, mention.start - 30):mention.end]
        for pattern, aggregation in ((lexicon.AVERAGE, "avg"), (lexicon.MAXIMUM, "max"), (lexicon.MINIMUM, "min")):
            if pattern.search(window):
                return aggregation
        return default

    def detect_having(self) -> Filter | None:
        for match in lexicon.COMPARISON.finditer(self.lower):
            if not self.reading.is_free(match.start("op"), match.end("op")):
                continue
            number = float(match.group("number"))
            operator = lexicon.COMPARISON_OPS[match.group("op")]
            for mention in self.mentions:
                if mention.kind == "number" and mention.start >= match.start() and mention.end <= match.end() + 1:
                    mention.role = "comparison"
            following = self.reading.next_mention(match.end(), ("schema",))
            if following is not None and self.table_target(following) and len(
                    self.lower[match.end():following.start].split()) <= 1:
                following.role = "count"
                self.count_table = self.table_target(following)
                self.plan.having = (operator, number)
                return None
            if self.count_table and not self.numeric:
                self.plan.having = (operator, number)
                return None
            if self.numeric:
                mention, target = self.numeric[-1]
                if target.kind == "column":
                    column = exp.column(target.name or "", table=target.table)
                    self.numeric.remove((mention, target))
                    mention.role = "filter"
                    return Filter(target.table, _comparison(column, operator, number), match.start())
        return None

    def detect_group(self) -> None:
        for match in self.reading.free_matches(lexicon.GROUP):
            following = self.reading.next_mention(match.end(), ("schema", "value", "number"))
            if following is None or following.kind != "schema" or following.role:
                continue
            if len(self.lower[match.end():following.start].split()) > 2:
                continue
            numeric = [t for t in following.schema_targets if t.kind == "measure" or (
                t.kind == "column" and self.column_role(t.table, t.name or "") == "number")]
            if numeric and not self.table_target(following):
                continue
            following.role = "group"
            self.group_mention = following
            return

    def detect_grain(self) -> str | None:
        for pattern, unit in lexicon.GRAIN:
            if self.reading.free_matches(pattern) or pattern.search(self.lower):
                return unit
        return None

    # ------------------------------------------------------------------ assembly

    def build(self) -> CompiledQuery:
        self.resolve_values()
        self.detect_count()
        self.detect_numeric()
        having_filter = self.detect_having()
        self.detect_ranking()
        self.detect_group()
        grain = self.detect_grain()
        plan = self.plan
        if having_filter:
            plan.filters.append(having_filter)
        anti_table = self.detect_anti_join()
        aggregate = self.count_table is not None or self.count_distinct is not None or bool(self.numeric)

        numeric_targets = [t for _, t in self.numeric]
        measure_table = self.count_table or (numeric_targets[0].table if numeric_targets else None)
        if self.count_distinct:
            measure_table = self.count_distinct[0]

        # Row-level superlatives ("youngest", "least expensive", "most recently") order rows, not groups.
        row_rank = self.row_level_ranking()
        if (self.rank_direction and row_rank is None and not self.numeric and self.count_table is None
                and self.count_distinct is None):
            self.count_table = ""  # "丢单最多的竞争对手": the most rows, counted per group
            aggregate = True
        if row_rank is not None and not self.count_table and not self.count_distinct:
            aggregate = False

        lookup_columns = []
        if aggregate and numeric_targets and not self.count_table:
            # "unit price of track X": the number belongs to the named entity itself, so it is a lookup.
            lookups = [t for t in numeric_targets if t.table in self.entity_tables and self.identity_filter_on(t.table)]
            if lookups and len(lookups) == len(numeric_targets) and not self.reading.free_matches(lexicon.SUM) and not (
                    lexicon.AVERAGE.search(self.lower)):
                aggregate = False
                lookup_columns = [(t.table, t.name or "") for t in lookups]

        candidates = self.subject_candidates(exclude={self.count_table, anti_table})
        group_target = self.group_mention
        if aggregate and group_target is None and (self.rank_direction or plan.having) and candidates:
            group_target = candidates[0]
            group_target.role = "group"
        if grain and aggregate:
            time_table = self.time_table(measure_table)
            if time_table:
                plan.grain = (time_table, self.layer.tables[time_table].time_column or "", grain)

        if aggregate:
            if self.count_table == "":
                self.count_table = (candidates[0].resolved_table if candidates else None) or (
                    self.entity_tables[0] if self.entity_tables else None)
                if not self.count_table:
                    raise CannotCompileError("I could not tell what to count")
                measure_table = self.count_table
            self.add_measures()
            plan.base = measure_table
            if group_target is not None:
                self.apply_group(group_target, measure_table)
            plan.show_measures = self.should_show_measures(group_target)
            if self.rank_direction and (plan.group_columns or plan.group_key_table):
                if plan.group_columns and not plan.group_key_table:
                    # "which competitor …the most": rows without a value are not a competitor
                    plan.filters += [Filter(t, exp.Not(this=exp.Is(this=exp.column(c, table=t), expression=exp.Null())), 10**6)
                                     for t, c in plan.group_columns]
                measure = plan.measures[0]
                plan.order.append((_aggregate_expression(measure, self.layer), self.rank_direction == "desc"))
                plan.limit = self.limit or 1
            elif lexicon.RANKING_ORDER.search(self.lower) and (plan.group_columns or plan.group_key_table):
                plan.order.append((_aggregate_expression(plan.measures[0], self.layer), True))
        else:
            subject = self.choose_subject(candidates, lookup_columns)
            plan.base = subject
            plan.outputs = lookup_columns or self.output_columns(subject)
            if row_rank is not None:
                table, column, direction = row_rank
                plan.order.append((exp.column(column, table=table), direction == "desc"))
                plan.limit = self.limit or 1
                plan.tables.append(table)
            elif self.rank_direction and self.numeric:
                target = self.numeric[0][1]
                plan.order.append((exp.column(target.name or "", table=target.table), self.rank_direction == "desc"))
                plan.limit = self.limit or 1
                plan.tables.append(target.table)
            if lexicon.DISTINCT.search(self.lower):
                plan.distinct = True
        if lexicon.ORDER_ASC.search(self.lower) and not plan.order:
            first_columns = plan.outputs or plan.group_columns
            if first_columns:
                table, column = first_columns[0]
                plan.order.append((exp.column(column, table=table), False))
        elif lexicon.ORDER_DESC.search(self.lower) and not plan.order and plan.outputs:
            table, column = plan.outputs[0]
            plan.order.append((exp.column(column, table=table), True))
        plan.anti_table = anti_table
        self.add_value_filters()
        self.add_like_filters()
        self.add_period_filters(measure_table or plan.base)
        if plan.grain and not plan.order:
            unit = plan.grain[2] + ("_of_year" if plan.compared_years and plan.grain[2] != "year" else "")
            plan.order.append((_grain(exp.column(plan.grain[1], table=plan.grain[0]), unit, self.layer.dialect), False))
        sql = self.render()
        return CompiledQuery(sql=sql, explanation="; ".join(self.reading.notes))

    # ------------------------------------------------------------------ pieces of assembly

    def identity_filter_on(self, table: str) -> bool:
        label = set(self.layer.tables[table].label)
        for _mention, target in self.value_filters:
            if target.table == table and (set(target.columns) & label or self.column_role(table, target.columns[0]) == "name"):
                return True
        return False

    def row_level_ranking(self) -> tuple[str, str, str] | None:
        preferred = self.entity_tables + self.mentioned_tables()
        if self.rank_mention is not None:
            targets = self.rank_mention.rank_targets
            for table in preferred:
                for target in targets:
                    if target[0] == table:
                        return target
            return targets[0]
        for pattern, direction in lexicon.TIME_RANKING:
            if self.reading.free_matches(pattern):
                for table in preferred:
                    time_column = self.layer.tables[table].time_column
                    if time_column:
                        return (table, time_column, direction)
        return None

    def subject_candidates(self, exclude: set[str | None]) -> list[Mention]:
        found = []
        for mention in self.schema_mentions():
            if mention.role in ("hint", "count", "numeric", "filter"):
                continue
            table = self.table_target(mention)
            target = None
            if table is None:
                target = self.pick_target(mention, ("label", "column"), self.entity_tables + self.mentioned_tables())
                if target is None:
                    continue
                if target.kind == "column" and self.column_role(target.table, target.name or "") not in (
                        "category", "name", "date", "text"):
                    continue
                table = target.table
            if target is None and table in exclude and mention.role != "group":
                continue
            mention.resolved_table = table
            found.append(mention)
        # A bare "names"/"title" not tied to a table says little about the subject: try it last.
        return sorted(found, key=lambda m: bool(self.table_target(m) is None and self.bound_table(m) is None
                                               and m.text in GENERIC_WORDS))

    def time_table(self, preferred: str | None) -> str | None:
        for table in [preferred, *self.mentioned_tables(), *self.layer.tables]:
            if table and self.layer.tables[table].time_column:
                return table
        return None

    def add_measures(self) -> None:
        plan = self.plan
        if self.count_distinct:
            plan.measures.append(Measure(self.count_distinct[0], "count_distinct", column=self.count_distinct[1]))
            return
        if self.count_table:
            mentions = sum(1 for m in self.schema_mentions() if self.table_target(m) == self.count_table)
            plan.measures.append(Measure(self.count_table, "count", mentions=mentions))
        seen = set()
        for mention, target in self.numeric:
            if target.kind == "measure":
                spec = next(m for m in self.layer.measures if m.name == target.name)
                measure = Measure(target.table, self.aggregation_for(mention, spec.aggregation), measure_name=spec.name)
            else:
                column = self.layer.tables[target.table].columns[target.name or ""]
                measure = Measure(target.table, self.aggregation_for(mention, column.aggregation), column=target.name)
            key = (measure.table, measure.aggregation, measure.column, measure.measure_name)
            if key in seen:
                next(m for m in plan.measures if (m.table, m.aggregation, m.column, m.measure_name) == key).mentions += 1
                continue
            seen.add(key)
            plan.measures.append(measure)

    def apply_group(self, mention: Mention, measure_table: str | None) -> None:
        plan = self.plan
        preferred = ([measure_table] if measure_table else []) + self.mentioned_tables()
        table = self.table_target(mention)
        if table is None:
            target = self.pick_target(mention, ("column", "label"), preferred)
            if target is None:
                return
            table = target.table
            if target.kind == "label":
                plan.group_key_table = table
                plan.base = table
                plan.group_columns.extend((table, column) for column in self.layer.tables[table].label)
                return
            role = self.column_role(table, target.name or "")
            # Categories and dates are dimensions wherever they live; a label column of another table
            # ("title of albums", "name of playlist") stands for its rows, so those group by the entity.
            is_label = (target.name or "") in self.layer.tables[table].label
            if table == measure_table or not self.layer.tables[table].primary_key or (
                    role in ("category", "date") and not is_label):
                plan.group_columns.append((table, target.name or ""))
                return
        plan.group_key_table = table
        plan.base = table  # FROM the grouped entity, joined to the measured rows
        plan.group_columns.extend(self.output_columns(table, exclude_roles=("group", "count", "hint"), include=mention))

    def should_show_measures(self, group_mention: Mention | None) -> bool:
        plan = self.plan
        if not plan.group_columns:
            return True
        if plan.group_key_table is None:
            return True  # grouped by a dimension value: the measure is the point
        if not (self.rank_direction or plan.having) or self.limit is not None:
            return True  # no ranking, or an explicit "top N": the numbers are part of the answer
        if re.search(r"\bhow many\b|多少", self.lower):
            return True
        return any(measure.mentions >= 2 for measure in plan.measures)

    def choose_subject(self, candidates: list[Mention], lookup_columns: list[tuple[str, str]]) -> str:
        if lookup_columns:
            return lookup_columns[0][0]
        for mention in candidates:  # "哪些产品", "which products": the asked-about noun is the subject
            table = self.table_target(mention)
            if table and QUESTION_WORD_BEFORE.search(self.lower[max(0, mention.start - QUESTION_WORD_WINDOW):mention.start]):
                self.plan.distinct = True  # "which products did X buy": each product once
                return table
        for mention in candidates:
            table = self.table_target(mention)
            if table:
                return table
        attribute_tables = [m.resolved_table for m in candidates]
        for table in self.entity_tables + [t for t in attribute_tables if t]:
            return table
        raise CannotCompileError("I could not tell which table the question is about")

    def output_columns(self, table: str, exclude_roles: tuple[str, ...] = ("hint", "count", "group", "numeric"),
                       include: Mention | None = None) -> list[tuple[str, str]]:
        """Columns the question asks to see for `table`; its label columns when none are named."""
        spec = self.layer.tables[table]
        columns: list[tuple[str, str]] = []
        for mention in self.schema_mentions():
            if mention.role in exclude_roles and mention is not include:
                continue
            if mention.role in ("filter",):
                continue
            if self.table_target(mention) and mention is not include:
                continue
            for target in mention.schema_targets:
                if target.table != table:
                    continue
                if target.kind == "label":
                    columns.extend((table, c) for c in spec.label if (table, c) not in columns)
                    break
                if target.kind == "column" and (table, target.name) not in columns:
                    if self.column_role(table, target.name or "") != "number" or mention.role != "numeric":
                        columns.append((table, target.name or ""))
                    break
            else:
                continue
            mention.role = mention.role or "output"
        if not columns:
            label = spec.label or ([spec.primary_key] if spec.primary_key else list(spec.columns)[:1])
            columns = [(table, column) for column in label]
        return columns

    def detect_anti_join(self) -> str | None:
        for match in self.reading.free_matches(lexicon.NEGATION):
            following = self.reading.next_mention(match.end(), ("schema",))
            if following is None or len(self.lower[match.end():following.start].split()) > 3:
                continue
            table = self.table_target(following)
            if table:
                following.role = "anti"
                return table
        if self.reading.free_matches(STRONG_NEGATION):
            # Dropping a "never" would answer the opposite question: better to say it was not understood.
            raise CannotCompileError("I could not tell what 'never' refers to; name the records, e.g. 'never ordered'")
        return None

    def add_value_filters(self) -> None:
        by_column: dict[tuple[str, tuple[str, ...]], list[tuple[Mention, ValueTarget]]] = {}
        for mention, target in self.value_filters:
            by_column.setdefault((target.table, target.columns), []).append((mention, target))
        plan = self.plan
        for (table, columns), items in by_column.items():
            if len(items) >= 2 and len(columns) == 1:
                first, second = items[0][0], items[1][0]
                between = self.lower[first.end:second.start]
                before = self.lower[:first.start]
                operation = "except" if lexicon.EXCEPT.search(between) else (
                    "intersect" if lexicon.BOTH.search(before + between) else None)
                if operation:
                    first_filter = Filter(table, _value_condition(items[0][1]), first.start, (table, *columns))
                    plan.filters.append(first_filter)
                    plan.set_operation = (operation, first_filter, Filter(table, _value_condition(items[1][1]), second.start))
                    continue
                values = [value for _, target in items for value in target.values]
                column = exp.column(columns[0], table=table)
                condition = exp.In(this=column, expressions=[exp.Literal.string(v) for v in dict.fromkeys(values)])
                plan.filters.append(Filter(table, condition, first.start, (table, *columns)))
                continue
            for mention, target in items:
                plan.filters.append(Filter(table, _value_condition(target), mention.start, (table, *columns)))
        if len(plan.filters) >= 2:
            ordered = sorted(plan.filters, key=lambda f: f.start)
            between = self.lower[ordered[0].start:ordered[-1].start]
            plan.or_filters = bool(lexicon.OR.search(between)) and len({f.column_key for f in ordered}) > 1

    def add_like_filters(self) -> None:
        for like in self.reading.likes:
            previous = self.reading.previous_mention(like.start, ("schema",))
            table_column = None
            if previous is not None and len(self.lower[previous.end:like.start].split()) <= 2:
                target = self.pick_target(previous, ("column", "label"), [self.plan.base or ""] + self.mentioned_tables())
                table = self.bound_table(previous) if target is None or target.kind == "label" else target.table
                if target is not None:
                    table = self.bound_table(previous) or target.table
                    spec = self.layer.tables[table]
                    column = target.name if target.kind == "column" and target.name in spec.columns else (
                        spec.label[0] if spec.label else None)
                    if column:
                        table_column = (table, column)
                elif self.table_target(previous):
                    spec = self.layer.tables[self.table_target(previous) or ""]
                    if spec.label:
                        table_column = (self.table_target(previous) or "", spec.label[0])
            if table_column is None and self.plan.base:
                spec = self.layer.tables[self.plan.base]
                if spec.label:
                    table_column = (self.plan.base, spec.label[0])
            if table_column is None:
                continue
            pattern = {"prefix": f"{like.text}%", "suffix": f"%{like.text}", "contains": f"%{like.text}%"}[like.like_kind or "contains"]
            condition = exp.Like(this=exp.column(table_column[1], table=table_column[0]), expression=exp.Literal.string(pattern))
            self.plan.filters.append(Filter(table_column[0], condition, like.start, table_column))
        for mention in self.mentions:
            if mention.kind == "literal" and self.plan.base:
                spec = self.layer.tables[self.plan.base]
                if spec.label:
                    label_column = exp.column(spec.label[0], table=self.plan.base)
                    equality = exp.EQ(this=label_column, expression=exp.Literal.string(mention.text))
                    self.plan.filters.append(Filter(self.plan.base, equality, mention.start))

    def add_period_filters(self, table: str | None) -> None:
        if not self.reading.periods:
            return
        time_table = self.time_table(table)
        if time_table is None:
            return
        column_name = self.layer.tables[time_table].time_column or ""
        # "hired in 2003": a date column named right before the period is the one to filter.
        for mention in self.schema_mentions():
            following = self.neighbour(mention, after=True)
            if following is None or following.kind != "period" or self.gap(mention, following) not in (
                    "", "in", "on", "during", "between", "在", "于"):
                continue
            target = self.pick_target(mention, ("column",), [time_table, *self.entity_tables, *self.mentioned_tables()])
            if target is not None and self.column_role(target.table, target.name or "") == "date":
                time_table, column_name = target.table, target.name or ""
                mention.role = "hint"
                self.plan.outputs = [o for o in self.plan.outputs if o != (time_table, column_name)] or (
                    self.output_columns(time_table) if self.plan.outputs else [])
                self.plan.tables.append(time_table)
                break
        for start, end, _text in self.reading.periods:
            column = exp.column(column_name, table=time_table)
            condition = exp.and_(
                exp.GTE(this=column, expression=exp.Literal.string(start.isoformat())),
                exp.LT(this=column.copy(), expression=exp.Literal.string(end.isoformat())),
            )
            self.plan.filters.append(Filter(time_table, condition, 10**6))
        if self.reading.compared_years:
            self.plan.compared_years = self.reading.compared_years
            if self.plan.grain is None:
                self.plan.grain = (time_table, column_name, "year")

    def grain_expression(self) -> exp.Expr:
        table, column_name, unit = self.plan.grain or ("", "", "month")
        return _grain(exp.column(column_name, table=table), unit, self.layer.dialect)

    # ------------------------------------------------------------------ SQL

    def needed_tables(self) -> list[str]:
        plan = self.plan
        tables = [plan.base] if plan.base else []
        tables += [t for t, _ in plan.outputs] + [t for t, _ in plan.group_columns] + plan.tables
        tables += [f.table for f in plan.filters] + [m.table for m in plan.measures]
        if plan.group_key_table:
            tables.append(plan.group_key_table)
        if plan.grain:
            tables.append(plan.grain[0])
        return list(dict.fromkeys(t for t in tables if t))

    def from_and_joins(self, select: exp.Select) -> exp.Select:
        base = self.plan.base or self.needed_tables()[0]
        select = select.from_(exp.to_table(base))
        joined = {base}
        for table in self.needed_tables():
            if table in joined:
                continue
            path = shortest_join_path(self.vocabulary.join_graph, base, table)
            if path is None:
                raise CannotCompileError(f"no join path from {base} to {table} in the semantic layer")
            for to_table, from_column, to_column, from_table in path:
                if to_table in joined:
                    continue
                condition = exp.EQ(this=exp.column(from_column, table=from_table), expression=exp.column(to_column, table=to_table))
                select = select.join(exp.to_table(to_table), on=condition)
                joined.add(to_table)
        return select

    def where_condition(self, filters: list[Filter]) -> exp.Expr | None:
        if not filters:
            return None
        conditions = [f.condition for f in filters]
        return exp.or_(*conditions) if self.plan.or_filters else exp.and_(*conditions)

    def render(self) -> str:
        plan = self.plan
        select = self.select_for(plan.filters)
        if plan.set_operation:
            # Both sides share every other filter; only the value that differs ("Movies" / "Music") is swapped.
            operation, first_filter, second_filter = plan.set_operation
            other_filters = [second_filter if f is first_filter else f for f in plan.filters]
            other = self.select_for(other_filters)
            combined = exp.Except(this=select, expression=other) if operation == "except" else exp.Intersect(this=select, expression=other)
            return combined.sql(dialect=self.layer.dialect)
        return select.sql(dialect=self.layer.dialect)

    def select_for(self, filters: list[Filter]) -> exp.Select:
        plan = self.plan
        projections: list[exp.Expr] = []
        group_expressions: list[exp.Expr] = []
        if plan.grain:
            grain = self.grain_expression()
            if plan.compared_years and plan.grain[2] != "year":
                grain = _grain(exp.column(plan.grain[1], table=plan.grain[0]), plan.grain[2] + "_of_year", self.layer.dialect)
            projections.append(exp.alias_(grain, "period"))
            group_expressions.append(grain.copy())
        for table, column in plan.group_columns:
            projections.append(exp.column(column, table=table))
            group_expressions.append(exp.column(column, table=table))
        if plan.group_key_table and self.layer.tables[plan.group_key_table].primary_key:
            key = exp.column(self.layer.tables[plan.group_key_table].primary_key or "", table=plan.group_key_table)
            # Grouping by the key alone is valid SQL (the other columns depend on it) in SQLite and Postgres.
            group_expressions = [key] + [g for g in group_expressions[: 1 if plan.grain else 0]]
        if plan.measures and (plan.show_measures or not projections):
            for measure in plan.measures:
                if plan.compared_years and plan.grain and plan.grain[2] != "year":
                    for year in plan.compared_years:
                        projections.append(exp.alias_(_aggregate_expression(measure, self.layer, year_filter=(plan.grain, year)), f"{measure.alias}_{year}"))
                else:
                    projections.append(exp.alias_(_aggregate_expression(measure, self.layer), measure.alias))
        if not plan.measures:
            projections.extend(exp.column(column, table=table) for table, column in plan.outputs)
        select = exp.select(*projections)
        if plan.distinct:
            select = select.distinct()
        select = self.from_and_joins(select)
        where = self.where_condition(list(filters))
        measure_conditions = [parse_condition(m, self.layer) for m in plan.measures]
        measure_conditions = [c for c in measure_conditions if c is not None]
        if measure_conditions:
            where = exp.and_(where, *measure_conditions) if where is not None else exp.and_(*measure_conditions)
        if plan.anti_table and plan.base:
            where = _and(where, self.anti_join_condition(plan.base, plan.anti_table))
        if where is not None:
            select = select.where(where)
        if group_expressions and plan.measures:
            select = select.group_by(*group_expressions)
        if plan.having and plan.measures:
            operator, number = plan.having
            select = select.having(_comparison(_aggregate_expression(plan.measures[0], self.layer), operator, number))
        for expression, descending in plan.order:
            select = select.order_by(exp.Ordered(this=expression.copy(), desc=descending))
        if plan.limit:
            select = select.limit(plan.limit)
        return select

    def anti_join_condition(self, subject: str, related: str) -> exp.Expr:
        path = shortest_join_path(self.vocabulary.join_graph, related, subject)
        if not path:
            raise CannotCompileError(f"no join path between {subject} and {related}")
        *inner, last = path
        to_table, from_column, to_column, from_table = last
        inner_select = exp.select(exp.column(from_column, table=from_table)).from_(exp.to_table(related))
        for step_table, step_from_column, step_to_column, step_from_table in inner:
            inner_select = inner_select.join(exp.to_table(step_table), on=exp.EQ(
                this=exp.column(step_from_column, table=step_from_table), expression=exp.column(step_to_column, table=step_table)))
        inner_select = inner_select.where(exp.Not(this=exp.Is(this=exp.column(from_column, table=from_table), expression=exp.Null())))
        return exp.Not(this=exp.In(this=exp.column(to_column, table=subject), query=inner_select.subquery()))


def _and(left: exp.Expr | None, right: exp.Expr) -> exp.Expr:
    return right if left is None else exp.and_(left, right)


def _comparison(column: exp.Expr, operator: str, number: float) -> exp.Expr:
    literal = exp.Literal.number(int(number) if float(number).is_integer() else number)
    classes = {">": exp.GT, ">=": exp.GTE, "<": exp.LT, "<=": exp.LTE, "=": exp.EQ}
    return classes[operator](this=column, expression=literal)


def _value_condition(target: ValueTarget) -> exp.Expr:
    conditions = [
        exp.EQ(this=exp.column(column, table=target.table), expression=exp.Literal.string(value))
        for column, value in zip(target.columns, target.values, strict=True)
    ]
    return exp.and_(*conditions) if len(conditions) > 1 else conditions[0]


def parse_condition(measure: Measure, layer: SemanticLayer) -> exp.Expr | None:
    if not measure.measure_name:
        return None
    spec = next(m for m in layer.measures if m.name == measure.measure_name)
    return sqlglot.parse_one(spec.condition, read=layer.dialect) if spec.condition else None


def _aggregate_expression(measure: Measure, layer: SemanticLayer, year_filter: tuple | None = None) -> exp.Expr:
    if measure.aggregation == "count" and measure.column is None:
        if year_filter:
            (table, column, _unit), year = year_filter
            return exp.Sum(this=exp.If(this=_year_is(table, column, year, layer.dialect), true=exp.Literal.number(1), false=exp.Literal.number(0)))
        return exp.Count(this=exp.Star())
    if measure.aggregation == "count_distinct":
        return exp.Count(this=exp.Distinct(expressions=[exp.column(measure.column or "", table=measure.table)]))
    if measure.measure_name:
        spec = next(m for m in layer.measures if m.name == measure.measure_name)
        inner = sqlglot.parse_one(spec.expression, read=layer.dialect)
    else:
        inner = exp.column(measure.column or "", table=measure.table)
    if year_filter:
        (table, column, _unit), year = year_filter
        inner = exp.If(this=_year_is(table, column, year, layer.dialect), true=inner, false=exp.Null())
    classes = {"sum": exp.Sum, "avg": exp.Avg, "min": exp.Min, "max": exp.Max, "count": exp.Count}
    return classes[measure.aggregation](this=inner)


def _year_is(table: str, column: str, year: int, dialect: str) -> exp.Expr:
    return exp.EQ(this=_grain(exp.column(column, table=table), "year", dialect), expression=exp.Literal.string(str(year)))


def _grain(column: exp.Expr, unit: str, dialect: str) -> exp.Expr:
    """A period label for a date column: '2024', '2024-03', '2024-Q1', or month/quarter of year."""
    formats = {"year": "%Y", "month": "%Y-%m", "week": "%Y-W%W", "month_of_year": "%m", "week_of_year": "W%W"}
    if unit in formats:
        return exp.TimeToStr(this=column, format=exp.Literal.string(formats[unit]))
    month = exp.Cast(this=exp.TimeToStr(this=column.copy(), format=exp.Literal.string("%m")), to=exp.DataType.build("int"))
    quarter = exp.Cast(this=exp.Div(this=exp.Paren(this=exp.Add(this=month, expression=exp.Literal.number(2))),
                                    expression=exp.Literal.number(3), typed=True), to=exp.DataType.build("int"))
    if unit == "quarter_of_year":
        return exp.DPipe(this=exp.Literal.string("Q"), expression=exp.Cast(this=quarter, to=exp.DataType.build("text")))
    year = exp.TimeToStr(this=column.copy(), format=exp.Literal.string("%Y"))
    return exp.DPipe(this=exp.DPipe(this=year, expression=exp.Literal.string("-Q")),
                     expression=exp.Cast(this=quarter, to=exp.DataType.build("text")))
