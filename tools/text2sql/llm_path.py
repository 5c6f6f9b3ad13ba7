"""LLM text-to-SQL grounded in the semantic layer: the relevant part of the schema, similar solved examples and
the stored values the question names; the same guard as the rules; a repair loop.

Small local models read a short prompt far better than a long one (and a 2,000-token prompt costs tens of
seconds on a laptop CPU), so the grounding is chosen per question and bounded: the tables the question's words,
synonyms or values point at, the tables that join them, and at most MAX_SCHEMA_CHARS of schema text.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from prompts import load_prompt
from salesbot.llm import ModelUnavailableError, invoke_model
from salesbot.text import has_cjk
from tools.text2sql.examples import FUNCTION_WORDS, GENERIC_EXAMPLES, similar_examples
from tools.text2sql.executor import execute_read_only
from tools.text2sql.guard import guard_sql
from tools.text2sql.models import ColumnSpec, QueryResult, SemanticLayer, SolvedExample, TableSpec
from tools.text2sql.values import HIGH_CARDINALITY, ValueIndex, ValueTarget, normalize_phrase

logger = logging.getLogger(__name__)

MAX_REPAIRS = 2
SQL_FENCE = re.compile(r"```(?:sql)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)
# Bounds of the grounding: tables the question points at (joining tables may add two more), schema text,
# columns shown per table, value hints and solved examples.
MAX_GROUNDING_TABLES = 5
MAX_BRIDGE_TABLES = 2
MAX_SCHEMA_CHARS = 2400
MAX_COLUMNS_PER_TABLE = 24
MAX_VALUE_HINTS = 8
MAX_EXAMPLES = 3
# Weights of the evidence that a table is relevant: its own name or synonym, a stored value, a column word.
TABLE_WORD_WEIGHT, VALUE_WEIGHT, COLUMN_WORD_WEIGHT = 3, 2, 1


@dataclass
class LlmOutcome:
    """What the LLM path produced: rows, or a refusal by the guard, or a failure after repairs."""

    sql: str = ""
    result: QueryResult | None = None
    refused_reason: str | None = None
    failure: str | None = None
    attempts: int = 0


@dataclass
class Grounding:
    """What the model is shown about the database for one question (every part bounded)."""

    tables: list[str]
    schema: str
    value_hints: list[str] = field(default_factory=list)
    examples: list[SolvedExample] = field(default_factory=list)
    generic_examples: list[SolvedExample] = field(default_factory=list)

    def schema_text(self) -> str:
        """The schema block of the prompt: tables, joins, measures, then the values the question names."""
        if not self.value_hints:
            return self.schema
        return self.schema + "\nvalues named in the question (spelled as stored):\n" + "\n".join(self.value_hints)

    def examples_text(self) -> str:
        parts = [f"Q: {example.question}\nSQL: {example.sql}" for example in self.examples]
        if self.generic_examples:
            parts.append("From another database (copy the shape, not the names):")
            parts += [f"Q: {example.question}\nSQL: {example.sql}" for example in self.generic_examples]
        return "\n".join(parts) or "(none)"


def question_words(question: str) -> str:
    """The question lower-cased with every English word in its singular form, padded for phrase search."""
    words = re.findall(r"[0-9a-z]+|[^\s0-9a-z]", normalize_phrase(question))
    return " " + " ".join(_singular(word) for word in words) + " "


def _singular(word: str) -> str:
    if not word.isascii() or len(word) <= 3 or word.endswith("ss"):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") else word


def phrase_in(phrase: str, words: str) -> bool:
    """A layer word (table or column name, synonym) occurs in the question: as whole words in English, as a
    substring in Chinese."""
    if has_cjk(phrase):
        return normalize_phrase(phrase) in words.replace(" ", "")
    wanted = question_words(phrase.replace("_", " ")).strip()
    return bool(wanted) and f" {wanted} " in words


def _table_phrases(name: str, table: TableSpec) -> list[str]:
    """The table's own words; its label words ("name", "full name") fit many tables and point at none."""
    return [name, *table.synonyms]


def _column_phrases(name: str, column: ColumnSpec) -> list[str]:
    return [name, *column.synonyms]


