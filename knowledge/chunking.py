"""Structure-aware chunking: sections found in Markdown and in plain/extracted text, bounded pieces, QA rows whole.

A contract's clause numbering ("ARTICLE IV", "Section 4.1", "4.1 Term", "15. TERM", "第四条", "一、", "（一）") opens
sections the way Markdown headings do; "(a)" items and numbered sentences stay inside their section as the units
long sections are cut at. Every piece keeps its section path, so a citation can say where a quote comes from.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from pydantic import BaseModel

from knowledge.loaders import SENTENCE_END, UNIT_START, LoadedDocument
from salesbot.text import CJK_CHARACTERS

CHUNKER_VERSION = "4"
# Piece sizes are measured in Latin-character equivalents: about 650 Chinese characters say what 1,100 Latin
# characters of English do, so one Chinese character weighs 1100/650 (one rule for Chinese, English and mixed text).
MAX_CHUNK_SIZE = 1100
CJK_CHARACTER_WEIGHT = 1100 / 650
# Where a cut falls inside running text, the next piece repeats the sentence(s) before the cut, up to this size.
OVERLAP_SIZE = 160
MAX_OVERLAP_SENTENCES = 2

_CJK_CHAR = re.compile(f"[{CJK_CHARACTERS}]")
_ZH_NUMERAL = "一二三四五六七八九十百千零〇"
_MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_ZH_CHAPTER = re.compile(rf"^第[{_ZH_NUMERAL}\d]+[章节部分编]\s*\S*")
_ZH_ARTICLE = re.compile(rf"^(第[{_ZH_NUMERAL}\d]+条)(?:(?:\s+|[:：、.．]\s*)(.*))?$")
_ZH_ENUMERATION = re.compile(rf"^([{_ZH_NUMERAL}]+[、．])\s*(.+)$")
_ZH_PAREN_ENUMERATION = re.compile(rf"^([（(][{_ZH_NUMERAL}]+[)）])\s*(.+)$")
_ARTICLE = re.compile(r"^((?:ARTICLE|Article)\s+(?:[IVXLCDM]+|\d+))\b\.?(.*)$")
_SECTION = re.compile(r"^((?:SECTION|Section|Sec\.|CLAUSE|Clause|§)\s*(\d{1,3}(?:\.\d{1,3}){0,3}))\b\.?(.*)$")
# "4.1 Term", "15. TERM OF AGREEMENT", "2、交货": every component at most three digits, so dates (2025.03.18)
# and years are not numbering.
_NUMBERED = re.compile(r"^((\d{1,3}(?:\.\d{1,3}){0,3})(\.|、)?)\s+(.+)$")
_ZH_RUN_IN = re.compile(r"^([^，。；;,:：\s]{1,15})(?:[：:]\s*|\s+)(\S.*)$")
_YAML_TOP_KEY = re.compile(r"^([A-Za-z_][\w-]*):")
# A sentence with the space after it; "1.5" and "U.S." inside a sentence are not ends (a full stop needs a space).
_SENTENCE = re.compile(r".+?(?:[。！？；!?;]+|\.(?=\s)|$)\s*", re.DOTALL)
_CLAUSE_BREAK = re.compile(r"[，,、：:]\s*|\s+")
# Short words a Title Case caption leaves in lower case ("Limitation of Liability").
_MINOR_WORDS = {"a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "per", "the",
                "to", "upon", "with", "its", "vs", "vs.", "than", "under", "over", "not"}
# A number followed by a magnitude is an amount ("1.5 Million"), never numbering.
_MAGNITUDES = {"million", "millions", "billion", "billions", "thousand", "thousands", "hundred", "percent", "per"}
MAX_CAPTION_CHARS = 80
MAX_CAPTION_WORDS = 12
MAX_RUN_IN_CAPTION_WORDS = 8
MAX_SENTENCE_CASE_CAPTION_WORDS = 6
MAX_ZH_CAPTION_CHARS = 20
MAX_ZH_ARTICLE_LINE = 30
# A line this long that ends without punctuation is running text the next line continues.
MIN_WRAPPED_LINE_CHARS = 40


class Chunk(BaseModel):
    ordinal: int
    section: str
    text: str


@dataclass(frozen=True)
class Heading:
    """A line that opens a section; `rest` is the body text a run-in heading ("4.1 Term. The term ...") carries."""

    level: int
    title: str
    rest: str = ""
    numbered_caption: bool = False  # "4.1 Term"-style: weaker evidence than "ARTICLE IV" or "第四条"
    bare: bool = False  # "ARTICLE IV" alone: its caption may be on the next line


def chunk_document(document: LoadedDocument) -> list[Chunk]:
    """Split a loaded document into citable chunks, each with its section path."""
    if document.qa_rows:
        return [
            Chunk(ordinal=index, section=_qa_section(row.row_number, row.category, row.product),
                  text=f"Q: {row.question}\nA: {row.answer}")
            for index, row in enumerate(document.qa_rows)
        ]
    is_yaml = document.source.lower().endswith((".yaml", ".yml"))
    chunks: list[Chunk] = []
    for section_path, body in _sections(document.text, is_yaml, document.title):
        for piece in split_section(body):
            chunks.append(Chunk(ordinal=len(chunks), section=section_path or document.title, text=piece))
    return chunks


def _qa_section(row_number: int, category: str, product: str) -> str:
    details = ", ".join(part for part in (category, product) if part)
    return f"row {row_number}" + (f" ({details})" if details else "")


def text_size(text: str) -> float:
    """Size in Latin-character equivalents (a Chinese character counts CJK_CHARACTER_WEIGHT)."""
    return len(text) + (CJK_CHARACTER_WEIGHT - 1) * len(_CJK_CHAR.findall(text))


# --- Headings ----------------------------------------------------------------------------------------------------

def detect_heading(line: str, previous: str = "", previous_heading: bool = False,
                   previous_item: bool = False) -> Heading | None:
    """The heading a line opens, given the line before it ("" when blank) and what that line was.

    Levels: Markdown by its #s; 第X章 1; ARTICLE, 第X条, 一、 2; numbered by depth ("15." 2, "4.1" 3, "4.1.1" 4);
    （一） and 2、 3. Clause-like lines are refused inside running text: after a line that ends mid-sentence
    (unless all capitals or 第X条) or introduces a list (":"), and a short numbered line right after a numbered
    sentence is the next item."""
    stripped = re.sub(r"\s+", " ", line).strip()
    if not stripped or stripped.startswith("|"):
        return None
    markdown = _MARKDOWN_HEADING.match(stripped)
    if markdown:
        return Heading(len(markdown.group(1)), markdown.group(2).strip())
    heading = _clause_heading(stripped)
    if heading is None or not previous or previous_heading:
        return heading
    if previous.endswith((":", "：")) and (heading.numbered_caption or not _is_strong(heading)):
        return None  # a list follows its lead-in line: its numbers are items
    if _ends_mid_sentence(previous) and not _is_strong(heading):
        return None
    if heading.numbered_caption and previous_item and not _is_all_caps(heading.title):
        return None
    return heading


def _is_strong(heading: Heading) -> bool:
    """A heading no sentence looks like: all capitals ("15. TERM OF AGREEMENT") or a Chinese article label."""
    return _is_all_caps(heading.title) or heading.title.startswith("第")


def _ends_mid_sentence(line: str) -> bool:
    return len(line) >= MIN_WRAPPED_LINE_CHARS and not line.endswith(SENTENCE_END)


def _clause_heading(line: str) -> Heading | None:
    if len(line) <= 40 and _ZH_CHAPTER.match(line):
        return Heading(1, line)
    match = _ZH_ARTICLE.match(line)
    if match:
        return _zh_heading(2, match.group(1), match.group(2) or "", whole=line, article=True)
    for pattern, level in ((_ZH_ENUMERATION, 2), (_ZH_PAREN_ENUMERATION, 3)):
        match = pattern.match(line)
        if match:
            return _zh_heading(level, match.group(1), match.group(2), whole=line, article=False)
    for pattern in (_ARTICLE, _SECTION):
        match = pattern.match(line)
        if match:
            depth = match.group(2).count(".") + 1 if pattern is _SECTION else 1
            return _labelled_heading(1 + max(depth, 1), match.group(1), match.group(match.lastindex or 1))
    match = _NUMBERED.match(line)
    if match:
        return _numbered_heading(match.group(1), match.group(2), match.group(3) or "", match.group(4))
    return None


def _zh_heading(level: int, label: str, rest: str, whole: str, article: bool) -> Heading | None:
    """第X条 opens an article however long its line (its text may follow on the line); 一、 and （一） only
    with a short caption — a long one is an item of the section."""
    rest = rest.strip()
    if not rest:
        return Heading(level, label, bare=True) if article else None
    if _zh_caption(rest) and (not article or len(whole) <= MAX_ZH_ARTICLE_LINE):
        return Heading(level, f"{label}{' ' if article else ''}{rest}".strip())
    run_in = _zh_run_in(rest)
    if run_in:
        return Heading(level, f"{label}{' ' if article else ''}{run_in[0]}", rest=run_in[1])
    return Heading(level, label, rest=rest) if article else None


def _zh_run_in(text: str) -> tuple[str, str] | None:
    """("结算方式", "甲方应于…") for "结算方式：甲方应于…" (or "结算方式 甲方应于…")."""
    match = _ZH_RUN_IN.match(text)
    if match and _zh_caption(match.group(1)):
        return match.group(1), match.group(2)
    return None


def _zh_caption(text: str) -> bool:
    return (len(text) <= MAX_ZH_CAPTION_CHARS and _CJK_CHAR.search(text) is not None
            and re.search(r"[，。；;,！？!?]", text) is None)


def _labelled_heading(level: int, label: str, rest: str) -> Heading | None:
    """"ARTICLE IV PAYMENT", "Section 4.1 Term. The term …": a caption, a run-in caption, or nothing after the
    label; "Section 4.1 shall survive …" is a sentence that cites a section."""
    rest = rest.strip().lstrip("-–—:.").strip()
    if not rest:
        return Heading(level, label, bare=True)
    caption = _caption(rest)
    if caption:
        return Heading(level, f"{label} {caption}")
    run_in = _run_in(rest)
    if run_in:
        return Heading(level, f"{label} {run_in[0]}", rest=run_in[1])
    return None


def _numbered_heading(numbering: str, number: str, mark: str, rest: str) -> Heading | None:
    if int(number.split(".")[0]) == 0 or rest.split()[0].lower() in _MAGNITUDES:
        return None
    dotted = "." in number or bool(mark)
    # "2、交货" (Chinese-style) sits under "一、"; "4.1" under "4." / "Section 4".
    level = 3 if mark == "、" else 1 + number.count(".") + 1
    if _CJK_CHAR.match(rest):
        if dotted and _zh_caption(rest):
            return Heading(level, f"{numbering} {rest}", numbered_caption=True)
        return None  # "1.1 维保对象：…" is a labelled clause of its article, not a section of its own
    caption = _caption(rest)
    if caption and (dotted or _is_all_caps(caption)):
        return Heading(level, f"{numbering} {caption}", numbered_caption=True)
    run_in = _run_in(rest) if dotted else None
    if run_in:
        return Heading(level, f"{numbering} {run_in[0]}", rest=run_in[1], numbered_caption=True)
    return None


def _caption(text: str) -> str | None:
    """The text as a heading caption ("TERM OF AGREEMENT", "Limitation of Liability", "Payment terms"), or None
    when it reads as a sentence or an amount."""
    if len(text) > MAX_CAPTION_CHARS or "|" in text or not (text[0].isupper() or text[0] in "\"“'"):
        return None
    words = text.rstrip(".").split()
    if not 1 <= len(words) <= MAX_CAPTION_WORDS:
        return None
    if _is_all_caps(text) and not text.endswith(tuple(",;:")):
        return text.rstrip(".")
    if text.endswith(tuple(",;:!?")):
        return None
    if _is_title_case(words):
        return text.rstrip(".")
    sentence_case = not text.endswith(".") and len(words) <= MAX_SENTENCE_CASE_CAPTION_WORDS
    return text if sentence_case and not any(char.isdigit() for char in text) else None


def _run_in(text: str) -> tuple[str, str] | None:
    """("Term", "The term of this Agreement …") for "Term. The term of this Agreement …"."""
    cut = text.find(". ")
    if cut <= 0:
        return None
    caption, body = text[:cut], text[cut + 2:].strip()
    words = caption.split()
    if not body or not (body[0].isupper() or body[0] in "(\"“'" or body[0].isdigit()):
        return None
    if len(words) <= MAX_RUN_IN_CAPTION_WORDS and (_is_all_caps(caption) or _is_title_case(words)):
        return caption, body
    return None


def _is_all_caps(text: str) -> bool:
    letters = [char for char in text if char.isalpha()]
    return len(letters) >= 2 and all(char.isupper() for char in letters)


def _is_title_case(words: list[str]) -> bool:
    significant = [word for word in words if word.lower().strip("(),\"“”'") not in _MINOR_WORDS]
    return bool(significant) and all(word[0].isupper() or not word[0].isalpha() for word in significant) and \
        words[0][0].isupper()


def _caption_line(line: str) -> str | None:
    """The caption a bare "ARTICLE IV" line leaves to the next line ("PAYMENT TERMS")."""
    stripped = re.sub(r"\s+", " ", line).strip()
    if not stripped or UNIT_START.match(stripped) or detect_heading(stripped):
        return None
    if _CJK_CHAR.match(stripped):
        return stripped if _zh_caption(stripped) else None
    caption = _caption(stripped)
    return caption if caption and (_is_all_caps(caption) or _is_title_case(caption.split())) else None


# --- Sections ----------------------------------------------------------------------------------------------------

def _sections(text: str, is_yaml: bool, title: str) -> list[tuple[str, str]]:
    """Walk the lines keeping a heading stack; every heading starts a new section body."""
    if is_yaml:
        return _merge_small_sections(_yaml_sections(text, title))
    stack: list[tuple[int, str]] = []
    sections: list[tuple[str, str]] = []
    body: list[str] = []
    previous, previous_heading, previous_item, awaiting_caption = "", False, False, False

    def flush() -> None:
        content = "\n".join(body).strip()
        if content:
            # The document's own title heading is left out of section paths (citations show it separately).
            path = [heading for _, heading in stack if heading != title]
            sections.append((" > ".join(path[-2:]), content))
        body.clear()

    for line in text.splitlines():
        stripped = line.strip()
        if awaiting_caption and stripped:
            awaiting_caption = False
            caption = _caption_line(stripped)
            if caption:
                stack[-1] = (stack[-1][0], f"{stack[-1][1]} {caption}")
                previous, previous_heading = stripped, True
                continue
        heading = detect_heading(line, previous, previous_heading, previous_item)
        if heading is None:
            body.append(line)
            if stripped:
                previous, previous_heading = stripped, False
                previous_item = bool(UNIT_START.match(stripped))
            else:
                previous, previous_item = "", False
            continue
        flush()
        while stack and stack[-1][0] >= heading.level:
            stack.pop()
        stack.append((heading.level, heading.title))
        awaiting_caption = heading.bare
        if heading.rest:
            body.append(heading.rest)
        previous, previous_heading, previous_item = stripped, True, False
    flush()
    if len(sections) > 1 and sections[0][1] == title:
        sections.pop(0)  # a plain document's title line before its first heading: citations show the title anyway
    return sections


def _yaml_sections(text: str, title: str) -> list[tuple[str, str]]:
    """A YAML file's top-level keys are its sections; each section keeps its own key line."""
    sections: list[tuple[str, str]] = []
    key: str | None = None
    body: list[str] = []
    for line in text.splitlines():
        match = _YAML_TOP_KEY.match(line)
        if match:
            if "\n".join(body).strip():
                sections.append((key if key and key != title else "", "\n".join(body).strip()))
            key, body = match.group(1), []
        body.append(line)
    if "\n".join(body).strip():
        sections.append((key if key and key != title else "", "\n".join(body).strip()))
    return sections


