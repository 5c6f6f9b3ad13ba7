"""File loaders: Markdown/text/YAML, PDF, DOCX and CSV/XLSX QA sheets into one LoadedDocument shape."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import logging
import math
import re
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field
from rapidfuzz import fuzz

from knowledge.text import detect_language
from salesbot.roles import EVERYONE, normalize_role
from salesbot.text import CJK_CHARACTERS
from salesbot.yaml_files import ConfigFileError, parse_yaml_text

logger = logging.getLogger(__name__)
# pypdf logs every oddity of a damaged PDF as a warning; with no logging configured (the CLI) Python would print
# them to stderr. The ingest report names the file and the reason instead; an app that configures logging still
# receives them.
logging.getLogger("pypdf").addHandler(logging.NullHandler())

TEXT_SUFFIXES = {".md", ".markdown", ".txt", ".yaml", ".yml"}
QA_SUFFIXES = {".csv", ".xlsx"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | QA_SUFFIXES | {".pdf", ".docx"}
SIDECAR_SUFFIX = ".meta.yaml"
# Front matter is metadata, a few lines; anything bigger is a mistake or an attack (checked before YAML parsing).
MAX_FRONT_MATTER_BYTES = 64_000
# What to do with a file whose access metadata is malformed or ambiguous (SALESBOT_INGEST_UNCLEAR_ACCESS).
UNCLEAR_ACCESS_REJECT = "reject"
UNCLEAR_ACCESS_ADMIN = "admin"
ENTITY_REGISTRY_NAMES = {"entities.yaml", "entities.yml"}
# Folder READMEs describe a folder, and seed.yaml parameterises a demo sales database: not knowledge to cite.
SKIPPED_NAMES = {"readme.md", "readme.txt", "readme", "seed.yaml", "seed.yml"}
LIST_FIELDS = ("access", "customers", "products", "competitors", "partners")
# Bigger files are refused before reading: a document this size is an export or a mistake, and reading it whole
# would take the memory of every other file in the batch.
MAX_DOCUMENT_BYTES = 100_000_000

# Front matter: leading blank lines allowed, fences of three or more dashes (a closing "..." as YAML allows).
_FRONT_MATTER = re.compile(r"\A\s*-{3,}[ \t]*\r?\n(.*?)\r?\n(?:-{3,}|\.{3})[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_OPENING_FENCE = re.compile(r"\A\s*-{3,}[ \t]*(?:\r?\n|\Z)")
# A line that sets access ("access:", "- Access :", '"ACCESS":') where no front matter was recognised.
_ACCESS_LINE = re.compile(r"^[\s>*#\-]*[\"']?\s*access\s*[\"']?\s*[:=]", re.IGNORECASE | re.MULTILINE)
# Keys people write when they mean `access`: rejected rather than silently ignored (which would leave it public).
_ACCESS_LOOKALIKES = {"accesslevel", "accesslist", "accessroles", "roles", "role", "allowedroles", "visibility",
                      "audience", "permissions", "permission", "acl", "readers", "restricted", "restrict",
                      "confidential", "confidentiality", "security", "classification", "密级", "权限", "访问权限"}
HEAD_LINES_CHECKED = 40
# A contract's buyer line, in general contract vocabulary: "甲方（买方）：<name>", "买方：<name>",
# "1.1 Buyer: <name>, a company registered in ...". Optional list marker, numbering and bold around the label.
_PARTY_LINE = re.compile(
    r"^[ \t>*\-]*(?:\d+(?:\.\d+)*\.?\s*)?(?:\*\*)?"
    r"(?:甲方\s*[（(]\s*(?:买方|采购方|需方|购买方)\s*[）)]|买方|采购方|需方|购买方|Buyer|Purchaser|Customer)"
    r"(?:\*\*)?\s*[：:](?:\*\*)?[ \t]*(?P<name>[^\n]+)$", re.MULTILINE | re.IGNORECASE)
_PARTY_NAME_END = re.compile(r"[，；;（(\t]|\s{2,}|\s+\(|[\"“]")


class DocumentLoadError(Exception):
    """A file that cannot be ingested; the message says why in words a user can act on."""


class AccessMetadataError(DocumentLoadError):
    """Access metadata that is malformed or ambiguous: the file fails closed (rejected, or admin-only)."""


class QARow(BaseModel):
    question: str
    answer: str
    product: str = ""
    category: str = ""
    row_number: int


class LoadedDocument(BaseModel):
    """A parsed file: text (or QA rows) plus the metadata citations and filters need."""

    path: str
    source: str = Field(description="File name shown in citations.")
    title: str
    doc_type: str
    language: str
    access: list[str] = Field(default_factory=lambda: [EVERYONE])
    customers: list[str] = Field(default_factory=list)
    products: list[str] = Field(default_factory=list)
    competitors: list[str] = Field(default_factory=list)
    partners: list[str] = Field(default_factory=list)
    text: str = ""
    qa_rows: list[QARow] = Field(default_factory=list)
    content_hash: str
    access_warning: str | None = Field(default=None, description="Why access was forced to admin-only, if it was.")


def is_ingestable(path: Path) -> bool:
    """Documents only: sidecars and the entity registry are read alongside, never as documents."""
    name = path.name.lower()
    if name.endswith(SIDECAR_SUFFIX) or name in ENTITY_REGISTRY_NAMES or name in SKIPPED_NAMES:
        return False
    if name.startswith((".", "_")):
        return False
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def sidecar_paths(path: Path) -> list[Path]:
    """Both spellings of a file's sidecar: `X.meta.yaml` and `X.pdf.meta.yaml`."""
    return [path.with_name(path.stem + SIDECAR_SUFFIX), path.with_name(path.name + SIDECAR_SUFFIX)]


