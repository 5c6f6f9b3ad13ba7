"""File loaders: Markdown/text/YAML, PDF, DOCX and CSV/XLSX QA sheets into one LoadedDocument shape."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field
from rapidfuzz import fuzz

from knowledge.text import detect_language
from salesbot.roles import EVERYONE, normalize_role
from salesbot.yaml_files import ConfigFileError, parse_yaml_text

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
    raw = path.read_bytes()
    if not raw.strip():
        raise DocumentLoadError("file is empty")
    sidecars = [(sidecar, sidecar.read_bytes()) for sidecar in sidecar_paths(path) if sidecar.is_file()]
    sidecar_raw = b"\0".join(content for _, content in sidecars)
    digest = hashlib.sha256(raw + b"\0" + sidecar_raw + b"\0" + fingerprint.encode()).hexdigest()

    text = ""
    qa_rows: list[QARow] = []
    front_text: str | None = None
    yaml_content: bytes | None = None
    if suffix in {".md", ".markdown", ".txt"}:
        front_text, text = _split_front_matter(_decode_text(raw))
    elif suffix in {".yaml", ".yml"}:
        text = _decode_text(raw)
        yaml_content = raw
    elif suffix == ".pdf":
        text = _read_pdf(raw)
    elif suffix == ".docx":
        text = _read_docx(raw)
    elif suffix == ".csv":
        qa_rows = _qa_rows(_csv_records(raw))
    elif suffix == ".xlsx":
        qa_rows = _qa_rows(_xlsx_records(raw))

    access_warning: str | None = None
    try:
        metadata = _document_metadata(path, sidecars, front_text, yaml_content, text)
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
        title=str(metadata.get("title") or _first_heading(text) or path.stem),
        doc_type=doc_type,
        language=str(metadata.get("language") or detect_language(body)),
        access=access,
        text=text,
        qa_rows=qa_rows,
        content_hash=digest,
        access_warning=access_warning,
        **lists,
    )


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
            return stripped.lstrip("#").strip()
    return None


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
