"""Language rules every layer shares: which script a text is in, which language to answer in, stop words.

One rule for mixed text, used by the retriever, the answer composers, the connectors, the sales tools and
text-to-SQL alike, so that a question never gets its reply in one language and its sources in another.
"""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["zh", "en"]

# CJK Unified Ideographs, Extension A and the compatibility block: every Chinese character a user types.
CJK_CHARACTERS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_CHARACTER = re.compile(f"[{CJK_CHARACTERS}]")
CJK_RUN = re.compile(f"[{CJK_CHARACTERS}]+")
_LATIN_LETTER = re.compile(r"[A-Za-z]")
# One Chinese character carries about as much as three Latin letters (an English word averages ~5
# letters, a Chinese word ~1.5 characters): "<客户>的付款条件是什么" with a Latin customer name is Chinese
# with a name in it, "What is the liability cap of <客户名称>?" is English with a name in it.
LATIN_LETTERS_PER_CJK_CHARACTER = 3


def has_cjk(text: str) -> bool:
    """True when the text contains at least one Chinese character (a script test, not a language guess)."""
    return CJK_CHARACTER.search(text or "") is not None


def detect_language(text: str) -> Language:
    """The language a text is written in: 'zh' or 'en'.

    The rule for mixed text: 'zh' when the Chinese characters, each counted as three Latin letters, weigh
    at least as much as the Latin letters; otherwise 'en'. Text with no Chinese character is 'en'
    (digits and punctuation count for neither). Names in the other script do not flip the language.
    """
    text = text or ""
    cjk = sum(len(run) for run in CJK_RUN.findall(text))
    latin = len(_LATIN_LETTER.findall(text))
    return "zh" if cjk and cjk * LATIN_LETTERS_PER_CJK_CHARACTER >= latin else "en"


# Function words that say nothing about what a question is about (search and schema linking skip them).
# Lower-case; compared with lower-cased words. Domain lists (text-to-SQL's question words) extend these.
ENGLISH_STOPWORDS = frozenset(
    "a an the of to in on for and or is are was were be been by with at as from that this these those it its "
    "what which who whom whose how when where does do did has have had can could should would will shall may "
    "might our their your my me we you they he she them his her there here than then about into per any all "
    "not no".split()
)
CHINESE_STOPWORDS = frozenset(
    "的 了 是 在 和 与 及 或 吗 呢 吧 啊 请问 什么 多少 怎么 如何 哪些 哪个 是否 有没有 一下 我们 他们 这个 那个 这些 那些 "
    "其 之 为 对 把 被 给 让 请 有 都 也 就 还 要 会 能 可以 多久 几".split()
)
