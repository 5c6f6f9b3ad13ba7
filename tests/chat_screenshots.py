"""Chinese chat screenshots for the connector tests: rendered at test time by scripts/render_chat_screenshot.py (the
code and CJK font that made the labelled set's PNGs), with the labelled set's expected card fields."""

from __future__ import annotations

import importlib.util
import io
import re
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
RENDER_SCRIPT = REPO_ROOT / "scripts" / "render_chat_screenshot.py"
CONVERSATIONS_DIR = REPO_ROOT / "evals" / "datasets" / "conversations"
# A dev conversation (dev may be read while tuning; the held-out test split stays unread): a Chinese chat with a
# customer, a product, a quantity and a competitor's price.
SCREENSHOT_CONVERSATION = "d09"

# The card as coach_card_text writes it: "• field: value" lines, and competitor prices with their line number.
_FIELD_LINE = re.compile(r"^• (customer|products|quantity): (.+)$", re.MULTILINE)
_PRICE_LINE = re.compile(r"^• competitor price: (.+) ([\d,.]+) ([A-Z]{3}) \(line \d+\)$", re.MULTILINE)


@cache
def _renderer() -> ModuleType:
    # scripts/ is not a package; the script is loaded from its file so the tests draw with exactly its code.
    spec = importlib.util.spec_from_file_location("render_chat_screenshot", RENDER_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def screenshot_tests_can_run() -> tuple[bool, str]:
    """(can run, why not): the real OCR and the CJK font the renderer uses must both be installed."""
    from knowledge.ocr import ocr_available

    if not ocr_available():
        return False, "rapidocr-onnxruntime is not installed"
    font = Path(_renderer().DEFAULT_FONT)
    if not font.is_file():
        return False, f"CJK font {font} is missing (apt-get install fonts-noto-cjk)"
    return True, ""


def requires_screenshot_rendering() -> pytest.MarkDecorator:
    can_run, reason = screenshot_tests_can_run()
    return pytest.mark.skipif(not can_run, reason=reason)


def rendered_chat_screenshot(conversation_id: str = SCREENSHOT_CONVERSATION) -> tuple[bytes, dict[str, Any]]:
    """The PNG bytes of a labelled chat's screenshot, drawn now from its `.chat.txt`, and its expected fields."""
    from evals.coach import load_conversations

    [conversation] = [item for item in load_conversations("all") if item.id == conversation_id]
    assert conversation.format == "png", f"{conversation_id} is not a screenshot conversation"
    renderer = _renderer()
    chat_text = conversation.file.with_suffix(".chat.txt").read_text(encoding="utf-8")
    buffer = io.BytesIO()
    renderer.render(renderer.parse_chat(chat_text)).save(buffer, format="PNG")
    return buffer.getvalue(), conversation.expected


def card_from_reply_text(text: str) -> dict[str, Any]:
    """The customer, products, quantity and competitor prices of a posted card, as the eval's score_card reads them."""
    fields = {name: value.strip() for name, value in _FIELD_LINE.findall(text)}
    return {
        "customer": fields.get("customer"),
        "products": [product.strip() for product in fields.get("products", "").split(",") if product.strip()],
        "quantity": fields.get("quantity"),
        "competitor_prices": [{"competitor": name.strip(), "amount": amount.replace(",", ""), "currency": currency}
                              for name, amount, currency in _PRICE_LINE.findall(text)],
    }


def assert_card_matches_labels(text: str, expected: dict[str, Any]) -> None:
    """The reply's card has the labelled customer, product, quantity and competitor price (compared as the coach eval
    compares them: names through the entity registry)."""
    from evals.coach import registry_canonical, score_card

    card = card_from_reply_text(text)
    scores = score_card(expected, card, registry_canonical())
    wrong = [field for field in ("customer", "products", "quantity", "competitor_prices") if not scores[field]]
    assert not wrong, (wrong, card, expected, text)
    # Guard against a vacuous match: the label names each of these, so the card must show them.
    assert card["customer"] and card["products"] and card["quantity"] and card["competitor_prices"], card
