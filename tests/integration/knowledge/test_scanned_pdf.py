"""A scanned (image-only) PDF is OCRed at ingest, searchable, and marked as OCR; a bad scan never stops the batch."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge.ingest import ingest_paths
from knowledge.ocr import ocr_available
from knowledge.retriever import retrieve_with_role_filter

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not ocr_available(), reason="rapidocr-onnxruntime not installed")]

SCANNED = Path(__file__).resolve().parents[2] / "data" / "ocr" / "scanned_hengli_s2.pdf"


def _with_garbled_image(pdf: bytes) -> bytes:
    """The same PDF with its JPEG's entropy-coded data overwritten: a valid PDF whose only image cannot decode."""
    start = pdf.index(b"\xff\xd8")
    end = pdf.index(b"endstream", start)
    return pdf[:start] + b"\xff\xd8" + (b"\x00garbage" * (end - start))[:end - start - 2] + pdf[end:]


def test_scanned_pdf_is_searchable_with_the_ocr_marker_and_a_bad_scan_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(SCANNED, folder / "scan.pdf")
    (folder / "bad_scan.pdf").write_bytes(_with_garbled_image(SCANNED.read_bytes()))
    (folder / "note.md").write_text("# Note\nThe G5 gateway ships in 2 weeks.\n", encoding="utf-8")

    report = ingest_paths([folder])

    by_source = {row.source: row for row in report.results}
    assert by_source["scan.pdf"].status == "ingested" and by_source["scan.pdf"].chunks >= 1
    assert by_source["note.md"].status == "ingested"
    assert by_source["bad_scan.pdf"].status == "failed"
    assert "OCR" in (by_source["bad_scan.pdf"].reason or "")
    hits = retrieve_with_role_filter("HL-PO-2026-1187 采购订单 冲压线", role="admin", k=3)
    assert hits and hits[0].source == "scan.pdf"
    assert "冲压线" in hits[0].text
    assert "(OCR)" in hits[0].section
