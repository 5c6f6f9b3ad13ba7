"""The connectors' durable inbox on Postgres: the SQLite tests of tests/unit/test_connector_inbox.py, run again on
the server profile's database (leases, renewal, takeover by exactly one of racing sweepers and redeliveries — row
locks and READ COMMITTED here instead of SQLite's single writer —, the attempt cap, the upgrade from
connector_events_0001, and a WeCom replay)."""

from __future__ import annotations

import pytest

from tests.unit import test_connector_inbox as on_sqlite
from tests.unit.test_connector_inbox import clock as clock  # the hand-set clock fixture

test_claim_and_finish = on_sqlite.test_a_claim_with_a_payload_is_processing_until_finished_and_then_never_replayed
test_claim_without_payload = on_sqlite.test_a_claim_without_a_payload_keeps_the_old_meaning_done_at_once
test_expiry_and_reclaim = on_sqlite.test_an_expired_claim_is_handed_back_with_its_payload_and_the_old_owner_loses_it
test_renewal = on_sqlite.test_renewal_keeps_a_long_delivery_with_its_live_process
test_racing_sweepers = on_sqlite.test_two_processes_sweeping_at_once_take_each_expired_delivery_exactly_once
test_racing_redeliveries = on_sqlite.test_redeliveries_racing_for_an_expired_claim_let_exactly_one_take_it_over
test_attempt_cap = on_sqlite.test_a_delivery_that_keeps_failing_is_given_up_after_the_attempt_cap
test_upgrade_from_0001 = on_sqlite.test_a_database_from_before_leases_is_upgraded_and_its_rows_count_as_done
test_sweeper = on_sqlite.test_the_sweeper_renews_its_own_deliveries_and_replays_only_expired_ones_of_others
test_wecom_replay = on_sqlite.test_wecom_replays_a_message_whose_process_died_through_the_same_handler


@pytest.fixture()
def database(server_database: str) -> str:
    """The tests' `database`: this test's fresh Postgres database instead of a SQLite file."""
    assert server_database.startswith("postgresql")
    return server_database


def test_the_inbox_really_is_on_postgres(database: str) -> None:
    from connectors.common.dedupe import EventDedupeStore

    store = EventDedupeStore(database_url=database, owner="a", lease_s=10, max_attempts=3)
    assert store.database_path is None and store._engine.dialect.name == "postgresql"
    assert store.claim("slack", "EvPg", payload="{}") is True
    assert store.state_of("slack", "EvPg") is not None
