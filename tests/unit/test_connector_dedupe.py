"""The one event-dedupe store of Slack and WeCom: a delivery is processed once across instances and processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from connectors.common.dedupe import EventDedupeStore, default_dedupe_path
from connectors.wecom.models import WeComTextMessage
from tests.conftest import claim_from_racing_threads

REPO = Path(__file__).resolve().parents[2]


def test_a_key_is_claimed_once_remembered_after_a_restart_and_released_on_request(salesbot_home: Path) -> None:
    store = EventDedupeStore()
    assert store.database_path == default_dedupe_path() and store.database_path.parent == salesbot_home
    assert store.claim("wecom", "msg:1") is True
    assert store.claim("wecom", "msg:1") is False
    assert store.claim("wecom", "msg:2") is True
    store.close()
    reopened = EventDedupeStore()
    assert reopened.claim("wecom", "msg:1") is False
    reopened.release("wecom", "msg:1")
    assert reopened.claim("wecom", "msg:1") is True
    assert reopened.count("wecom") == 2


def test_slack_and_wecom_share_one_store_without_mixing_their_keys() -> None:
    slack_side, wecom_side = EventDedupeStore(), EventDedupeStore()
    assert slack_side.database_path == wecom_side.database_path  # one file for every connector process
    assert slack_side.claim("slack", "Ev01") is True
    assert EventDedupeStore().claim("slack", "Ev01") is False  # a second instance sees the first's claim
    assert wecom_side.claim("wecom", "Ev01") is True  # same text, other platform: a different delivery
    assert (wecom_side.count("slack"), wecom_side.count("wecom"), wecom_side.count()) == (1, 1, 2)


def test_concurrent_claims_of_one_key_from_two_instances_let_exactly_one_through(tmp_path: Path) -> None:
    stores = [EventDedupeStore(tmp_path / "events.sqlite3") for _ in range(2)]
    assert sorted(claim_from_racing_threads(stores, "slack", "EvRace")) == [False] * 7 + [True]


_CLAIMER = """
import json, sys
from pathlib import Path
from connectors.common.dedupe import EventDedupeStore
store = EventDedupeStore(Path(sys.argv[1]))
won = [key for key in json.loads(sys.argv[2]) if store.claim(sys.argv[3], key)]
print(json.dumps(won))
"""


def test_a_duplicate_delivered_to_two_server_processes_is_processed_once(tmp_path: Path) -> None:
    database = tmp_path / "events.sqlite3"
    keys = [WeComTextMessage(msg_id=str(number), from_user="u", to_user="ww1", content="hi").dedupe_key
            for number in range(60)]
    processes = [subprocess.Popen([sys.executable, "-c", _CLAIMER, str(database), json.dumps(keys), "wecom"],
                                  cwd=REPO, stdout=subprocess.PIPE, text=True) for _ in range(3)]
    won = [json.loads(process.communicate(timeout=120)[0]) for process in processes]
    assert all(process.returncode == 0 for process in processes)
    claimed = [key for keys_won in won for key in keys_won]
    assert sorted(claimed) == sorted(keys)  # every delivery is processed, none twice
