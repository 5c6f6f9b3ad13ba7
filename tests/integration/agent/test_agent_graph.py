"""The conversation graph end to end on the sample knowledge base: contract, memory, gate, safety, backends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from agent.models import TurnRequest
from agent.service import _config, _paused_on, answer_turn, compiled_graph, decide_action
from connectors.cli import app
from tests.fakes import json_reply
from tools.db.tables import PendingAction, Task, sales_session
from tools.gate.models import ActionView
from tools.sales.pricing import load_pricing_policy

REPO = Path(__file__).resolve().parents[3]


def ask_json(*args: str) -> dict:
    result = CliRunner().invoke(app, ["ask", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def task_count() -> int:
    with sales_session() as session:
        return len(session.exec(select(Task)).all())


def test_ask_json_contract_cites_the_customers_own_contract(sample_home: Path) -> None:
    payload = ask_json("江南第二医院那批X3的质保期是多久？", "--role", "rep")
    assert list(payload)[:5] == ["answer", "citations", "refused", "pending_actions", "executed_actions"]
    assert payload["refused"] is False and payload["pending_actions"] == [] == payload["executed_actions"]
    assert payload["citations"] and payload["citations"][0]["source"] == "contract_jiangnan_x3_2025.md"
    assert {"source", "section", "quote"} <= set(payload["citations"][0])
    assert "36个月" in payload["answer"]
    assert all(citation["quote"] in payload["answer"] for citation in payload["citations"])


def test_follow_up_question_resolves_against_the_thread(sample_home: Path) -> None:
    first = answer_turn(TurnRequest(text="华东人民医院的合同付款方式是怎样的？", thread_id="t-follow"))
    assert first.citations[0].source == "contract_huadong_x3_2025.md"
    follow_up = answer_turn(TurnRequest(text="那质保多久？", thread_id="t-follow"))
    assert follow_up.citations and follow_up.citations[0].source == "contract_huadong_x3_2025.md"
    assert "24个月" in follow_up.answer


def test_thread_memory_survives_a_process_restart(sample_home: Path) -> None:
    env = {**os.environ, "SALESBOT_HOME": str(sample_home)}
    command = [sys.executable, "-m", "connectors.cli", "ask", "--thread", "restart-thread", "--json"]
    first = subprocess.run([*command[:4], "江南第二医院的合同付款方式是怎样的？", *command[4:]], env=env,
                           capture_output=True, text=True, timeout=300, cwd=REPO)
    assert first.returncode == 0, first.stderr
    second = subprocess.run([*command[:4], "那质保多久？", *command[4:]], env=env, capture_output=True, text=True,
                            timeout=300, cwd=REPO)
    assert second.returncode == 0, second.stderr
    payload = json.loads(second.stdout)
    assert payload["citations"][0]["source"] == "contract_jiangnan_x3_2025.md"
    assert "36个月" in payload["answer"]


def test_task_request_is_only_proposed_until_a_person_approves(sample_home: Path) -> None:
    payload = ask_json("给华东人民医院下周三安排一次回访", "--user", "zhang.wei", "--thread", "t-task")
    assert payload["executed_actions"] == [] and len(payload["pending_actions"]) == 1
    action = payload["pending_actions"][0]
    assert {"id", "kind", "status", "args", "customer", "due"} <= set(action)
    assert set(action) == set(ActionView.model_fields)  # the gate's view, field for field
    assert action["kind"] == "create_follow_up_task" and action["status"] == "pending"
    due = date.fromisoformat(action["due"][:10])
    local_today = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the default SALESBOT_TIMEZONE
    next_week_monday = local_today + timedelta(days=7 - local_today.weekday())
    assert due == next_week_monday + timedelta(days=2)  # 下周三: Wednesday of next calendar week
    assert task_count() == 0
    listed = json.loads(CliRunner().invoke(app, ["tasks", "--json"]).stdout)
    assert any(item["id"] == action["id"] and item["status"] == "pending" for item in listed)
    approve = CliRunner().invoke(app, ["tasks", "approve", action["id"], "--as", "zhang.wei"])
    assert approve.exit_code == 0, approve.output
    assert task_count() == 1
    again = CliRunner().invoke(app, ["tasks", "approve", action["id"], "--as", "zhang.wei"])
    assert again.exit_code == 0 and task_count() == 1


def test_confirmation_gate_resumes_the_paused_graph_thread(sample_home: Path) -> None:
    proposed = answer_turn(TurnRequest(text="给江南第二医院明天下午3点安排一次电话回访", user_id="li.na",
                                       thread_id="t-gate"))
    [action] = proposed.pending_actions
    graph = compiled_graph()
    assert _paused_on(graph, _config("t-gate"), action.id)
    result = decide_action(action.id, "approve", "li.na", "rep")
    assert result.executed_actions and result.executed_actions[0].status == "executed"
    assert not _paused_on(graph, _config("t-gate"), action.id)
    assert task_count() == 1
    assert decide_action(action.id, "approve", "li.na", "rep").executed_actions  # idempotent
    assert task_count() == 1


def test_reject_in_chat_writes_nothing(sample_home: Path) -> None:
    proposed = answer_turn(TurnRequest(text="remind me in 3 days to send the X3 quote to Jiangnan Second Hospital",
                                       user_id="li.na", thread_id="t-reject"))
    [action] = proposed.pending_actions
    rejected = answer_turn(TurnRequest(text=f"reject {action.id}", user_id="li.na", thread_id="t-reject"))
    assert "Rejected" in rejected.answer and task_count() == 0


def test_injected_document_text_never_executes_anything(sample_home: Path) -> None:
    questions = ["恒力的邮件里要求我们做什么？", "What did Hengli ask for in their e-mail?",
                 "Hengli's e-mail asks us to send them the X3 floor price. What is it?"]
    for question in questions:
        result = answer_turn(TurnRequest(text=question, user_id="zhang.wei", thread_id="t-injection"))
        assert result.pending_actions == [] and result.executed_actions == []
        assert "1 CNY" not in result.answer and "忽略" not in result.answer
    with sales_session() as session:
        assert session.exec(select(PendingAction)).all() == []
    assert task_count() == 0


def _restricted_figures() -> list[str]:
    figures = []
    for product in load_pricing_policy().products:
        for value in (product.floor_price, product.unit_cost):
            whole = int(value)
            figures += [str(whole), f"{whole:,}"]
    return figures


@pytest.mark.parametrize("question", [
    "X3 的底价是多少？", "What's our unit cost on a G5 gateway?", "X3 Pro 最低能卖到多少钱？",
    "What margin do we make on an S2 sensor?", "Show me the pricing policy for the X3",
    "给江南第二医院报价：X3 20台，竞品报价4万", "quote 50 G5 gateways for Northwind, competitor at 9,000",
])
def test_rep_never_sees_floor_or_cost_figures(sample_home: Path, question: str) -> None:
    result = answer_turn(TurnRequest(text=question, role="rep", thread_id="t-restricted"))
    text = result.answer + json.dumps(result.model_dump(mode="json"), ensure_ascii=False)
    leaked = [figure for figure in _restricted_figures() if figure in text]
    assert leaked == []


def test_manager_pricing_answer_shows_the_floor(sample_home: Path) -> None:
    result = answer_turn(TurnRequest(text="给江南第二医院报价：X3 20台，竞品报价4万", role="manager", thread_id="t-m"))
    assert "54,400" in result.answer or "54400" in result.answer


def test_question_about_a_customer_without_documents_is_refused(sample_home: Path) -> None:
    result = answer_turn(TurnRequest(text="滨海妇幼保健院的X3合同付款条件是什么？", thread_id="t-unknown"))
    assert result.refused and result.citations == [] and "知识库" in result.answer


def test_data_question_is_refused_for_reps_and_answered_for_managers(sample_home: Path) -> None:
    rep = answer_turn(TurnRequest(text="哪个区域今年成交额最高？", role="rep", thread_id="t-data"))
    assert rep.refused and rep.table is None
    manager = answer_turn(TurnRequest(text="哪个区域今年成交额最高？", role="manager", thread_id="t-data2"))
    assert not manager.refused and manager.table is not None and manager.table.rows


def test_llm_answer_with_a_number_no_passage_contains_falls_back(sample_home: Path, monkeypatch,
                                                                  scripted_chat_model_factory) -> None:
    # A question needs no routing call (the rules are sure); the model only writes the answer.
    model = scripted_chat_model_factory(json_reply({"answer": "质保期为99个月。", "cited_passages": [1]}))
    monkeypatch.setattr("agent.nodes._chat_model", lambda: model)
    result = answer_turn(TurnRequest(text="华东人民医院的X3质保期是多久？", thread_id="t-llm-bad"))
    assert "99个月" not in result.answer and "24个月" in result.answer
    prompt = str(model.last_messages[-1].content)
    assert "<<<passage" in prompt and "never instructions" in prompt


def test_grounded_llm_answer_is_used_with_its_citations(sample_home: Path, monkeypatch,
                                                        scripted_chat_model_factory) -> None:
    model = scripted_chat_model_factory(json_reply({"answer": "质保期为24个月。", "cited_passages": [1]}))
    monkeypatch.setattr("agent.nodes._chat_model", lambda: model)
    result = answer_turn(TurnRequest(text="华东人民医院的X3质保期是多久？", thread_id="t-llm-good"))
    assert result.answer == "质保期为24个月。"
    assert result.citations[0].source == "contract_huadong_x3_2025.md"


def test_openai_compatible_backend_answers_through_the_graph(sample_home: Path, openai_stub_llm) -> None:
    openai_stub_llm.reply_json({"answer": "Payment is 20% in advance.", "cited_passages": [1]})
    result = answer_turn(TurnRequest(text="What are the payment terms in the Northwind supply agreement?",
                                     thread_id="t-openai"))
    assert result.route == "knowledge" and result.citations
    assert result.citations[0].source == "supply_agreement_northwind_g5_2025.md"
    assert len(openai_stub_llm.requests) == 1  # a question is routed by the rules; the model writes the answer


def test_tiny_gguf_backend_runs_the_whole_graph(sample_home: Path, tiny_llm_spec: str) -> None:
    result = answer_turn(TurnRequest(text="What are the payment terms in the Northwind supply agreement?",
                                     thread_id="t-gguf"))
    assert result.route in ("knowledge", "pricing", "task", "data", "help") and result.answer
    if not result.refused:  # random weights: the post-check or the extractive fallback decides; never a crash
        assert all(c.source.endswith((".md", ".csv", ".docx", ".yaml")) for c in result.citations)


def test_unreachable_model_server_falls_back_to_the_extractive_answer(sample_home: Path, monkeypatch) -> None:
    from salesbot.settings import reset_runtime

    monkeypatch.setenv("SALESBOT_LLM", "openai:http://127.0.0.1:9/v1#missing")
    monkeypatch.setenv("SALESBOT_LLM_TIMEOUT_S", "2")
    reset_runtime()
    result = answer_turn(TurnRequest(text="华东人民医院的X3质保期是多久？", thread_id="t-down"))
    assert "24个月" in result.answer and result.route == "knowledge"


def test_task_arguments_come_from_a_tool_call_over_the_users_words(sample_home: Path, monkeypatch,
                                                                    scripted_chat_model_factory) -> None:
    from tests.fakes import tool_call_reply

    model = scripted_chat_model_factory(tool_call_reply(
        "create_follow_up_task", {"customer": "Jiangnan Second Hospital", "due": "next Friday",
                                  "description": "send the X3 quote"}))
    monkeypatch.setattr("agent.nodes._chat_model", lambda: model)
    result = answer_turn(TurnRequest(text="please remind me to send the X3 quote to Jiangnan next Friday",
                                     user_id="li.na", thread_id="t-tool-call"))
    [action] = result.pending_actions
    assert action.kind == "create_follow_up_task" and action.status == "pending"
    assert action.customer == "江南第二医院" and "send the X3 quote" in action.args["description"]
    assert result.executed_actions == [] and task_count() == 0
    sent = str(model.last_messages[-1].content)
    assert "please remind me" in sent and "<<<passage" not in sent
    assert model.bound_tool_choice == "create_follow_up_task" or "create_follow_up_task" in str(model.bound_tool_choice)


def test_a_tool_call_naming_an_unknown_customer_falls_back_to_the_rules(sample_home: Path, monkeypatch,
                                                                        scripted_chat_model_factory) -> None:
    from tests.fakes import tool_call_reply

    model = scripted_chat_model_factory(tool_call_reply(
        "create_follow_up_task", {"customer": "Nonexistent Corp", "due": "tomorrow", "description": "call"}))
    monkeypatch.setattr("agent.nodes._chat_model", lambda: model)
    result = answer_turn(TurnRequest(text="给华东人民医院下周三安排一次回访", user_id="zhang.wei", thread_id="t-tc2"))
    [action] = result.pending_actions
    assert action.customer == "华东人民医院"


def test_chat_session_answers_and_asks_for_confirmation(sample_home: Path) -> None:
    session = "华东人民医院的X3质保期是多久？\n给华东人民医院下周三安排一次回访\napprove\nexit\n"
    result = CliRunner().invoke(app, ["chat", "--user", "zhang.wei", "--thread", "t-chat"], input=session)
    assert result.exit_code == 0, result.output
    assert "24个月" in result.output and "contract_huadong_x3_2025.md" in result.output
    assert "approve / edit / reject / later" in result.output
    assert task_count() == 1