def sidecar_path(path: Path) -> Path:
    return sidecar_paths(path)[0]


def load_document(path: Path, fingerprint: str = "", unclear_access: str = UNCLEAR_ACCESS_REJECT) -> LoadedDocument:
    """Parse one file; raises DocumentLoadError naming the reason (corrupt, empty, undecodable, unsupported).

    Access metadata fails closed: a malformed or ambiguous access list raises AccessMetadataError, or with
    unclear_access="admin" the file is kept, readable by admins only, with the reason in `access_warning`."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentLoadError(f"unsupported file type {suffix or '(none)'}")
    size = path.stat().st_size
    if size > MAX_DOCUMENT_BYTES:
        raise DocumentLoadError(f"file too large ({size / 1e6:.0f} MB; the limit is {MAX_DOCUMENT_BYTES / 1e6:.0f} MB): "
                                "split it into smaller files")
    raw = path.read_bytes()
    if not raw.strip():
        raise DocumentLoadError("file is empty")
    sidecars = [(sidecar, sidecar.read_bytes()) for sidecar in sidecar_paths(path) if sidecar.is_file()]
    sidecar_raw = b"\0".join(content for _, content in sidecars)
    digest = hashlib.sha256(raw + b"\0" + sidecar_raw + b"\0" + fingerprint.encode()).hexdigest()

    content = _read_content(suffix, raw)
    text, qa_rows = content.text, content.qa_rows
    access_warning: str | None = None
    try:
        metadata = _document_metadata(path, sidecars, content.front_text, content.yaml_content, text)
        access = _access_list(metadata)
    except AccessMetadataError as error:
        if unclear_access != UNCLEAR_ACCESS_ADMIN:
            raise
        metadata, access, access_warning = {}, ["admin"], str(error)
    body = text or " ".join(row.question + " " + row.answer for row in qa_rows)
    if not body.strip():
        raise DocumentLoadError("no text found in the file")
    doc_type = str(metadata.get("doc_type") or ("faq" if qa_rows else "note"))
    lists = {name: _string_list(metadata.get(name)) for name in LIST_FIELDS if name != "access"}
    if doc_type == "contract" and not lists["customers"]:
        lists["customers"] = contract_party_names(text)
    return LoadedDocument(
        path=str(path.resolve()),
        source=path.name,
        title=_clean_title(metadata.get("title")) or content.title or path.stem,  # the stem: last resort
        doc_type=doc_type,
        language=str(metadata.get("language") or detect_language(body)),
        access=access,
        text=text,
        qa_rows=qa_rows,
        content_hash=digest,
        access_warning=access_warning,
        **lists,
    )


@dataclass
class _FileContent:
    """What a file's format gives: text or QA rows, front matter / YAML to read metadata from, its own title."""

    text: str = ""
    qa_rows: list[QARow] = field(default_factory=list)
    front_text: str | None = None
    yaml_content: bytes | None = None
    title: str | None = None


# What a parser's failure tells the user: the parsers raise many kinds of errors (zip, XML, PDF syntax, recursion,
# codec) whose text means nothing to them; the detail goes to the debug log.
_UNREADABLE = {
    ".pdf": "corrupt or unreadable PDF (damaged, or not really a PDF file)",
    ".docx": "corrupt or unreadable DOCX (damaged, or not really a Word .docx file)",
    ".xlsx": "corrupt or unreadable XLSX (damaged, or not really an Excel .xlsx file)",
    ".csv": "malformed CSV (could not be read as a table with a header row)",
}


def _read_content(suffix: str, raw: bytes) -> _FileContent:
    """Parse the file by its format; whatever a parser raises becomes a DocumentLoadError naming the problem."""
    try:
        with warnings.catch_warnings():  # parsers warn about what they repair; the report is what the user reads
            warnings.simplefilter("ignore")
            return _parse_content(suffix, raw)
    except DocumentLoadError:
        raise
    except RecursionError:
        raise DocumentLoadError(f"{_format_name(suffix)} structure nested too deeply to read (damaged file?)") from None
    except MemoryError:
        raise DocumentLoadError(f"{_format_name(suffix)} content too large to read into memory") from None
    except Exception:  # any parser failure is this file's problem, never the batch's
        logger.debug("could not parse %s content", suffix, exc_info=True)
        raise DocumentLoadError(_UNREADABLE.get(suffix, "unreadable file")) from None


def _format_name(suffix: str) -> str:
    return suffix.lstrip(".").upper() or "file"


