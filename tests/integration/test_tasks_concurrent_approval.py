"""Approvals of one action from three processes at once (one SQLite file) write exactly one task."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import select

from tests.relative_dates import DUE_TOMORROW
from tools.db.tables import AuditEvent, Task, sales_session
from tools.gate.store import propose_action

REPO_ROOT = Path(__file__).resolve().parents[2]
APPROVE = """
import json, sys
from tools.gate.store import decide_action
view = decide_action(sys.argv[1], "approve", "zhang.wei", "rep")
print(json.dumps({"status": view.status, "already_decided": view.already_decided}))
"""


def test_racing_approvals_write_once() -> None:
    view = propose_action("create_follow_up_task", {"customer": "华东人民医院", "due": DUE_TOMORROW,
                                                    "description": "回访"}, "zhang.wei", "rep", "t-race")
    racers = [subprocess.Popen([sys.executable, "-c", APPROVE, view.id], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=os.environ.copy()) for _ in range(3)]
    outcomes = []
    for racer in racers:
        stdout, stderr = racer.communicate(timeout=120)
        assert racer.returncode == 0, stderr
        outcomes.append(json.loads(stdout))
    assert all(outcome["status"] == "executed" for outcome in outcomes)
    assert sum(not outcome["already_decided"] for outcome in outcomes) == 1
    with sales_session() as session:
        assert len(session.exec(select(Task).where(Task.action_id == view.id)).all()) == 1
        executed = session.exec(select(AuditEvent).where(AuditEvent.action_id == view.id,
                                                         AuditEvent.event == "executed")).all()
    assert len(executed) == 1
