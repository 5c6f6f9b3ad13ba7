"""The connectors' durable inbox on SQLite (the same tests run on Postgres: test_inbox_server_profile.py): leases, finish, renewal, takeover by exactly one of several claimers,
the attempt cap, the upgrade of a database made before leases, and replay through the WeCom service and the Slack
delivery tracker (the clocks are hand-set: nothing here waits for a lease to run out)."""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from connectors.common.dedupe import (
    EventDedupeStore,
    EventSource,
    InboxSweeper,
    InFlightDeliveries,
    ReclaimedEvent,
)
from salesbot.database import engine_for

LEASE_S = 10.0


class ManualClock:
    """A clock the test moves by hand; shared by the stores of one test as the wall clock is by processes."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture()
def database(tmp_path: Path) -> Path:
    return tmp_path / "events.sqlite3"


def database_url(database: Path | str) -> str:
    """A SQLite file here; the server profile's tests (test_inbox_server_profile.py) pass a Postgres URL."""
    return database if isinstance(database, str) else f"sqlite:///{database}"


def _store(database: Path | str, owner: str, clock: ManualClock, max_attempts: int = 3) -> EventDedupeStore:
    return EventDedupeStore(database_url=database_url(database), owner=owner, lease_s=LEASE_S,
                            max_attempts=max_attempts, clock=clock)


def test_a_claim_with_a_payload_is_processing_until_finished_and_then_never_replayed(
        database: Path | str, clock: ManualClock) -> None:
    process_a, process_b = _store(database, "a", clock), _store(database, "b", clock)
    assert process_a.claim("slack", "Ev1", payload='{"event": 1}') is True
    row = process_a.state_of("slack", "Ev1")
    assert row is not None
    assert (row["state"], row["owner"], row["attempts"], row["payload"]) == ("processing", "a", 1, '{"event": 1}')
    assert row["lease_until"] == clock.now + LEASE_S
    assert process_b.claim("slack", "Ev1", payload='{"event": 1}') is False  # live lease: a redelivery is skipped

    assert process_a.finish("slack", "Ev1") is True
    assert process_a.finish("slack", "Ev1") is False
    done = process_a.state_of("slack", "Ev1")
    assert done is not None
    assert (done["state"], done["payload"], done["finished_at"]) == ("done", None, clock.now)
    clock.now += 10 * LEASE_S
    assert process_b.reclaim_expired("slack") == []
    assert process_b.claim("slack", "Ev1", payload='{"event": 1}') is False


def test_a_claim_without_a_payload_keeps_the_old_meaning_done_at_once(
        database: Path | str, clock: ManualClock) -> None:
    store = _store(database, "a", clock)
    assert store.claim("wecom", "msg:1") is True
    assert store.claim("wecom", "msg:1") is False
    row = store.state_of("wecom", "msg:1")
    assert row is not None and (row["state"], row["payload"]) == ("done", None)
    clock.now += 10 * LEASE_S
    assert store.reclaim_expired("wecom") == []


def test_an_expired_claim_is_handed_back_with_its_payload_and_the_old_owner_loses_it(
        database: Path | str, clock: ManualClock) -> None:
    process_a, process_b = _store(database, "a", clock), _store(database, "b", clock)
    process_a.claim("slack", "Ev2", payload="body-2")
    clock.now += LEASE_S / 2
    assert process_b.reclaim_expired("slack") == []  # not expired yet
    clock.now += LEASE_S
    [taken] = process_b.reclaim_expired("slack")
    assert taken == ReclaimedEvent(source="slack", event_key="Ev2", payload="body-2", attempts=2,
                                   previous_owner="a")
    row = process_b.state_of("slack", "Ev2")
    assert row is not None and (row["owner"], row["state"], row["lease_until"]) == ("b", "processing",
                                                                                      clock.now + LEASE_S)
    assert process_a.renew("slack", ["Ev2"]) == []  # A (stalled, not dead) sees it is no longer its delivery
    assert process_b.reclaim_expired("slack") == []
    assert process_b.reclaim_expired("wecom") == []  # another platform's keys are not mixed in


