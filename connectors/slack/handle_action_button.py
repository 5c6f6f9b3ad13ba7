"""Button presses: Approve / Edit / Reject on a pending action, 👍 / 👎 on a suggestion."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from connectors.slack.context import SLACK_HTTP_TIMEOUT_SECONDS, SlackConnectorContext
from connectors.slack.models import (
    APPROVE_ACTION_ID,
    EDIT_ACTION_ID,
    FEEDBACK_DOWN_ACTION_ID,
    FEEDBACK_UP_ACTION_ID,
    REJECT_ACTION_ID,
    DecisionRequest,
    EditModalState,
    ReplyTarget,
    SlackButtonAction,
)
from connectors.slack.render import (
    FRIENDLY_ERROR,
    render_decision_status,
    render_edit_modal,
    render_turn_result,
    replace_pending_buttons,
)
from connectors.slack.reply import post_message, post_turn_result
from salesbot.errors import UserFacingError

logger = logging.getLogger(__name__)

FEEDBACK_THANKS = {True: "Thanks — marked as helpful 👍", False: "Thanks — marked as not helpful 👎"}
FEEDBACK_FAILED = "Sorry, your feedback could not be recorded; please try again later."


def is_refusal(error: Exception) -> bool:
    """The gate owns who may decide; the connector only recognises its refusals and shows their message.

    Only a UserFacingError (the gate's ActionError family: not yours, already decided, unknown id, invalid
    edited arguments) carries a message written for the chat user; every other error text stays in the log.
    """
    return isinstance(error, UserFacingError) and bool(str(error).strip())


def post_ephemeral(client: WebClient, user_id: str, text: str, channel: str | None, thread_ts: str | None,
                   response_url: str | None = None) -> None:
    """A message only the presser sees (through response_url when the buttons themselves were ephemeral)."""
    try:
        if response_url:
            WebhookClient(response_url, timeout=SLACK_HTTP_TIMEOUT_SECONDS).send(
                text=text, response_type="ephemeral", replace_original=False
            )
        elif channel:
            client.chat_postEphemeral(channel=channel, user=user_id, text=text, thread_ts=thread_ts)
    except Exception:
        logger.exception("could not show an ephemeral message to %s", user_id)


def mark_decided(context: SlackConnectorContext, client: WebClient, request: DecisionRequest) -> None:
    """Swap the action's button row for "Approved by @x" on every message showing it, so nobody presses again."""
    status = render_decision_status(request.decision, request.user_id)
    messages: dict[tuple[str, str], list[dict[str, Any]]] = {}
    if request.is_ephemeral and request.response_url and request.message_blocks:
        try:
            WebhookClient(request.response_url, timeout=SLACK_HTTP_TIMEOUT_SECONDS).send(
                blocks=replace_pending_buttons(request.message_blocks, request.action_id, status),
                replace_original=True,
            )
        except Exception:
            logger.exception("could not update the ephemeral buttons of action %s", request.action_id)
    elif request.channel and request.message_ts and request.message_blocks:
        messages[(request.channel, request.message_ts)] = request.message_blocks  # what the presser sees now
    for channel, ts, blocks in context.store.action_messages(request.action_id):
        messages.setdefault((channel, ts), blocks)
    for (channel, ts), blocks in messages.items():
        updated = replace_pending_buttons(blocks, request.action_id, status)
        try:
            client.chat_update(channel=channel, ts=ts, blocks=updated, text=f"{request.decision}: {request.action_id}")
            context.store.update_message_blocks(channel, ts, updated)
        except Exception:
            logger.exception("could not update the buttons of action %s in %s", request.action_id, channel)


