"""Rules first, model second, always checked (issue 13): a model's route and tool arguments never act unverified.

Scripted models stand in for a model that is wrong in the ways small real models are (the real-GGUF runs of the
same guarantees are in tests/integration/test_llm_real_model.py); customers and products come from the sample
company's data through the entity registry.
"""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from agent.model_checks import check_task_arguments, checked_route, rules_are_sure
from agent.models import TurnRequest
from agent.router import route_by_rules
from agent.service import answer_turn
from tests.fakes import json_reply, tool_call_reply
from tests.relative_dates import local_day
from tools.db.tables import Task, sales_session
from tools.sales.task_requests import parse_task_request

RENEWAL_REQUEST = "Remind me to call Northwind next Friday about the renewal"


def task_count() -> int:
    with sales_session() as session:
        return len(session.exec(select(Task)).all())


def test_a_question_needs_no_second_opinion_and_a_bare_command_does() -> None:
    question = "What are the payment terms in the Northwind supply agreement?"
    assert rules_are_sure(question, route_by_rules(question))
    assert rules_are_sure("北风的付款条件是什么", "knowledge")
    assert not rules_are_sure("Northwind payment terms", "knowledge")
    assert rules_are_sure("Northwind payment terms", "task")  # a route the rules' cues chose stands


def test_a_pricing_route_needs_a_priced_product_and_a_quantity(sample_home: Path) -> None:
    assert checked_route("pricing", "Northwind payment terms", "rep")[0] == "knowledge"
    assert checked_route("pricing", "Northwind G5 gateway, 40 units", "rep")[0] == "pricing"
    assert checked_route("pricing", "Northwind G5 gateway", "rep")[0] == "knowledge"  # no quantity


def test_a_data_route_needs_a_role_that_may_ask_data_questions(sample_home: Path) -> None:
    assert checked_route("data", "Northwind deals this year", "rep")[0] == "knowledge"
    assert checked_route("data", "Northwind deals this year", "manager")[0] == "data"


def test_help_and_task_routes_need_the_words_to_support_them(sample_home: Path) -> None:
    assert checked_route("help", "hi", "rep")[0] == "help"
    assert checked_route("help", "Northwind warranty", "rep")[0] == "knowledge"
    assert checked_route("task", "Northwind warranty", "rep")[0] == "knowledge"
    assert checked_route("task", "Northwind next Friday", "rep")[0] == "task"


def test_where_rules_read_a_value_the_rule_value_wins_and_auto_execution_is_lost(sample_home: Path) -> None:
    rules = parse_task_request(RENEWAL_REQUEST)
    assert rules is not None and rules["due"]
    checked = check_task_arguments({"customer": "Northwind", "due": local_day(0), "description": "renewal call"},
                                   rules)
    assert checked.args["due"] == rules["due"] and checked.args["customer"] == rules["customer"]
    assert checked.disagreements == ["due"] and not checked.may_auto_execute

    agreeing = check_task_arguments({"customer": "Northwind Manufacturing", "due": "next Friday",
                                     "description": "call"}, rules)
    assert agreeing.agreed and agreeing.may_auto_execute and agreeing.args["description"] == rules["description"]
    assert agreeing.args["description"] != "call"  # the rules' wording stands: the list's conditions read it


def test_values_only_the_model_read_are_kept_but_unverified(sample_home: Path) -> None:
    checked = check_task_arguments({"customer": "Northwind", "due": local_day(3), "description": "call"}, None)
    assert checked.args == {"customer": "Northwind", "due": local_day(3), "description": "call"}
    assert checked.agreed and not checked.may_auto_execute
    assert set(checked.unverified) == {"customer", "due", "description"}


