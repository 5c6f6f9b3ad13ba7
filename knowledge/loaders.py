"""File loaders: Markdown/text/YAML, PDF, DOCX and CSV/XLSX QA sheets into one LoadedDocument shape."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from knowledge.text import detect_language
from salesbot.roles import EVERYONE, normalize_role
from salesbot.yaml_files import ConfigFileError, parse_yaml_text

TEXT_SUFFIXES = {".md", ".markdown", ".txt", ".yaml", ".yml"}
QA_SUFFIXES = {".csv", ".xlsx"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | QA_SUFFIXES | {".pdf", ".docx"}
SIDECAR_SUFFIX = ".meta.yaml"
ENTITY_REGISTRY_NAMES = {"entities.yaml", "entities.yml"}
# Folder READMEs describe a folder, and seed.yaml parameterises a demo sales database: not knowledge to cite.
SKIPPED_NAMES = {"readme.md", "readme.txt", "readme", "seed.yaml", "seed.yml"}
LIST_FIELDS = ("access", "customers", "products", "competitors", "partners")

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.DOTALL)
# A contract's buyer line, in general contract vocabulary: "甲方（买方）：<name>", "买方：<name>",
# "1.1 Buyer: <name>, a company registered in ...". Optional list marker, numbering and bold around the label.
_PARTY_LINE = re.compile(
    r"^[ \t>*\-]*(?:\d+(?:\.\d+)*\.?\s*)?(?:\*\*)?"
    r"(?:甲方\s*[（(]\s*(?:买方|采购方|需方|购买方)\s*[）)]|买方|采购方|需方|购买方|Buyer|Purchaser|Customer)"
    r"(?:\*\*)?\s*[：:](?:\*\*)?[ \t]*(?P<name>[^\n]+)$", re.MULTILINE | re.IGNORECASE)
_PARTY_NAME_END = re.compile(r"[，；;（(\t]|\s{2,}|\s+\(|[\"“]")


class DocumentLoadError(Exception):
    """A file that cannot be ingested; the message says why in words a user can act on."""


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


def is_ingestable(path: Path) -> bool:
    """Documents only: sidecars and the entity registry are read alongside, never as documents."""
    name = path.name.lower()
    if name.endswith(SIDECAR_SUFFIX) or name in ENTITY_REGISTRY_NAMES or name in SKIPPED_NAMES:
        return False
    if name.startswith((".", "_")):
        return False
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.stem + SIDECAR_SUFFIX)


def load_document(path: Path, fingerprint: str = "") -> LoadedDocument:
    """Parse one file; raises DocumentLoadError naming the reason (corrupt, empty, undecodable, unsupported)."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentLoadError(f"unsupported file type {suffix or '(none)'}")
    raw = path.read_bytes()
    if not raw.strip():
        raise DocumentLoadError("file is empty")
    sidecar = sidecar_path(path)
    sidecar_raw = sidecar.read_bytes() if sidecar.exists() else b""
    digest = hashlib.sha256(raw + b"\0" + sidecar_raw + b"\0" + fingerprint.encode()).hexdigest()

    metadata: dict[str, Any] = _parse_yaml_mapping(sidecar_raw, f"sidecar {sidecar.name}") if sidecar_raw else {}
    text = ""
    qa_rows: list[QARow] = []
    if suffix in {".md", ".markdown", ".txt"}:
        text = _decode_text(raw)
        front, text = _split_front_matter(text)
        metadata = {**front, **metadata}
    elif suffix in {".yaml", ".yml"}:
        text = _decode_text(raw)
        parsed = _parse_yaml_mapping(raw, path.name)
        metadata.setdefault("title", parsed.get("title"))
    elif suffix == ".pdf":
        text = _read_pdf(raw)
    elif suffix == ".docx":
        text = _read_docx(raw)
    elif suffix == ".csv":
        qa_rows = _qa_rows(_csv_records(raw))
    elif suffix == ".xlsx":
        qa_rows = _qa_rows(_xlsx_records(raw))

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
        title=str(metadata.get("title") or _first_heading(text) or path.stem),
        doc_type=doc_type,
        language=str(metadata.get("language") or detect_language(body)),
        access=_access_list(metadata.get("access")),
        text=text,
        qa_rows=qa_rows,
        content_hash=digest,
        **lists,
    )


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


