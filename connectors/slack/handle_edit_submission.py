"""The edit modal's submission: validate the JSON at once (errors shown under the field), then decide "edit"."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from connectors.slack.context import SlackConnectorContext
from connectors.slack.handle_action_button import apply_decision
from connectors.slack.models import (
    EDIT_MODAL_CALLBACK_ID,
    EDIT_MODAL_INPUT_BLOCK_ID,
    DecisionRequest,
    EditArgumentsError,
    PendingBlockOrigin,
    SlackEditSubmission,
)


def register(app: App, context: SlackConnectorContext) -> None:
    def validate_edit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        submission = SlackEditSubmission.from_bolt(body, view)
        try:
            submission.parsed_args()
        except EditArgumentsError as error:
            ack(response_action="errors", errors={EDIT_MODAL_INPUT_BLOCK_ID: str(error)})
            return
        ack()

    def decide_edit(body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        submission = SlackEditSubmission.from_bolt(body, view)
        state = submission.state
        origin = PendingBlockOrigin.from_block_id(state.block_id) or PendingBlockOrigin(action_id=state.action_id)
        request = DecisionRequest(
            action_id=state.action_id, decision="edit", user_id=submission.user_id, channel=state.channel,
            message_ts=state.message_ts, reply_thread_ts=state.thread_ts, is_ephemeral=state.is_ephemeral,
            response_url=state.response_url,
            origin=origin, edited_args=submission.parsed_args(),
        )
        apply_decision(context, client, request)

    app.view(EDIT_MODAL_CALLBACK_ID)(ack=validate_edit, lazy=[decide_edit])
