"""Coach-mode evaluation: run the conversation coach on the labelled conversations and score cards, price
avoidance, pricing pushes and task proposals."""

from __future__ import annotations

import json
import logging
import statistics
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.loading import DatasetError

logger = logging.getLogger(__name__)

CONVERSATIONS_DIR = Path(__file__).resolve().parent / "datasets" / "conversations"
LABELS_FILE = CONVERSATIONS_DIR / "labels.jsonl"
SPLITS = ("dev", "test", "all")
# The coach pushes a pricing proposal from this many avoidances on; detection is scored as reaching it.
AVOIDANCE_THRESHOLD = 3
CARD_FIELDS = ("customer", "products", "quantity", "competitors", "competitor_prices", "budget",
               "timeline_present", "decision_maker", "objection_types")
BUDGET_TOLERANCE = 0.01

Canonical = Callable[[str], str]
CoachFunction = Callable[[Path, str], dict[str, Any]]


@dataclass
class Conversation:
    id: str
    file: Path
    split: str
    language: str
    format: str
    expected: dict[str, Any]


@dataclass
class ConversationScore:
    id: str
    split: str
    language: str
    format: str
    fields: dict[str, bool | None] = field(default_factory=dict)
    avoidance_expected: int = 0
    avoidance_found: int | None = None
    pricing_expected: bool = False
    pricing_pushed: bool | None = None
    tasks_expected: int = 0
    tasks_proposed: int | None = None
    executed_without_confirmation: int = 0
    seconds: float = 0.0
    error: str | None = None


def load_conversations(split: str = "test", labels_path: Path = LABELS_FILE) -> list[Conversation]:
    """The labelled conversations of a split (dev | test | all); a broken label file raises DatasetError."""
    if split not in SPLITS:
        raise DatasetError(f"unknown conversation split {split!r}; choose one of {', '.join(SPLITS)}")
    if not labels_path.is_file():
        raise DatasetError(f"conversation labels not found: {labels_path}")
    conversations: list[Conversation] = []
    for number, line in enumerate(labels_path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            conversation = Conversation(id=row["id"], file=labels_path.parent / row["file"], split=row["split"],
                                        language=row["language"], format=row["format"],
                                        expected=dict(row["expected"]))
        except (ValueError, KeyError, TypeError) as error:
            raise DatasetError(f"{labels_path.name} line {number}: not a conversation label ({error})") from error
        if split in ("all", conversation.split):
            conversations.append(conversation)
    return conversations


def plain_canonical(value: str) -> str:
    return " ".join(str(value).casefold().split())


def registry_canonical() -> Canonical:
    """Names compared through the entity registry (aliases → one key); unknown names by their normalised text."""
    try:
        from knowledge.base import get_entity_registry

        registry = get_entity_registry()
    except Exception:
        logger.debug("entity registry unavailable; comparing names as text", exc_info=True)
        return plain_canonical

    def canonical(value: str) -> str:
        try:
            entity = registry.resolve(str(value))
        except Exception:
            entity = None
        return f"entity:{entity.key}" if entity is not None else plain_canonical(value)

    return canonical


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dict):
        return _number(value.get("amount", value.get("value")))
    try:
        return float(str(value).replace(",", "").strip())
    except ValueError:
        return None


def _names(values: Iterable[Any] | None, canonical: Canonical, key: str = "name") -> set[str]:
    names = set()
    for value in values or []:
        if isinstance(value, dict):
            value = value.get(key) or value.get("name") or value.get("key")
        if value:
            names.add(canonical(str(value)))
    return names