def test_a_model_date_that_disagrees_never_auto_executes(sample_home: Path, monkeypatch,
                                                          scripted_chat_model_factory) -> None:
    model = scripted_chat_model_factory(tool_call_reply(
        "create_follow_up_task", {"customer": "Northwind", "due": local_day(0), "description": "renewal call"}))
    monkeypatch.setattr("agent.nodes._chat_model", lambda: model)
    result = answer_turn(TurnRequest(text=RENEWAL_REQUEST, user_id="li.na", thread_id="t-check-due"))
    [action] = result.pending_actions
    expected_due = parse_task_request(RENEWAL_REQUEST)["due"]
    assert action.status == "pending" and action.args["due"] == expected_due
    assert not action.args["due"].startswith(local_day(0))
    assert result.executed_actions == [] and task_count() == 0
    assert [(check.step, check.outcome) for check in result.model_checks] == [("task_arguments", "rejected")]


def test_rules_and_model_agreeing_keep_what_the_responsibility_list_allows(sample_home: Path, monkeypatch,
                                                                           scripted_chat_model_factory) -> None:
    model = scripted_chat_model_factory(tool_call_reply(
        "create_follow_up_task", {"customer": "Northwind", "due": "next Friday", "description": "renewal call"}))
    monkeypatch.setattr("agent.nodes._chat_model", lambda: model)
    result = answer_turn(TurnRequest(text=RENEWAL_REQUEST, user_id="li.na", thread_id="t-check-agree"))
    [action] = result.executed_actions
    assert action.args["due"] == parse_task_request(RENEWAL_REQUEST)["due"]
    assert task_count() == 1
    assert [(check.step, check.outcome) for check in result.model_checks] == [("task_arguments", "accepted")]


def test_a_model_route_the_words_do_not_support_is_not_taken(sample_home: Path, monkeypatch,
                                                             scripted_chat_model_factory) -> None:
    # Not phrased as a question, so the model is asked; it says pricing, but no quantity is named.
    model = scripted_chat_model_factory(json_reply({"route": "pricing"}), "not an answer")
    monkeypatch.setattr("agent.nodes._chat_model", lambda: model)
    result = answer_turn(TurnRequest(text="Northwind supply agreement payment terms", thread_id="t-check-route"))
    assert result.route == "knowledge" and not result.refused
    assert result.citations[0].source == "supply_agreement_northwind_g5_2025.md"
    assert "route" in str(model.received_messages[0][-1].content).lower()  # the model was asked, and overruled
    # Overruled, then its answer ("not an answer": no JSON) gave nothing usable: both are on the turn's record.
    assert [(check.step, check.outcome) for check in result.model_checks] == [("route", "rejected"),
                                                                              ("answer", "failed")]


def test_a_question_is_never_sent_to_the_model_for_routing(sample_home: Path, monkeypatch,
                                                           scripted_chat_model_factory) -> None:
    model = scripted_chat_model_factory("not an answer")
    monkeypatch.setattr("agent.nodes._chat_model", lambda: model)
    result = answer_turn(TurnRequest(text="What are the payment terms in the Northwind supply agreement?",
                                     thread_id="t-check-question"))
    assert result.route == "knowledge" and result.citations
    assert len(model.received_messages) == 1 and "<<<passage" in str(model.received_messages[0][-1].content)


def test_a_model_answer_stating_a_figure_its_passages_do_not_hold_is_rejected_and_reported(
        sample_home: Path, monkeypatch, scripted_chat_model_factory) -> None:
    from agent.answer.llm_answer import LLMAnswer

    question = "What are the payment terms in the Northwind supply agreement?"
    rules_only = answer_turn(TurnRequest(text=question, thread_id="t-check-answer-rules"))
    assert rules_only.model_checks == []  # no model, nothing to report
    model = scripted_chat_model_factory(json_reply(LLMAnswer(answer="Payment is due within 987654 days.",
                                                             cited_passages=[1])))
    monkeypatch.setattr("agent.nodes._chat_model", lambda: model)
    result = answer_turn(TurnRequest(text=question, thread_id="t-check-answer"))
    [check] = result.model_checks
    assert (check.step, check.outcome) == ("answer", "rejected") and "987654" in check.detail
    assert "987654" not in result.answer and result.answer == rules_only.answer  # the extractive answer stands