def _merge_small_sections(sections: list[tuple[str, str]], min_chars: int = 200) -> list[tuple[str, str]]:
    """YAML top-level keys like `currency: CNY` are too small to cite alone: fold them into the next section."""
    merged: list[tuple[str, str]] = []
    pending_titles: list[str] = []
    pending_body: list[str] = []
    for title, body in sections:
        pending_titles.append(title)
        pending_body.append(body)
        if len("\n".join(pending_body)) >= min_chars:
            merged.append((", ".join(pending_titles), "\n".join(pending_body)))
            pending_titles, pending_body = [], []
    if pending_body:
        merged.append((", ".join(pending_titles), "\n".join(pending_body)))
    return merged


# --- Bounded pieces ----------------------------------------------------------------------------------------------

@dataclass
class _Part:
    """A stretch of a section: a whole unit (item, paragraph, table row) or a sentence-sized part of one."""

    text: str
    unit: int  # parts of one unit share this number; a cut between them splits running text
    table_header: str | None = None  # for a table row: the header (and separator) it is read with


def split_section(body: str, max_size: int = MAX_CHUNK_SIZE) -> list[str]:
    """The section whole when it fits; otherwise pieces of balanced size up to max_size, cut between items,
    paragraphs or table rows first, then between sentences (with a small overlap), then at commas or spaces.
    A piece that starts inside a table repeats the table's header row."""
    body = body.strip()
    if not body:
        return []
    if text_size(body) <= max_size:
        return [body]
    parts = _parts(body, max_size)
    total = sum(text_size(part.text) for part in parts)
    target = total / math.ceil(total / max_size)
    pieces: list[list[_Part]] = []
    current: list[_Part] = []
    current_size = 0.0
    for index, part in enumerate(parts):
        size = _joined_size(current, part)
        if current and (current_size + size > max_size or current_size + size / 2 > target):
            pieces.append(current)
            current = _piece_opening(parts, index, max_size - text_size(part.text) - 1)
            current_size = text_size(_render(current))
            size = _joined_size(current, part)
        current.append(part)
        current_size += size
    if current:
        pieces.append(current)
    return [_render(piece) for piece in pieces]


