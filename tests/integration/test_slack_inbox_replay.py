"""The durable inbox through the real Slack app (bolt, HTTP on loopback, a stub Web API): a delivery whose process
stopped before answering is taken over by another app's sweeper, replayed through bolt's own dispatch, answered
there once and marked done (the clocks are hand-set; the server profile's two-process test kills a real process)."""

from __future__ import annotations

import threading
from pathlib import Path

from agent.models import TurnRequest, TurnResult
from connectors.common.dedupe import EventDedupeStore
from tests.stubs.slack_api import app_mention_event, running_slack_app
from tests.unit.test_connector_inbox import ManualClock

LEASE_S = 10.0
CHANNEL, REP = "C0SALES001", "U0ZHANGWEI"


def test_a_delivery_left_by_a_stalled_app_is_replayed_by_the_other_and_answered_there_once(tmp_path: Path) -> None:
    clock = ManualClock()
    inbox = tmp_path / "events.sqlite3"
    stores = {owner: EventDedupeStore(inbox, owner=owner, lease_s=LEASE_S, max_attempts=3, clock=clock)
              for owner in ("a", "b")}
    entered_a, release_a = threading.Event(), threading.Event()
    questions_b: list[str] = []

    def stalled_answer(_request: TurnRequest) -> TurnResult:
        entered_a.set()
        release_a.wait(60)
        return TurnResult(answer="late answer from A", language="en")

    def answer_b(request: TurnRequest) -> TurnResult:
        questions_b.append(request.text)
        return TurnResult(answer="The warranty is three years.", language="en")

    with running_slack_app(answer_turn=stalled_answer, dedupe_store=stores["a"]) as app_a, \
            running_slack_app(answer_turn=answer_b, dedupe_store=stores["b"]) as app_b:
        try:
            event = app_mention_event("What is the warranty?", REP, CHANNEL, "1700000000.000300")
            assert app_a.post_event(event, "EvStalled1").status_code == 200
            assert entered_a.wait(30)
            row = stores["b"].state_of("slack", "EvStalled1")
            assert row is not None and (row["state"], row["owner"]) == ("processing", "a")
            # A redelivery to B while A's lease runs is skipped; so is B's sweep.
            assert app_b.post_event(event, "EvStalled1").status_code == 200
            assert app_b.app.inbox_sweeper.sweep_once() == 0

            clock.now += LEASE_S + 1  # A stopped renewing (no sweeper runs in A: it "died")
            assert app_b.app.inbox_sweeper.sweep_once() == 1
            app_b.executor.wait_idle(timeout_s=60)
            row = stores["b"].state_of("slack", "EvStalled1")
            assert row is not None and (row["state"], row["owner"], row["attempts"]) == ("done", "b", 2)
        finally:
            release_a.set()
    assert questions_b == ["What is the warranty?"]
    answers = [call for call in app_b.stub.calls if call.method in {"chat.postMessage", "chat.update"}
               and "three years" in str(call.params.get("text"))]
    assert len(answers) == 1 and answers[0].params["channel"] == CHANNEL
    assert app_b.app.inbox_sweeper.sweep_once() == 0
