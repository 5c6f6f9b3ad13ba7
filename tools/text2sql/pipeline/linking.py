"""Step 2, linking: which spans of the question name a table, a column, a stored value or a number.

English is matched word by word on singular forms (so "dogs" finds Dogs and "template ids" finds
template_id); Chinese is matched as substrings, longest first, because it is written without spaces.
Request words ("show", "list", "显示", "列出") never link to the schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import pairwise

from rapidfuzz import fuzz

from salesbot.text import CJK_RUN, has_cjk
from tools.text2sql import lexicon
from tools.text2sql.mentions import prepare_text
from tools.text2sql.models import SemanticLayer
from tools.text2sql.values import HIGH_CARDINALITY, ValueIndex, ValueTarget, normalize_phrase

# Single words that never name a column on their own (they are cue words or say nothing): "number" in
# "number of", "type" in "types of treatments", "first" in "the first student".
WEAK_WORDS = frozenset("numb number num count type other oth of the and or to a an by for in on first last total yn "
                       "ref tbl info".split())
TABLE_PREFIXES = ("ref", "tbl", "t", "lu", "dim", "fact")
FUZZY_WORD_SCORE = 88
SMALL_NAME_COLUMN = 100
TOKEN = re.compile(r"[A-Za-z0-9]+")


SHORT_WORDS_ENDING_IN_S = frozenset("yes has was its his bus gas this thus plus is us as".split())
STEM_SUFFIXES = ("ing", "ed", "or", "er", "al", "ure")


def singular(word: str) -> str:
    """A lower-case English word in singular form (rules, not a dictionary: enough for schema words)."""
    word = word.lower()
    if len(word) < 3 or not word.isascii() or not word.isalpha() or word in SHORT_WORDS_ENDING_IN_S:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def stem(word: str) -> str:
    """Singular, then a light suffix cut, applied to schema and question words alike: "arriving", "arrived" and
    "arrival" meet, as do "director" and "directed_by"."""
    word = singular(word)
    for suffix in STEM_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    return word.rstrip("e") if len(word) > 4 else word


def identifier_words(name: str) -> list[str]:
    """Words of a schema identifier: snake_case and camelCase split, singular, lower case."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).replace("_", " ").replace("-", " ")
    return [stem(word) for word in spaced.split() if word]


def cjk_head(phrase: str) -> str | None:
    """'角色代码' → '角色': a Chinese column word without its generic last noun (None when there is none)."""
    if not has_cjk(phrase):
        return None
    for suffix in lexicon.CJK_GENERIC_SUFFIXES:
        if phrase.endswith(suffix) and len(phrase) - len(suffix) >= 2:
            return phrase[: -len(suffix)]
    return None


@dataclass(frozen=True)
class SchemaTarget:
    """What a phrase may name: a table (column None) or a column, with how much of its name the phrase covers."""

    table: str
    column: str | None
    strength: float


@dataclass
class Link:
    """A span of the question tied to the schema, to stored values, or a number."""

    start: int
    end: int
    text: str
    kind: str  # schema | value | number | literal
    targets: list[SchemaTarget] = field(default_factory=list)
    values: list[ValueTarget] = field(default_factory=list)
    number: float | None = None
    quoted: bool = False

    @property
    def tables(self) -> list[str]:
        return [t.table for t in self.targets if t.column is None]

    @property
    def columns(self) -> list[SchemaTarget]:
        return [t for t in self.targets if t.column is not None]