def test_renewal_keeps_a_long_delivery_with_its_live_process(database: Path | str, clock: ManualClock) -> None:
    process_a, process_b = _store(database, "a", clock), _store(database, "b", clock)
    process_a.claim("wecom", "msg:long", payload="{}")
    for _sweep in range(5):  # five sweeps of work, each within the lease, with a renewal after each
        clock.now += LEASE_S * 0.75
        assert process_a.renew("wecom", ["msg:long", "msg:unknown"]) == ["msg:long"]
        assert process_b.reclaim_expired("wecom") == []
    assert process_b.renew("wecom", ["msg:long"]) == []  # only the owner renews


def test_two_processes_sweeping_at_once_take_each_expired_delivery_exactly_once(
        database: Path | str, clock: ManualClock) -> None:
    dead = _store(database, "dead", clock)
    keys = [f"Ev{number:02d}" for number in range(24)]
    for key in keys:
        dead.claim("slack", key, payload=f"body-{key}")
    clock.now += LEASE_S + 1
    sweepers = [_store(database, owner, clock) for owner in ("a", "b")]
    threads = 8
    barrier = threading.Barrier(threads)
    taken: dict[str, list[str]] = {"a": [], "b": []}
    lock = threading.Lock()

    def sweep(index: int) -> None:
        store = sweepers[index % 2]
        barrier.wait()
        for event in store.reclaim_expired("slack", limit=len(keys)):
            with lock:
                taken[store.owner].append(event.event_key)
            assert event.payload == f"body-{event.event_key}"

    started = [threading.Thread(target=sweep, args=(index,)) for index in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    all_taken = taken["a"] + taken["b"]
    assert sorted(all_taken) == keys  # every delivery replayed, none twice
    for key in keys:
        row = dead.state_of("slack", key)
        assert row is not None and row["attempts"] == 2
        assert key in taken[str(row["owner"])]


def test_redeliveries_racing_for_an_expired_claim_let_exactly_one_take_it_over(
        database: Path | str, clock: ManualClock) -> None:
    _store(database, "dead", clock).claim("wecom", "msg:9", payload="first")
    clock.now += LEASE_S + 1
    stores = [_store(database, owner, clock) for owner in ("a", "b")]
    barrier = threading.Barrier(8)

    def redeliver(index: int) -> bool:
        barrier.wait()
        return stores[index % 2].claim("wecom", "msg:9", payload="redelivered")

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(redeliver, range(8)))
    assert sorted(outcomes) == [False] * 7 + [True]
    row = stores[0].state_of("wecom", "msg:9")
    assert row is not None and (row["attempts"], row["payload"]) == (2, "redelivered")


def test_a_delivery_that_keeps_failing_is_given_up_after_the_attempt_cap(
        database: Path | str, clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    stores = [_store(database, owner, clock, max_attempts=2) for owner in ("a", "b", "c")]
    stores[0].claim("slack", "EvPoison", payload="kills its process")
    clock.now += LEASE_S + 1
    assert [event.attempts for event in stores[1].reclaim_expired("slack")] == [2]
    clock.now += LEASE_S + 1  # B died handling it too
    with caplog.at_level(logging.ERROR, logger="connectors.common.dedupe"):
        assert stores[2].reclaim_expired("slack") == []
    assert "EvPoison given up after 2 attempts" in caplog.text
    row = stores[2].state_of("slack", "EvPoison")
    assert row is not None and row["state"] == "failed"
    assert stores[2].claim("slack", "EvPoison", payload="redelivered") is False
    clock.now += 10 * LEASE_S
    assert stores[2].reclaim_expired("slack") == []
    assert stores[2].count("slack", state="failed") == 1


def test_a_database_from_before_leases_is_upgraded_and_its_rows_count_as_done(
        database: Path | str, clock: ManualClock) -> None:
    from alembic import command

    from salesbot.migrations import STORE_HEADS, alembic_config

    engine = engine_for(database_url(database))
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection, "connector_events"), "connector_events_0001")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO handled_events (source, event_key, first_seen) VALUES "
                                "('slack', 'EvOld', :now), ('wecom', 'msg:old', :now)"), {"now": clock.now})
        assert connection.execute(text("SELECT version_num FROM alembic_version_connector_events")).scalar() \
            == "connector_events_0001"

    store = _store(database, "a", clock)  # opening the store migrates it to head

    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version_connector_events")).scalar() \
            == STORE_HEADS["connector_events"] == "connector_events_0002"
    old_rows: list[tuple[EventSource, str]] = [("slack", "EvOld"), ("wecom", "msg:old")]
    for source, key in old_rows:
        row = store.state_of(source, key)
        assert row is not None and (row["state"], row["attempts"], row["payload"]) == ("done", 1, None)
        assert store.claim(source, key, payload="redelivered") is False
    clock.now += 10 * LEASE_S
    assert store.reclaim_expired("slack") == [] and store.reclaim_expired("wecom") == []
    assert store.claim("slack", "EvNew", payload="{}") is True  # the new columns work on the upgraded table


