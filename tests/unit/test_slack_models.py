"""Parsing Slack payloads into the connector's pydantic models."""

from __future__ import annotations

import json

import pytest

from connectors.slack.models import (
    APPROVE_ACTION_ID,
    EDIT_MODAL_INPUT_ACTION_ID,
    EDIT_MODAL_INPUT_BLOCK_ID,
    FEEDBACK_UP_ACTION_ID,
    DecisionRequest,
    EditModalState,
    PendingBlockOrigin,
    SlackButtonAction,
    SlackEditSubmission,
    SlackMessageEvent,
    SlackSlashCommand,
    strip_user_mentions,
)
from tests.stubs.slack_api import (
    app_mention_event,
    block_actions_payload,
    direct_message_event,
    event_callback_body,
    file_share_event,
)


def test_mention_text_loses_the_bot_mention_but_keeps_the_question() -> None:
    event = app_mention_event("QM-X3 的质保期是多久？", "U0ZHANGWEI", "C0SALES001", "1700000000.000100")
    parsed = SlackMessageEvent.from_bolt(event_callback_body(event, "Ev01"), event)
    assert parsed.event_id == "Ev01"
    assert parsed.question == "QM-X3 的质保期是多久？"
    assert parsed.thread_ts is None and parsed.ts == "1700000000.000100"


def test_mentions_with_display_names_are_stripped_everywhere() -> None:
    assert strip_user_mentions("<@U0SALESBOT|salesbot> ask <@W0ABC> about pricing") == "ask   about pricing"


@pytest.mark.parametrize(
    ("changes", "is_plain"),
    [({}, True), ({"subtype": "message_changed"}, False), ({"bot_id": "B0OTHER"}, False),
     ({"channel_type": "channel"}, False)],
)
def test_only_a_human_new_dm_counts_as_a_direct_message(changes: dict, is_plain: bool) -> None:
    event = {**direct_message_event("hello", "U0ZHANGWEI", "D0ZHANGWEI", "1700000000.000200"), **changes}
    assert SlackMessageEvent.from_bolt({}, event).is_plain_direct_message is is_plain


@pytest.mark.parametrize(
    ("text", "mentions_bot"),
    [("<@U0SALESBOT> 看看", True), ("<@U0SALESBOT|salesbot> 看看", True), ("<@U0SALESBOT2> 看看", False),
     ("看看 U0SALESBOT", False), ("", False)],
)
def test_a_file_share_mentions_the_bot_only_by_its_exact_user_id(text: str, mentions_bot: bool) -> None:
    event = file_share_event([{"id": "F1"}], "U0ZHANGWEI", "C0SALES001", "1.2", text=text, channel_type="channel",
                             thread_ts="1.1")
    parsed = SlackMessageEvent.from_bolt({}, event)
    assert parsed.is_human_file_share and not parsed.is_direct_file_share
    assert parsed.mentions("U0SALESBOT") is mentions_bot
    assert not parsed.mentions(None)


def test_pending_block_id_round_trips_even_when_the_action_id_has_colons() -> None:
    origin = PendingBlockOrigin(action_id="task:A7K2Q", origin_channel="C0SALES001", origin_thread_ts="1700000000.1")
    assert PendingBlockOrigin.from_block_id(origin.to_block_id()) == origin
    assert PendingBlockOrigin.from_block_id("salesbot_feedback:S123") is None
    assert PendingBlockOrigin.from_block_id("something-else") is None


def test_button_press_in_a_thread_answers_in_that_thread() -> None:
    block_id = PendingBlockOrigin(action_id="A7K2Q", origin_channel="C0SALES001",
                                  origin_thread_ts="1700000000.000100").to_block_id()
    message = {"ts": "1700000000.000300", "thread_ts": "1700000000.000100", "text": "proposal", "blocks": []}
    body = block_actions_payload(APPROVE_ACTION_ID, "A7K2Q", block_id, "U0LIUYANG1", "C0SALES001", message)
    press = SlackButtonAction.from_bolt(body, body["actions"][0])
    assert press.decision == "approve"
    assert press.reply_thread_ts == "1700000000.000100"
    request = DecisionRequest.from_button(press, "approve")
    assert (request.action_id, request.user_id, request.origin.origin_thread_ts) == (
        "A7K2Q", "U0LIUYANG1", "1700000000.000100")


def test_feedback_button_has_no_decision() -> None:
    message = {"ts": "1700000000.000300", "text": "answer", "blocks": []}
    body = block_actions_payload(FEEDBACK_UP_ACTION_ID, "SABC123", "salesbot_feedback:SABC123", "U0ZHANGWEI",
                                 "C0SALES001", message)
    press = SlackButtonAction.from_bolt(body, body["actions"][0])
    assert press.decision is None and press.value == "SABC123"
    assert press.reply_thread_ts == "1700000000.000300"


def test_slash_command_fields() -> None:
    parsed = SlackSlashCommand.from_bolt({"command": "/salesbot", "text": " 报价 ", "user_id": "U1",
                                          "channel_id": "C1", "response_url": "http://x/r"})
    assert (parsed.text, parsed.user_id, parsed.channel_id, parsed.response_url) == (" 报价 ", "U1", "C1", "http://x/r")


def _submission(args_text: str) -> SlackEditSubmission:
    view = {"private_metadata": EditModalState(action_id="A7K2Q", channel="C1").to_private_metadata(),
            "state": {"values": {EDIT_MODAL_INPUT_BLOCK_ID: {EDIT_MODAL_INPUT_ACTION_ID: {"value": args_text}}}}}
    return SlackEditSubmission.from_bolt({"user": {"id": "U0ZHANGWEI"}}, view)


def test_edit_submission_parses_a_json_object() -> None:
    submission = _submission(json.dumps({"due": "2026-12-01", "customer": "华东人民医院"}, ensure_ascii=False))
    assert submission.state.action_id == "A7K2Q"
    assert submission.parsed_args() == {"due": "2026-12-01", "customer": "华东人民医院"}


@pytest.mark.parametrize(("args_text", "message_part"), [("{not json", "Not valid JSON"), ("[1, 2]", "JSON object")])
def test_edit_submission_explains_bad_input(args_text: str, message_part: str) -> None:
    with pytest.raises(ValueError, match=message_part):
        _submission(args_text).parsed_args()
