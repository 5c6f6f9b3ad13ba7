"""PDF text as producers really write it: pages blank in layout mode, Chinese prose laid out in columns."""

from __future__ import annotations

from knowledge.loaders import _pdf_page_text, layout_tables_as_rows


class _Page:
    """A pypdf page stand-in whose layout mode returns nothing (seen on real EDGAR filings)."""

    def __init__(self, layout: str, plain: str) -> None:
        self.layout, self.plain = layout, plain

    def extract_text(self, extraction_mode: str = "plain") -> str:
        return self.layout if extraction_mode == "layout" else self.plain


def test_a_page_blank_in_layout_mode_falls_back_to_plain_text() -> None:
    assert _pdf_page_text(_Page("  \n ", "1.1 Term. Two years.")) == "1.1 Term. Two years."


def test_layout_text_is_kept_when_it_has_content() -> None:
    assert _pdf_page_text(_Page("Parameter    Value", "Parameter Value")) == "Parameter    Value"


def test_chinese_prose_in_wide_columns_is_not_a_table() -> None:
    lines = ["4.饭菜烹调后到食用前的存放时间不得超过      两小时，学生就餐时菜品中心温度应当不低于",
             "60℃。"]
    assert layout_tables_as_rows(lines) == lines


def test_a_short_chinese_spec_table_still_becomes_rows() -> None:
    rows = layout_tables_as_rows(["参数        数值      单位", "电压        3.3       V", "闪存        2         MB"])
    assert rows[0] == "| 参数 | 数值 | 单位 |"
    assert rows[2] == "| 电压 | 3.3 | V |"