class SchemaLexicon:
    """Every phrase that names a table or column of one layer, built once per layer."""

    def __init__(self, layer: SemanticLayer) -> None:
        self.layer = layer
        self.phrases: dict[tuple[str, ...], list[SchemaTarget]] = {}
        self.cjk_phrases: dict[str, list[SchemaTarget]] = {}
        for table_name, table in layer.tables.items():
            self._add_table(table_name, table.synonyms)
            for column_name, column in table.columns.items():
                self._add_column(table_name, column_name, column.synonyms)
            for synonym in table.label_synonyms:
                for column_name in table.label[:1]:
                    self._add(synonym, SchemaTarget(table_name, column_name, 1.0))
        self.max_words = max((len(key) for key in self.phrases), default=1)
        self.words = {word for key in self.phrases for word in key}

    def _add(self, phrase: str, target: SchemaTarget) -> None:
        if has_cjk(phrase):
            bucket = self.cjk_phrases.setdefault(normalize_phrase(phrase).replace(" ", ""), [])
        else:
            key = tuple(stem(w) for w in TOKEN.findall(phrase.lower()))
            if not key:
                return
            bucket = self.phrases.setdefault(key, [])
        for index, existing in enumerate(bucket):
            if (existing.table, existing.column) == (target.table, target.column):
                if target.strength > existing.strength:
                    bucket[index] = target
                return
        bucket.append(target)

    def _add_table(self, table: str, synonyms: list[str]) -> None:
        words = identifier_words(table)
        self._add(" ".join(words), SchemaTarget(table, None, 1.0))
        if len(words) > 1 and words[0] in TABLE_PREFIXES:
            words = words[1:]
            self._add(" ".join(words), SchemaTarget(table, None, 1.0))
        for word in words if len(words) > 1 else []:  # "degree" for Degree_Programs, weaker than a full name
            if word not in WEAK_WORDS and not word.isdigit():
                self._add(word, SchemaTarget(table, None, 0.6))
        for synonym in synonyms:
            self._add(synonym, SchemaTarget(table, None, 1.0))

    def _add_column(self, table: str, column: str, synonyms: list[str]) -> None:
        words = identifier_words(column)
        table_words = [w for w in identifier_words(table) if w not in TABLE_PREFIXES] or identifier_words(table)
        self._add(" ".join(words), SchemaTarget(table, column, 1.0))
        if len(words) == 2:
            self._add(" ".join(reversed(words)), SchemaTarget(table, column, 1.0))  # date_arrived: "arrival date"
        for synonym in synonyms:
            self._add(synonym, SchemaTarget(table, column, 1.0))
            head = cjk_head(synonym)
            if head:
                self._add(head, SchemaTarget(table, column, 0.6))
        # "document_name" in documents is what people call the document's "name".
        for size in range(len(table_words), 0, -1):
            if words[:size] == table_words[-size:] and len(words) > size:
                self._add(" ".join(words[size:]), SchemaTarget(table, column, 0.9))
                break
        if words[: len(table_words)] != table_words:
            self._add(" ".join([*table_words, *words]), SchemaTarget(table, column, 1.0))
            self._add(" ".join([table_words[-1], *words]), SchemaTarget(table, column, 1.0))
        for size in range(len(words) - 1, 0, -1):
            for first in range(0, len(words) - size + 1):
                part = words[first:first + size]
                if all(word in WEAK_WORDS or word.isdigit() for word in part) or part[0] == "of" or part[-1] == "of":
                    continue
                self._add(" ".join(part), SchemaTarget(table, column, 0.8 * size / len(words)))


COORDINATION = re.compile(r"\b(?P<modifiers>(?:[A-Za-z]+\s*,\s*)*[A-Za-z]+\s*,?\s+and\s+[A-Za-z]+)\s+(?P<head>[A-Za-z]+)\b")


def expand_coordination(text: str, schema: SchemaLexicon) -> str:
    """'first, middle and last names' → 'first names, middle names and last names' when each pair is a schema
    phrase (English shares the head noun across a list; each column needs it)."""

    def expand(match: re.Match[str]) -> str:
        head = match.group("head")
        modifiers = re.findall(r"[A-Za-z]+", match.group("modifiers"))
        words = [m for m in modifiers if m.lower() != "and"]
        if len(words) < 2 or not all((stem(w), stem(head)) in schema.phrases for w in words):
            return match.group(0)
        return re.sub(r"[A-Za-z]+", lambda m: m.group(0) if m.group(0).lower() == "and" else f"{m.group(0)} {head}",
                      match.group("modifiers"))

    return COORDINATION.sub(expand, text)