def apply_decision(context: SlackConnectorContext, client: WebClient, request: DecisionRequest) -> None:
    """Hand the decision to the agent (which enforces who may decide) and report the outcome where it happened."""
    ephemeral_url = request.response_url if request.is_ephemeral else None
    try:
        role = context.role_of(request.user_id)
        result = context.decide_action(request.action_id, request.decision, request.user_id, role,
                                       request.edited_args)
    except Exception as error:
        if is_refusal(error):
            logger.info("refused %s on action %s by %s: %s", request.decision, request.action_id, request.user_id,
                        error)
            post_ephemeral(client, request.user_id, str(error), request.channel,
                           request.reply_thread_ts, ephemeral_url)
        else:
            logger.exception("deciding %s on action %s by %s failed", request.decision, request.action_id,
                             request.user_id)
            post_ephemeral(client, request.user_id, FRIENDLY_ERROR["en"], request.channel, request.reply_thread_ts,
                           ephemeral_url)
        return
    try:
        mark_decided(context, client, request)
        if request.channel:
            target = ReplyTarget(channel=request.channel, user_id=request.user_id,
                                 thread_ts=request.reply_thread_ts, response_url=ephemeral_url)
            post_turn_result(context, client, target, result)
        origin = request.origin
        if origin.origin_channel and origin.origin_channel != request.channel:
            # Decided in an approver's DM: the rep who proposed it hears about it in the original thread.
            text, blocks = render_turn_result(result.model_copy(update={"pending_actions": []}))
            blocks = [render_decision_status(request.decision, request.user_id), *blocks]
            post_message(client, ReplyTarget(channel=origin.origin_channel, user_id=request.user_id,
                                             thread_ts=origin.origin_thread_ts), text, blocks)
    except Exception:
        logger.exception("reporting the decision on action %s failed", request.action_id)
        post_ephemeral(client, request.user_id, FRIENDLY_ERROR["en"], request.channel, request.reply_thread_ts,
                       ephemeral_url)


def acknowledge_action(ack: Ack) -> None:
    ack()


def register(app: App, context: SlackConnectorContext) -> None:
    def decide_from_button(body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        press = SlackButtonAction.from_bolt(body, action)
        if press.decision is None:
            return
        apply_decision(context, client, DecisionRequest.from_button(press, press.decision))

    def open_edit_modal(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        # views.open needs the trigger_id within 3 s, so this runs while acknowledging, not lazily.
        ack()
        press = SlackButtonAction.from_bolt(body, action)
        action_id = press.value or press.origin.action_id
        snapshot = context.store.pending_action_snapshot(action_id)
        args, summary = snapshot if snapshot else ({}, "")
        state = EditModalState(
            action_id=action_id, channel=press.channel, message_ts=press.message_ts,
            thread_ts=press.reply_thread_ts, block_id=press.block_id, is_ephemeral=press.is_ephemeral,
            response_url=press.response_url,
        )
        try:
            client.views_open(trigger_id=press.trigger_id, view=render_edit_modal(state, args, summary))
        except Exception:
            logger.exception("could not open the edit modal for action %s", action_id)
            post_ephemeral(client, press.user_id, FRIENDLY_ERROR["en"], press.channel, press.reply_thread_ts,
                           press.response_url if press.is_ephemeral else None)

    def record_feedback_press(body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        press = SlackButtonAction.from_bolt(body, action)
        adopted = press.action_id == FEEDBACK_UP_ACTION_ID
        ephemeral_url = press.response_url if press.is_ephemeral else None
        try:
            context.record_feedback(press.value, adopted, press.user_id)
        except Exception as error:
            # Only a UserFacingError's message is written for users (e.g. an id that no longer exists).
            readable = isinstance(error, UserFacingError)
            logger.log(logging.INFO if readable else logging.ERROR, "recording feedback on suggestion %s failed",
                       press.value, exc_info=not readable)
            post_ephemeral(client, press.user_id, str(error) if readable else FEEDBACK_FAILED, press.channel,
                           press.reply_thread_ts, ephemeral_url)
            return
        post_ephemeral(client, press.user_id, FEEDBACK_THANKS[adopted], press.channel, press.reply_thread_ts,
                       ephemeral_url)

    for decision_action_id in (APPROVE_ACTION_ID, REJECT_ACTION_ID):
        app.action(decision_action_id)(ack=acknowledge_action, lazy=[decide_from_button])
    app.action(EDIT_ACTION_ID)(open_edit_modal)
    for feedback_action_id in (FEEDBACK_UP_ACTION_ID, FEEDBACK_DOWN_ACTION_ID):
        app.action(feedback_action_id)(ack=acknowledge_action, lazy=[record_feedback_press])
