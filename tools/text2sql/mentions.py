"""Reading a question: find values (via the value index), tables, columns, measures, numbers and periods."""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rapidfuzz import fuzz

from salesbot import clock
from salesbot.text import has_cjk
from tools.text2sql import lexicon
from tools.text2sql.layer import plural_forms
from tools.text2sql.models import SemanticLayer
from tools.text2sql.values import HIGH_CARDINALITY, ValueIndex, ValueTarget, normalize_phrase

FUZZY_VALUE_SCORE = 85
FUZZY_TABLE_SCORE = 85


@dataclass(frozen=True)
class SchemaTarget:
    kind: str  # table | column | label | measure
    table: str
    name: str | None = None


@dataclass
class Mention:
    start: int
    end: int
    kind: str  # value | schema | rank | like | literal | number
    text: str
    schema_targets: list[SchemaTarget] = field(default_factory=list)
    value_targets: list[ValueTarget] = field(default_factory=list)
    rank_targets: list[tuple[str, str, str]] = field(default_factory=list)
    number: float | None = None
    like_kind: str | None = None
    role: str | None = None  # what the analysis used it for (hint, count, group, …)
    resolved: object | None = None
    resolved_table: str | None = None


def prepare_text(question: str) -> str:
    """NFKC, straight quotes, and possessives blanked out without moving character positions."""
    text = unicodedata.normalize("NFKC", question).replace("’", "'").replace("‘", "'")
    text = text.replace("“", '"').replace("”", '"')
    text = re.sub(r"(?<=\w)'s\b", "  ", text)
    text = re.sub(r"(?<=\ws)'(?=\s|$)", " ", text)
    return text


class Vocabulary:
    """The words of one semantic layer and its value index, built once and shared by every question."""

    def __init__(self, layer: SemanticLayer, value_index: ValueIndex, today: date | None = None) -> None:
        self.layer = layer
        self.values = value_index
        self.today = today or clock.today()
        self.schema_phrases: dict[str, list[SchemaTarget]] = {}
        self.ranking_phrases: dict[str, list[tuple[str, str, str]]] = {}
        self._build_phrases()
        self.join_graph = self._build_join_graph()
        self.multiword_values: dict[int, list[str]] = {}
        for key in value_index.phrases:
            self.multiword_values.setdefault(len(key.split()), []).append(key)

    # ------------------------------------------------------------------ vocabulary

    def _add_phrase(self, phrase: str, target: SchemaTarget) -> None:
        for form in plural_forms(normalize_phrase(phrase)):
            bucket = self.schema_phrases.setdefault(form, [])
            if target not in bucket:
                bucket.append(target)

    def _build_phrases(self) -> None:
        for table_name, table in self.layer.tables.items():
            for synonym in [table_name.replace("_", " "), *table.synonyms]:
                self._add_phrase(synonym, SchemaTarget("table", table_name))
            for synonym in table.label_synonyms:
                self._add_phrase(synonym, SchemaTarget("label", table_name))
            for column_name, column in table.columns.items():
                if column.role == "key":
                    continue
                for synonym in [column_name.replace("_", " "), *column.synonyms]:
                    self._add_phrase(synonym, SchemaTarget("column", table_name, column_name))
                for phrase, direction in column.ranking_words.items():
                    self.ranking_phrases.setdefault(normalize_phrase(phrase), []).append(
                        (table_name, column_name, direction)
                    )
        for measure in self.layer.measures:
            for synonym in [measure.name.replace("_", " "), *measure.synonyms]:
                self._add_phrase(synonym, SchemaTarget("measure", measure.table, measure.name))

    def _build_join_graph(self) -> dict[str, list[tuple[str, str, str, str]]]:
        graph: dict[str, list[tuple[str, str, str, str]]] = {name: [] for name in self.layer.tables}
        for join in self.layer.joins:
            left_table, left_column = join.left.split(".", 1)
            right_table, right_column = join.right.split(".", 1)
            graph.setdefault(left_table, []).append((right_table, left_column, right_column, left_table))
            graph.setdefault(right_table, []).append((left_table, right_column, left_column, right_table))
        return graph