class QuestionLinker:
    """Links one question's spans; the spans claimed first (quoted text, long values) win over later ones."""

    def __init__(self, lexicon_: SchemaLexicon, values: ValueIndex, question: str) -> None:
        self.schema = lexicon_
        self.values = values
        self.text = expand_coordination(prepare_text(question), lexicon_)
        self.lower = self.text.lower()
        self.claimed = [False] * len(self.text)
        self.links: list[Link] = []
        self.tokens = list(TOKEN.finditer(self.text))

    def link(self) -> list[Link]:
        self._quoted()
        self._values(min_words=2)
        self._schema_words()
        self._cjk_schema()
        self._values(min_words=1)
        self._cjk_values()
        self._numbers()
        self._absorb_modifiers()
        return sorted(self.links, key=lambda link: link.start)

    # ---------------------------------------------------------------- helpers

    def _free(self, start: int, end: int) -> bool:
        return not any(self.claimed[start:end])

    def _claim(self, link: Link) -> None:
        for index in range(link.start, link.end):
            self.claimed[index] = True
        self.links.append(link)

    # ---------------------------------------------------------------- spans

    def _quoted(self) -> None:
        for match in re.finditer(r"\"([^\"]+)\"|(?<![\w])'([^']+)'(?![\w])", self.text):
            literal = (match.group(1) or match.group(2) or "").strip()
            if not literal or not self._free(match.start(), match.end()):
                continue
            targets = self.values.phrases.get(normalize_phrase(literal), [])
            kind = "value" if targets else "literal"
            self._claim(Link(match.start(), match.end(), literal, kind, values=list(targets), quoted=True))

    def _values(self, min_words: int) -> None:
        tokens = self.tokens
        for size in range(min(self.values.max_words, 8), min_words - 1, -1):
            for first in range(0, len(tokens) - size + 1):
                start, end = tokens[first].start(), tokens[first + size - 1].end()
                if not self._free(start, end):
                    continue
                original = self.text[start:end]
                key = normalize_phrase(original)
                targets = self.values.phrases.get(key)
                if not targets and key.endswith("s"):
                    targets = self.values.phrases.get(key[:-1])  # "Bachelors" → "Bachelor"
                if not targets or (size == 1 and key in lexicon.STOPWORDS | lexicon.REQUEST_WORDS):
                    continue
                if key in self.values.case_sensitive and original not in self.values.case_sensitive[key] and not (
                        key.endswith("s") and original[:-1] in self.values.case_sensitive.get(key[:-1], set())):
                    continue
                kept = [t for t in targets if self._value_allowed(t, original, first, size)]
                if kept:
                    self._claim(Link(start, end, original, "value", values=kept))

    def _value_allowed(self, target: ValueTarget, original: str, first_token: int, size: int) -> bool:
        column = self.schema.layer.tables[target.table].columns.get(target.columns[0])
        if column is not None and target.cardinality <= HIGH_CARDINALITY and (
                column.role == "category" or original[:1].isupper() or original[:1].isdigit()):
            return True
        if column is not None and target.cardinality <= SMALL_NAME_COLUMN and len(original) >= 3 and (
                stem(original) not in self.schema.words):
            return True  # "the math course": a lower-case word among a few dozen names
        return original[:1].isupper() and (first_token > 0 or size >= 2)

    def _schema_words(self) -> None:
        keys = [self._word_key(token.group(0)) for token in self.tokens]
        index = 0
        while index < len(self.tokens):
            matched = False
            for size in range(min(self.schema.max_words, len(self.tokens) - index), 0, -1):
                span = self.tokens[index:index + size]
                key = tuple(keys[index:index + size])
                if key not in self.schema.phrases or not self._free(span[0].start(), span[-1].end()):
                    continue
                if size == 1 and span[0].group(0).lower() in lexicon.REQUEST_WORDS:
                    continue
                if not all(self._adjacent(a, b) for a, b in pairwise(span)):
                    continue
                start, end = span[0].start(), span[-1].end()
                self._claim(Link(start, end, self.text[start:end], "schema", targets=list(self.schema.phrases[key])))
                index += size
                matched = True
                break
            if not matched:
                index += 1

    def _adjacent(self, left: re.Match[str], right: re.Match[str]) -> bool:
        return self.text[left.end():right.start()].strip(" '-_") == ""

    def _absorb_modifiers(self) -> None:
        """'cell phone' → cell_number: a weak partial column word right after a column word only modifies it."""
        ordered = sorted(self.links, key=lambda link: link.start)
        kept: list[Link] = []
        for link in ordered:
            previous = kept[-1] if kept else None
            if (previous is not None and previous.kind == "schema" and link.kind == "schema" and previous.columns
                    and link.columns and not link.tables and max(t.strength for t in link.columns) < 0.5
                    and self.text[previous.end:link.start].strip() == ""):
                previous.end = link.end
                continue
            kept.append(link)
        self.links = kept

    def _word_key(self, word: str) -> str:
        key = stem(word)
        if key in self.schema.words or len(key) < 6 or key in lexicon.STOPWORDS:
            return key
        best = max(self.schema.words, key=lambda known: fuzz.ratio(key, known), default=None)
        if best is not None and fuzz.ratio(key, best) >= FUZZY_WORD_SCORE:
            return best  # "enrollment" / "enrolment", "cartoones"
        return key

    def _cjk_schema(self) -> None:
        for phrase in sorted(self.schema.cjk_phrases, key=len, reverse=True):
            for match in re.finditer(re.escape(phrase), self.lower):
                if self._free(match.start(), match.end()):
                    self._claim(Link(match.start(), match.end(), phrase, "schema",
                                     targets=list(self.schema.cjk_phrases[phrase])))

    def _cjk_values(self) -> None:
        if not CJK_RUN.search(self.lower):
            return
        for key in sorted((k for k in self.values.phrases if has_cjk(k)), key=len, reverse=True):
            position = self.lower.find(key)
            if position >= 0 and self._free(position, position + len(key)):
                self._claim(Link(position, position + len(key), key, "value", values=list(self.values.phrases[key])))

    def _numbers(self) -> None:
        for match in re.finditer(r"(?<![\w.])\d+(?:\.\d+)?(?!\w|\.\d)", self.text):
            if self._free(match.start(), match.end()):
                self._claim(Link(match.start(), match.end(), match.group(0), "number", number=float(match.group(0))))
