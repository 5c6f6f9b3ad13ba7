"""Instruction-like text inside documents is flagged at ingestion and stripped from what reaches the model."""

from __future__ import annotations

import re
import unicodedata

REMOVED_MARKER = "[instruction-like text removed]"

_PATTERNS = [re.compile(pattern, re.IGNORECASE) for pattern in (
    r"\bignore\b.{0,30}\b(instructions?|rules|prompts?|guidelines)\b",
    r"\bdisregard\b.{0,30}\b(instructions?|rules|above|previous)\b",
    r"\b(forget|override)\b.{0,20}\b(instructions?|rules|policy)\b",
    # "act as" addressed to the reader ("you will act as…", "Now act as…"), not a party's role ("shall act as agent").
    r"\byou are now\b|\b(you|now)\s+(will\s+|must\s+|should\s+)?act as\b|^\W*act as\b|\bpretend to be\b",
    r"\bsystem prompt\b|\bnew instructions?\s*:",
    r"\b(create|schedule|add|open)\b.{0,25}\b(tasks?|reminders?|follow-?ups?)\b.{0,25}\b(for (all|every)|immediately)\b",
    r"\bsend\b.{0,80}\bto\b\s*[\w.+-]+@[\w-]+(\.[\w-]+)+",
    r"\bset\b.{0,40}\bprice\b.{0,20}\bto\b",
    r"\b(grant|give|raise)\b.{0,30}\b(role|access|permission|admin)\b",
    r"忽略.{0,12}(规则|指令|指示|说明|要求|设定)",
    r"无视.{0,12}(规则|指令|指示|要求)",
    r"(立即|马上|立刻|自动).{0,15}(创建|建立|新建|添加|安排).{0,10}(任务|提醒|回访)",
    r"(为|给)(所有|全部)(客户|用户).{0,15}(创建|建立|新建|添加|安排)",
    r"(发送|发给|转发|发到).{0,60}[\w.+-]+@[\w-]+(\.[\w-]+)+",
    r"(把|将).{0,30}(价格|报价|单价|底价).{0,8}(改|设|调)(为|成|到)",
    r"你现在是|系统提示|提升.{0,6}(权限|角色)",
    # Instructions addressed to the reader: imperatives to send, forward, pay or reveal something.
    r"^\W*(please\s+|kindly\s+|now\s+|immediately\s+)?(ignore|disregard|reveal|disclose)\b",
    r"^\W*(please\s+|kindly\s+|now\s+|immediately\s+)?(send|forward|e-?mail|mail|transfer|wire|share)\b.{0,60}"
    r"\b(to (me|us|this|the following|my|our)|your|here)\b",
    r"\b(send|forward|e-?mail|transfer|wire|reveal|share|disclose|tell|give)\b.{0,40}\b(your|the)\b.{0,20}"
    r"\b(password|passcode|credentials?|login|api key|tokens?|verification code)\b",
    r"\byour\s+(login\s+|account\s+)?(password|passcode|credentials)\b",
    # Sending something to an address; "e-mail" only as a verb with an object ("E-mail: a@b.c" is a contact line).
    r"\b(send|forward|transfer|wire)\b.{0,80}[\w.+-]+@[\w-]+(\.[\w-]+)+",
    r"\be-?mail\s+(it|this|these|them|the|your|all|me|us)\b.{0,60}[\w.+-]+@[\w-]+(\.[\w-]+)+",
    r"^\W*(请|务必|立即|马上|立刻|现在就?)\s*(您|你)?\s*(把|将)?.{0,20}?(发送|转发|发给|发到|汇款|转账|打款|泄露)",
    r"(忽略|无视|不要理会)(以上|之前|上述|前面|先前|所有|全部|一切)",
    r"(发送|发给|发到|提供|告诉|回复|转发|输入).{0,12}(密码|口令|验证码|登录凭证|登陆凭证)",
    r"(密码|口令|验证码).{0,10}(发送|发给|发到|回复|告诉|转发)",
)]
# Letters from other scripts that look like Latin ones (Cyrillic, Greek): folded before detection.
_CONFUSABLES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t", "у": "y",
    "х": "x", "ѕ": "s", "і": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ɡ": "g", "ո": "n",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T",
    "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J",
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
    "χ": "x", "Α": "A", "Β": "B", "Ε": "E", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "Ζ": "Z",
})
# Zero-width characters, soft hyphens and bidirectional controls: invisible, so they only hide words.
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def normalize_for_detection(text: str) -> str:
    """NFKC (full-width → ASCII), invisible and bidi controls removed, Cyrillic/Greek look-alikes → Latin."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).translate(_CONFUSABLES)


def is_instruction(sentence: str) -> bool:
    """True when the sentence reads as an instruction to an AI or to the reader (send, forward, pay, reveal…)."""
    normalized = normalize_for_detection(sentence).strip()
    return any(pattern.search(normalized) for pattern in _PATTERNS)
_SENTENCE = re.compile(r"[^。！？!?\n]+(?:[。！？!?]+|\n|$)|[^。！？!?\n]*\n")


def instruction_sentences(text: str) -> list[str]:
    """Sentences of `text` that read as instructions to an AI rather than as content."""
    sentences = [part for part in _split_sentences(text) if part.strip()]
    return [sentence.strip() for sentence in sentences if is_instruction(sentence)]


def strip_instructions(text: str) -> tuple[str, bool]:
    """(text with instruction-like sentences replaced by a marker, whether anything was removed)."""
    flagged = instruction_sentences(text)
    cleaned = text
    for sentence in flagged:
        cleaned = cleaned.replace(sentence, REMOVED_MARKER)
    return cleaned, bool(flagged)


def _split_sentences(text: str) -> list[str]:
    # English sentences end in ". " too; split those first so one injected sentence doesn't take a paragraph.
    parts: list[str] = []
    for piece in re.split(r"(?<=[.])\s+(?=[A-Z\"'“])", text):
        parts.extend(_SENTENCE.findall(piece) or [piece])
    return parts
