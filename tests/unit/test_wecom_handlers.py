"""WeCom handlers with fake agent functions and a recording sender: routing, roles, commands, friendly errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.models import TurnRequest, TurnResult
from connectors.wecom.context import WeComHandlerContext, role_from_settings
from connectors.wecom.handle_card_event import handle_card_event
from connectors.wecom.handle_text_message import handle_text_message
from connectors.wecom.models import RenderedReply, WeComCardEvent, WeComTextMessage
from salesbot.settings import reset_runtime
from tests.action_views import action_view
from tools.gate.models import ActionView
from tools.gate.store import ActionNotAllowed, ActionNotFound


class RecordingSender:
    """Stands in for WeComSender: keeps what would have been sent."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[str, RenderedReply]] = []
        self.card_updates: list[tuple[str, str, str]] = []

    def deliver(self, user_id: str, reply: RenderedReply) -> None:
        self.deliveries.append((user_id, reply))

    def mark_card_decided(self, user_id: str, response_code: str, label: str) -> None:
        self.card_updates.append((user_id, response_code, label))

    def texts(self) -> list[str]:
        return ["\n".join(reply.markdown_chunks) for _user, reply in self.deliveries]


class FakeAgent:
    def __init__(self, answer: TurnResult | Exception | None = None, decision: TurnResult | Exception | None = None):
        self.answer = answer or TurnResult(answer="答案", language="zh")
        self.decision = decision or TurnResult(answer="已创建任务", language="zh")
        self.turns: list[TurnRequest] = []
        self.decisions: list[tuple[Any, ...]] = []
        self.languages: list[str | None] = []

    def answer_turn(self, request: TurnRequest) -> TurnResult:
        self.turns.append(request)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def decide_action(self, action_id: str, decision: str, user_id: str, role: str,
                      edited_args: dict[str, Any] | None = None, *, language: str | None = None) -> TurnResult:
        self.languages.append(language)
        self.decisions.append((action_id, decision, user_id, role, edited_args))
        if isinstance(self.decision, Exception):
            raise self.decision
        return self.decision


def context_for(agent: FakeAgent, sender: RecordingSender, role: str = "rep",
                approvers: dict[str, list[str]] | None = None) -> WeComHandlerContext:
    return WeComHandlerContext(sender=sender, answer_turn=agent.answer_turn, decide_action=agent.decide_action,  # type: ignore[arg-type]
                               role_for=lambda _user: role,
                               approvers_for=lambda required: (approvers or {}).get(required, []))


def text_message(content: str, user: str = "zhang.wei", msg_id: str = "1") -> WeComTextMessage:
    return WeComTextMessage(msg_id=msg_id, from_user=user, to_user="ww1", agent_id="1000002", content=content)


def test_question_goes_to_answer_turn_with_wecom_channel_thread_and_role() -> None:
    agent, sender = FakeAgent(), RecordingSender()
    handle_text_message(text_message("华东人民医院的质保期是多久？"), context_for(agent, sender, role="manager"))
    assert agent.turns == [TurnRequest(text="华东人民医院的质保期是多久？", user_id="zhang.wei", role="manager",
                                       thread_id="wecom:zhang.wei", channel="wecom")]
    assert agent.decisions == []
    assert [(user, reply.markdown_chunks) for user, reply in sender.deliveries] == [("zhang.wei", ["答案"])]


def test_decision_commands_reach_the_agents_answer_path_which_decides_them(monkeypatch: pytest.MonkeyPatch) -> None:
    decided: list[tuple[Any, ...]] = []

    def record_decision(action_id: str, decision: str, user_id: str, role: str,
                        edited_args: dict[str, Any] | None = None, language: str | None = None) -> TurnResult:
        decided.append((action_id, decision, user_id, role, edited_args, language))
        return TurnResult(answer="已创建任务", language="zh", route="decision")

    monkeypatch.setattr("agent.service.decide_action", record_decision)
    sender = RecordingSender()
    context = WeComHandlerContext(sender=sender, role_for=lambda _user: "rep")  # the real agent entry points
    for text in ("确认 A7K2Q", "修改 A7K2Q 截止=下周五", "reject A7K2Q"):
        handle_text_message(text_message(text), context)
    assert decided == [
        ("A7K2Q", "approve", "zhang.wei", "rep", None, "zh"),
        ("A7K2Q", "edit", "zhang.wei", "rep", {"due": "下周五"}, "zh"),
        ("A7K2Q", "reject", "zhang.wei", "rep", None, "en"),  # the reply follows the command's language
    ]
    assert sender.texts() == ["已创建任务"] * 3


def test_refusal_from_the_gate_is_shown_as_written() -> None:
    refusal = ActionNotAllowed("只有提出人或经理可以确认操作 A7K2Q。")
    agent, sender = FakeAgent(answer=refusal), RecordingSender()
    handle_text_message(text_message("确认 A7K2Q", user="li.na"), context_for(agent, sender))
    assert sender.texts() == ["只有提出人或经理可以确认操作 A7K2Q。"]


def test_unknown_action_id_is_explained_by_the_gates_message() -> None:
    agent, sender = FakeAgent(answer=ActionNotFound("no action with id 'ZZZ9'; `salesbot tasks` lists them")), RecordingSender()
    handle_text_message(text_message("确认 ZZZ9"), context_for(agent, sender))
    assert sender.texts() == ["no action with id 'ZZZ9'; `salesbot tasks` lists them"]