def _parse_content(suffix: str, raw: bytes) -> _FileContent:
    if suffix in {".md", ".markdown"}:
        front_text, text = _split_front_matter(decode_text(raw))
        return _FileContent(text=text, front_text=front_text, title=_first_heading(text) or _title_line(text))
    if suffix == ".txt":
        front_text, text = _split_front_matter(decode_text(raw))
        text = normalise_pages(text.split("\f"))  # plain text is often extracted or hard-wrapped
        return _FileContent(text=text, front_text=front_text, title=_first_heading(text) or _title_line(text))
    if suffix in {".yaml", ".yml"}:
        text = decode_text(raw)
        return _FileContent(text=text, yaml_content=raw, title=_first_heading(text))
    if suffix == ".pdf":
        return _read_pdf(raw)
    if suffix == ".docx":
        return _read_docx(raw)
    if suffix == ".csv":
        return _FileContent(qa_rows=_qa_rows(_csv_records(raw)))
    return _FileContent(qa_rows=_qa_rows(_xlsx_records(raw)))


def _document_metadata(path: Path, sidecars: list[tuple[Path, bytes]], front_text: str | None,
                       yaml_content: bytes | None, text: str) -> dict[str, Any]:
    """Metadata from front matter or a .yaml document's own top level, then the sidecar(s), keys lowercased.

    Two sources that set access differently are ambiguous, as is an access line outside recognised front matter."""
    sources: list[tuple[str, dict[str, Any]]] = []
    if front_text is not None:
        sources.append(("front matter", _metadata_mapping(front_text, "front matter")))
    elif path.suffix.lower() in {".md", ".markdown", ".txt"}:
        head = "\n".join(text.lstrip().splitlines()[:HEAD_LINES_CHECKED])
        if _OPENING_FENCE.match(text) or _ACCESS_LINE.search(head):
            raise AccessMetadataError(
                "front matter not recognised: put metadata first, between two lines of ---, with `access: [role]`")
    if yaml_content is not None:
        content = _parse_yaml_mapping(yaml_content, path.name)
        if any(str(key).strip().lower() == "access" for key in content):
            _refuse_repeated_keys(yaml_content, path.name)
        # A YAML document's own top-level `access` (any case) is its access metadata, as front matter would be.
        own: dict[str, Any] = {}
        for key, value in content.items():
            name = str(key).strip().lower()
            if name in {"access", "title"}:
                if name in own:
                    raise AccessMetadataError(f"{path.name}: key {name!r} given twice (keys are case-insensitive)")
                own[name] = value
        sources.append((path.name, own))
    if len(sidecars) > 1:
        raise AccessMetadataError(f"two sidecars ({sidecars[0][0].name} and {sidecars[1][0].name}): keep one")
    for sidecar, sidecar_bytes in sidecars:
        sources.append((f"sidecar {sidecar.name}", _metadata_mapping(sidecar_bytes, f"sidecar {sidecar.name}")))
    metadata: dict[str, Any] = {}
    access_from: str | None = None
    for label, values in sources:
        if "access" in values:
            if access_from is not None and values["access"] != metadata["access"]:
                raise AccessMetadataError(f"access set differently in {access_from} and {label}: keep one")
            access_from = label
        metadata.update(values)
    return metadata


def _metadata_mapping(raw: bytes | str, label: str) -> dict[str, Any]:
    if len(raw if isinstance(raw, bytes) else raw.encode("utf-8", errors="ignore")) > MAX_FRONT_MATTER_BYTES:
        raise AccessMetadataError(f"{label} larger than {MAX_FRONT_MATTER_BYTES // 1000} kB; metadata is a few lines")
    try:
        values = _lowercase_keys(_parse_yaml_mapping(raw, label), label)
        _refuse_repeated_keys(raw, label)
        return values
    except AccessMetadataError:
        raise
    except DocumentLoadError as error:  # metadata we cannot read may hold an access list: fail closed
        raise AccessMetadataError(str(error)) from None


def _refuse_repeated_keys(raw: bytes | str, label: str) -> None:
    """PyYAML keeps the last of two equal keys silently (`access: [manager]` then `access: ['*']`): refuse.

    Runs only after parse_yaml_text accepted the text (no aliases), so composing the node tree is cheap."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(node, yaml.MappingNode):
        return
    seen: set[str] = set()
    for key_node, _value in node.value:
        name = str(key_node.value).strip().lower() if isinstance(key_node, yaml.ScalarNode) else repr(key_node)
        if name in seen:
            raise AccessMetadataError(f"{label}: key {name!r} given twice (keys are case-insensitive)")
        seen.add(name)


def _lowercase_keys(values: dict[str, Any], label: str) -> dict[str, Any]:
    """Keys matched case-insensitively; `Access` and `access` in one mapping is ambiguous."""
    lowered: dict[str, Any] = {}
    for key, value in values.items():
        name = str(key).strip().lower()
        if name in lowered:
            raise AccessMetadataError(f"{label}: key {name!r} given twice (keys are case-insensitive)")
        if _looks_like_access(name):
            raise AccessMetadataError(f"{label}: unknown key {str(key)!r}; did you mean `access: [role]`?")
        lowered[name] = value
    return lowered


def _looks_like_access(name: str) -> bool:
    squashed = re.sub(r"[\s_\-.]+", "", name)
    if squashed == "access" or name == "access":
        return False
    return squashed in _ACCESS_LOOKALIKES or (squashed.startswith("access") and len(squashed) <= 14) or (
        len(squashed) >= 4 and fuzz.ratio(squashed, "access") >= 80)


def contract_party_names(text: str) -> list[str]:
    """Buyers a contract's party lines name (for contracts whose metadata lists no customer)."""
    from knowledge.graph import LATIN_LEGAL_FORMS

    legal_forms = {form.lower().rstrip(".") for form in LATIN_LEGAL_FORMS}
    names: list[str] = []
    for match in _PARTY_LINE.finditer(text):
        raw = match["name"].strip().strip("*").strip()
        cut = _PARTY_NAME_END.search(raw)
        head = raw[: cut.start()] if cut else raw
        # "Foo Co., Ltd., a company ..." : keep comma-separated pieces that are legal forms, stop at the rest.
        pieces = head.split(",")
        name = pieces[0]
        for piece in pieces[1:]:
            if piece.strip().lower().rstrip(".") in legal_forms:
                name += "," + piece
            else:
                break
        name = name.strip().strip("*\"“”'").strip()
        if len(name) >= 2 and name not in names:
            names.append(name)
    return names


