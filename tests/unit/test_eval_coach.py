"""The coach evaluation: the scorer on hand-made coach contracts, and the labelled conversation set's integrity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.coach import (
    CONVERSATIONS_DIR,
    LABELS_FILE,
    load_conversations,
    plain_canonical,
    run_coach_eval,
    score_card,
)


def _label(cid: str, avoidance: int, **expected: object) -> dict:
    base = {"customer": "Acme Hospital", "products": ["Monitor A"], "quantity": 10, "competitors": ["Rival"],
            "competitor_prices": [{"competitor": "Rival", "amount": 32000}], "budget": 800000,
            "timeline_present": True, "decision_maker": "Dean Wu", "objection_types": ["competitor"],
            "price_avoidance": avoidance, "pricing_expected": avoidance >= 3, "tasks_expected": 1}
    base.update(expected)
    return {"id": cid, "file": f"dev/{cid}.txt", "split": "dev", "language": "en", "format": "txt",
            "expected": base}


def _contract(avoidance: int, executed: int = 0, **card: object) -> dict:
    base = {"customer": "acme  hospital", "products": ["Monitor A"], "quantity": 10, "competitors": ["Rival"],
            "competitor_prices": [{"competitor": "Rival", "amount": 32000.0, "currency": "CNY", "line": 3}],
            "budget": 801000, "timeline": "before year end", "decision_maker": "Dean Wu (hospital)",
            "objections": [{"type": "competitor", "line": 4}], "stage": "proposal", "evidence": []}
    base.update(card)
    return {"card": base, "price_avoidance": avoidance, "pricing": {"unit_price": 1} if avoidance >= 3 else None,
            "pending_actions": [{"kind": "create_follow_up_task"}],
            "executed_actions": [{"kind": "create_follow_up_task"}] * executed}


def _run(tmp_path: Path, labels: list[dict], contracts: dict[str, dict]):
    path = tmp_path / "labels.jsonl"
    path.write_text("".join(json.dumps(label) + "\n" for label in labels), encoding="utf-8")
    return run_coach_eval("dev", coach=lambda file, thread: contracts[file.stem], canonical=plain_canonical,
                          labels_path=path)


def test_perfect_contracts_score_one_and_avoidance_is_a_threshold_classification(tmp_path: Path) -> None:
    labels = [_label("a", 0), _label("b", 3), _label("c", 5), _label("d", 2)]
    contracts = {"a": _contract(0), "b": _contract(4), "c": _contract(5), "d": _contract(3)}
    metrics, _notes, scores = _run(tmp_path, labels, contracts)
    assert metrics["coach.card_field_accuracy"] == 1.0
    # d: 2 expected, 3 found → a false positive; b: 3 vs 4 is still a hit of the threshold.
    assert metrics["coach.avoidance_precision"] == pytest.approx(2 / 3)
    assert metrics["coach.avoidance_recall"] == 1.0
    assert metrics["coach.avoidance_count_accuracy"] == 0.5
    assert metrics["coach.avoidance_mae"] == 0.5
    assert metrics["coach.pricing_accuracy"] == 0.75
    assert metrics["coach.executed_without_confirmation"] == 0
    assert len(scores) == 4 and metrics["coach.seconds_max"] is not None


def test_wrong_fields_executed_actions_and_crashes_are_counted(tmp_path: Path) -> None:
    labels = [_label("a", 0), _label("b", 0, customer=None), _label("c", 0)]
    contracts = {
        "a": _contract(0, executed=1, budget=900000, products=["Monitor A", "Pump B"],
                       objections=[{"type": "price", "line": 2}]),
        "b": _contract(0, customer=None),
    }
    metrics, notes, scores = _run(tmp_path, labels, contracts)
    assert metrics["coach.field.budget"] == pytest.approx(1 / 3)  # a wrong, b right, c crashed: wrong everywhere
    assert metrics["coach.field.products"] == pytest.approx(1 / 3)
    assert metrics["coach.field.customer"] == pytest.approx(2 / 3)
    assert metrics["coach.executed_without_confirmation"] == 1
    assert metrics["coach.errors"] == 1
    assert any("c" in note and "error" in note for note in notes)
    assert scores[0].fields["objection_types"] is False


def test_customer_outside_the_registry_must_not_be_claimed() -> None:
    expected = _label("x", 0, customer=None)["expected"]
    canonical = {"acme hospital": "entity:acme"}.get
    def compare(value: str) -> str:
        return canonical(plain_canonical(value)) or plain_canonical(value)
    assert score_card(expected, {"customer": "Walk-in Clinic"}, compare)["customer"] is True
    assert score_card(expected, {"customer": "Acme Hospital"}, compare)["customer"] is False
    assert score_card(expected, {"decision_maker": None}, compare)["decision_maker"] is False


def test_labelled_conversation_set_is_complete_and_split() -> None:
    every = load_conversations("all")
    dev, test = load_conversations("dev"), load_conversations("test")
    assert len(every) >= 36 and len(dev) >= 10 and len(test) >= 20
    assert not {c.id for c in dev} & {c.id for c in test}
    assert len({c.id for c in every}) == len(every)
    assert sum(c.language == "zh" for c in every) / len(every) >= 0.4
    assert {"txt", "vtt", "srt", "chat", "eml", "png"} <= {c.format for c in every}
    assert sum(c.format == "png" for c in every) >= 3
    assert sum(c.expected["customer"] is None for c in every) >= 4
    assert {c.expected["price_avoidance"] for c in every} >= {0, 1, 2, 3, 4}
    objection_types = {t for c in every for t in c.expected["objection_types"]}
    assert objection_types == {"price", "competitor", "compatibility", "delivery", "after_sales"}
    for conversation in every:
        assert conversation.file.is_file(), conversation.file
        assert conversation.file.is_relative_to(CONVERSATIONS_DIR / conversation.split)
        assert conversation.expected["pricing_expected"] == (conversation.expected["price_avoidance"] >= 3)
        if conversation.format == "png":
            assert conversation.file.with_suffix(".chat.txt").is_file()
    assert LABELS_FILE.is_file()