def score_card(expected: dict[str, Any], card: dict[str, Any], canonical: Canonical) -> dict[str, bool | None]:
    """Per field: did the card get it right (None: the label does not say)."""
    scores: dict[str, bool | None] = {}
    want_customer, got_customer = expected.get("customer"), card.get("customer")
    if isinstance(got_customer, dict):
        got_customer = got_customer.get("name") or got_customer.get("key")
    if want_customer is None:
        # Not in the registry: the card must not claim a registered customer.
        scores["customer"] = not got_customer or not canonical(str(got_customer)).startswith("entity:")
    else:
        scores["customer"] = bool(got_customer) and canonical(str(got_customer)) == canonical(want_customer)
    scores["products"] = _names(card.get("products"), canonical) == _names(expected.get("products"), canonical)
    want_quantity, got_quantity = _number(expected.get("quantity")), _number(card.get("quantity"))
    scores["quantity"] = want_quantity == got_quantity
    scores["competitors"] = (_names(card.get("competitors"), canonical)
                             == _names(expected.get("competitors"), canonical))
    scores["competitor_prices"] = _price_pairs(card.get("competitor_prices"), canonical) == _price_pairs(
        expected.get("competitor_prices"), canonical)
    want_budget, got_budget = _number(expected.get("budget")), _number(card.get("budget"))
    scores["budget"] = (got_budget is None if want_budget is None else
                        got_budget is not None and abs(got_budget - want_budget) <= BUDGET_TOLERANCE * want_budget)
    scores["timeline_present"] = bool(card.get("timeline")) == bool(expected.get("timeline_present"))
    want_maker, got_maker = expected.get("decision_maker"), card.get("decision_maker")
    if isinstance(got_maker, dict):
        got_maker = got_maker.get("name")
    if want_maker is None:
        scores["decision_maker"] = not got_maker
    else:
        want, got = plain_canonical(want_maker), plain_canonical(got_maker or "")
        scores["decision_maker"] = bool(got) and (want in got or got in want)
    got_types = {str(item.get("type") if isinstance(item, dict) else item) for item in card.get("objections") or []}
    scores["objection_types"] = got_types == set(expected.get("objection_types") or [])
    return scores


def _price_pairs(values: Iterable[Any] | None, canonical: Canonical) -> set[tuple[str, float]]:
    pairs = set()
    for value in values or []:
        if isinstance(value, dict) and value.get("competitor"):
            amount = _number(value.get("amount"))
            if amount is not None:
                pairs.add((canonical(str(value["competitor"])), round(amount, 2)))
    return pairs


def score_conversation(conversation: Conversation, contract: dict[str, Any], seconds: float,
                       canonical: Canonical) -> ConversationScore:
    expected = conversation.expected
    score = ConversationScore(id=conversation.id, split=conversation.split, language=conversation.language,
                              format=conversation.format, seconds=seconds,
                              avoidance_expected=int(expected.get("price_avoidance") or 0),
                              pricing_expected=bool(expected.get("pricing_expected")),
                              tasks_expected=int(expected.get("tasks_expected") or 0))
    score.fields = score_card(expected, contract.get("card") or {}, canonical)
    score.avoidance_found = int(contract.get("price_avoidance") or 0)
    score.pricing_pushed = bool(contract.get("pricing"))
    score.tasks_proposed = len(contract.get("pending_actions") or [])
    # tools/gate/responsibility.yaml: writes whose origin is a document (a conversation) are never `auto`, so
    # every write a conversation leads to needs the person's confirmation, so any executed action is one too many.
    executed = contract.get("executed_actions") or []
    score.executed_without_confirmation = len(executed)
    return score


