"""SIGKILL between proposal and approval loses nothing; a fresh process approves it exactly once."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

from sqlmodel import select as sql_select

from tests.relative_dates import DUE_TOMORROW

REPO_ROOT = Path(__file__).resolve().parents[2]
PROPOSE_THEN_BLOCK = """
import sys, time
from tools.gate.store import propose_action
from tests.relative_dates import DUE_TOMORROW
view = propose_action("create_follow_up_task",
                      {"customer": "华东人民医院", "due": DUE_TOMORROW, "description": "回访"},
                      "zhang.wei", "rep", "thread-killed", sources=[{"source": "chat"}])
print(view.id, flush=True)
time.sleep(600)  # wait for approval that never comes: the test kills us here
"""
CLI = "from connectors.cli import main; main()"


def _run_cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CLI, *arguments], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120, env=os.environ.copy())


def test_sigkill_between_proposal_and_approval_loses_nothing() -> None:
    proposer = subprocess.Popen([sys.executable, "-c", PROPOSE_THEN_BLOCK], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        ready, _, _ = select.select([proposer.stdout], [], [], 120)
        assert ready, "the proposing process printed no action id"
        action_id = proposer.stdout.readline().strip()
        assert action_id, proposer.stderr.read()
        assert proposer.poll() is None  # still alive, blocked before any approval
    finally:
        proposer.send_signal(signal.SIGKILL)
        proposer.wait(timeout=30)
    assert proposer.returncode == -signal.SIGKILL

    listed = _run_cli("tasks", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["id"]: row for row in json.loads(listed.stdout)}
    assert rows[action_id]["status"] == "pending"
    assert rows[action_id]["customer"] == "华东人民医院"
    assert rows[action_id]["due"] == f"{DUE_TOMORROW}+08:00"
    assert {"id", "kind", "status", "args", "customer", "due"} <= set(rows[action_id])

    first = _run_cli("tasks", "approve", action_id, "--as", "zhang.wei", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["status"] == "executed"
    second = _run_cli("tasks", "approve", action_id, "--as", "zhang.wei")
    assert second.returncode == 0, second.stderr
    assert "already executed" in second.stdout

    from tools.db.tables import AuditEvent, Task, sales_session

    with sales_session() as session:
        tasks = session.exec(sql_select(Task).where(Task.action_id == action_id)).all()
        executed = session.exec(sql_select(AuditEvent).where(AuditEvent.action_id == action_id,
                                                             AuditEvent.event == "executed")).all()
    assert len(tasks) == 1 and tasks[0].source_thread == "thread-killed"
    assert len(executed) == 1 and executed[0].sources == [{"source": "chat"}]
    after = json.loads(_run_cli("tasks", "--json").stdout)
    assert [row["kind"] for row in after if row.get("action_id") == action_id] == ["task"]