def _distinctive_column_phrases(layer: SemanticLayer) -> dict[str, list[str]]:
    """Column words per table, without those that occur in half the tables or more ("id", "name"): a question
    saying "name" says nothing about which table it means."""
    per_table = {name: {question_words(phrase.replace("_", " ")).strip()
                        for column_name, column in table.columns.items()
                        for phrase in _column_phrases(column_name, column)}
                 for name, table in layer.tables.items()}
    seen_in: dict[str, int] = {}
    for phrases in per_table.values():
        for phrase in phrases:
            seen_in[phrase] = seen_in.get(phrase, 0) + 1
    common = max(2, (len(layer.tables) + 1) // 2)
    return {name: sorted(phrase for phrase in phrases if phrase and seen_in[phrase] < common
                         and phrase not in FUNCTION_WORDS)
            for name, phrases in per_table.items()}


def relevant_tables(question: str, layer: SemanticLayer, value_targets: list[ValueTarget]) -> list[str]:
    """The tables the question points at, most evidence first; every table when it points at none.

    A table the question names (or whose stored value it names) is in; a table only some column word points
    at is in unless a named table has that word too ("first name" of the named table's person).
    """
    words = question_words(question)
    column_phrases = _distinctive_column_phrases(layer)
    named: dict[str, int] = {}
    column_hits: dict[str, set[str]] = {}
    for name, table in layer.tables.items():
        named[name] = TABLE_WORD_WEIGHT * any(phrase_in(phrase, words) for phrase in _table_phrases(name, table))
        named[name] += VALUE_WEIGHT * sum(target.table == name for target in value_targets)
        column_hits[name] = {phrase for phrase in column_phrases[name] if phrase_in(phrase, words)}
    order = list(layer.tables)
    ranked = sorted((name for name in order if named[name] or column_hits[name]),
                    key=lambda name: (-named[name] - COLUMN_WORD_WEIGHT * len(column_hits[name]), order.index(name)))
    if not ranked:
        return order
    chosen = [name for name in ranked if named[name]]
    covered = set().union(*(column_hits[name] for name in chosen))
    for name in ranked:
        if name not in chosen and column_hits[name] - covered:
            chosen.append(name)
    chosen.sort(key=ranked.index)
    return chosen[:MAX_GROUNDING_TABLES]


def _join_graph(layer: SemanticLayer) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in layer.tables}
    for join in layer.joins:
        left, right = join.left.split(".", 1)[0], join.right.split(".", 1)[0]
        if left in graph and right in graph and left != right:
            graph[left].add(right)
            graph[right].add(left)
    return graph


def _path(graph: dict[str, set[str]], start: str, goal: str) -> list[str]:
    """Tables on a shortest join path from start to goal, both ends included; [] when none joins them."""
    previous: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        table = queue.popleft()
        if table == goal:
            path = [table]
            while previous[path[-1]] is not None:
                path.append(previous[path[-1]])  # type: ignore[arg-type]
            return path[::-1]
        for neighbour in sorted(graph[table]):
            if neighbour not in previous:
                previous[neighbour] = table
                queue.append(neighbour)
    return []


def with_bridge_tables(tables: list[str], layer: SemanticLayer) -> list[str]:
    """Add the tables needed to join the chosen ones (a link table between two entities), at most a few."""
    graph = _join_graph(layer)
    chosen = list(tables)
    for index, start in enumerate(tables):
        for goal in tables[index + 1:]:
            for table in _path(graph, start, goal)[1:-1]:
                if table not in chosen and len(chosen) < len(tables) + MAX_BRIDGE_TABLES:
                    chosen.append(table)
    return chosen


def _column_text(column_name: str, column: ColumnSpec, join_target: str | None) -> str:
    kind: str = column.role
    if column.stored_as:
        kind += f", {column.stored_as} stored as text"
    if column.usage:
        kind += f", {column.usage}"
    if join_target:
        kind += f" -> {join_target}"
    own_words = question_words(column_name.replace("_", " ")).strip()
    words = [word for word in column.synonyms if question_words(word).strip() != own_words][:2]
    return f"{column_name} {kind}" + (f" ~{'/'.join(words)}" if words else "")


def compact_schema(layer: SemanticLayer, tables: list[str] | None = None) -> str:
    """One line per table (columns with roles, storage, synonyms and the key they join to), then joins and
    named measures; only `tables` when given. Over MAX_SCHEMA_CHARS, the last (least relevant) tables go."""
    shown = [name for name in (tables or list(layer.tables)) if name in layer.tables]
    text = _schema_lines(layer, shown)
    while len(text) > MAX_SCHEMA_CHARS and len(shown) > 1:
        shown.pop()
        text = _schema_lines(layer, shown)
    return _bounded(text, MAX_SCHEMA_CHARS)


def _schema_lines(layer: SemanticLayer, shown: list[str]) -> str:
    join_targets = {join.left: join.right for join in layer.joins}
    lines = []
    for table_name in shown:
        table = layer.tables[table_name]
        columns = [_column_text(name, column, join_targets.get(f"{table_name}.{name}"))
                   for name, column in list(table.columns.items())[:MAX_COLUMNS_PER_TABLE]]
        synonyms = f" [{', '.join(table.synonyms[:4])}]" if table.synonyms else ""
        label = f" label: {', '.join(table.label)}" if table.label else ""
        lines.append(f"{table_name}{synonyms}({'; '.join(columns)}){label}")
    joins = [f"{join.left} = {join.right}" for join in layer.joins
             if join.left.split(".", 1)[0] in shown and join.right.split(".", 1)[0] in shown]
    if joins:
        lines.append("joins: " + ", ".join(joins))
    for measure in layer.measures:
        if measure.table in shown:
            condition = f" WHERE {measure.condition}" if measure.condition else ""
            lines.append(f"measure {measure.name} [{', '.join(measure.synonyms[:4])}] = "
                         f"{measure.aggregation.upper()}({measure.expression}){condition}")
    return "\n".join(lines)