def _joined_size(current: list[_Part], part: _Part) -> float:
    """What adding `part` adds to the rendered piece: its text, and a line break when it starts a new unit."""
    return text_size(part.text) + (1 if current and current[-1].unit != part.unit else 0)


def _piece_opening(parts: list[_Part], index: int, room: float) -> list[_Part]:
    """What a new piece repeats before parts[index]: the table header of a row, or the sentences just before a cut
    made inside running text."""
    part = parts[index]
    if part.table_header is not None:
        header = _Part(part.table_header, -1)
        return [header] if text_size(header.text) <= room else []
    opening: list[_Part] = []
    size = 0.0
    back = index - 1
    while back >= 0 and parts[back].unit == part.unit and len(opening) < MAX_OVERLAP_SENTENCES:
        size += text_size(parts[back].text)
        if size > min(OVERLAP_SIZE, room):
            break
        opening.insert(0, parts[back])
        back -= 1
    return opening


def _render(piece: list[_Part]) -> str:
    lines: list[str] = []
    previous_unit: int | None = None
    for part in piece:
        if lines and part.unit == previous_unit:
            lines[-1] += part.text
        else:
            lines.append(part.text)
        previous_unit = part.unit
    return "\n".join(line.strip() for line in lines).strip()


def _parts(body: str, max_size: int) -> list[_Part]:
    parts: list[_Part] = []
    for number, (unit, header) in enumerate(_units(body)):
        if text_size(unit) <= max_size:
            parts.append(_Part(unit, number, header))
            continue
        for sentence in _sentences(unit, max_size):
            parts.append(_Part(sentence, number))
    return parts


