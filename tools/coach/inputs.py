"""Read a conversation file (transcript .txt/.vtt/.srt, chat export, .eml, screenshot) into speaker turns."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Literal

from salesbot.errors import UserFacingError
from tools.coach.models import Conversation, Turn


class CoachInputError(UserFacingError, ValueError):
    """The conversation file is missing, unreadable or has no speaker turns."""


MAX_INPUT_BYTES = 5_000_000
_TIMESTAMP_PREFIX_RE = re.compile(r"^\[?\(?(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}[ T]+)?\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?"
                                  r"\]?\)?\s*")
_SPEAKER_LINE_RE = re.compile(r"^(?P<speaker>[^:：\n]{1,40}?)\s*[:：]\s*(?P<text>.+)$")
# "Name [10:21]: text" / "Name (00:01:02) text": the time sits between the name and the words.
_TIMED_SPEAKER_LINE_RE = re.compile(r"^(?P<speaker>[^:：\n\[\]()（）]{1,40}?)\s*[\[(（]\d{1,2}:\d{2}(?::\d{2})?[\])）]\s*[:：]?"
                                    r"\s*(?P<text>.+)$")
# A lead-in inside a multi-line turn ("报价如下：", "另外：", "Option 1: ...") is not a speaker: a name carries no
# sentence punctuation and does not end like a phrase that introduces a list.
_NOT_A_NAME_RE = re.compile(r"[，。！？；!?;、]|(?:如下|包括|方面|的话|另外|其次|首先|然后|总之|注意|比如|例如)$|"
                            r"^(?:option|step|item|point|ps|p\.s)\s*\d*$", re.I)
_VOICE_TAG_RE = re.compile(r"^<v(?:\.[^ >]*)?\s+(?P<speaker>[^>]+)>(?P<text>.*?)(?:</v>)?$")
_CUE_TIME_RE = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?[.,]\d{3}\s*-->")
# WeChat/WeCom export header: "<name> 2026-11-03 10:21" (or with seconds / slashes), message lines follow.
# ... or the time first: "2026-11-03 10:21 <name>" / "2026-11-03 10:21:05 <name>".
_CHAT_HEADER_RE = re.compile(r"^(?P<speaker>\S.{0,40}?)\s+(?P<when>\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\s+\d{1,2}:\d{2}(?::\d{2})?)$|"
                             r"^(?P<when_first>\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\s+\d{1,2}:\d{2}(?::\d{2})?)\s+"
                             r"(?P<speaker_after>[^\s:：].{0,40}?)$")
_QUOTE_SPLIT_RE = re.compile(
    r"^(?:On .{0,200}wrote:|-{2,}\s*原始邮件\s*-{2,}|-{2,}\s*Original Message\s*-{2,}|在.{0,100}写道[:：])\s*$",
    re.I | re.M)
_QUOTED_FROM_RE = re.compile(r"^(?:On .*?,\s*)?(?P<name>[^,<]+?)\s*(?:<[^>]+>)?\s*wrote:|"
                             r"^在.{0,100}?[，,]\s*(?P<name_zh>[^，,<]+?)\s*(?:<[^>]+>)?\s*写道[:：]", re.I)
_HEADER_FROM_RE = re.compile(r"^(?:From|发件人)\s*[:：]\s*(?P<value>.+)$", re.I | re.M)
_EMAIL_HEADER_LINE_RE = re.compile(r"^(?:From|To|Cc|Sent|Date|Subject|发件人|收件人|抄送|发送时间|主题)\s*[:：]", re.I)
# Words that are not a person's name, so "Subject: ..." or "Note: ..." never becomes a speaker.
_NOT_SPEAKERS = {"subject", "re", "fw", "note", "notes", "date", "time", "http", "https", "主题", "备注", "时间"}


def _turns(pairs: list[tuple[str, str]]) -> list[Turn]:
    merged: list[tuple[str, str]] = []
    for speaker, text in pairs:
        text = text.strip()
        if not text:
            continue
        merged.append((speaker.strip() or "?", text))
    return [Turn(line=index + 1, speaker=speaker, text=text) for index, (speaker, text) in enumerate(merged)]


def _is_speaker_label(label: str) -> bool:
    cleaned = label.strip()
    return cleaned.lower() not in _NOT_SPEAKERS and not _NOT_A_NAME_RE.search(cleaned)


def _speaker_pairs(lines: list[str]) -> list[tuple[str, str]]:
    """"Name: text" lines (timestamps stripped); an unlabelled line continues the previous speaker's turn."""
    pairs: list[tuple[str, str]] = []
    for raw in lines:
        line = _TIMESTAMP_PREFIX_RE.sub("", raw.strip())
        if not line:
            continue
        voice = _VOICE_TAG_RE.match(line)
        match = voice or _TIMED_SPEAKER_LINE_RE.match(line) or _SPEAKER_LINE_RE.match(line)
        if match and _is_speaker_label(match["speaker"]):
            pairs.append((match["speaker"], re.sub(r"</?v[^>]*>", "", match["text"])))
        elif pairs:
            pairs[-1] = (pairs[-1][0], pairs[-1][1] + " " + line)
    return pairs


