"""Build the image-only (scanned) test PDFs here: a page of text drawn with Pillow, saved as a one-image PDF."""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
HERE = Path(__file__).resolve().parent
PAGE_LINES = [
    "关于增补S2传感器交货的说明",
    "",
    "我司于2026年10月28日下达的采购订单",
    "HL-PO-2026-1187，增补清泉 S2 振动传感器60只，",
    "用于二厂新投产的3号冲压线。",
    "订单确认函上写的交货期是下单后30天，",
    "也就是11月27日前。",
    "如果能提前到11月25日，我们可以在",
    "当周的停线窗口内完成安装。",
]


def render_page(lines: list[str]) -> Image.Image:
    font = ImageFont.truetype(FONT, 30)
    page = Image.new("RGB", (900, 80 + 52 * len(lines)), "white")
    draw = ImageDraw.Draw(page)
    for index, line in enumerate(lines):
        draw.text((60, 40 + 52 * index), line, font=font, fill="black")
    return page


def main() -> int:
    render_page(PAGE_LINES).save(HERE / "scanned_hengli_s2.pdf", "PDF", resolution=150)
    return 0


if __name__ == "__main__":
    sys.exit(main())