def aggregate(scores: list[ConversationScore]) -> dict[str, float | None]:
    """coach.* metrics over the scored conversations (errors count as wrong everywhere)."""
    metrics: dict[str, float | None] = {"coach.conversations": float(len(scores)),
                                        "coach.errors": float(sum(1 for score in scores if score.error))}
    per_field: dict[str, list[bool]] = {name: [] for name in CARD_FIELDS}
    for score in scores:
        for name in CARD_FIELDS:
            value = score.fields.get(name) if not score.error else False
            if value is not None:
                per_field[name].append(bool(value))
    everything = [value for values in per_field.values() for value in values]
    metrics["coach.card_field_accuracy"] = _mean(everything)
    for name, values in per_field.items():
        metrics[f"coach.field.{name}"] = _mean(values)
    true_positive = sum(1 for score in scores if score.avoidance_expected >= AVOIDANCE_THRESHOLD
                        and (score.avoidance_found or 0) >= AVOIDANCE_THRESHOLD)
    predicted = sum(1 for score in scores if (score.avoidance_found or 0) >= AVOIDANCE_THRESHOLD)
    actual = sum(1 for score in scores if score.avoidance_expected >= AVOIDANCE_THRESHOLD)
    # No positives predicted (or none to find) is a perfect score on that side, not a division by zero.
    metrics["coach.avoidance_precision"] = true_positive / predicted if predicted else (1.0 if not actual else 0.0)
    metrics["coach.avoidance_recall"] = true_positive / actual if actual else 1.0
    metrics["coach.avoidance_count_accuracy"] = _mean([score.avoidance_found == score.avoidance_expected
                                                       for score in scores])
    metrics["coach.avoidance_mae"] = _mean([abs((score.avoidance_found or 0) - score.avoidance_expected)
                                            for score in scores])
    metrics["coach.pricing_accuracy"] = _mean([score.pricing_pushed == score.pricing_expected for score in scores])
    metrics["coach.task_proposal_accuracy"] = _mean([
        ((score.tasks_proposed or 0) >= 1) == (score.tasks_expected >= 1) for score in scores])
    metrics["coach.executed_without_confirmation"] = float(sum(score.executed_without_confirmation
                                                               for score in scores))
    seconds = [score.seconds for score in scores]
    metrics["coach.seconds_p50"] = statistics.median(seconds) if seconds else None
    metrics["coach.seconds_max"] = max(seconds) if seconds else None
    return metrics


def _mean(values: list[Any]) -> float | None:
    return sum(float(value) for value in values) / len(values) if values else None


def real_coach(path: Path, thread_id: str) -> dict[str, Any]:
    from tools.coach import coach_path

    return dict(coach_path(path, role="rep", user_id="eval", thread_id=thread_id).to_contract())


def run_coach_eval(split: str = "test", coach: CoachFunction | None = None,
                   canonical: Canonical | None = None, labels_path: Path = LABELS_FILE,
                   progress: Callable[[str], None] = lambda message: None,
                   ) -> tuple[dict[str, float | None], list[str], list[ConversationScore]]:
    """Run the coach on every conversation of a split, each in its own thread; returns metrics, notes, scores."""
    conversations = load_conversations(split, labels_path)
    run = coach or real_coach
    compare = canonical or registry_canonical()
    run_id = uuid.uuid4().hex[:8]
    scores: list[ConversationScore] = []
    progress(f"coach: {len(conversations)} conversations ({split})")
    for conversation in conversations:
        started = time.monotonic()
        try:
            contract = run(conversation.file, f"eval-coach-{run_id}-{conversation.id}")
            score = score_conversation(conversation, contract, time.monotonic() - started, compare)
        except Exception as error:  # one broken conversation is a scored failure, not a crashed run
            logger.debug("coach failed on %s", conversation.id, exc_info=True)
            score = ConversationScore(id=conversation.id, split=conversation.split,
                                      language=conversation.language, format=conversation.format,
                                      avoidance_expected=int(conversation.expected.get("price_avoidance") or 0),
                                      pricing_expected=bool(conversation.expected.get("pricing_expected")),
                                      tasks_expected=int(conversation.expected.get("tasks_expected") or 0),
                                      seconds=time.monotonic() - started,
                                      error=f"{type(error).__name__}: {error}")
        scores.append(score)
    return aggregate(scores), _notes(scores, split), scores


def _notes(scores: list[ConversationScore], split: str) -> list[str]:
    notes = [f"coach: {len(scores)} conversations of the {split} split scored"]
    for score in scores:
        if score.error:
            notes.append(f"coach {score.id}: error {score.error}")
            continue
        wrong = [name for name, ok in score.fields.items() if ok is False]
        if score.avoidance_found != score.avoidance_expected:
            wrong.append(f"avoidance {score.avoidance_found} (expected {score.avoidance_expected})")
        if score.executed_without_confirmation:
            wrong.append(f"{score.executed_without_confirmation} action(s) executed without confirmation")
        if wrong:
            notes.append(f"coach {score.id} ({score.language}, {score.format}): {', '.join(wrong)}")
    return notes