class QuestionReading:
    """One question's reading: mentions, then the rules that turn them into a query."""

    def __init__(self, vocabulary: Vocabulary, question: str) -> None:
        self.vocabulary = vocabulary
        self.layer = vocabulary.layer
        self.question = question
        self.text = prepare_text(question)
        self.lower = self.text.lower()
        self.claimed = [False] * len(self.text)
        self.mentions: list[Mention] = []
        self.notes: list[str] = []
        self._sorted_by_kinds: dict[tuple[str, ...], tuple[Any, list[int], list[Mention]]] = {}

    # ---------------------------------------------------------------- helpers

    def is_free(self, start: int, end: int) -> bool:
        return not any(self.claimed[start:end])

    def _claim(self, mention: Mention) -> Mention:
        for index in range(mention.start, mention.end):
            self.claimed[index] = True
        self.mentions.append(mention)
        return mention

    def free_matches(self, pattern: re.Pattern[str]) -> list[re.Match[str]]:
        return [match for match in pattern.finditer(self.lower) if self.is_free(match.start(), match.end())]

    def gap(self, left: int, right: int) -> str:
        if right < left:
            return "\x00"  # overlapping: not adjacent
        return self.lower[left:right].strip(" ,.?!;:()[]'\"")

    def sorted_mentions(self) -> list[Mention]:
        return sorted(self.mentions, key=lambda mention: mention.start)

    def _mentions_of(self, kinds: tuple[str, ...]) -> tuple[list[int], list[Mention]]:
        # Sorted once per set of kinds (and again only after new mentions): the rules ask once per match, and
        # sorting every time made a long question's cost grow with the square of its length.
        key = (kinds, len(self.mentions))
        cached = self._sorted_by_kinds.get(kinds)
        if cached is None or cached[0] != key:
            ordered = [m for m in self.sorted_mentions() if m.kind in kinds]
            cached = (key, [m.start for m in ordered], ordered)
            self._sorted_by_kinds[kinds] = cached
        return cached[1], cached[2]

    def next_mention(self, position: int, kinds: tuple[str, ...] = ("schema",)) -> Mention | None:
        starts, ordered = self._mentions_of(kinds)
        index = bisect.bisect_left(starts, position)
        return ordered[index] if index < len(ordered) else None

    def previous_mention(self, position: int, kinds: tuple[str, ...] = ("schema",)) -> Mention | None:
        starts, ordered = self._mentions_of(kinds)
        # Mentions starting after `position` cannot end before it; scan back from there.
        for index in range(bisect.bisect_right(starts, position) - 1, -1, -1):
            if ordered[index].end <= position:
                return ordered[index]
        return None

    # ---------------------------------------------------------------- step 1: find mentions

    def find_mentions(self) -> None:
        self._find_periods()
        self._find_like_patterns()
        self._find_quoted_literals()
        self._find_values()
        self._find_ranking_words()
        self._find_schema_phrases()
        self._find_fuzzy_tables()
        self._find_numbers()

    def _find_periods(self) -> None:
        self.periods: list[tuple[date, date, str]] = []
        self.compared_years: list[int] = []
        for pattern, (unit, offset) in lexicon.RELATIVE_PERIOD:
            for match in self.free_matches(pattern):
                start, end = _relative_period(self.vocabulary.today, unit, offset)
                self.periods.append((start, end, match.group(0)))
                self._claim(Mention(match.start(), match.end(), "period", match.group(0)))
        for match in self.free_matches(lexicon.QUARTER_OF_YEAR):
            year = int(match.group(1) or match.group(4))
            quarter_text = match.group(2) or match.group(3)
            quarter = int(lexicon.NUMBER_WORDS.get(quarter_text, quarter_text))
            start = date(year, 3 * quarter - 2, 1)
            end = date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1)
            self.periods.append((start, end, match.group(0)))
            self._claim(Mention(match.start(), match.end(), "period", match.group(0)))
        has_time = any(table.time_column for table in self.layer.tables.values())
        years = [match for match in self.free_matches(lexicon.YEAR)] if has_time else []
        for match in years:
            self._claim(Mention(match.start(), match.end(), "period", match.group(0)))
        year_numbers = sorted({int(match.group(1)) for match in years})
        if len(year_numbers) >= 2 and lexicon.COMPARE_PERIODS.search(self.lower):
            self.compared_years = year_numbers
            self.periods.append((date(year_numbers[0], 1, 1), date(year_numbers[-1] + 1, 1, 1), "years"))
        elif year_numbers:
            self.periods.append((date(year_numbers[0], 1, 1), date(year_numbers[-1] + 1, 1, 1), "years"))

    def _find_like_patterns(self) -> None:
        self.likes: list[Mention] = []
        for pattern, kind in lexicon.LIKE_PATTERNS:
            for match in pattern.finditer(self.text):
                if not self.is_free(match.start(), match.end()):
                    continue
                literal = match.group(1)
                mention = Mention(match.start(), match.end(), "like", literal, like_kind=kind)
                self.likes.append(self._claim(mention))

    def _find_quoted_literals(self) -> None:
        for match in re.finditer(r"\"([^\"]+)\"|(?<![\w])'([^']+)'(?![\w])", self.text):
            if not self.is_free(match.start(), match.end()):
                continue
            literal = match.group(1) or match.group(2)
            targets = self.vocabulary.values.phrases.get(normalize_phrase(literal), [])
            kind = "value" if targets else "literal"
            self._claim(Mention(match.start(), match.end(), kind, literal, value_targets=list(targets)))

    def _tokens(self) -> list[re.Match[str]]:
        return list(re.finditer(r"[A-Za-z0-9][A-Za-z0-9\-&.']*[A-Za-z0-9]|[A-Za-z0-9]", self.text))

    def _find_values(self) -> None:
        index = self.vocabulary.values
        tokens = self._tokens()
        schema_words = set(self.vocabulary.schema_phrases)
        for size in range(min(index.max_words, 8), 0, -1):
            for first in range(0, len(tokens) - size + 1):
                start, end = tokens[first].start(), tokens[first + size - 1].end()
                if not self.is_free(start, end):
                    continue
                original = self.text[start:end]
                key = normalize_phrase(original)
                targets = index.phrases.get(key)
                if not targets and size >= 2 and key.endswith("s"):
                    targets = index.phrases.get(key[:-1])  # "MPEG audio files" → "MPEG audio file"
                if not targets:
                    continue
                words = key.split()
                if all(word in lexicon.STOPWORDS for word in words) or (len(words) == 1 and key in schema_words):
                    continue
                if key in index.case_sensitive and original not in index.case_sensitive[key]:
                    continue
                kept = [t for t in targets if self._value_allowed(t, original, first, size)]
                if kept and not self._inside_schema_phrase(start, end):
                    self._claim(Mention(start, end, "value", original, value_targets=kept))
        cjk_keys = sorted((key for key in index.phrases if has_cjk(key)), key=len, reverse=True)
        for key in cjk_keys:  # Chinese values and value synonyms (<客户名称>, 巴西 → Brazil), longest first
            position = self.lower.find(key)
            if position >= 0 and self.is_free(position, position + len(key)) and not self._inside_schema_phrase(
                    position, position + len(key)):
                self._claim(Mention(position, position + len(key), "value", key, value_targets=list(index.phrases[key])))
        self._find_fuzzy_values(tokens)

    def _inside_schema_phrase(self, start: int, end: int) -> bool:
        """True when a longer table/column/measure phrase covers this span ("win rate" is not the value "win")."""
        if not hasattr(self, "_schema_spans"):
            self._schema_spans = [
                span for phrase in self.vocabulary.schema_phrases if len(phrase) > 2
                for span in self._phrase_matches(phrase)
            ]
        return any(a <= start and end <= b and (b - a) > (end - start) for a, b in self._schema_spans)

    def _value_allowed(self, target: ValueTarget, original: str, first_token: int, size: int) -> bool:
        column = self.layer.tables[target.table].columns.get(target.columns[0])
        if target.cardinality <= HIGH_CARDINALITY and column is not None and (
                column.role == "category" or original[:1].isupper() or original[:1].isdigit() or has_cjk(original)):
            return True  # few distinct values: a capitalised word or a code (AB-X3) is meant as one of them
        # Names from big columns (track titles, people) must look like names: capitalised, not the first word.
        return original[:1].isupper() and first_token > 0 or (size >= 2 and original[:1].isupper())

    def _find_fuzzy_values(self, tokens: list[re.Match[str]]) -> None:
        for match in re.finditer(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+){1,2}\b", self.text):
            if match.start() == 0 or not self.is_free(match.start(), match.end()):
                continue
            key = normalize_phrase(match.group(0))
            candidates = self.vocabulary.multiword_values.get(len(key.split()), [])
            best, best_score = None, 0.0
            for candidate in candidates:
                score = fuzz.ratio(key, candidate)
                if score > best_score:
                    best, best_score = candidate, score
            if best is not None and best_score >= FUZZY_VALUE_SCORE:
                targets = self.vocabulary.values.phrases[best]
                self._claim(Mention(match.start(), match.end(), "value", match.group(0), value_targets=list(targets)))
                self.notes.append(f"read '{match.group(0)}' as '{best}'")

    def _find_ranking_words(self) -> None:
        for phrase in sorted(self.vocabulary.ranking_phrases, key=len, reverse=True):
            for match in self._phrase_matches(phrase):
                self._claim(
                    Mention(match[0], match[1], "rank", phrase, rank_targets=self.vocabulary.ranking_phrases[phrase])
                )

    def _phrase_matches(self, phrase: str) -> list[tuple[int, int]]:
        found = []
        if has_cjk(phrase):
            position = self.lower.find(phrase)
            while position >= 0:
                if self.is_free(position, position + len(phrase)):
                    found.append((position, position + len(phrase)))
                position = self.lower.find(phrase, position + 1)
            return found
        for match in re.finditer(r"(?<![\w])" + re.escape(phrase) + r"(?![\w])", self.lower):
            if self.is_free(match.start(), match.end()):
                found.append((match.start(), match.end()))
        return found

    def _find_schema_phrases(self) -> None:
        for phrase in sorted(self.vocabulary.schema_phrases, key=len, reverse=True):
            for start, end in self._phrase_matches(phrase):
                if self.is_free(start, end):
                    self._claim(Mention(start, end, "schema", phrase, schema_targets=self.vocabulary.schema_phrases[phrase]))

    def _find_fuzzy_tables(self) -> None:
        table_words = {
            phrase: targets
            for phrase, targets in self.vocabulary.schema_phrases.items()
            if len(phrase) >= 5 and " " not in phrase and phrase.isascii() and any(t.kind == "table" for t in targets)
        }
        for token in re.finditer(r"[a-z]{5,}", self.lower):
            if not self.is_free(token.start(), token.end()) or token.group(0) in lexicon.STOPWORDS:
                continue
            for phrase, targets in table_words.items():
                if fuzz.ratio(token.group(0), phrase) >= FUZZY_TABLE_SCORE:
                    self._claim(Mention(token.start(), token.end(), "schema", phrase, schema_targets=targets))
                    break

    def _find_numbers(self) -> None:
        for match in re.finditer(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])", self.text):
            if self.is_free(match.start(), match.end()):
                self._claim(Mention(match.start(), match.end(), "number", match.group(0), number=float(match.group(0))))
        words = "|".join(word for word in lexicon.NUMBER_WORDS if word.isascii())
        for match in re.finditer(rf"\b({words})\b", self.lower):
            if self.is_free(match.start(), match.end()):
                value = float(lexicon.NUMBER_WORDS[match.group(1)])
                self._claim(Mention(match.start(), match.end(), "number", match.group(0), number=value))