def test_the_sweep_interval_must_be_shorter_than_the_lease_and_defaults_to_a_quarter_of_it() -> None:
    from pydantic import ValidationError

    from salesbot.settings import Settings

    assert Settings(event_lease_s=120).event_sweep_every_s == 30
    assert Settings(event_lease_s=2, event_sweep_interval_s=0.5).event_sweep_every_s == 0.5
    with pytest.raises(ValidationError, match="SALESBOT_EVENT_SWEEP_INTERVAL_S"):
        Settings(event_lease_s=10, event_sweep_interval_s=10)


def test_the_sweeper_renews_its_own_deliveries_and_replays_only_expired_ones_of_others(
        database: Path | str, clock: ManualClock) -> None:
    process_a, process_b = _store(database, "a", clock), _store(database, "b", clock)
    in_flight_a = InFlightDeliveries()
    process_a.claim("wecom", "msg:live", payload="live")
    in_flight_a.start("msg:live")
    process_b.claim("wecom", "msg:of-b", payload="b's own, B died")
    replayed_by_a: list[str] = []
    sweeper_a = InboxSweeper(process_a, "wecom", in_flight_a, lambda event: replayed_by_a.append(event.payload), 1.0)
    failing = InboxSweeper(process_b, "wecom", InFlightDeliveries(), _raise, 1.0)

    for _sweep in range(3):
        clock.now += LEASE_S * 0.75
        sweeper_a.sweep_once()
    # A's live delivery was renewed on each sweep, so another sweeper finds nothing of A's to take.
    assert process_b.reclaim_expired("wecom", owner="c") == []
    assert replayed_by_a == ["b's own, B died"]
    process_a.finish("wecom", "msg:of-b")

    clock.now += LEASE_S * 2  # A stops renewing (it "died"): a replay that raises is logged, not fatal
    assert failing.sweep_once() == 1
    row = process_b.state_of("wecom", "msg:live")
    assert row is not None and (row["owner"], row["state"], row["attempts"]) == ("b", "processing", 2)


def _raise(_event: ReclaimedEvent) -> None:
    raise RuntimeError("handler failed")


# -- replay through the connectors' own paths -------------------------------------------------------------------


def test_wecom_replays_a_message_whose_process_died_through_the_same_handler(
        database: Path | str, clock: ManualClock) -> None:
    from connectors.wecom.app import WeComCallbackService
    from connectors.wecom.context import WeComHandlerContext
    from connectors.wecom.models import WeComTextMessage
    from tests.unit.test_wecom_handlers import FakeAgent, RecordingSender

    message = WeComTextMessage(msg_id="7001", from_user="rep1", to_user="ww1", content="质保期多久？")
    # Process A claimed the message with its payload and died before answering.
    process_a = _store(database, "a", clock)
    assert process_a.claim("wecom", message.dedupe_key, payload=message.model_dump_json()) is True

    sender, agent = RecordingSender(), FakeAgent()
    context = WeComHandlerContext(sender=sender, answer_turn=agent.answer_turn, decide_action=agent.decide_action,
                                  role_for=lambda _user: "rep", approvers_for=lambda _role: [])
    process_b = _store(database, "b", clock)
    # No crypto: nothing is decrypted here, the message comes from the inbox.
    service = WeComCallbackService(None, process_b, context, worker_threads=1)  # type: ignore[arg-type]
    try:
        assert service.inbox_sweeper.sweep_once() == 0  # A's lease still runs
        clock.now += LEASE_S + 1
        assert service.inbox_sweeper.sweep_once() == 1
        assert service.wait_until_idle(30)
    finally:
        service.shutdown(wait=True)
    assert [request.text for request in agent.turns] == ["质保期多久？"]
    assert [user for user, _reply in sender.deliveries] == ["rep1"]
    row = process_b.state_of("wecom", message.dedupe_key)
    assert row is not None and (row["state"], row["owner"], row["attempts"]) == ("done", "b", 2)
    assert service.inbox_sweeper.sweep_once() == 0


