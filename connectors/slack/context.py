"""What every Slack handler needs, injected once: the agent's entry points, feedback recording, the store."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slack_bolt import Ack

from agent.models import TurnRequest, TurnResult
from connectors.slack.response_url import SLACK_HTTP_TIMEOUT_SECONDS as SLACK_HTTP_TIMEOUT_SECONDS
from connectors.slack.store import SlackConnectorStore
from connectors.slack.streaming import STREAM_UPDATE_INTERVAL_S
from salesbot.roles import role_for_user

AnswerTurn = Callable[[TurnRequest], TurnResult]
DecideAction = Callable[..., TurnResult]
RecordFeedback = Callable[[str, bool, str], Any]



def default_answer_turn(request: TurnRequest) -> TurnResult:
    from agent.service import answer_turn

    return answer_turn(request)


def default_decide_action(
    action_id: str, decision: str, user_id: str, role: str, edited_args: dict[str, Any] | None = None
) -> TurnResult:
    from agent.service import decide_action

    return decide_action(action_id, decision, user_id, role, edited_args)


def default_record_feedback(suggestion_id: str, adopted: bool, user_id: str) -> Any:
    """The one place the connector calls tools.feedback (👍 = adopted, 👎 = rejected)."""
    from tools.feedback import record_feedback

    return record_feedback(suggestion_id, "adopted" if adopted else "rejected", user=user_id)


def acknowledge_event(ack: Ack) -> None:
    """Every listener's ack: at once, before any slow work (Slack redelivers an event not acknowledged in 3 s)."""
    ack()


@dataclass
class SlackConnectorContext:
    """Handlers get this instead of importing the agent, so unit tests can pass fakes."""

    answer_turn: AnswerTurn = default_answer_turn
    decide_action: DecideAction = default_decide_action
    record_feedback: RecordFeedback = default_record_feedback
    store: SlackConnectorStore = field(default_factory=SlackConnectorStore)
    roles_file: Path | None = None
    default_role: str = "rep"
    # While a model writes, the placeholder answer is edited at most once per this many seconds (0: every piece).
    stream_update_interval_s: float = STREAM_UPDATE_INTERVAL_S
    # Striped locks: two messages in one Slack thread reach the agent's thread memory one after the other.
    thread_locks: list[threading.Lock] = field(default_factory=lambda: [threading.Lock() for _ in range(64)])

    def role_of(self, user_id: str) -> str:
        return role_for_user(user_id, self.roles_file, self.default_role)

    def lock_for_thread(self, thread_id: str) -> threading.Lock:
        return self.thread_locks[hash(thread_id) % len(self.thread_locks)]