def parse_transcript(text: str) -> list[Turn]:
    """Speaker-labelled lines: "Name: text", "姓名：text", "[00:01:02] Name: text"."""
    return _turns(_speaker_pairs(text.splitlines()))


def parse_subtitles(text: str) -> list[Turn]:
    """WebVTT or SRT: cue numbers, timings and the WEBVTT header dropped; speakers from "Name:" or <v Name>."""
    lines = []
    for raw in text.splitlines():
        line = raw.strip().lstrip("\ufeff")
        if not line or line.isdigit() or _CUE_TIME_RE.search(line) or line.startswith(("WEBVTT", "NOTE", "STYLE")):
            continue
        lines.append(line)
    return _turns(_speaker_pairs(lines))


def parse_chat_export(text: str) -> list[Turn]:
    """WeChat/WeCom export ("Name 2026-11-03 10:21" then message lines), else "Name: msg" lines."""
    lines = text.splitlines()
    if not any(_CHAT_HEADER_RE.match(line.strip()) for line in lines):
        return parse_transcript(text)
    pairs: list[tuple[str, str]] = []
    for raw in lines:
        line = raw.strip()
        header = _CHAT_HEADER_RE.match(line)
        if header:
            pairs.append((header["speaker"] or header["speaker_after"], ""))
        elif line and pairs:
            pairs[-1] = (pairs[-1][0], (pairs[-1][1] + " " + line).strip())
    return _turns(pairs)


def _display_name(address: str) -> str:
    name, addr = parseaddr(address)
    return name or addr or address.strip()


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    if part.get_content_type() == "text/html":
        content = re.sub(r"<[^>]+>", " ", content)
    return str(content)


def _split_thread(body: str, newest_sender: str) -> list[tuple[str, str]]:
    """Each message of a thread with its sender (">"-quoted or after a separator), oldest first."""
    segments: list[tuple[str, str]] = []
    sender = newest_sender
    buffer: list[str] = []
    lines = body.splitlines()
    for index, raw in enumerate(lines):
        line = raw.rstrip()
        stripped = line.lstrip("> ").strip()
        wrote = _QUOTED_FROM_RE.match(stripped)
        if wrote or _QUOTE_SPLIT_RE.match(stripped):
            segments.append((sender, "\n".join(buffer)))
            buffer = []
            if wrote:
                sender = (wrote["name"] or wrote["name_zh"]).strip().strip('"')
            else:  # "-----原始邮件-----": the sender is in the next From:/发件人: header line
                sender = "?"
                for following in lines[index + 1:index + 8]:
                    header = _HEADER_FROM_RE.match(following.lstrip("> ").strip())
                    if header:
                        sender = _display_name(header["value"])
                        break
            continue
        quoted_from = _HEADER_FROM_RE.match(stripped)
        if quoted_from:  # an Outlook header block ("From: … Sent: …") starts the quoted message it heads
            if any(line.strip() for line in buffer):
                segments.append((sender, "\n".join(buffer)))
                buffer = []
            sender = _display_name(quoted_from["value"])
            continue
        if _EMAIL_HEADER_LINE_RE.match(stripped) or re.fullmatch(r"[_\-=*]{5,}", stripped):
            continue
        buffer.append(stripped)
    segments.append((sender, "\n".join(buffer)))
    # The body reads newest first; turns run oldest first, so "the rep's next turn" is the reply that came later.
    return [(who, " ".join(part.split())) for who, part in reversed(segments) if part.strip()]