def _decode_text(raw: bytes) -> str:
    if b"\x00" in raw[:4096] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DocumentLoadError("binary data, not text (NUL bytes found)")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DocumentLoadError(
            f"not valid UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start}); re-save the file as UTF-8"
        ) from None


def _parse_yaml_mapping(raw: bytes | str, label: str) -> dict[str, Any]:
    try:
        # No anchors or aliases (a few hundred bytes of them expand to gigabytes), a bounded size.
        data = parse_yaml_text(raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw, label)
    except ConfigFileError as error:
        raise DocumentLoadError(f"invalid YAML in {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DocumentLoadError(f"{label} must be a YAML mapping")
    return data


def _split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    return _parse_yaml_mapping(match.group(1), "front matter"), text[match.end():]


def _first_heading(text: str) -> str | None:
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            return stripped.lstrip("#").strip()
    return None


def _string_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    return [str(item).strip() for item in value if str(item).strip()]


def _access_list(value: Any) -> list[str]:
    roles = _string_list(value)
    if not roles:
        return [EVERYONE]
    try:
        return [EVERYONE if role == EVERYONE else normalize_role(role) for role in roles]
    except ValueError as error:
        raise DocumentLoadError(f"bad access list: {error}") from None


def _read_pdf(raw: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw), strict=False)
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as error:
        raise DocumentLoadError(f"corrupt or unreadable PDF ({type(error).__name__}: {error})") from None
    text = "\n\n".join(pages)
    if not text.strip():
        raise DocumentLoadError("PDF has no extractable text (scanned image? run OCR first)")
    return text


def _read_docx(raw: bytes) -> str:
    import zipfile

    import docx

    try:
        document = docx.Document(io.BytesIO(raw))
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise DocumentLoadError(f"corrupt or unreadable DOCX ({type(error).__name__}: {error})") from None
    lines: list[str] = []
    for paragraph in document.paragraphs:
        content = paragraph.text.strip()
        if not content:
            continue
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        level = re.match(r"Heading (\d)", style)
        if style == "Title":
            lines.append(f"# {content}")
        elif level:
            lines.append("#" * (int(level.group(1)) + 1) + " " + content)
        else:
            lines.append(content)
    for table in document.tables:
        for row in table.rows:
            lines.append(" | ".join(cell.text.strip() for cell in row.cells))
    return "\n\n".join(lines)


def _csv_records(raw: bytes) -> list[dict[str, str]]:
    text = _decode_text(raw)
    try:
        return list(csv.DictReader(io.StringIO(text)))
    except csv.Error as error:
        raise DocumentLoadError(f"malformed CSV: {error}") from None


def _xlsx_records(raw: bytes) -> list[dict[str, str]]:
    import zipfile

    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise DocumentLoadError(f"corrupt or unreadable XLSX ({type(error).__name__}: {error})") from None
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    if not rows:
        return []
    header = [str(cell or "").strip().lower() for cell in rows[0]]
    return [{header[i]: "" if cell is None else str(cell) for i, cell in enumerate(row) if i < len(header)}
            for row in rows[1:]]


def _qa_rows(records: list[dict[str, str]]) -> list[QARow]:
    if not records:
        raise DocumentLoadError("QA sheet has no rows")
    columns = {key.strip().lower() for key in records[0] if key}
    missing = {"question", "answer"} - columns
    if missing:
        raise DocumentLoadError(f"QA sheet lacks column(s) {', '.join(sorted(missing))}; need question, answer")
    rows = []
    for number, record in enumerate(records, start=2):  # row 1 is the header
        normalized = {(key or "").strip().lower(): (value or "").strip() for key, value in record.items()}
        if normalized.get("question") and normalized.get("answer"):
            rows.append(QARow(question=normalized["question"], answer=normalized["answer"],
                              product=normalized.get("product", ""), category=normalized.get("category", ""),
                              row_number=number))
    return rows
