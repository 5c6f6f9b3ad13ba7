"""Charts for data answers: a line for time series, bars for categories, nothing for a single value."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from salesbot.text import has_cjk

logger = logging.getLogger(__name__)

MAX_BARS = 40
PERIOD_PATTERN = re.compile(r"^\d{4}(?:-(?:\d{2}|Q[1-4]|W\d{2}))?(?:-\d{2})?(?:[ T][\d:.]+)?$|^Q[1-4]$|^\d{2}$")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def chart_kind(columns: list[str], rows: list[list[Any]]) -> str | None:
    """'line' for periods with numbers, 'bar' for labels with numbers, None when a chart would not help."""
    if len(rows) < 2 or len(columns) < 2:
        return None
    first_column = [row[0] for row in rows]
    numeric_columns = [index for index in range(1, len(columns)) if all(_is_number(row[index]) or row[index] is None for row in rows)]
    if not numeric_columns:
        return None
    if all(value is not None and PERIOD_PATTERN.match(str(value)) for value in first_column):
        return "line"
    if len(rows) <= MAX_BARS:
        return "bar"
    return None


CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "SimHei",
             "Microsoft YaHei", "PingFang SC", "Source Han Sans SC", "AR PL UMing CN"]


def _cjk_font_available() -> bool:
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    available = [name for name in CJK_FONTS if name in installed]
    if available:
        import matplotlib

        matplotlib.rcParams["font.sans-serif"] = [*available, *matplotlib.rcParams["font.sans-serif"]]
        matplotlib.rcParams["axes.unicode_minus"] = False
    return bool(available)


def _readable(text: str, cjk_font: bool) -> str:
    """Chinese labels as pinyin when no CJK font is installed (boxes help nobody)."""
    if cjk_font or not has_cjk(text):
        return text
    from pypinyin import lazy_pinyin

    return " ".join(lazy_pinyin(text))


def render_chart(columns: list[str], rows: list[list[Any]], path: Path | str, title: str = "") -> str | None:
    """Write a PNG when the result's shape suits a chart; return its path, or None."""
    kind = chart_kind(columns, rows)
    if kind is None:
        return None
    import matplotlib

    matplotlib.use("Agg")  # no display on servers; must be set before pyplot loads
    import matplotlib.pyplot as plt

    cjk_font = _cjk_font_available()
    labels = [_readable(str(row[0]), cjk_font) for row in rows]
    columns = [_readable(str(column), cjk_font) for column in columns]
    title = _readable(title, cjk_font)
    numeric_columns = [index for index in range(1, len(columns)) if all(_is_number(row[index]) or row[index] is None for row in rows)]
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(figsize=(8, 4.5))
    try:
        for offset, index in enumerate(numeric_columns):
            values = [row[index] if row[index] is not None else 0 for row in rows]
            if kind == "line":
                axes.plot(labels, values, marker="o", label=columns[index])
            else:
                width = 0.8 / len(numeric_columns)
                positions = [position + offset * width for position in range(len(labels))]
                axes.bar(positions, values, width=width, label=columns[index])
        if kind == "bar":
            axes.set_xticks([position + 0.4 - 0.4 / len(numeric_columns) for position in range(len(labels))])
            axes.set_xticklabels(labels)
        axes.set_xlabel(columns[0])
        if len(numeric_columns) > 1:
            axes.legend()
        else:
            axes.set_ylabel(columns[numeric_columns[0]])
        if title:
            axes.set_title(title[:80])
        plt.setp(axes.get_xticklabels(), rotation=45, ha="right")
        figure.tight_layout()
        figure.savefig(target, format="png", dpi=100)
    finally:
        plt.close(figure)
    return str(target)
