"""Slack shows an answer as it forms: a "working" note while the model reads the question, the preliminary
(extractive) answer as soon as it exists, then edits as the model's text arrives (throttled), and the turn's checked
result replaces it (reply.py). A slash command's private reply streams the same way through its response_url, within
the five posts Slack allows one response_url."""

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
from connectors.slack.response_url import RESPONSE_URL_POSTS, send_ephemeral

logger = logging.getLogger(__name__)

# At most one chat.update per this many seconds while the model writes (Slack's chat.update is rate-limited
# per channel at roughly one call a second).
STREAM_UPDATE_INTERVAL_S = 1.0

# Posts of a slash command's private placeholder (connectors/slack/response_url.py): the response_url's five,
# less the final answer and a chart-upload notice.
RESPONSE_URL_PROGRESS_POSTS = RESPONSE_URL_POSTS - 2

STREAM_LABELS = {
    "en": {"working": "⏳ _Working on it… (the model is reading your question)_",
           "preliminary": "⏳ _Preliminary answer from the documents; the model is writing a fuller one…_",
           "drafting": "✍️ _The model is writing… (checked against the sources when it is done)_"},
    "zh": {"working": "⏳ _处理中……（模型正在理解您的问题）_",
           "preliminary": "⏳ _初步回答（摘自文档），模型正在撰写更完整的回答……_",
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
    """The agent's progress listener (agent.answer.progress) for one Slack reply in a channel, DM, thread, or a
    slash command's private reply.

    The first sign of progress posts a placeholder: a short "working" note when the model is asked before any
    answer exists (routing, tool arguments), or the preliminary (extractive) answer; later progress edits it in
    place (`chat.update`; through a slash command's response_url, a post with replace_original). `shown` says a
    placeholder is up, `ts` is its message (None for a response_url, which Slack does not identify); the caller
    replaces it with the final result. A failed post or edit stops further edits (the final result is still
    posted); nothing here raises into the turn.
    """

    def __init__(self, client: WebClient, target: ReplyTarget, *, interval_s: float = STREAM_UPDATE_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.target = target
        self.interval_s = interval_s
        self.clock = clock
        self.ts: str | None = None
        self.shown = False
        self.language = "en"
        self.updates = 0
        self._has_answer = False
        self._last_shown_at = 0.0
        self._last_text = ""
        self._editing = True
        self._posts_left = RESPONSE_URL_PROGRESS_POSTS if target.response_url else None

    def working(self, language: str) -> None:
        if self.shown:
            return
        self.language = language
        label = stream_labels(language)["working"]
        self._show(label, [context([label])])

    def preliminary(self, result: TurnResult) -> None:
        if self._has_answer:
            return
        self.language = result.language
        self._has_answer = self._show(*render_preliminary(result))

    def model_text(self, text: str) -> None:
        if not self._has_answer or not self._editing or not text.strip() or text == self._last_text:
            return
        if self.clock() - self._last_shown_at < self.interval_s:
            return
        if self._show(*render_model_draft(text, self.language)):
            self.updates += 1
            self._last_text = text

    def _show(self, text: str, blocks: list[dict[str, Any]]) -> bool:
        """Post the placeholder, or edit it once posted; False (and no more edits) when Slack refuses."""
        if not self._editing or self._posts_left == 0:
            return False
        try:
            if self.target.response_url:
                send_ephemeral(self.target.response_url, text, blocks, replace_original=self.shown)
            elif self.ts is None:
                posted = self.client.chat_postMessage(channel=self.target.channel, thread_ts=self.target.thread_ts,
                                                      text=text, blocks=blocks, unfurl_links=False, unfurl_media=False)
                self.ts = posted.get("ts")
            else:
                self.client.chat_update(channel=self.target.channel, ts=self.ts, text=text, blocks=blocks)
        except Exception:
            logger.exception("showing progress in %s failed; no more edits until the answer", self.target.channel)
            self._editing = False
            return False
        self.shown = True
        if self._posts_left is not None:
            self._posts_left -= 1
        self._last_shown_at = self.clock()
        return True
