"""Loaders parse metadata and turn bad files into clear, named errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.loaders import DocumentLoadError, load_document
from tests.pdf_factory import write_text_pdf


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
