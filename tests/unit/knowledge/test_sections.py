"""Sections in documents without Markdown, and bounded pieces for long sections (synthetic texts, tests/data)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from knowledge.chunking import MAX_CHUNK_SIZE, OVERLAP_SIZE, chunk_document, detect_heading, text_size
from knowledge.loaders import LoadedDocument, load_document

DOCUMENTS_DIR = Path(__file__).resolve().parents[2] / "data" / "documents"


def sections_of(name: str) -> list[str]:
    return [chunk.section for chunk in chunk_document(load_document(DOCUMENTS_DIR / name))]


def test_english_agreement_sections_follow_articles_sections_and_numbered_captions() -> None:
    assert sections_of("agreement_en.txt") == [
        "MASTER EQUIPMENT SUPPLY AGREEMENT",  # the preamble, under the document's title
        "ARTICLE I DEFINITIONS > Section 1.01 Defined Terms",
        "ARTICLE I DEFINITIONS > Section 1.02 Interpretation",
        "ARTICLE II SUPPLY OF EQUIPMENT > 2.1 Orders",
        "ARTICLE II SUPPLY OF EQUIPMENT > 2.2 Acceptance of Orders",
        "ARTICLE IV PAYMENT > 4.1 Fees",
        "ARTICLE IV PAYMENT > 4.2 Late Payment",
        "ARTICLE IV PAYMENT > 4.3 Taxes",
        "15. TERM OF AGREEMENT",
        "16. LIMITATION OF LIABILITY",
    ]


def test_items_amounts_and_dates_stay_inside_their_section() -> None:
    chunks = {chunk.section: chunk.text for chunk in chunk_document(load_document(DOCUMENTS_DIR / "agreement_en.txt"))}
    definitions = chunks["ARTICLE I DEFINITIONS > Section 1.01 Defined Terms"]
    assert definitions.splitlines()[1:] == ['(a) "Equipment" means the devices listed in Schedule A.',
                                            '(b) "Delivery Date" means the date agreed in a purchase order.',
                                            '(c) "Fees" means the amounts payable under Article IV.']
    assert "1.5 million units as the annual ceiling" in chunks["ARTICLE II SUPPLY OF EQUIPMENT > 2.1 Orders"]
    assert "2025.03.18 until the date of payment" in chunks["ARTICLE IV PAYMENT > 4.2 Late Payment"]
    assert chunks["15. TERM OF AGREEMENT"].endswith("1. Insolvency\n2. Material breach")
    assert chunks["ARTICLE IV PAYMENT > 4.1 Fees"].startswith("Customer shall pay the Fees")  # run-in heading


def test_chinese_contract_sections_follow_articles_and_enumerations() -> None:
    assert sections_of("contract_zh.txt") == [
        "设备采购合同",
        "第一条 合同标的",
        "第二条 交付",
        "第三条",  # an article whose text follows on its line
        "一、结算及付款 > （一）预付款",
        "一、结算及付款 > （二）尾款",
        "二、质量保证",
        "第十五条 争议解决",
    ]


def test_pdf_extracted_text_sections_survive_page_breaks_and_furniture() -> None:
    assert sections_of("pdf_extracted_en.txt") == ["1. SCOPE", "2. RESPONSE TIMES", "3. SPARE PARTS",
                                                   "4. TERMINATION"]


@pytest.mark.parametrize(("line", "expected"), [
    ("ARTICLE IV", (2, "ARTICLE IV")),
    ("Article 4 Payment", (2, "Article 4 Payment")),
    ("Section 4.1 Term", (3, "Section 4.1 Term")),
    ("4.1 Term", (3, "4.1 Term")),
    ("15. TERM OF AGREEMENT", (2, "15. TERM OF AGREEMENT")),
    ("第四条 结算方式", (2, "第四条 结算方式")),
    ("一、结算及付款", (2, "一、结算及付款")),
    ("（一）预付款", (3, "（一）预付款")),
    ("## 4 Payment", (2, "4 Payment")),
    ("第二章 合同条款", (1, "第二章 合同条款")),
])
def test_headings_in_each_numbering_style(line: str, expected: tuple[int, str]) -> None:
    heading = detect_heading(line)
    assert heading is not None and (heading.level, heading.title) == expected


@pytest.mark.parametrize("line", [
    "1.5 million units are reserved for the Customer.",
    "1.5 Million",
    "2025.03.18 签订",
    "4.1 Buyer pays 30% in advance.",
    "Section 4.1 shall survive termination of this Agreement.",
    "(a) Definitions",
    "10 20 30",
    "3 Units",
    "| 4.1 | Term |",
    "一、甲方应于合同签订后七日内支付合同总价百分之三十的预付款，逾期按日支付违约金。",
    "第五条规定的质保期内，乙方应免费维修。",
])
def test_sentences_amounts_dates_and_table_cells_are_not_headings(line: str) -> None:
    assert detect_heading(line) is None


def test_a_numbered_line_inside_running_text_is_not_a_heading() -> None:
    wrapped = "The Customer shall pay all amounts invoiced under this agreement within"
    assert detect_heading("30. Days After Delivery", previous=wrapped) is None
    assert detect_heading("2. Material breach", previous="terminated earlier as the parties agreed on:") is None
    assert detect_heading("2. Returns", previous="1. Deliveries are made in full pallets only.",
                          previous_item=True) is None
    assert detect_heading("5. PAYMENT", previous="4.3 All fees exclude tax.", previous_item=True) is not None
    assert detect_heading("5. PAYMENT TERMS", previous=wrapped) is not None  # capitals: no sentence wraps so


# --- Bounded pieces --------------------------------------------------------------------------------------------

WORDS = ("supplier customer shall deliver the equipment invoice payment within days after written notice term "
         "agreement party warranty defect remedy replace repair goods acceptance").split()


def english_sentence(generator: random.Random, most_words: int = 28) -> str:
    return " ".join(generator.choice(WORDS) for _ in range(generator.randint(4, most_words))).capitalize() + "."


def long_agreement(generator: random.Random) -> str:
    """~40k characters: 12 articles of sections; some sections one long paragraph, some many (a) items."""
    lines = ["MASTER SERVICES AGREEMENT", ""]
    for article in range(1, 13):
        lines += [f"ARTICLE {article}", "GENERAL TERMS", ""]
        for section in range(1, 5):
            lines.append(f"Section {article}.{section} Obligations Of The Parties.")
            if section % 2:
                lines.append(" ".join(english_sentence(generator) for _ in range(generator.randint(2, 20))))
            else:
                lines += [f"({chr(97 + item)}) {english_sentence(generator)}" for item in range(generator.randint(3, 12))]
            lines.append("")
    return "\n".join(lines)


def agreement(text: str, language: str = "en") -> LoadedDocument:
    return LoadedDocument(path="/tmp/a.txt", source="a.txt", title="MASTER SERVICES AGREEMENT", doc_type="contract",
                          language=language, text=text, content_hash="x")


def test_a_long_agreement_becomes_bounded_pieces_that_keep_their_section() -> None:
    text = long_agreement(random.Random(4))
    assert 30_000 < len(text) < 60_000
    chunks = chunk_document(agreement(text))
    sizes = [text_size(chunk.text) for chunk in chunks]
    assert max(sizes) <= MAX_CHUNK_SIZE
    assert len(chunks) < len(text) / 300  # not one chunk per line or item
    assert sum(sizes) / len(sizes) > MAX_CHUNK_SIZE / 4
    sections = {chunk.section for chunk in chunks}
    assert "ARTICLE 7 GENERAL TERMS > Section 7.2 Obligations Of The Parties" in sections
    assert len(sections) == 48


def test_pieces_of_running_text_overlap_by_a_sentence_and_cover_the_whole_text() -> None:
    generator = random.Random(7)
    paragraph = " ".join(english_sentence(generator, most_words=14) for _ in range(80))  # each within the overlap
    chunks = chunk_document(agreement(f"Section 3.1 Service Levels\n{paragraph}"))
    assert len(chunks) >= 3 and {chunk.section for chunk in chunks} == {"Section 3.1 Service Levels"}
    joined = chunks[0].text
    for before, after in zip(chunks, chunks[1:], strict=False):
        overlap = repeated_opening(before.text, after.text)
        assert overlap and text_size(overlap) <= OVERLAP_SIZE
        joined += " " + after.text[len(overlap):].lstrip()
    assert joined == paragraph


def repeated_opening(before: str, after: str) -> str:
    """The whole sentences `after` opens with that `before` ends with ("" if none)."""
    ends = [index + 1 for index, char in enumerate(after) if char == "." and after[index + 1:index + 2] in (" ", "")]
    return next((after[:end] for end in reversed(ends) if end < len(after) and before.endswith(after[:end])), "")


def test_items_are_cut_between_items_not_inside_them() -> None:
    generator = random.Random(11)
    items = [f"({chr(97 + index)}) {english_sentence(generator)} {english_sentence(generator)}" for index in range(20)]
    chunks = chunk_document(agreement("Section 9 Remedies\n" + "\n".join(items)))
    assert len(chunks) > 1
    assert [line for chunk in chunks for line in chunk.text.splitlines()] == items  # whole items, no overlap


def test_chinese_pieces_are_bounded_by_weighted_size() -> None:
    clause = "乙方应在收到甲方书面通知后七日内完成设备的更换或维修，并承担由此产生的全部费用。"
    chunks = chunk_document(agreement("第八条 违约责任\n" + clause * 80, language="zh"))
    assert len(chunks) > 1 and all(chunk.section == "第八条 违约责任" for chunk in chunks)
    assert all(len(chunk.text) <= 650 for chunk in chunks)  # ~650 Chinese characters weigh MAX_CHUNK_SIZE
    assert all(chunk.text.endswith("。") for chunk in chunks)


def test_a_huge_line_without_punctuation_is_still_cut() -> None:
    chunks = chunk_document(agreement("word " * 20_000))
    assert len(chunks) >= 90 and max(text_size(chunk.text) for chunk in chunks) <= MAX_CHUNK_SIZE


def test_a_long_table_repeats_its_header_in_every_piece() -> None:
    rows = [f"| Parameter {index} | {index * 3} | mm |" for index in range(80)]
    text = "Specifications\n| Parameter | Value | Unit |\n| --- | --- | --- |\n" + "\n".join(rows)
    chunks = chunk_document(agreement(text))
    assert len(chunks) > 1
    for chunk in chunks:
        lines = chunk.text.splitlines()
        header_at = lines.index("| Parameter | Value | Unit |")
        assert lines[header_at + 1] == "| --- | --- | --- |"
    assert [line for chunk in chunks for line in chunk.text.splitlines() if line.startswith("| Parameter ")
            and line != "| Parameter | Value | Unit |"] == rows
