"""Chart choice and rendering: a line for periods, bars for categories, nothing for a single value."""

from __future__ import annotations

from pathlib import Path

from tools.text2sql.charts import chart_kind, render_chart

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_time_series_becomes_a_line_png(tmp_path: Path) -> None:
    columns, rows = ["period", "revenue"], [["2025-01", 10.0], ["2025-02", 12.5], ["2025-03", 9.0]]
    assert chart_kind(columns, rows) == "line"
    path = render_chart(columns, rows, tmp_path / "line.png", title="monthly revenue")
    assert path is not None and Path(path).read_bytes().startswith(PNG_MAGIC)


def test_categories_become_a_bar_png_even_in_chinese(tmp_path: Path) -> None:
    columns, rows = ["region", "成交额"], [["华东", 300], ["华南", 200], ["West", 50]]
    assert chart_kind(columns, rows) == "bar"
    path = render_chart(columns, rows, tmp_path / "bars.png", title="各区域成交额")
    assert path is not None and Path(path).read_bytes().startswith(PNG_MAGIC)


def test_single_value_and_text_only_results_get_no_chart(tmp_path: Path) -> None:
    assert render_chart(["count"], [[42]], tmp_path / "one.png") is None
    assert render_chart(["name", "email"], [["a", "b"], ["c", "d"]], tmp_path / "text.png") is None
    assert render_chart(["region", "revenue"], [["East", 5]], tmp_path / "row.png") is None
    assert not list(tmp_path.iterdir())
