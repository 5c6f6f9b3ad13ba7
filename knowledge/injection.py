"""Instruction-like text inside documents is flagged at ingestion and stripped from what reaches the model."""

from __future__ import annotations

import re

REMOVED_MARKER = "[instruction-like text removed]"

_PATTERNS = [re.compile(pattern, re.IGNORECASE) for pattern in (
    r"\bignore\b.{0,30}\b(instructions?|rules|prompts?|guidelines)\b",
    r"\bdisregard\b.{0,30}\b(instructions?|rules|above|previous)\b",
    r"\b(forget|override)\b.{0,20}\b(instructions?|rules|policy)\b",
    r"\byou are now\b|\bact as (an?|the)\b|\bsystem prompt\b|\bnew instructions?\s*:",
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
)]
_SENTENCE = re.compile(r"[^。！？!?\n]+(?:[。！？!?]+|\n|$)|[^。！？!?\n]*\n")


def instruction_sentences(text: str) -> list[str]:
    """Sentences of `text` that read as instructions to an AI rather than as content."""
    sentences = [part for part in _split_sentences(text) if part.strip()]
    return [sentence.strip() for sentence in sentences if any(p.search(sentence) for p in _PATTERNS)]


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
