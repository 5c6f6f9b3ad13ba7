"""Candidate answer units inside a passage: sentences, clause items, table rows (with their header), FAQ answers.

A unit is what may be quoted (verbatim, or with a wrapped line re-joined); its `context` (a table's header row,
the FAQ question) is scored with it but is not the answer. Instruction-like text is never a unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.injection import REMOVED_MARKER, is_instruction

# Lines longer than this are cut into sentences (and inline items): a quote should be a statement, not a page.
MAX_UNIT_CHARS = 280
# A piece shorter than this says nothing on its own ("1.", "Yes").
MIN_UNIT_CHARS = 4

_FAQ_QUESTION = ("Q:", "Q：", "问：", "问:")
_FAQ_ANSWER = ("A:", "A：", "答：", "答:")
_TABLE_SEPARATOR = re.compile(r"^\|?[\s:|-]+\|?$")
_YAML_ITEM = re.compile(r"^- [\w-]+: ")
_YAML_FIELD = re.compile(r"^[\w-]+:( |$)")
# Clause numbering that opens a line or an inline item: 4.1, (a), a), 1., ①, （一）, 一、, 第四条, Section 4.
_ITEM_START = re.compile(r"^(?:\d+(?:\.\d+)+\s|\d+[.)、]\s?|[（(][a-zA-Z0-9一二三四五六七八九十]+[)）]|[a-z][.)]\s|"
                         r"[①-⑳]|[一二三四五六七八九十]+、|第[一二三四五六七八九十百\d]+条|[-*•]\s)")
_INLINE_ITEM = re.compile(r"(?<=[;；:：。])\s*(?=[（(][a-zA-Z0-9一二三四五六七八九十]+[)）]|[①-⑳])")
# Sentence ends: Chinese full stops anywhere, Latin ones before a space and a capital, digit or quote.
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])\s*|(?<=[.])\s+(?=[A-Z0-9\"'“(])")


@dataclass(frozen=True)
class AnswerUnit:
    """One quotable statement of a passage, where it sits, and the text that says what it answers."""

    quote: str
    context: str = ""
    position: int = 0
    kind: str = "sentence"  # sentence | clause | row | faq | item

    @property
    def scoring_text(self) -> str:
        return f"{self.context}\n{self.quote}" if self.context else self.quote


def answer_units(text: str) -> list[AnswerUnit]:
    """Split a passage into answer units, in text order; instruction-like pieces are dropped."""
    units: list[AnswerUnit] = []
    header: str | None = None
    faq_question: str | None = None
    for line in _unwrapped_lines(text):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or _TABLE_SEPARATOR.match(stripped) and "-" in stripped:
            continue
        if REMOVED_MARKER in stripped:
            faq_question = None  # a FAQ question whose answer was stripped answers nothing
            continue
        if stripped.startswith("|"):
            if header is None:
                header = stripped  # scored and quoted with every row below it, never alone
            else:
                units.append(AnswerUnit(f"{header}\n{stripped}", "", len(units), "row"))
            continue
        header = None
        if stripped.startswith(_FAQ_QUESTION):
            faq_question = stripped
            continue
        if faq_question is not None and stripped.startswith(_FAQ_ANSWER):
            units.extend(_pieces(stripped, faq_question, len(units), "faq"))
            faq_question = None
            continue
        faq_question = None
        if units and line[:1].isspace() and _YAML_FIELD.match(stripped) and _YAML_ITEM.match(units[-1].quote):
            # "  floor_price: 78700" means nothing without its item ("- sku: …"): one unit.
            last = units[-1]
            units[-1] = AnswerUnit(f"{last.quote}\n{line.rstrip()}", last.context, last.position, "item")
            continue
        kind = "clause" if _ITEM_START.match(stripped) else "sentence"
        units.extend(_pieces(stripped, "", len(units), kind))
    return [unit for unit in units if len(unit.quote) >= MIN_UNIT_CHARS and not is_instruction(unit.quote)]


def _pieces(line: str, context: str, start: int, kind: str) -> list[AnswerUnit]:
    """A line as one unit, or, when long, as its sentences and inline items (each keeps the line's kind)."""
    if len(line) <= MAX_UNIT_CHARS:
        return [AnswerUnit(line, context, start, kind)]
    parts = [part.strip() for chunk in _INLINE_ITEM.split(line) for part in _SENTENCE_END.split(chunk)]
    merged: list[str] = []
    for part in parts:
        if not part:
            continue
        if merged and len(merged[-1]) < MIN_UNIT_CHARS * 3:
            merged[-1] = f"{merged[-1]} {part}" if part.isascii() else f"{merged[-1]}{part}"
        else:
            merged.append(part)
    bounded = [piece for part in merged for piece in _bounded(part)]
    return [AnswerUnit(part, context, start + offset, kind) for offset, part in enumerate(bounded)]


def _bounded(sentence: str) -> list[str]:
    """A sentence longer than MAX_UNIT_CHARS (a contract clause without a full stop) as runs of its clauses, each
    within the bound where the clauses allow it."""
    if len(sentence) <= MAX_UNIT_CHARS:
        return [sentence]
    runs: list[str] = []
    for part in clauses(sentence):
        if runs and len(runs[-1]) + len(part) + 1 <= MAX_UNIT_CHARS:
            runs[-1] = f"{runs[-1]} {part}" if part[:1].isascii() else runs[-1] + part
        else:
            runs.append(part)
    return runs


def _unwrapped_lines(text: str) -> list[str]:
    """Lines, with a sentence that a PDF or a plain-text file wrapped mid-way joined back into one line."""
    lines: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if lines and stripped and _continues(lines[-1], stripped):
            lines[-1] = f"{lines[-1].rstrip()} {stripped}" if stripped[:1].isascii() else \
                f"{lines[-1].rstrip()}{stripped}"
        else:
            lines.append(line)
    return lines


def _continues(previous: str, line: str) -> bool:
    """The line carries on the previous one's sentence (wrapped text), rather than starting an item of its own."""
    before = previous.rstrip()
    if not before or before.lstrip().startswith(("|", "#")) or line.startswith(("|", "#")) or _ITEM_START.match(line):
        return False
    if before.startswith(_FAQ_QUESTION) or line.startswith(_FAQ_ANSWER):
        return False
    if len(before) < 40:
        return False  # a heading or a short label, not a wrapped line
    if _shouting(before) and _shouting(line) and before[-1].isalpha():
        return True  # a clause in capitals (limitation of liability) wrapped mid-sentence
    ends_mid_sentence = before[-1] in ",，、-(" or (before[-1].isalpha() and before[-1].islower())
    return ends_mid_sentence and (line[0].islower() or not line[0].isascii())


def _shouting(text: str) -> bool:
    """Text set in capitals (at least four letters, none lowercase)."""
    letters = [char for char in text if char.isascii() and char.isalpha()]
    return len(letters) >= 4 and not any(char.islower() for char in letters)


def clauses(text: str) -> list[str]:
    """The clauses of a unit, cut at commas, semicolons and colons outside brackets (thousands separators kept)."""
    parts: list[str] = []
    depth = start = 0
    for index, char in enumerate(text):
        depth += 1 if char in "(（[【" else -1 if char in ")）]】" and depth else 0
        if depth or not _ends_clause(text, index):
            continue
        parts.append(text[start:index + 1])
        start = index + 1
    parts.append(text[start:])
    return [part.strip() for part in parts if part.strip()]


def _ends_clause(text: str, index: int) -> bool:
    char = text[index]
    if char in "，；：、":
        return True
    following = text[index + 1:index + 2]
    if char in ";:":
        return following.isspace()
    # "1,690" and "USD 69,040" keep their commas; ", " between words ends a clause.
    return char == "," and following == " " and not text[index + 2:index + 5].isdigit()


def table_cells(quote: str) -> tuple[list[str], list[str]] | None:
    """(header cells, row cells) of a header + row unit; None when it is not one."""
    lines = quote.splitlines()
    if len(lines) < 2:
        return None
    return _cells(lines[0]), _cells(lines[1])


def table_row_statement(quote: str, keep: list[int] | None = None) -> str:
    """A header + row unit as one line: 'Display: 15.6-inch …' or 'A1 — 型号: AB-100; 单价: 1,200元' (only the
    columns in `keep`, when given)."""
    cells = table_cells(quote)
    if cells is None:
        return quote
    header, row = cells
    if len(row) < 2:
        return quote.replace("\n", " ")
    if len(row) == 2 or len(header) != len(row):
        return f"{row[0]}: {'; '.join(row[1:])}"
    columns = [index for index in range(1, len(row)) if keep is None or index in keep] or list(range(1, len(row)))
    return f"{row[0]} — " + "; ".join(f"{header[index]}: {row[index]}" for index in columns)


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]
