"""Real offline OCR (bundled PP-OCRv4) on a committed Chinese chat screenshot, and its bounds on bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.ocr import MAX_PIXELS, OcrError, ocr_available, ocr_image

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not ocr_available(), reason="rapidocr-onnxruntime not installed")]

SCREENSHOT = Path(__file__).resolve().parents[2] / "data" / "ocr" / "chat_huadong_x3.png"


def _squash(text: str) -> str:
    return "".join(text.split())


def test_chat_screenshot_reads_customer_product_quantity_and_competitor_price() -> None:
    result = ocr_image(SCREENSHOT)
    text = _squash(result.text)
    for expected in ("华东人民医院", "清泉X3病人监护仪", "30台", "康拓K7", "26800元"):
        assert expected in text, (expected, result.text)
    assert result.width == 750 and result.height > 600
    tops = [line.box[1] for line in result.lines]
    assert tops == sorted(tops)  # reading order: top to bottom
    # The wrapped first bubble comes back as one line.
    assert any("采购清泉X3病人监护仪" in _squash(line.text) for line in result.lines)
    assert all(0.5 <= line.confidence <= 1.0 for line in result.lines)


def test_unreadable_and_oversized_images_are_refused_with_a_user_facing_error(tmp_path: Path) -> None:
    from PIL import Image

    with pytest.raises(OcrError, match="not a readable image"):
        ocr_image(b"\x89PNG\r\n\x1a\nthis is not a png")
    side = int(MAX_PIXELS**0.5) + 10
    big = tmp_path / "big.png"
    Image.new("1", (side, side)).save(big)  # 1-bit: a small file that would decode to a huge array
    with pytest.raises(OcrError, match="megapixels"):
        ocr_image(big)


def test_chat_screenshot_becomes_a_card() -> None:
    coach = pytest.importorskip("tools.coach")
    card = coach.coach_path(SCREENSHOT).to_contract()["card"]
    assert "华东人民医院" in _squash(str(card["customer"]))
    assert any("X3" in str(product) for product in card["products"])
    assert "30" in str(card["quantity"])
    assert "26800" in str(card["competitor_prices"]).replace(",", "")