# Byte-order marks, longest first (a UTF-32 LE mark begins with the UTF-16 LE one).
_BYTE_ORDER_MARKS = ((codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"), (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
                     (codecs.BOM_UTF8, "utf-8", "UTF-8"), (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
                     (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"))
# Characters looked at when judging whether decoded bytes are text (enough to tell, bounded for huge files).
TEXT_SAMPLE_CHARS = 64_000
# Share of characters that must be ordinary (letters, digits, punctuation, symbols, spaces) for decoded bytes to
# count as text: random bytes that happen to decode give unassigned, private-use and control characters.
MIN_ORDINARY_SHARE = 0.97
_NOT_ORDINARY = {"Cc", "Cn", "Co", "Cs"}


def decode_text(raw: bytes) -> str:
    """Bytes of a text file as text: a byte-order mark decides (UTF-8/16/32), else UTF-8, else Chinese GB18030.

    Anything else is refused with a reason rather than guessed (a wrong guess indexes garbage)."""
    for mark, codec, label in _BYTE_ORDER_MARKS:
        if raw.startswith(mark):
            try:
                text = raw[len(mark):].decode(codec)
            except UnicodeDecodeError:
                raise DocumentLoadError(f"starts with a {label} byte-order mark but is not valid {label} text "
                                        "(damaged file?); re-save it as UTF-8") from None
            return _refuse_binary(text)
    if b"\x00" in raw[:4096]:
        raise DocumentLoadError("binary data, not text (NUL bytes found)")
    try:
        return _refuse_binary(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        utf8_error = error
    chinese = _decode_gb18030(raw)
    if chinese is not None:
        return chinese
    raise DocumentLoadError(
        f"not valid UTF-8 text (byte 0x{raw[utf8_error.start]:02x} at offset {utf8_error.start}), nor UTF-16 with a "
        "byte-order mark, nor Chinese GB18030; re-save the file as UTF-8")


def _refuse_binary(text: str) -> str:
    if not _looks_like_text(text):
        raise DocumentLoadError("binary data, not text (control or unassigned characters)")
    return text


def _looks_like_text(text: str) -> bool:
    sample = text[:TEXT_SAMPLE_CHARS]
    odd = sum(1 for char in sample if char not in "\t\n\r\f\v" and unicodedata.category(char) in _NOT_ORDINARY)
    return odd <= (1 - MIN_ORDINARY_SHARE) * len(sample)


def _decode_gb18030(raw: bytes) -> str | None:
    """GB18030 text when the bytes are plausibly Chinese: GB18030 decodes many non-Chinese byte strings, so most
    non-ASCII characters must lie in the common GB2312 set (Latin-1 text read as GB18030 gives rare characters)."""
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        return None
    wide = [char for char in text[:TEXT_SAMPLE_CHARS] if ord(char) > 0x7F]
    common = sum(1 for char in wide if _in_gb2312(char))
    if not wide or common < MIN_ORDINARY_SHARE * len(wide) or not _looks_like_text(text):
        return None
    return text


def _in_gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _parse_yaml_mapping(raw: bytes | str, label: str) -> dict[str, Any]:
    try:
        # No anchors or aliases (a few hundred bytes of them expand to gigabytes), a bounded size.
        data = parse_yaml_text(raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw, label)
    except ConfigFileError as error:
        raise DocumentLoadError(f"invalid YAML in {error}") from None
    except RecursionError:
        raise DocumentLoadError(f"invalid YAML in {label}: nested too deeply") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DocumentLoadError(f"{label} must be a YAML mapping")
    return data


def _split_front_matter(text: str) -> tuple[str | None, str]:
    """(front matter YAML text or None, the rest); the size cap applies before any YAML parsing."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return None, text
    return match.group(1), text[match.end():]


def _first_heading(text: str) -> str | None:
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            return stripped.lstrip("#").strip() or None
    return None


# Lines at the top of a document that label it rather than name it: exhibit numbers, confidentiality and draft
# stamps, reference numbers and dates ("Agreement No.: …", "合同编号：…", "Effective Date: …").
_LABEL_LINE = re.compile(
    r"^(?:ex(?:hibit)?[\s.\-]*\d|schedule\s+\w+$|annex\s+\w+$|appendix\s+\w+$|attachment\s+\w+$|"
    r"(?:strictly\s+)?confidential|execution\s+(?:version|copy)|draft\b|page\s+\d)|[:：]|^\W*\d",
    re.IGNORECASE)
TITLE_LINES_CHECKED = 8
MAX_TITLE_CHARS = 120


def _title_line(text: str) -> str | None:
    """A plain document's own title: the first short line near the top that is not a label, a date or a sentence."""
    lines = [line.strip() for line in text.splitlines() if line.strip()][:TITLE_LINES_CHECKED]
    for line in lines:
        if line.startswith(("|", "-", "*", "#", ">")) or _LABEL_LINE.search(line):
            continue
        if len(line) > MAX_TITLE_CHARS or line.endswith((".", "。", ";", "；", ",", "，")):
            return None  # the body has begun: a paragraph is not a title
        if sum(char.isalpha() for char in line) >= 2:
            return line
    return None


# Titles PDF and Office tools write by themselves: a file name, "Microsoft Word - draft.docx", "Untitled".
_TOOL_TITLE = re.compile(r"^(?:microsoft\s+\w+\s+-\s|untitled\b|document\d*$|slide\s*\d+$)|\.(?:docx?|pdf|rtf|txt|"
                         r"odt|pages|indd|xlsx?|pptx?)$", re.IGNORECASE)


def _clean_title(value: Any) -> str | None:
    """A title worth showing in a citation, or None (empty, or one a tool wrote by itself)."""
    if value is None:
        return None
    title = re.sub(r"\s+", " ", str(value)).strip()
    if not title or _TOOL_TITLE.search(title) or not any(char.isalpha() for char in title):
        return None
    return title[:MAX_TITLE_CHARS * 2]


def _string_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    return [str(item).strip() for item in value if str(item).strip()]


def _access_list(metadata: dict[str, Any]) -> list[str]:
    """The roles that may read the document; no `access` key means everyone, anything unclear is an error."""
    if "access" not in metadata:
        return [EVERYONE]
    value = metadata["access"]
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(item, str) and item.strip() for item in items):
        raise AccessMetadataError(
            f"bad access list {value!r}: give one or more roles, e.g. `access: [manager]` (or `access: ['*']`)")
    try:
        roles = [EVERYONE if role.strip() == EVERYONE else normalize_role(role) for role in items]
    except ValueError as error:
        raise AccessMetadataError(f"bad access list: {error}") from None
    if EVERYONE in roles and len(set(roles)) > 1:
        raise AccessMetadataError(f"bad access list {value!r}: '*' (everyone) together with roles is ambiguous")
    return list(dict.fromkeys(roles))


# --- Extracted text: PDF pages and plain text as a reader sees them -------------------------------------------

_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_CJK_OR_PUNCT = f"[{CJK_CHARACTERS}\u3000-\u303f\uff00-\uffef]"
_CJK_GAP = re.compile(f"(?<={_CJK_OR_PUNCT}) (?={_CJK_OR_PUNCT})")
_CJK_CHAR = re.compile(f"[{CJK_CHARACTERS}]")
_CJK_OR_PUNCT_CHAR = re.compile(_CJK_OR_PUNCT)
# A line of Chinese whose characters an extractor spaced out ("甲 方 应 于") has a gap after most characters;
# a heading's one separating space ("第一条 合同标的") is kept.
SPACED_OUT_GAP_SHARE = 0.3
# Where a line starts a new unit (a list item, clause or heading): never joined to the line before, and where
# the chunker may cut a long section.
UNIT_START = re.compile(
    r"^(?:[-*•·▪●◦]\s|\(?[a-zA-Z]\)\s|\(?[ivxlcIVXLC]+\)\s|[a-zA-Z]\.\s|"
    rf"\d{{1,3}}(?:\.\d{{1,3}})*[.)、]?\s+(?=[A-Z(\"“{CJK_CHARACTERS}])|"
    r"第[一二三四五六七八九十百千零〇\d]+[章节条款部分编]|[一二三四五六七八九十百]+[、.．]|[（(][一二三四五六七八九十\d]+[)）]|"
    r"(?:ARTICLE|Article|SECTION|Section|Clause|CLAUSE|§)\s*\w)")
SENTENCE_END = tuple(".!?;:。！？；：…")
_CONTINUES = tuple(",，、")
# A line at least this share of the text's usual full line width, ending mid-sentence, was wrapped by the layout.
WRAPPED_LINE_SHARE = 0.7
MIN_LINES_FOR_WIDTH = 5
# Page furniture: lines in the first or last HEADER_ZONE_LINES of a page that repeat on most pages (digits
# ignored) are running headers/footers; page numbers in that zone go too.
HEADER_ZONE_LINES = 2
REPEATED_ON_PAGES_SHARE = 0.6
_PAGE_NUMBER = re.compile(r"^(?:[-–—]\s*)?(?:page\s*)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?(?:\s*[-–—])?$|"
                          r"^第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?$", re.IGNORECASE)


def normalise_pages(pages: list[str]) -> str:
    """Text extracted page by page, as a reader sees it: column-aligned tables as Markdown rows, running headers,
    footers and page numbers dropped, runs of spaces collapsed, Chinese not broken by spurious spaces, hyphenated
    and wrapped lines joined; blank lines (paragraph breaks) kept, one at a time."""
    lines = _drop_page_furniture([layout_tables_as_rows(page.splitlines()) for page in pages])
    tidy = [line if line.startswith("|") else _tidy_line(line) for line in lines]
    return "\n".join(_join_wrapped_lines(tidy)).strip()


def _tidy_line(line: str) -> str:
    line = _SPACES.sub(" ", line).strip()
    cjk = len(_CJK_CHAR.findall(line))
    if cjk >= 4:
        gaps = len(_CJK_GAP.findall(line))
        if gaps >= 2 and gaps >= SPACED_OUT_GAP_SHARE * cjk:
            line = _CJK_GAP.sub("", line)
    return line


def _drop_page_furniture(pages: list[list[str]]) -> list[str]:
    """The pages' lines without running headers, footers and page numbers.

    Furniture sits in the first or last lines of a page and repeats on most pages, either word for word or with
    a number that counts the pages ("Contract LS-7 — page 3 of 9"); a heading that happens to open several
    pages differs in its words, or its numbers do not follow the pages."""
    if len(pages) < 2:
        return [line for page in pages for line in page]
    zones = [_furniture_zone(page) for page in pages]
    needed = max(2, math.ceil(REPEATED_ON_PAGES_SHARE * len(pages)))
    exact: dict[str, int] = {}
    masked: dict[str, list[tuple[int, str]]] = {}
    for number, (page, indexes) in enumerate(zip(pages, zones, strict=True), start=1):
        for text in {_furniture_text(page[index]) for index in indexes}:
            exact[text] = exact.get(text, 0) + 1
            masked.setdefault(re.sub(r"\d+", "#", text), []).append((number, text))

    def is_furniture(text: str) -> bool:
        if _PAGE_NUMBER.match(text) or exact[text] >= needed:
            return True
        occurrences = masked[re.sub(r"\d+", "#", text)]
        return len(occurrences) >= needed and _counts_pages(occurrences)

    kept: list[str] = []
    for page, indexes in zip(pages, zones, strict=True):
        furniture = {index for index in indexes if is_furniture(_furniture_text(page[index]))}
        kept.extend(line for index, line in enumerate(page) if index not in furniture)
    return kept


def _furniture_zone(page: list[str]) -> list[int]:
    # Table rows are content: a datasheet's rows look alike from page to page once digits are ignored.
    filled = [index for index, line in enumerate(page) if line.strip() and not line.startswith("|")]
    return sorted(set(filled[:HEADER_ZONE_LINES] + filled[-HEADER_ZONE_LINES:]))


def _furniture_text(line: str) -> str:
    return _SPACES.sub(" ", line).strip().lower()


def _counts_pages(occurrences: list[tuple[int, str]]) -> bool:
    """Whether some number in the line is the page number plus the same offset on every page."""
    offsets: set[int] | None = None
    for page_number, text in occurrences:
        found = {int(number) - page_number for number in re.findall(r"\d{1,4}", text)}
        offsets = found if offsets is None else offsets & found
    return bool(offsets)


def _join_wrapped_lines(lines: list[str]) -> list[str]:
    """Lines a layout broke mid-sentence joined back; one blank line between paragraphs."""
    widths = sorted(len(line) for line in lines if line and not line.startswith("|"))
    width = widths[int(0.9 * (len(widths) - 1))] if len(widths) >= MIN_LINES_FOR_WIDTH else 0
    joined: list[str] = []
    for line in lines:
        if not line:
            if joined and joined[-1]:
                joined.append("")
            continue
        previous = joined[-1] if joined else ""
        if previous and previous[-1] == "-" and previous[-2:-1].isalpha() and line[0].islower() \
                and not previous.startswith("|"):
            joined[-1] = previous[:-1] + line  # "agree-" + "ment"
        elif _continues_line(previous, line, width):
            glue = "" if _CJK_OR_PUNCT_CHAR.match(previous[-1]) and _CJK_OR_PUNCT_CHAR.match(line[0]) else " "
            joined[-1] = previous + glue + line
        else:
            joined.append(line)
    return joined


def _continues_line(previous: str, line: str, width: int) -> bool:
    """Whether `line` carries on the sentence `previous` left unfinished."""
    if not previous or previous.startswith("|") or line.startswith("|") or UNIT_START.match(line):
        return False
    if previous.endswith(SENTENCE_END):
        return False
    if previous.endswith(_CONTINUES) or line[0].islower():
        return True
    wrapped = bool(width) and len(previous) >= WRAPPED_LINE_SHARE * width
    # An all-capitals line is a caption ("PAYMENT TERMS"), not the rest of a sentence.
    return wrapped and not line.isupper() and not previous.isupper()


# --- PDF -------------------------------------------------------------------------------------------------------

# Table cells in layout-preserving extraction are separated by runs of three or more spaces.
_CELL = re.compile(r"\S+(?: {1,2}\S+)*")
MIN_TABLE_CELLS = 2
# A header and at least two rows: two aligned lines are as often wrapped prose in a layout column as a table.
MIN_TABLE_ROWS = 3
# Cells of a real table are short; two columns of prose side by side are not a table.
MAX_MEAN_CELL_CHARS = 30
# A cell ending a Chinese sentence is prose laid out in columns, not a table cell.
_SENTENCE_ENDS = ("。", "；", "！", "？")


def _read_pdf(raw: bytes) -> _FileContent:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(raw), strict=False)
    if reader.is_encrypted and not reader.decrypt(""):
        raise DocumentLoadError("PDF is password-protected; save an unprotected copy")
    pages = [_pdf_page_text(page) for page in reader.pages]
    text = normalise_pages(pages)
    scanned = [number for number, page in enumerate(pages) if len(page.strip()) < MIN_TEXT_LAYER_CHARS]
    if not scanned:
        return _FileContent(text=text, title=_pdf_metadata_title(reader) or _title_line(text))
    ocr_text = _ocr_pdf_pages(reader, scanned)
    if not ocr_text:
        if text.strip():
            return _FileContent(text=text, title=_pdf_metadata_title(reader) or _title_line(text))
        raise DocumentLoadError("PDF has no extractable text, and OCR found none on its scanned pages "
                                "(images unreadable, blank, or OCR not installed)")
    for number, page_text in ocr_text.items():
        # The marker heading makes the page its own section, so every chunk and citation from it says "(OCR)".
        pages[number] = f"# {OCR_SECTION_TITLE.format(page=number + 1)}\n\n{page_text}"
    text = normalise_pages(pages)
    body_title = _title_line("\n".join(ocr_text.values()))
    return _FileContent(text=text, title=_pdf_metadata_title(reader) or body_title)


def _ocr_pdf_pages(reader: Any, numbers: list[int]) -> dict[int, str]:
    """OCR text of the embedded images of pages that have no text layer (a scan is one image a page), by page
    index. An image OCR cannot read is skipped: one bad scan never fails the file."""
    from knowledge.ocr import ocr_available, ocr_image

    if not ocr_available():
        logger.info("PDF pages without a text layer skipped: OCR is not installed")
        return {}
    found: dict[int, str] = {}
    for count, number in enumerate(numbers):
        if count >= MAX_OCR_PAGES:  # ~2 s a page on 2 cores: bound what one file can cost the ingest
            logger.warning("PDF has more than %d scanned pages; the rest were not OCRed", MAX_OCR_PAGES)
            break
        try:
            images = list(reader.pages[number].images)[:MAX_OCR_IMAGES_PER_PAGE]
        except Exception:  # damaged image streams: pypdf raises many kinds
            logger.debug("images of PDF page %d unreadable", number + 1, exc_info=True)
            continue
        texts: list[str] = []
        for image in images:
            try:
                result = ocr_image(image.data)
            except Exception:  # OcrError or anything else; never-die: an unreadable image costs its text, not the file
                logger.debug("OCR failed on an image of PDF page %d", number + 1, exc_info=True)
                continue
            if result.text.strip():
                texts.append(result.text)
        if texts:
            found[number] = "\n\n".join(texts)
    return found


# A page with fewer characters than this in its text layer is a scan (at most a stray page number or stamp).
MIN_TEXT_LAYER_CHARS = 20
MAX_OCR_PAGES = 60
MAX_OCR_IMAGES_PER_PAGE = 4
OCR_SECTION_TITLE = "Page {page} (OCR)"


def _pdf_metadata_title(reader: Any) -> str | None:
    """/Title from the document information, if it is a real title; damaged metadata never fails the file."""
    try:
        metadata = reader.metadata
        return _clean_title(metadata.title if metadata is not None else None)
    except Exception:  # the text was readable; a title is a nicety
        logger.debug("unreadable PDF metadata", exc_info=True)
        return None


def _pdf_page_text(page: Any) -> str:
    """A page's text with its layout (so table columns stay apart); plain extraction when the layout mode
    cannot read the page."""
    try:
        layout = page.extract_text(extraction_mode="layout") or ""
    except Exception:  # layout mode is pickier than plain mode about odd fonts
        logger.debug("layout extraction failed; using plain extraction", exc_info=True)
        return page.extract_text() or ""
    if not layout.strip():  # some producers' pages come out blank in layout mode but read in plain mode
        return page.extract_text() or ""
    return layout


def layout_tables_as_rows(lines: list[str]) -> list[str]:
    """Runs of column-aligned lines become Markdown table rows ("| Parameter | Value | Unit |"), the first one the
    header (so each row can be quoted with it); every other line is returned unchanged."""
    output: list[str] = []
    index = 0
    while index < len(lines):
        table, consumed = _table_at(lines, index)
        if table:
            output.extend(table)
            index += consumed
        else:
            output.append(lines[index])
            index += 1
    return output


def _cells(line: str) -> list[tuple[int, str]]:
    return [(match.start(), match.group(0)) for match in _CELL.finditer(line)]


def _table_at(lines: list[str], start: int) -> tuple[list[str], int]:
    """(Markdown rows, lines consumed) for a table starting at lines[start], or ([], 0)."""
    header = _cells(lines[start])
    if len(header) < MIN_TABLE_CELLS:
        return [], 0
    columns = [position for position, _ in header]
    rows: list[list[str]] = [[cell for _, cell in header]]
    index = start + 1
    while index < len(lines):
        cells = _cells(lines[index])
        if not cells:
            if index + 1 < len(lines) and _column_slots(_cells(lines[index + 1]), columns):
                index += 1  # one blank line between two rows of the table
                continue
            break
        slots = _column_slots(cells, columns)
        if slots is None:
            break
        if len(cells) >= MIN_TABLE_CELLS:
            row = [""] * len(columns)
            for slot, (_, cell) in zip(slots, cells, strict=True):
                row[slot] = cell
            rows.append(row)
        elif slots[0] != 0:  # a cell's wrapped second line, under its own column
            rows[-1][slots[0]] = f"{rows[-1][slots[0]]} {cells[0][1]}".strip()
        else:
            break  # a line of text under the first column: the table has ended
        index += 1
    filled = [cell for row in rows for cell in row if cell]
    if len(rows) < MIN_TABLE_ROWS or sum(_display_width(cell) for cell in filled) > MAX_MEAN_CELL_CHARS * len(filled) \
            or any(cell.endswith(_SENTENCE_ENDS) for cell in filled):
        return [], 0
    rendered = ["| " + " | ".join(row) + " |" for row in rows]
    return [rendered[0], "| " + " | ".join("---" for _ in columns) + " |", *rendered[1:]], index - start


def _display_width(cell: str) -> int:
    """Width in Latin columns: a CJK character is two wide (so Chinese prose isn't mistaken for short cells)."""
    return len(cell) + sum(1 for char in cell if "\u2e80" <= char <= "\u9fff" or "\uf900" <= char <= "\uffef")


def _column_slots(cells: list[tuple[int, str]], columns: list[int]) -> list[int] | None:
    """The header column each cell falls under (cells left to right in distinct columns), or None."""
    if not cells:
        return None
    slots: list[int] = []
    for position, cell in cells:
        slot = max((number for number, column in enumerate(columns) if column <= position + 1), default=0)
        following = columns[slot + 1] if slot + 1 < len(columns) else None
        if (slots and slot <= slots[-1]) or (following is not None and position + len(cell) > following + 1):
            return None
        slots.append(slot)
    return slots


# --- DOCX ------------------------------------------------------------------------------------------------------

def _read_docx(raw: bytes) -> _FileContent:
    """Paragraphs and tables in document order; Word headings as Markdown headings, tables as Markdown rows."""
    import docx
    from docx.table import Table

    document = docx.Document(io.BytesIO(raw))
    blocks: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            blocks.append("\n".join(_docx_table_rows(item)))
            continue
        content = _tidy_line(item.text)
        if not content:
            continue
        style = (item.style.name if item.style is not None else "") or ""
        level = re.match(r"Heading (\d)", style)
        if style == "Title":
            blocks.append(f"# {content}")
        elif level:
            blocks.append("#" * (int(level.group(1)) + 1) + " " + content)
        else:
            blocks.append(content)
    text = "\n\n".join(block for block in blocks if block)
    core_title = _clean_title(document.core_properties.title)
    return _FileContent(text=text, title=_first_heading(text) or core_title or _title_line(text))


def _docx_table_rows(table: Any) -> list[str]:
    rows: list[str] = []
    for row in table.rows:
        cells: list[Any] = []
        for cell in row.cells:  # a merged cell is returned once per grid column it spans: keep it once
            if not cells or cell._tc is not cells[-1]._tc:
                cells.append(cell)
        texts = [_tidy_line(cell.text.replace("\n", " ")).replace("|", "/") for cell in cells]
        if any(texts):
            rows.append("| " + " | ".join(texts) + " |")
    if len(rows) >= 2:
        header_cells = rows[0].count(" | ") + 1
        rows.insert(1, "| " + " | ".join("---" for _ in range(header_cells)) + " |")
    return rows


# --- QA sheets -------------------------------------------------------------------------------------------------

_QA_DELIMITERS = (",", "\t", ";", "|")


def _csv_records(raw: bytes) -> list[dict[str, str]]:
    text = decode_text(raw)
    try:
        return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=_csv_delimiter(text)))
    except csv.Error as error:
        raise DocumentLoadError(f"malformed CSV: {error}") from None


def _csv_delimiter(text: str) -> str:
    """The delimiter whose header row names both question and answer (Excel exports ";" or tab in some locales)."""
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    for delimiter in _QA_DELIMITERS:
        names = {name.strip().lower() for name in next(csv.reader([header], delimiter=delimiter), [])}
        if {"question", "answer"} <= names:
            return delimiter
    return ","


def _xlsx_records(raw: bytes) -> list[dict[str, str]]:
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    try:
        if not workbook.worksheets:
            return []
        rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    finally:
        workbook.close()
    if not rows:
        return []
    header = [str(cell or "").strip().lower() for cell in rows[0]]
    return [{header[i]: "" if cell is None else str(cell) for i, cell in enumerate(row) if i < len(header)}
            for row in rows[1:]]


def _qa_rows(records: list[dict[str, str]]) -> list[QARow]:
    if not records:
        raise DocumentLoadError("QA sheet has no rows")
    columns = {key.strip().lower() for key in records[0] if isinstance(key, str)}
    missing = {"question", "answer"} - columns
    if missing:
        raise DocumentLoadError(f"QA sheet lacks column(s) {', '.join(sorted(missing))}; need question, answer")
    rows = []
    for number, record in enumerate(records, start=2):  # row 1 is the header
        # Cells past the header (csv puts them in a list under the key None) and missing cells (None) are skipped.
        normalized = {key.strip().lower(): value.strip() for key, value in record.items()
                      if isinstance(key, str) and isinstance(value, str)}
        if normalized.get("question") and normalized.get("answer"):
            rows.append(QARow(question=normalized["question"], answer=normalized["answer"],
                              product=normalized.get("product", ""), category=normalized.get("category", ""),
                              row_number=number))
    return rows