def test_a_slack_delivery_is_finished_only_when_every_listener_task_it_started_has_ended(
        database: Path | str, clock: ManualClock) -> None:
    from connectors.slack.dedupe import DeliveryTrackingExecutor

    store = _store(database, "a", clock)
    store.claim("slack", "EvTracked", payload="{}")
    tracker = DeliveryTrackingExecutor(ThreadPoolExecutor(max_workers=2), store)
    release_answer = threading.Event()
    try:
        with tracker.dispatching("EvTracked"):
            acked = tracker.submit(lambda: "acked")
            answered = tracker.submit(release_answer.wait, 30)
        assert acked.result(timeout=30) == "acked"
        assert tracker.in_flight.keys() == ["EvTracked"]
        row = store.state_of("slack", "EvTracked")
        assert row is not None and row["state"] == "processing"  # the answer is still being written
        release_answer.set()
        assert answered.result(timeout=30) is True
    finally:
        tracker.shutdown(wait=True)
    row = store.state_of("slack", "EvTracked")
    assert row is not None and row["state"] == "done"
    assert tracker.in_flight.keys() == []


def test_the_slack_middleware_claims_with_the_payload_finishes_after_the_dispatch_and_lets_a_replay_through(
        database: Path | str, clock: ManualClock) -> None:
    from slack_bolt import BoltRequest, BoltResponse

    from connectors.slack.dedupe import REPLAY_CONTEXT_KEY, DeliveryTrackingExecutor, build_dedupe_middleware
    from tests.stubs.slack_api import app_mention_event, event_callback_body

    store = _store(database, "a", clock)
    tracker = DeliveryTrackingExecutor(ThreadPoolExecutor(max_workers=1), store)
    middleware = build_dedupe_middleware(store, tracker)
    body = event_callback_body(app_mention_event("hi", "U0REP00001", "C0CHAN0001", "1700000000.000100"), "EvMw1")
    seen_while_handling: list[tuple[list[str], dict[str, Any] | None]] = []

    def next_listener() -> BoltResponse:
        key = tracker.in_flight.keys()[0]
        seen_while_handling.append((tracker.in_flight.keys(), store.state_of("slack", key)))
        return BoltResponse(status=200, body="")

    def delivery() -> BoltRequest:
        return BoltRequest(body=json.dumps(body), headers={"content-type": ["application/json"]})

    try:
        middleware(delivery(), next_listener)
        tracker.end_dispatch()  # what SalesbotSlackApp.dispatch does once the listeners ran
        middleware(delivery(), next_listener)  # a redelivery: skipped
        tracker.end_dispatch()
        [(in_flight, row_while_handling)] = seen_while_handling
        assert in_flight == ["EvMw1"]
        assert row_while_handling is not None and row_while_handling["state"] == "processing"
        assert json.loads(str(row_while_handling["payload"])) == {
            name: value for name, value in body.items() if name != "token"}  # no verification token kept
        row = store.state_of("slack", "EvMw1")
        assert row is not None and row["state"] == "done"  # no listener task: done when the dispatch ended

        store.claim("slack", "EvMw2", payload="{}")
        replayed = BoltRequest(body={**body, "event_id": "EvMw2"}, mode="socket_mode",
                               context={REPLAY_CONTEXT_KEY: "EvMw2"})
        middleware(replayed, next_listener)  # taken over by the sweeper already: handled without a claim
        tracker.end_dispatch()
        assert seen_while_handling[-1][0] == ["EvMw2"]
        finished = store.state_of("slack", "EvMw2")
        assert finished is not None and finished["state"] == "done"
    finally:
        tracker.shutdown(wait=True)


def test_the_slack_replay_payload_is_the_parsed_body_without_the_verification_token() -> None:
    from slack_bolt import BoltRequest

    from connectors.slack.dedupe import replay_payload
    from tests.stubs.slack_api import app_mention_event, event_callback_body

    body = event_callback_body(app_mention_event("质保？", "U0REP00001", "C0CHAN0001", "1700000000.000100"), "EvP")
    payload = json.loads(replay_payload(BoltRequest(body=json.dumps(body, ensure_ascii=False),
                                                    headers={"content-type": ["application/json"]})))
    assert "token" not in payload
    assert payload == {name: value for name, value in body.items() if name != "token"}