def _units(body: str) -> list[tuple[str, str | None]]:
    """(unit, table header) pairs: items and paragraphs as they are written; each table row its own unit."""
    units: list[tuple[str, str | None]] = []
    current: list[str] = []
    header: str | None = None

    def close() -> None:
        if current:
            units.append(("\n".join(current), None))
            current.clear()

    for line in body.splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            close()
            if set(stripped) <= set("|-: "):  # the separator under the header row belongs to the header
                if header is not None and units and units[-1][0] == header:
                    header = f"{header}\n{stripped}"
                    units[-1] = (header, None)
                continue
            if header is None:
                header = stripped
                units.append((stripped, None))
            else:
                units.append((stripped, header))
            continue
        header = None
        if not stripped or UNIT_START.match(stripped):
            close()
        if stripped:
            current.append(stripped)
    close()
    return units


def _sentences(unit: str, max_size: int) -> list[str]:
    """A long unit as sentences (each keeping the space after it); a sentence still too long is cut at commas or
    spaces, and text with neither (a run of characters) at max_size."""
    sentences: list[str] = []
    for match in _SENTENCE.finditer(unit):
        sentence = match.group(0)
        if text_size(sentence) <= max_size:
            sentences.append(sentence)
        else:
            sentences.extend(_cut_long_sentence(sentence, max_size))
    return sentences


def _cut_long_sentence(sentence: str, max_size: int) -> list[str]:
    pieces: list[str] = []
    start = 0
    while start < len(sentence):
        end, size = start, 0.0
        while end < len(sentence) and size + (CJK_CHARACTER_WEIGHT if _CJK_CHAR.match(sentence[end]) else 1) \
                <= max_size:
            size += CJK_CHARACTER_WEIGHT if _CJK_CHAR.match(sentence[end]) else 1
            end += 1
        if end < len(sentence):
            # Prefer the last comma or space in the second half of the window over a cut inside a word.
            breaks = [match.end() for match in _CLAUSE_BREAK.finditer(sentence, start + (end - start) // 2, end)]
            end = breaks[-1] if breaks else end
        pieces.append(sentence[start:end])
        start = end
    return pieces