def parse_email(raw: bytes) -> list[Turn]:
    """An .eml message: the quoted earlier messages oldest first, then its own text (From header), each with its sender."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    if not isinstance(message, EmailMessage) or not (message.get("From") or message.get_payload()):
        raise CoachInputError("the e-mail file has no headers or body / 邮件文件没有发件人或正文")
    return _turns(_split_thread(_body_text(message), _display_name(str(message.get("From") or "?"))))


def parse_screenshot(path: Path) -> list[Turn]:
    """A chat screenshot through offline OCR: lines whose box sits on the right half are the rep's messages."""
    try:
        from knowledge.ocr import ocr_image  # type: ignore[import-not-found,unused-ignore]
    except ImportError as error:
        raise CoachInputError("reading screenshots needs the offline OCR module (knowledge.ocr), which is not "
                              "installed here / 截图识别需要离线 OCR 模块") from error
    try:
        result = ocr_image(path)
    except UserFacingError:
        raise
    except Exception as error:  # OCR engines raise anything on a corrupt image; the user needs one clear line
        raise CoachInputError(f"could not read text from the image {path.name} / 无法识别图片文字") from error
    width = float(getattr(result, "width", 0) or 0)
    turns: list[Turn] = []
    previous: tuple[bool, float, float] | None = None  # (right, bottom, height) of the last line read
    for item in getattr(result, "lines", []):
        text = str(getattr(item, "text", "")).strip()
        if not text:
            continue
        box = getattr(item, "box", None)
        right = _is_right_hand(box, width, previous)
        if box:
            previous = (right, float(box[3]), float(box[3]) - float(box[1]))
        side: Literal["rep", "customer", "unknown"] = "rep" if right else "customer"
        speaker = "me" if right else "customer"
        if turns and turns[-1].side == side:  # wrapped lines of one bubble
            turns[-1].text += " " + text
            continue
        turns.append(Turn(line=len(turns) + 1, speaker=speaker, text=text, side=side))
    return turns


def _is_right_hand(box: tuple[float, ...] | None, width: float, previous: tuple[bool, float, float] | None) -> bool:
    """Whether an OCR line sits in a right-hand (the rep's) bubble.

    A line in one half is that half's. A bubble wide enough to span the middle with about equal margins (a long
    message wrapped to the bubble's full width) says nothing by position: it belongs to the line just above it
    when that line is close (the sender's name over the bubble, or its wrapped first line), else to the side of
    the smaller margin.
    """
    if not box or not width:
        return False
    left, top, right_edge = float(box[0]), float(box[1]), float(box[2])
    if right_edge <= width / 2 or left >= width / 2:
        return left >= width / 2
    left_margin, right_margin = left, width - right_edge
    if abs(left_margin - right_margin) < 0.1 * width and previous is not None:
        previous_right, previous_bottom, previous_height = previous
        if top - previous_bottom < previous_height:
            return previous_right
    return (left + right_edge) / 2 > width / 2


def read_conversation(path: Path) -> Conversation:
    """Parse a file by its extension; CoachInputError when it is missing, unreadable or has no turns."""
    if not path.is_file():
        raise CoachInputError(f"no such file: {path} / 找不到文件")
    if path.stat().st_size > MAX_INPUT_BYTES:
        raise CoachInputError(f"{path.name} is larger than {MAX_INPUT_BYTES // 1_000_000} MB / 文件过大")
    suffix = path.suffix.lower()
    if suffix in (".png", ".jpg", ".jpeg"):
        return _checked(Conversation(source="screenshot", turns=parse_screenshot(path)), path)
    raw = path.read_bytes()
    if suffix == ".eml":
        return _checked(Conversation(source="email", turns=parse_email(raw)), path)
    text = decode_text(raw, path.name)
    if suffix in (".vtt", ".srt"):
        return _checked(Conversation(source="transcript", turns=parse_subtitles(text)), path)
    return _checked(parse_text(text, "chat" if _looks_like_chat_export(text) else "transcript"), path)


def _looks_like_chat_export(text: str) -> bool:
    return any(_CHAT_HEADER_RE.match(line.strip()) for line in text.splitlines()[:50])


def decode_text(raw: bytes, name: str) -> str:
    """UTF-8 (with or without BOM), else GB18030 (Chinese Windows exports); CoachInputError for binary."""
    if b"\x00" in raw[:4096]:
        raise CoachInputError(f"{name} is not a text file / 不是文本文件")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CoachInputError(f"{name} is not UTF-8 or GB18030 text / 文件编码无法识别")


def parse_text(text: str, source: str = "transcript") -> Conversation:
    """Text already in memory: a transcript, a chat export or a raw e-mail (source)."""
    if source == "email":
        return Conversation(source="email", turns=parse_email(text.encode("utf-8")))
    if source == "chat":
        return Conversation(source="chat", turns=parse_chat_export(text))
    if source == "transcript":
        return Conversation(source="transcript", turns=parse_subtitles(text) if "-->" in text
                            else parse_transcript(text))
    raise CoachInputError(f"unknown source {source!r}; use transcript, chat or email")


def _checked(conversation: Conversation, path: Path) -> Conversation:
    if not conversation.turns:
        raise CoachInputError(f"{path.name}: no speaker turns found; label lines as \"Name: text\" / "
                              "未找到带发言人的对话行")
    return conversation
