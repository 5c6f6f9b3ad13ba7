"""ragas non-LLM answer metrics on hand-made answers: Chinese ROUGE, containment-aware context recall."""

from __future__ import annotations

import pytest

from evals.models import EvalQuestion, QuestionOutcome, RetrievedSummary
from evals.rag import run_ragas_non_llm

WARRANTY = EvalQuestion(
    id="zh-1", question="华东人民医院的X3质保多久？", language="zh",
    expected_sources=["contract_huadong_x3_2025.md"], key_facts=["24个月", "《设备验收报告》签署之日起计算"],
    reference_answer="X3设备质保期为24个月，自《设备验收报告》签署之日起计算。",
    reference_contexts=["7.2 设备质保期为24个月，自《设备验收报告》签署之日起计算。"],
)


def _outcome(answer: str, chunk_texts: list[str]) -> QuestionOutcome:
    return QuestionOutcome(id=WARRANTY.id, question=WARRANTY.question, role="rep", language="zh", answer=answer,
                           retrieved=[RetrievedSummary(source=f"doc{index}.md", text=text)
                                      for index, text in enumerate(chunk_texts)])


def _score(answer: str, chunk_texts: list[str]) -> dict[str, float | None]:
    outcome = _outcome(answer, chunk_texts)
    run_ragas_non_llm([outcome], {WARRANTY.id: WARRANTY})
    return outcome.scores


def test_chinese_answers_are_scored_on_their_characters_not_only_digits() -> None:
    right = _score("根据合同，质保期为24个月，自《设备验收报告》签署之日起计算。", [])
    wrong_same_digits = _score("付款24个月内分期完成。", [])
    assert right["rag.rouge_l"] > 0.7
    # rouge_score's own tokenizer keeps only "24" of both answers and would score them equal.
    assert wrong_same_digits["rag.rouge_l"] < 0.4
    assert right["rag.string_similarity"] > wrong_same_digits["rag.string_similarity"]  # type: ignore[operator]
    # One of the two key facts ("24个月") is in the wrong answer too.
    assert right["rag.string_presence"] == 1.0 and wrong_same_digits["rag.string_presence"] == 0.5


def test_context_recall_credits_a_long_chunk_that_quotes_the_passage() -> None:
    clause = ("第七条 质量保证 7.1 乙方保证设备为全新原厂产品。7.2 设备质保期为24个月，自《设备验收报告》签署之日起计算。"
              "7.3 质保期内乙方免费维修或更换故障部件，响应时间不超过4小时。")
    found = _score("质保期为24个月。", ["第三条 付款方式 3.1 预付30%。", clause])
    missing = _score("质保期为24个月。", ["第三条 付款方式 3.1 预付30%。", "第九条 违约责任 9.1 每逾期一日支付0.5‰违约金。"])
    assert found["rag.context_recall"] == 1.0
    assert found["rag.context_precision"] == pytest.approx(0.5)  # the relevant chunk came second
    assert missing["rag.context_recall"] == 0.0 and missing["rag.context_precision"] == 0.0


def test_refusal_questions_and_unanswered_ones_get_no_answer_scores() -> None:
    unanswerable = EvalQuestion(id="u", question="CEO home address?", flags=["unanswerable"])
    refused = QuestionOutcome(id="u", question="q", role="rep", language="en", answer="Not in the knowledge base.")
    crashed = QuestionOutcome(id="zh-1", question="q", role="rep", language="zh", answer=None)
    run_ragas_non_llm([refused, crashed], {"u": unanswerable, "zh-1": WARRANTY})
    assert refused.scores == {} and crashed.scores == {}