def _bounded(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit("\n", 1)[0] if "\n" in text[:limit] else text[:limit]


def named_values(question: str, value_index: ValueIndex | None) -> list[ValueTarget]:
    """Stored values the question names (longest first; a value inside a longer one is dropped).

    Everyday words stored in big name columns ("Time" as a track title) count only when the question
    writes them as stored, as the rule path does.
    """
    if value_index is None:
        return []
    text = normalize_phrase(question)
    found: list[tuple[str, ValueTarget]] = []
    for phrase, targets in value_index.phrases.items():
        if len(phrase) < 2 or phrase in FUNCTION_WORDS or phrase not in text or not _whole_words(phrase, text):
            continue
        if phrase in value_index.case_sensitive and not any(
                form in question for form in value_index.case_sensitive[phrase]):
            continue
        found += [(phrase, target) for target in targets
                  if target.cardinality <= HIGH_CARDINALITY or any(value in question for value in target.values)]
    found.sort(key=lambda pair: -len(pair[0]))
    kept: list[tuple[str, ValueTarget]] = []
    for phrase, target in found:
        if not any(phrase != longer and phrase in longer for longer, _ in kept):
            kept.append((phrase, target))
    return [target for _, target in kept]


def _whole_words(phrase: str, text: str) -> bool:
    if has_cjk(phrase):
        return True
    return re.search(rf"(?<![0-9a-z]){re.escape(phrase)}(?![0-9a-z])", text) is not None


def value_hint(target: ValueTarget) -> str:
    """`table.column = 'Stored value'` (AND-ed for a value stored over two columns, such as a full name)."""
    return " AND ".join(f"{target.table}.{column} = '{value.replace(chr(39), chr(39) * 2)}'"
                        for column, value in zip(target.columns, target.values, strict=False))


def build_grounding(question: str, layer: SemanticLayer, value_index: ValueIndex | None = None) -> Grounding:
    """The part of the layer this question needs, the stored values it names and similar solved examples."""
    targets = named_values(question, value_index)
    tables = with_bridge_tables(relevant_tables(question, layer, targets), layer)
    hints = list(dict.fromkeys(value_hint(target) for target in targets if target.table in tables))
    examples = similar_examples(question, layer.name, MAX_EXAMPLES)
    generic = similar_examples(question, GENERIC_EXAMPLES, MAX_EXAMPLES - len(examples))
    return Grounding(tables=tables, schema=compact_schema(layer, tables), value_hints=hints[:MAX_VALUE_HINTS],
                     examples=examples, generic_examples=generic)


def extract_sql(text: str) -> str:
    """The SQL inside a fenced block, or the whole reply when there is no fence."""
    match = SQL_FENCE.search(text)
    return (match.group(1) if match else text).strip().rstrip(";").strip()


def answer_with_llm(llm: Any, question: str, layer: SemanticLayer, db_url: str, row_cap: int,
                    value_index: ValueIndex | None = None) -> LlmOutcome:
    """Ask the model for SQL, guard it, run it; on an error show the model the error (at most MAX_REPAIRS times).

    The model is called through salesbot.llm.invoke_model: llama.cpp calls take turns with the agent's,
    and an unreachable or too slow server is a ModelUnavailableError, answered by the rules instead.
    Without `value_index`, the one the database's cached context holds is used for the value hints.
    """
    if value_index is None:
        from tools.text2sql.context import value_index_for

        value_index = value_index_for(db_url, layer)
    grounding = build_grounding(question, layer, value_index)
    schema = grounding.schema_text()
    prompt = load_prompt("sql").format(dialect=layer.dialect, schema=schema, examples=grounding.examples_text(),
                                       question=question)
    outcome = LlmOutcome()
    for attempt in range(MAX_REPAIRS + 1):
        outcome.attempts = attempt + 1
        try:
            reply = invoke_model(llm, prompt)
        except ModelUnavailableError as error:
            logger.warning("LLM call failed: %s", error)
            outcome.failure = "the language model did not answer"
            return outcome
        except Exception:  # a backend bug: the rules still answer, the details go to the log
            logger.exception("LLM call raised")
            outcome.failure = "the language model did not answer"
            return outcome
        sql = extract_sql(reply.text)
        outcome.sql = sql
        verdict = guard_sql(sql, layer, limit_cap=row_cap)
        if not verdict.allowed and verdict.unsafe:
            outcome.refused_reason = verdict.reason
            return outcome
        if verdict.allowed:
            try:
                outcome.sql = verdict.sql
                outcome.result = execute_read_only(db_url, verdict.sql, row_cap=row_cap)
                outcome.failure = None
                return outcome
            except Exception as error:  # the database's message is what the repair prompt needs
                error_text = str(error).splitlines()[0][:300]
        else:
            error_text = verdict.reason
        outcome.failure = error_text
        logger.info("LLM SQL failed (attempt %d): %s", attempt + 1, error_text)
        prompt = load_prompt("sql_repair").format(question=question, sql=sql, error=error_text, schema=schema)
    return outcome
