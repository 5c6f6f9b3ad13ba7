"""Structure-aware chunking: contracts by article/clause, papers by heading, QA sheets one row per chunk."""

from __future__ import annotations

import re

from pydantic import BaseModel

from knowledge.loaders import LoadedDocument

CHUNKER_VERSION = "3"
MAX_CHARS_ZH = 650
MAX_CHARS_EN = 1100

_MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_ZH_CHAPTER = re.compile(r"^第[一二三四五六七八九十百零〇\d]+[章节部分]\s*\S*")
_ZH_ARTICLE = re.compile(r"^第[一二三四五六七八九十百零〇\d]+条(?:\s|$|[:：、.．])")
_EN_SECTION = re.compile(r"^(?:Section|SECTION|Article|ARTICLE|Clause|CLAUSE)\s+\d+(?:\.\d+)*\b")
_YAML_TOP_KEY = re.compile(r"^([A-Za-z_][\w-]*):")
_SUB_CLAUSE = re.compile(r"^\s*(?:\d+\.\d+(?:\.\d+)*[\s.、)]|[（(][一二三四五六七八九十\d]+[)）]|\d+[、.)]\s)")


class Chunk(BaseModel):
    ordinal: int
    section: str
    text: str


def chunk_document(document: LoadedDocument) -> list[Chunk]:
    """Split a loaded document into citable chunks, each with its section path."""
    if document.qa_rows:
        return [
            Chunk(ordinal=index, section=_qa_section(row.row_number, row.category, row.product),
                  text=f"Q: {row.question}\nA: {row.answer}")
            for index, row in enumerate(document.qa_rows)
        ]
    max_chars = MAX_CHARS_ZH if document.language == "zh" else MAX_CHARS_EN
    is_yaml = document.source.lower().endswith((".yaml", ".yml"))
    chunks: list[Chunk] = []
    for section_path, body in _sections(document.text, is_yaml, document.title):
        for piece in _split_long(body, max_chars):
            if piece.strip():
                chunks.append(Chunk(ordinal=len(chunks), section=section_path or document.title, text=piece.strip()))
    return chunks


def _qa_section(row_number: int, category: str, product: str) -> str:
    details = ", ".join(part for part in (category, product) if part)
    return f"row {row_number}" + (f" ({details})" if details else "")


def heading_level(line: str, is_yaml: bool = False) -> tuple[int, str] | None:
    """(level, title) when the line opens a section: Markdown headings, 第X条, 'Section 4', YAML top keys."""
    stripped = line.strip()
    if not stripped:
        return None
    if is_yaml:
        match = _YAML_TOP_KEY.match(line)
        return (1, match.group(1)) if match else None
    markdown = _MARKDOWN_HEADING.match(stripped)
    if markdown:
        return len(markdown.group(1)), markdown.group(2).strip()
    if len(stripped) <= 40 and _ZH_CHAPTER.match(stripped):
        return 1, stripped
    if _ZH_ARTICLE.match(stripped) and len(stripped) <= 30:
        return 2, stripped
    if _EN_SECTION.match(stripped) and len(stripped) <= 80:
        return 2, stripped
    return None


def _sections(text: str, is_yaml: bool, title: str) -> list[tuple[str, str]]:
    """Walk the lines keeping a heading stack; every heading starts a new section body."""
    stack: list[tuple[int, str]] = []
    sections: list[tuple[str, str]] = []
    body: list[str] = []

    def flush() -> None:
        content = "\n".join(body).strip()
        if content:
            path = [heading for _, heading in stack if heading != title]
            sections.append((" > ".join(path[-2:]), content))
        body.clear()

    for line in text.splitlines():
        heading = heading_level(line, is_yaml)
        if heading is None:
            body.append(line)
            continue
        level, heading_title = heading
        flush()
        while stack and stack[-1][0] >= level:
            stack.pop()
        # The document's own title heading is left out of section paths (citations show it separately).
        stack.append((level, heading_title))
        if is_yaml:
            body.append(line)
    flush()
    return _merge_small_sections(sections) if is_yaml else sections


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


def _split_long(body: str, max_chars: int) -> list[str]:
    """Keep a section whole when it fits; otherwise cut at sub-clauses, then paragraphs, then sentences."""
    if len(body) <= max_chars:
        return [body]
    units: list[str] = []
    current: list[str] = []
    for line in body.splitlines():
        if current and (_SUB_CLAUSE.match(line) or not line.strip() or line.lstrip().startswith("- ")):
            units.append("\n".join(current))
            current = []
        if line.strip():
            current.append(line)
    if current:
        units.append("\n".join(current))
    pieces: list[str] = []
    buffer = ""
    for unit in _sentences_if_needed(units, max_chars):
        if buffer and len(buffer) + len(unit) + 1 > max_chars:
            pieces.append(buffer)
            buffer = unit
        else:
            buffer = f"{buffer}\n{unit}" if buffer else unit
    if buffer:
        pieces.append(buffer)
    return pieces


def _sentences_if_needed(units: list[str], max_chars: int) -> list[str]:
    result: list[str] = []
    for unit in units:
        if len(unit) <= max_chars:
            result.append(unit)
            continue
        sentences = re.split(r"(?<=[。！？；.!?;])\s*", unit)
        result.extend(sentence for sentence in sentences if sentence)
    return result
