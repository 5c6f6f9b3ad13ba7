"""Every connector accepts the same decision verbs: the one parser, `salesbot ask`, a Slack DM, a WeCom message."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.decisions import decision_for_word, parse_decision_command
from agent.models import TurnResult
from connectors.cli import app
from connectors.slack.context import SlackConnectorContext
from connectors.slack.models import ReplyTarget
from connectors.slack.reply import answer_and_reply
from connectors.wecom.context import WeComHandlerContext
from connectors.wecom.handle_text_message import handle_text_message
from connectors.wecom.models import RenderedReply, WeComTextMessage
from tests.stubs.slack_api import RecordingSlackClient

# The union of what CLI, Slack and WeCom accepted before they shared one parser, Chinese and English.
VERBS = [
    ("确认", "approve"), ("同意", "approve"), ("批准", "approve"), ("通过", "approve"),
    ("approve", "approve"), ("confirm", "approve"),
    ("修改", "edit"), ("编辑", "edit"), ("edit", "edit"), ("change", "edit"),
    ("取消", "reject"), ("拒绝", "reject"), ("驳回", "reject"),
    ("reject", "reject"), ("cancel", "reject"), ("decline", "reject"),
]


def _command(verb: str) -> str:
    return f"{verb} A7K2Q 截止=下周五" if verb in ("修改", "编辑", "edit", "change") else f"{verb} A7K2Q"


class _Sender:
    def __init__(self) -> None:
        self.replies: list[RenderedReply] = []

    def deliver(self, user_id: str, reply: RenderedReply) -> None:
        self.replies.append(reply)

    def mark_card_decided(self, user_id: str, response_code: str, label: str) -> None:
        pass


@pytest.fixture
def decisions(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, dict[str, Any] | None]]:
    """agent.service.decide_action replaced by a recorder: what reaches the gate, from whichever connector."""
    recorded: list[tuple[str, str, dict[str, Any] | None]] = []

    def record(action_id: str, decision: str, user_id: str, role: str, edited_args: dict[str, Any] | None = None,
               language: str | None = None) -> TurnResult:
        recorded.append((action_id, decision, edited_args))
        return TurnResult(answer=f"{decision} {action_id}", route="decision", language=language or "en")

    monkeypatch.setattr("agent.service.decide_action", record)
    return recorded


@pytest.mark.parametrize(("verb", "decision"), VERBS)
def test_the_same_verbs_decide_the_same_way_in_every_connector(
    verb: str, decision: str, decisions: list[tuple[str, str, dict[str, Any] | None]]
) -> None:
    text = _command(verb)
    edited = {"due": "下周五"} if decision == "edit" else None
    parsed = parse_decision_command(text)
    assert parsed is not None and (parsed.action_id, parsed.decision, parsed.edited_args or None) == (
        "A7K2Q", decision, edited)
    assert decision_for_word(verb) == decision  # the CLI chat prompt's answer to a proposal

    asked = CliRunner().invoke(app, ["ask", text, "--json"])
    assert asked.exit_code == 0, asked.output
    assert json.loads(asked.stdout)["answer"] == f"{decision} A7K2Q"

    slack_client = RecordingSlackClient()
    answer_and_reply(SlackConnectorContext(), slack_client, text,
                     ReplyTarget(channel="D0ZHANGWEI", user_id="U0ZHANGWEI"), "slack:D0ZHANGWEI")
    [slack_post] = slack_client.calls_to("chat.postMessage")
    assert slack_post.params["text"] == f"{decision} A7K2Q"

    sender = _Sender()
    handle_text_message(WeComTextMessage(msg_id="1", from_user="zhang.wei", to_user="ww1", content=text),
                        WeComHandlerContext(sender=sender))  # type: ignore[arg-type]
    assert sender.replies[0].markdown_chunks == [f"{decision} A7K2Q"]

    assert decisions == [("A7K2Q", decision, edited)] * 3
