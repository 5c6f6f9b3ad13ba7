"""Loaders parse metadata and turn bad files into clear, named errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.loaders import DocumentLoadError, load_document
from tests.pdf_factory import write_text_pdf

DOCUMENTS_DIR = Path(__file__).resolve().parents[2] / "data" / "documents"


def test_front_matter_sets_metadata_and_access(tmp_path: Path) -> None:
    path = tmp_path / "policy.md"
    path.write_text("---\ntitle: Discount policy\ndoc_type: policy\naccess: [manager]\nproducts: [QM-X3]\n---\n"
                    "# Discount policy\nFloor is 100.\n", encoding="utf-8")
    document = load_document(path)
    assert (document.title, document.doc_type, document.access, document.products) == (
        "Discount policy", "policy", ["manager"], ["QM-X3"])
    assert document.text.lstrip().startswith("# Discount policy")


def test_sidecar_metadata_applies_to_csv(tmp_path: Path) -> None:
    path = tmp_path / "qa.csv"
    path.write_text("question,answer,product,category\nHow long is the warranty?,Two years.,QI-G5,warranty\n",
                    encoding="utf-8")
    (tmp_path / "qa.meta.yaml").write_text("title: Support QA\naccess: [rep]\n", encoding="utf-8")
    document = load_document(path)
    assert document.title == "Support QA" and document.access == ["rep"]
    assert document.qa_rows[0].product == "QI-G5"


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("empty.md", b"   \n", "empty"),
    ("latin1.txt", "Preis: 5€ für Müller".encode("cp1252"), "not valid UTF-8"),
    ("broken.pdf", b"%PDF-1.4\nthis is not really a pdf", "PDF"),
    ("broken.docx", b"PK\x03\x04 not a zip", "DOCX"),
    ("noanswer.csv", b"question,product\nWhat?,X3\n", "answer"),
    ("image.png", b"\x89PNG\r\n", "unsupported"),
    ("badrole.md", b"---\naccess: [superuser]\n---\ntext\n", "access"),
])
def test_bad_files_raise_a_reason_a_user_can_act_on(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentLoadError, match=reason):
        load_document(path)


def test_pdf_text_is_extracted(tmp_path: Path) -> None:
    path = write_text_pdf(tmp_path / "sheet.pdf", ["Qingquan G5 datasheet", "Operating temperature -40 to 75 C"])
    assert "Operating temperature -40 to 75 C" in load_document(path).text


def test_docx_headings_become_markdown_headings(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_heading("Distributor Agreement", level=0)
    document.add_heading("Section 3 Territory", level=1)
    document.add_paragraph("The distributor may sell in Latvia only.")
    path = tmp_path / "agreement.docx"
    document.save(str(path))
    loaded = load_document(path)
    assert "## Section 3 Territory" in loaded.text and loaded.title == "Distributor Agreement"


def test_xlsx_qa_sheet_gives_one_row_per_question(tmp_path: Path) -> None:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Question", "Answer", "Product", "Category"])
    sheet.append(["V8 报警堵塞怎么办？", "检查管路型号与压力阈值。", "QM-V8", "complaint"])
    sheet.append(["", "orphan answer without a question", "", ""])
    path = tmp_path / "qa.xlsx"
    workbook.save(str(path))
    document = load_document(path)
    assert [(row.question, row.product, row.row_number) for row in document.qa_rows] == [
        ("V8 报警堵塞怎么办？", "QM-V8", 2)]


# --- Text decoding: byte-order marks, UTF-8, Chinese GB18030, refusals ------------------------------------------

CHINESE_CLAUSE = "第五条 质量保证\n质保期为24个月，自验收合格之日起计算。\n"


@pytest.mark.parametrize("encoded", [
    CHINESE_CLAUSE.encode("utf-8-sig"),
    CHINESE_CLAUSE.encode("utf-16"),  # BOM + native order
    b"\xfe\xff" + CHINESE_CLAUSE.encode("utf-16-be"),
    CHINESE_CLAUSE.encode("gb18030"),
])
def test_text_in_any_declared_or_chinese_encoding_reads_the_same(tmp_path: Path, encoded: bytes) -> None:
    path = tmp_path / "clause.txt"
    path.write_bytes(encoded)
    assert load_document(path).text == CHINESE_CLAUSE.strip()


@pytest.mark.parametrize(("content", "reason"), [
    (b"\xff\xfe" + b"\x00\xd8garbage!", "UTF-16 byte-order mark but is not valid UTF-16"),  # lone surrogate
    (b"\xff\xfe\x41", "UTF-16 byte-order mark but is not valid UTF-16"),  # odd length
    (b"\xef\xbb\xbfok \xff\xfe", "UTF-8 byte-order mark but is not valid UTF-8"),
    (b"\x01\x02\x03\x04\x05binary\x06\x07\x08\x0e\x0f", "binary data"),
    ("Straße, Müller & Söhne: 5 Stück".encode("latin-1"), "not valid UTF-8"),  # not Chinese: not guessed
])
def test_undecodable_text_is_refused_with_a_reason(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "note.md"
    path.write_bytes(content)
    with pytest.raises(DocumentLoadError, match=reason):
        load_document(path)


def test_random_bytes_behind_a_utf16_mark_are_not_taken_for_text(tmp_path: Path) -> None:
    import random

    generator = random.Random(18)
    for attempt in range(20):
        path = tmp_path / f"garbage{attempt}.txt"
        path.write_bytes(b"\xff\xfe" + bytes(generator.randrange(256) for _ in range(400)))
        with pytest.raises(DocumentLoadError):
            load_document(path)


# --- Extracted text: whitespace, wrapped lines, page furniture ---------------------------------------------------

def test_plain_text_is_normalised_like_extracted_text(tmp_path: Path) -> None:
    path = tmp_path / "terms.txt"
    path.write_bytes((DOCUMENTS_DIR / "pdf_extracted_en.txt").read_bytes())
    text = load_document(path).text
    assert "The Supplier shall maintain the devices listed in the service schedule and shall keep spare parts" in text
    assert "  " not in text and "sched-" not in text
    assert "Confidential" not in text and "Page 2 of 3" not in text
    assert "| Parameter | Value | Unit |\n| --- | --- | --- |\n| Response time | 4 | hours |" in text


def test_spaced_out_chinese_is_closed_up_but_a_heading_space_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "zh.txt"
    path.write_text("第一条 合同标的\n甲 方 应 于 验 收 后 付 款 。\n", encoding="utf-8")
    assert load_document(path).text == "第一条 合同标的\n甲方应于验收后付款。"


def test_lines_that_start_items_are_not_joined_to_the_line_before(tmp_path: Path) -> None:
    path = tmp_path / "items.txt"
    path.write_text("The Buyer may terminate this agreement in the following cases\n(a) insolvency;\n"
                    "(b) material breach\n4.2 Notices\n", encoding="utf-8")
    assert load_document(path).text.splitlines() == [
        "The Buyer may terminate this agreement in the following cases", "(a) insolvency;", "(b) material breach",
        "4.2 Notices"]


# --- PDF: titles, tables, running headers --------------------------------------------------------------------------

def write_layout_pdf(path: Path, pages: list[list[tuple[int, int, str]]], title: str | None = None) -> Path:
    """A PDF whose pages place each (x, y, text) where given (Helvetica), with an optional /Title."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    font = writer._add_object(DictionaryObject({NameObject("/Type"): NameObject("/Font"),
                                                NameObject("/Subtype"): NameObject("/Type1"),
                                                NameObject("/BaseFont"): NameObject("/Helvetica")}))
    for items in pages:
        page = writer.add_blank_page(612, 792)
        stream = DecodedStreamObject()
        escaped = [(x, y, text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")) for x, y, text in items]
        stream.set_data("\n".join(f"BT /F1 10 Tf {x} {y} Td ({text}) Tj ET" for x, y, text in escaped).encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
    if title is not None:
        writer.add_metadata({"/Title": title})
    with path.open("wb") as handle:
        writer.write(handle)
    return path


def datasheet_pages() -> list[list[tuple[int, int, str]]]:
    header, footer = (72, 760, "Larkspur Devices - Datasheet LD-7"), (280, 40, "Page {n} of 3")
    bodies = [
        [(72, 720, "LD-7 Field Monitor"), (72, 690, "The LD-7 field monitor records vibration and temperature on"),
         (72, 678, "rotating machines and reports over LTE.")],
        [(72, 720, "Specifications"), (72, 700, "Parameter"), (250, 700, "Value"), (400, 700, "Unit"),
         (72, 686, "Operating temperature"), (250, 686, "-40 to 75"), (400, 686, "C"),
         (72, 672, "Supply voltage"), (250, 672, "24"), (400, 672, "V DC")],
        [(72, 720, "Ordering"), (72, 700, "Order the LD-7 with its mounting kit; delivery takes four weeks.")],
    ]
    return [[header, *body, (footer[0], footer[1], footer[2].format(n=number))]
            for number, body in enumerate(bodies, start=1)]


def test_pdf_title_comes_from_its_metadata_and_tables_stay_rows(tmp_path: Path) -> None:
    path = write_layout_pdf(tmp_path / "ld7_sheet_v3_final.pdf", datasheet_pages(), title="LD-7 Field Monitor Datasheet")
    document = load_document(path)
    assert document.title == "LD-7 Field Monitor Datasheet"
    assert "| Parameter | Value | Unit |\n| --- | --- | --- |\n| Operating temperature | -40 to 75 | C |" in document.text
    assert "| Supply voltage | 24 | V DC |" in document.text
    assert "records vibration and temperature on rotating machines" in document.text
    assert "Datasheet LD-7" not in document.text and "of 3" not in document.text


def test_headings_that_open_every_page_are_kept_while_a_counting_header_goes(tmp_path: Path) -> None:
    clauses = [("SCOPE", "The terms cover every LD-7 unit in service."), ("FEES", "Fees are invoiced yearly."),
               ("TERM", "The terms run for two years."), ("NOTICES", "Notices are given in writing.")]
    # The headings' numbers follow the pages too (4 on page 1, 5 on page 2 ...) but their words differ.
    pages = [[(72, 760, f"LD-7 Service Terms, page {number} of 4"), (72, 730, f"{number + 3}. {caption}"),
              (72, 710, body)] for number, (caption, body) in enumerate(clauses, start=1)]
    text = load_document(write_layout_pdf(tmp_path / "terms.pdf", pages)).text
    assert text == "\n\n".join(f"{number + 3}. {caption}\n\n{body}"
                               for number, (caption, body) in enumerate(clauses, start=1))


@pytest.mark.parametrize("tool_title", [None, "Microsoft Word - ld7.docx", "ld7_sheet.pdf", "Untitled"])
def test_pdf_without_a_real_title_is_named_by_its_first_line_not_its_file_name(tmp_path: Path,
                                                                              tool_title: str | None) -> None:
    path = write_layout_pdf(tmp_path / "ld7_sheet.pdf", datasheet_pages(), title=tool_title)
    assert load_document(path).title == "LD-7 Field Monitor"


def test_file_stem_is_the_title_only_when_the_text_offers_none(tmp_path: Path) -> None:
    path = tmp_path / "visit_2025_03.txt"
    path.write_text("met the buyer, agreed on a trial of 5 units.\n", encoding="utf-8")
    assert load_document(path).title == "visit_2025_03"


# --- DOCX: core properties, tables in place ----------------------------------------------------------------------

def test_docx_without_title_style_uses_core_properties_and_keeps_tables_in_place(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = "LD-7 Installation Guide"
    document.add_paragraph("Mount the monitor on a flat  surface.")
    table = document.add_table(rows=2, cols=2)
    for cell, text in zip(table._cells, ["Torque", "Value", "Bolt M6", "8 Nm"], strict=True):
        cell.text = text
    document.add_paragraph("Then connect the antenna.")
    path = tmp_path / "guide.docx"
    document.save(str(path))
    loaded = load_document(path)
    assert loaded.title == "LD-7 Installation Guide"
    assert loaded.text.splitlines() == ["Mount the monitor on a flat surface.", "", "| Torque | Value |",
                                        "| --- | --- |", "| Bolt M6 | 8 Nm |", "", "Then connect the antenna."]


# --- QA sheets: delimiters and ragged rows ----------------------------------------------------------------------

def test_semicolon_csv_with_ragged_rows_gives_its_questions(tmp_path: Path) -> None:
    path = tmp_path / "qa.csv"
    path.write_text("question;answer;product\nWarranty?;Two years.;LD-7;extra cell\nShort row?;Yes.\n",
                    encoding="utf-8")
    assert [(row.question, row.answer, row.product) for row in load_document(path).qa_rows] == [
        ("Warranty?", "Two years.", "LD-7"), ("Short row?", "Yes.", "")]


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("sheet.xlsx", b"PK\x03\x04" + b"\x00" * 40, "XLSX"),
    ("guide.docx", b"Just a text file someone renamed.\n", "DOCX"),
    ("scan.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n", "PDF"),
])
def test_parser_errors_become_a_short_reason_without_exception_text(tmp_path: Path, name: str, content: bytes,
                                                                   reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentLoadError, match=reason) as raised:
        load_document(path)
    assert "Error" not in str(raised.value) and "Traceback" not in str(raised.value)
