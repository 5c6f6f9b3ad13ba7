"""The one language rule (salesbot.text): script test, language of mixed text, and every layer agreeing on it."""

from __future__ import annotations

import pytest

from salesbot.text import CHINESE_STOPWORDS, ENGLISH_STOPWORDS, detect_language, has_cjk

# (text, language): names in the other script do not flip the language; a Chinese character counts as
# three Latin letters, so a sentence that is mostly Chinese stays Chinese around an English product name.
MIXED_TEXTS = [
    ("北风制造的付款条件 Northwind", "zh"),
    ("Northwind 合同的违约金是多少？", "zh"),
    ("What is the liability cap of 华东人民医院?", "en"),
    ("给华东人民医院安排回访", "zh"),
    ("What is the floor price?", "en"),
    ("QM-X3 的质保期是多久？", "zh"),
    ("每个 region 的 total revenue", "en"),          # 3 characters (9) < 12 letters
    ("按 region 统计订单数量", "zh"),                 # 7 characters (21) >= 6 letters
    ("ok 好", "zh"),                                  # 1 character (3) >= 2 letters: the tie goes to Chinese
    ("okay 好", "en"),                                # 1 character (3) < 4 letters
    ("2026-12-01 10:00", "en"),                       # digits and punctuation count for neither
    ("", "en"),
    ("㐀㐁 Extension A", "en"),                        # 2 characters (6) < 10 letters
    ("㐀㐁㐂㐃", "zh"),                                  # Extension A characters are Chinese too
]


@pytest.mark.parametrize(("text", "language"), MIXED_TEXTS)
def test_detect_language_on_mixed_text(text: str, language: str) -> None:
    assert detect_language(text) == language


@pytest.mark.parametrize(("text", "expected"), [
    ("What is the liability cap of 华东人民医院?", True), ("QM-X3", False), ("", False), ("㐀", True),
    ("ＡＢＣ full-width", False), ("兼容", True),
])
def test_has_cjk_is_a_script_test(text: str, expected: bool) -> None:
    assert has_cjk(text) is expected


@pytest.mark.parametrize(("text", "language"), MIXED_TEXTS)
def test_every_layer_uses_the_same_rule(text: str, language: str) -> None:
    from connectors.wecom.render import detect_language as wecom_language
    from evals.matching import detect_language as eval_language
    from knowledge.text import detect_language as knowledge_language
    from tools.text2sql.service import _say

    assert knowledge_language(text) == eval_language(text) == wecom_language(text) == language
    assert _say(text, "en", "zh") == language


def test_a_task_request_in_english_naming_a_chinese_customer_is_answered_in_english() -> None:
    from tools.sales.task_requests import parse_task_request

    # One stray Chinese word used to make the whole reply Chinese; the shared rule weighs the whole text.
    request = parse_task_request("Please schedule a follow-up call with 华东人民医院 next Monday about the 报价")
    assert request is not None and request["language"] == "en"
    request = parse_task_request("给华东人民医院下周一安排一次回访")
    assert request is not None and request["language"] == "zh"


def test_stop_words_are_lower_case_function_words_shared_by_search_and_text_to_sql() -> None:
    from knowledge.text import tokenize
    from tools.text2sql.lexicon import STOPWORDS

    assert all(word == word.lower() for word in ENGLISH_STOPWORDS)
    assert ENGLISH_STOPWORDS <= STOPWORDS  # text-to-SQL adds its question words to the shared list
    assert {"count", "list", "top"} <= STOPWORDS - ENGLISH_STOPWORDS
    assert tokenize(" ".join(sorted(ENGLISH_STOPWORDS))) == []
    chinese_tokens = tokenize("我们的报价是多少")
    assert "报价" in chinese_tokens and not set(chinese_tokens) & CHINESE_STOPWORDS