def test_unexpected_failures_become_a_polite_message_without_internals(caplog: pytest.LogCaptureFixture) -> None:
    agent, sender = FakeAgent(answer=RuntimeError("sqlite3.OperationalError: database is locked")), RecordingSender()
    handle_text_message(text_message("What is the floor price of the X200?"), context_for(agent, sender))
    (text,) = sender.texts()
    assert text.startswith("Sorry, something went wrong")
    assert "sqlite3" not in text and "Traceback" not in text
    assert "database is locked" in caplog.text  # the details go to the log


def test_agent_not_built_yet_reads_as_not_available() -> None:
    agent, sender = FakeAgent(answer=NotImplementedError("agent graph lands with issue 4")), RecordingSender()
    handle_text_message(text_message("你好"), context_for(agent, sender))
    assert sender.texts() == ["抱歉，这项功能还没有启用，请稍后再试。"]


def test_edit_without_changes_gets_usage_help_and_decides_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    decided: list[str] = []
    monkeypatch.setattr("agent.service.decide_action", lambda action_id, *args, **kwargs: decided.append(action_id))
    sender = RecordingSender()
    handle_text_message(text_message("修改 A7K2Q"), WeComHandlerContext(sender=sender, role_for=lambda _user: "rep"))
    assert decided == []
    assert "截止=下周五" in sender.texts()[0]


def test_card_click_decides_the_action_and_retires_the_buttons() -> None:
    agent, sender = FakeAgent(), RecordingSender()
    event = WeComCardEvent(from_user="liu.yang", to_user="ww1", event_key="approve:A7K2Q", task_id="t1",
                           response_code="rc-1")
    handle_card_event(event, context_for(agent, sender, role="manager"))
    assert agent.decisions == [("A7K2Q", "approve", "liu.yang", "manager", None)]
    assert sender.texts() == ["已创建任务"]
    assert sender.card_updates == [("liu.yang", "rc-1", "已确认 Approved")]


def test_refused_card_click_says_why_and_marks_the_card_not_done() -> None:
    agent, sender = FakeAgent(decision=ActionNotAllowed("Only a manager may approve A7K2Q.")), RecordingSender()
    event = WeComCardEvent(from_user="li.na", to_user="ww1", event_key="approve:A7K2Q", task_id="t1",
                           response_code="rc-2")
    handle_card_event(event, context_for(agent, sender))
    assert sender.texts() == ["Only a manager may approve A7K2Q."]
    assert sender.card_updates == [("li.na", "rc-2", "未执行 Not done")]


def test_role_comes_from_the_roles_file_and_unknown_users_get_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    roles_file = tmp_path / "roles.yaml"
    roles_file.write_text("users:\n  liu.yang: manager\n  zhao.min: vp\n", encoding="utf-8")
    monkeypatch.setenv("SALESBOT_ROLES_FILE", str(roles_file))
    reset_runtime()
    assert role_from_settings("liu.yang") == "manager"
    assert role_from_settings("zhao.min") == "vp"
    assert role_from_settings("someone.new") == "rep"


def quote_needing(required: str, proposer: str = "zhang.wei", proposer_role: str = "rep") -> ActionView:
    return action_view(id="Q3M8D", kind="submit_quote_for_approval", summary="Quote 20 × X200 to Northwind",
                       summary_zh="提交北风制造报价审批", proposer=proposer, proposer_role=proposer_role,
                       required_approver=required)


def test_proposal_needing_a_manager_is_sent_to_the_managers_with_commands() -> None:
    agent = FakeAgent(answer=TurnResult(answer="已提交审批", language="zh", pending_actions=[quote_needing("manager")]))
    sender = RecordingSender()
    handle_text_message(text_message("给北风制造报价 20 台 X200"),
                        context_for(agent, sender, approvers={"manager": ["liu.yang"], "vp": ["zhao.min"]}))
    assert [user for user, _reply in sender.deliveries] == ["zhang.wei", "liu.yang"]
    request = sender.deliveries[1][1]
    assert "zhang.wei 提议 提交北风制造报价审批（需销售经理审批）" in request.markdown_chunks[0]
    assert "确认 Q3M8D" in request.markdown_chunks[0]
    assert [card.action_id for card in request.action_cards] == ["Q3M8D"]


def test_proposals_the_proposer_may_confirm_alone_notify_nobody_else() -> None:
    for action in (quote_needing("confirm"), quote_needing("manager", proposer="liu.yang", proposer_role="manager")):
        agent = FakeAgent(answer=TurnResult(answer="ok", language="zh", pending_actions=[action]))
        sender = RecordingSender()
        handle_text_message(text_message("报价", user=action.proposer),
                            context_for(agent, sender, approvers={"manager": ["liu.yang"]}))
        assert [user for user, _reply in sender.deliveries] == [action.proposer]


def test_approvers_come_from_the_roles_file_with_fallback_to_a_higher_role(tmp_path: Path) -> None:
    from salesbot.roles import approver_user_ids

    roles_file = tmp_path / "roles.yaml"
    roles_file.write_text("users:\n  liu.yang: manager\n  wu.lei: Manager\n  zhao.min: vp\n",
                          encoding="utf-8")
    assert approver_user_ids("manager", roles_file) == ["liu.yang", "wu.lei"]
    assert approver_user_ids("vp", roles_file) == ["zhao.min"]
    roles_file.write_text("users:\n  zhao.min: vp\n", encoding="utf-8")
    assert approver_user_ids("manager", roles_file) == ["zhao.min"]
    assert approver_user_ids("manager", None) == []
