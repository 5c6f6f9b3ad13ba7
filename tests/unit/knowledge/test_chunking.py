"""Structure-aware chunking keeps clause boundaries and section paths for citations."""

from __future__ import annotations

from knowledge.chunking import chunk_document, detect_heading
from knowledge.loaders import LoadedDocument, QARow


def make_document(text: str, language: str = "zh", source: str = "c.md", title: str = "采购合同") -> LoadedDocument:
    return LoadedDocument(path=f"/tmp/{source}", source=source, title=title, doc_type="contract",
                          language=language, text=text, content_hash="x")


def test_chinese_articles_become_separate_chunks_with_their_heading_as_section() -> None:
    text = "# 采购合同\n\n第一条 合同标的\n甲方向乙方采购X3监护仪20台。\n\n第五条 质量保证\n质保期为24个月。\n"
    chunks = chunk_document(make_document(text))
    assert [chunk.section for chunk in chunks] == ["第一条 合同标的", "第五条 质量保证"]
    assert "24个月" in chunks[1].text and "24个月" not in chunks[0].text


def test_english_sections_nest_under_markdown_headings() -> None:
    text = ("# Supply Agreement\n## Section 4 Payment\n4.1 Buyer pays 30% in advance.\n"
            "## Section 5 Warranty\n5.1 Warranty is 18 months.\n")
    chunks = chunk_document(make_document(text, language="en", title="Supply Agreement"))
    assert [chunk.section for chunk in chunks] == ["Section 4 Payment", "Section 5 Warranty"]


def test_long_section_is_split_at_sub_clauses_and_keeps_section_path() -> None:
    clauses = "\n".join(f"7.{i} " + "乙方应按时交付设备并提供培训服务。" * 8 for i in range(1, 8))
    chunks = chunk_document(make_document(f"第七条 交付\n{clauses}"))
    assert len(chunks) > 1
    assert all(chunk.section == "第七条 交付" for chunk in chunks)
    assert all(len(chunk.text) <= 700 for chunk in chunks)
    assert chunks[1].text.startswith("7.")


def test_qa_rows_become_one_chunk_each_with_category_and_product() -> None:
    document = LoadedDocument(path="/tmp/faq.csv", source="faq.csv", title="faq", doc_type="faq", language="zh",
                              qa_rows=[QARow(question="X3 支持几种语言?", answer="中英文两种。", product="QM-X3",
                                             category="faq", row_number=2)], content_hash="x")
    [chunk] = chunk_document(document)
    assert chunk.section == "row 2 (faq, QM-X3)"
    assert chunk.text == "Q: X3 支持几种语言?\nA: 中英文两种。"


def test_heading_detection_rejects_body_sentences_that_start_like_articles() -> None:
    heading = detect_heading("第五条 质量保证")
    assert heading is not None and (heading.level, heading.title) == (2, "第五条 质量保证")
    assert detect_heading("Section 4.1 Payment schedule") is not None
    long_sentence = "第五条规定的质保期内，乙方应免费维修所有因设备本身质量问题造成的故障，并承担往返运费。"
    assert detect_heading(long_sentence) is None
