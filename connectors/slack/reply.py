"""The one path from a parsed Slack question to a posted answer: ask the agent, render, post, upload, notify."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from slack_sdk import WebClient

from agent.answer.progress import reporting_progress
from agent.models import TurnRequest, TurnResult
from connectors.slack.approvers import notify_approvers
from connectors.slack.context import SlackConnectorContext
from connectors.slack.models import PendingBlockOrigin, ReplyTarget
from connectors.slack.render import friendly_error_text, render_turn_result, section
from connectors.slack.response_url import send_ephemeral
from connectors.slack.streaming import SlackAnswerStream
from salesbot.roles import lower_role

logger = logging.getLogger(__name__)

CHART_UPLOAD_FAILED = "(The chart could not be uploaded here; the numbers are above.)"


def thread_id_for(channel: str, thread_ts: str | None) -> str:
    """Agent thread memory key: one per Slack thread, or one per DM conversation outside threads."""
    return f"slack:{channel}:{thread_ts}" if thread_ts else f"slack:{channel}"


def remember_reply_thread(context: SlackConnectorContext, target: ReplyTarget) -> None:
    """Note, durably, that the bot replies in the target's thread: a file shared there later without an @mention is
    coached (handle_file_share). A failed note is logged; the reply still goes out."""
    if not target.thread_ts or target.response_url:
        return
    try:
        context.store.remember_bot_thread(target.channel, target.thread_ts)
    except Exception:
        logger.exception("could not record that the bot replies in thread %s of %s", target.thread_ts, target.channel)


def post_message(
    client: WebClient, target: ReplyTarget, text: str, blocks: list[dict[str, Any]] | None = None, *,
    replace_original: bool = False,
) -> str | None:
    """Post in the target thread, or back through the slash command's response_url (only the user sees it;
    replace_original replaces the message that response_url posted before, e.g. a streamed placeholder).

    Returns the new message's ts (None for response_url answers, which Slack does not identify).
    """
    if target.response_url:
        send_ephemeral(target.response_url, text, blocks, replace_original=replace_original)
        return None
    posted = client.chat_postMessage(
        channel=target.channel, thread_ts=target.thread_ts, text=text, blocks=blocks,
        unfurl_links=False, unfurl_media=False,
    )
    return posted.get("ts")


def post_friendly_error(client: WebClient, target: ReplyTarget, user_text: str,
                        placeholder: SlackAnswerStream | None = None) -> None:
    """The friendly failure line (in place of a streamed placeholder, which would otherwise stay up)."""
    try:
        text = friendly_error_text(user_text)
        blocks = [section(text)] if placeholder is not None and placeholder.shown else None
        show_in_place_of(placeholder, client, target, text, blocks)
    except Exception:
        logger.exception("could not even post the error message to %s", target.channel)


def upload_chart(client: WebClient, target: ReplyTarget, chart_path: str) -> None:
    path = Path(chart_path)
    try:
        client.files_upload_v2(
            file=str(path), filename=path.name, title=path.stem.replace("_", " "),
            channel=target.channel, thread_ts=target.thread_ts,
        )
    except Exception:
        logger.exception("chart upload of %s to %s failed", path, target.channel)
        post_message(client, target, CHART_UPLOAD_FAILED, [section(CHART_UPLOAD_FAILED)])


def replace_message(
    client: WebClient, target: ReplyTarget, ts: str, text: str, blocks: list[dict[str, Any]]
) -> str | None:
    """Replace a posted message (the streaming placeholder) with chat.update; when that fails, post anew."""
    try:
        client.chat_update(channel=target.channel, ts=ts, text=text, blocks=blocks)
        return ts
    except Exception:
        logger.exception("replacing message %s in %s failed; posting the answer as a new message", ts, target.channel)
        return post_message(client, target, text, blocks)


def show_in_place_of(placeholder: SlackAnswerStream | None, client: WebClient, target: ReplyTarget, text: str,
                     blocks: list[dict[str, Any]] | None) -> str | None:
    """Post a message, replacing the streamed placeholder when one is up (its thread message, or the previous post
    through a slash command's response_url); the message's ts where Slack gives one."""
    if placeholder is not None and placeholder.ts:
        return replace_message(client, target, placeholder.ts, text, blocks or [])
    return post_message(client, target, text, blocks,
                        replace_original=placeholder is not None and placeholder.shown)


def post_turn_result(context: SlackConnectorContext, client: WebClient, target: ReplyTarget, result: TurnResult,
                     placeholder: SlackAnswerStream | None = None) -> None:
    """Render and post one agent result (replacing the streamed placeholder when one is up); remember proposals for
    Edit; DM manager/VP approvers."""
    origin = PendingBlockOrigin(action_id="", origin_channel=target.channel, origin_thread_ts=target.thread_ts)
    text, blocks = render_turn_result(result, origin)
    for action in result.pending_actions:
        context.store.remember_pending_action(action)
    ts = show_in_place_of(placeholder, client, target, text, blocks)
    if ts:
        # Remembered so a decision taken anywhere (thread or approver DM) replaces the buttons everywhere.
        for action in result.pending_actions:
            context.store.remember_action_message(action.id, target.channel, ts, blocks)
    if result.chart:
        upload_chart(client, target, result.chart)
    for action in result.pending_actions:
        notify_approvers(client, action, proposer_user_id=action.proposer or target.user_id, origin=origin,
                         roles_file=context.roles_file, store=context.store, language=result.language)


def answer_and_reply(
    context: SlackConnectorContext, client: WebClient, question: str, target: ReplyTarget, thread_id: str
) -> TurnResult | None:
    """Ask the agent as this user and post the answer; failures become a friendly message.

    In a shared channel everybody reads the answer, so the turn runs with the least-privileged role: a
    manager's restricted documents and data are only answered in a DM or a slash command's private reply.
    With a model configured, the reply streams (connectors/slack/streaming.py): a "working" note while the model
    reads the question, the extractive answer as a placeholder as soon as it exists, edits as the model writes, and
    the turn's checked result in its place; a slash command's private reply too, through its response_url.
    """
    stream = SlackAnswerStream(client, target, interval_s=context.stream_update_interval_s)
    remember_reply_thread(context, target)
    try:
        role = context.role_of(target.user_id)
        if not target.is_private:
            role = lower_role(role, context.default_role)
        request = TurnRequest(text=question, user_id=target.user_id, role=role, thread_id=thread_id, channel="slack")
        with context.lock_for_thread(thread_id), reporting_progress(stream):
            result = context.answer_turn(request)
        post_turn_result(context, client, target, result, placeholder=stream)
        return result
    except Exception:
        logger.exception("answering slack user %s in %s (thread %s) failed", target.user_id, target.channel, thread_id)
        post_friendly_error(client, target, question, placeholder=stream)
        return None
