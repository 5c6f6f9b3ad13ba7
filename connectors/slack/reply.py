"""The one path from a parsed Slack question to a posted answer: ask the agent, render, post, upload, notify."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from agent.answer.progress import reporting_progress
from agent.models import TurnRequest, TurnResult
from connectors.slack.approvers import notify_approvers
from connectors.slack.context import SLACK_HTTP_TIMEOUT_SECONDS, SlackConnectorContext
from connectors.slack.models import PendingBlockOrigin, ReplyTarget
from connectors.slack.render import friendly_error_text, render_turn_result, section
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
    client: WebClient, target: ReplyTarget, text: str, blocks: list[dict[str, Any]] | None = None
) -> str | None:
    """Post in the target thread, or back through the slash command's response_url (only the user sees it).

    Returns the new message's ts (None for response_url answers, which Slack does not identify).
    """
    if target.response_url:
        response = WebhookClient(target.response_url, timeout=SLACK_HTTP_TIMEOUT_SECONDS).send(
            text=text, blocks=blocks, response_type="ephemeral", replace_original=False
        )
        if response.status_code != 200:
            raise RuntimeError(f"response_url answered {response.status_code}: {response.body}")
        return None
    posted = client.chat_postMessage(
        channel=target.channel, thread_ts=target.thread_ts, text=text, blocks=blocks,
        unfurl_links=False, unfurl_media=False,
    )
    return posted.get("ts")


def post_friendly_error(client: WebClient, target: ReplyTarget, user_text: str) -> None:
    try:
        post_message(client, target, friendly_error_text(user_text))
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


def post_turn_result(context: SlackConnectorContext, client: WebClient, target: ReplyTarget, result: TurnResult,
                     replace_ts: str | None = None) -> None:
    """Render and post one agent result (replacing the placeholder `replace_ts` when one was posted); remember
    proposals for Edit; DM manager/VP approvers."""
    origin = PendingBlockOrigin(action_id="", origin_channel=target.channel, origin_thread_ts=target.thread_ts)
    text, blocks = render_turn_result(result, origin)
    for action in result.pending_actions:
        context.store.remember_pending_action(action)
    if replace_ts:
        ts = replace_message(client, target, replace_ts, text, blocks)
    else:
        ts = post_message(client, target, text, blocks)
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
    With a model configured, a knowledge answer streams (connectors/slack/streaming.py): the extractive answer is
    posted at once as a placeholder, edited as the model writes, and replaced by the turn's checked result. A
    slash command's private reply (response_url) cannot be edited, so it gets the one final message.
    """
    stream: SlackAnswerStream | None = None
    remember_reply_thread(context, target)
    try:
        role = context.role_of(target.user_id)
        if not target.is_private:
            role = lower_role(role, context.default_role)
        request = TurnRequest(text=question, user_id=target.user_id, role=role, thread_id=thread_id, channel="slack")
        if not target.response_url:
            stream = SlackAnswerStream(client, target, interval_s=context.stream_update_interval_s)
        with context.lock_for_thread(thread_id), reporting_progress(stream):
            result = context.answer_turn(request)
        post_turn_result(context, client, target, result, replace_ts=stream.ts if stream else None)
        return result
    except Exception:
        logger.exception("answering slack user %s in %s (thread %s) failed", target.user_id, target.channel, thread_id)
        post_friendly_error(client, target, question)
        return None
