"""Slack shows an answer as it forms: the preliminary (extractive) answer is posted at once, then edited with
`chat.update` as the model's text arrives (throttled), and the turn's checked result replaces it (reply.py)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient

from agent.models import TurnResult
from connectors.slack.models import ReplyTarget
from connectors.slack.render import (
    FALLBACK_TEXT_LIMIT,
    MESSAGE_BLOCK_LIMIT,
    context,
    mrkdwn_from_markdown,
    render_citations,
    section,
    split_text,
    truncate,
)

logger = logging.getLogger(__name__)

# At most one chat.update per this many seconds while the model writes (Slack's chat.update is rate-limited
# per channel at roughly one call a second).
STREAM_UPDATE_INTERVAL_S = 1.0

STREAM_LABELS = {
    "en": {"preliminary": "⏳ _Preliminary answer from the documents; the model is writing a fuller one…_",
           "drafting": "✍️ _The model is writing… (checked against the sources when it is done)_"},
    "zh": {"preliminary": "⏳ _初步回答（摘自文档），模型正在撰写更完整的回答……_",
           "drafting": "✍️ _模型撰写中……（写完后会与来源核对）_"},
}


def stream_labels(language: str) -> dict[str, str]:
    return STREAM_LABELS["zh" if language.startswith("zh") else "en"]


def render_preliminary(result: TurnResult) -> tuple[str, list[dict[str, Any]]]:
    """The placeholder message: the extractive answer with its sources, marked preliminary (no buttons yet)."""
    blocks = [section(piece) for piece in split_text(mrkdwn_from_markdown(result.answer))]
    blocks.extend(render_citations(result.citations, result.language))
    blocks.append(context([stream_labels(result.language)["preliminary"]]))
    return truncate(result.answer or "…", FALLBACK_TEXT_LIMIT), blocks[:MESSAGE_BLOCK_LIMIT]


def render_model_draft(text: str, language: str) -> tuple[str, list[dict[str, Any]]]:
    """The placeholder while the model writes: its text so far, marked as not yet checked."""
    blocks = [section(piece) for piece in split_text(mrkdwn_from_markdown(text))]
    blocks = blocks[:MESSAGE_BLOCK_LIMIT - 1] + [context([stream_labels(language)["drafting"]])]
    return truncate(text or "…", FALLBACK_TEXT_LIMIT), blocks


class SlackAnswerStream:
    """The agent's progress listener (agent.answer.progress) for one Slack reply in a channel, DM or thread.

    `ts` is the placeholder message once posted; the caller replaces it with the final result. A failed
    chat.update stops further edits (the final result is still posted); nothing here raises into the turn.
    """

    def __init__(self, client: WebClient, target: ReplyTarget, *, interval_s: float = STREAM_UPDATE_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.target = target
        self.interval_s = interval_s
        self.clock = clock
        self.ts: str | None = None
        self.language = "en"
        self.updates = 0
        self._last_shown_at = 0.0
        self._last_text = ""
        self._editing = True

    def preliminary(self, result: TurnResult) -> None:
        if self.ts is not None or self.target.response_url:
            return
        text, blocks = render_preliminary(result)
        posted = self.client.chat_postMessage(channel=self.target.channel, thread_ts=self.target.thread_ts, text=text,
                                              blocks=blocks, unfurl_links=False, unfurl_media=False)
        self.ts = posted.get("ts")
        self.language = result.language
        self._last_shown_at = self.clock()

    def model_text(self, text: str) -> None:
        if self.ts is None or not self._editing or not text.strip() or text == self._last_text:
            return
        now = self.clock()
        if now - self._last_shown_at < self.interval_s:
            return
        notification, blocks = render_model_draft(text, self.language)
        try:
            self.client.chat_update(channel=self.target.channel, ts=self.ts, text=notification, blocks=blocks)
        except Exception:
            logger.exception("editing the placeholder %s in %s failed; no more edits until the answer",
                             self.ts, self.target.channel)
            self._editing = False
            return
        self.updates += 1
        self._last_text = text
        self._last_shown_at = now