def _relative_period(today: date, unit: str, offset: int) -> tuple[date, date]:
    if unit == "year":
        return date(today.year + offset, 1, 1), date(today.year + offset + 1, 1, 1)
    if unit == "quarter":
        index = (today.year * 4 + (today.month - 1) // 3) + offset
        year, quarter = divmod(index, 4)
        start = date(year, quarter * 3 + 1, 1)
        end_index = index + 1
        end_year, end_quarter = divmod(end_index, 4)
        return start, date(end_year, end_quarter * 3 + 1, 1)
    index = today.year * 12 + today.month - 1 + offset
    year, month = divmod(index, 12)
    end_year, end_month = divmod(index + 1, 12)
    return date(year, month + 1, 1), date(end_year, end_month + 1, 1)


def shortest_join_path(graph: dict[str, list[tuple[str, str, str, str]]], start: str, goal: str) -> list[tuple[str, str, str, str]] | None:
    """Edges (to_table, from_column, to_column, from_table) from start to goal, breadth first."""
    if start == goal:
        return []
    queue: deque[tuple[str, list[tuple[str, str, str, str]]]] = deque([(start, [])])
    seen = {start}
    while queue:
        table, path = queue.popleft()
        for edge in graph.get(table, []):
            neighbour = edge[0]
            if neighbour in seen:
                continue
            new_path = [*path, edge]
            if neighbour == goal:
                return new_path
            seen.add(neighbour)
            queue.append((neighbour, new_path))
    return None

