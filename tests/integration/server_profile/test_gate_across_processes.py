"""A turn paused at the confirmation gate in one process (then SIGKILLed) resumes and is approved in another,
through PostgresSaver checkpoints and the pending-action table in the same Postgres database."""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys

from sqlmodel import select as sql_select

from tests.integration.server_profile.conftest import REPO_ROOT, subprocess_env

THREAD = "t-server-gate"
PROPOSE_THEN_BLOCK = f"""
import json, time
from agent.models import TurnRequest
from agent.service import answer_turn
result = answer_turn(TurnRequest(text="给江南第二医院明天下午3点安排一次电话回访", user_id="li.na",
                                 thread_id="{THREAD}"))
print(json.dumps([action.id for action in result.pending_actions]), flush=True)
time.sleep(600)  # the approval never comes here: the test kills this process
"""
RESUME_AND_APPROVE = f"""
import json, sys
from agent.service import _config, _paused_on, compiled_graph, decide_action
paused = _paused_on(compiled_graph(), _config("{THREAD}"), sys.argv[1])
result = decide_action(sys.argv[1], "approve", "li.na", "rep")
still_paused = _paused_on(compiled_graph(), _config("{THREAD}"), sys.argv[1])
print(json.dumps({{"paused": paused, "still_paused": still_paused, "route": result.route,
                  "executed": [action.status for action in result.executed_actions]}}))
"""


def _run(script: str, *arguments: str) -> dict:
    child = subprocess.run([sys.executable, "-c", script, *arguments], cwd=REPO_ROOT, capture_output=True, text=True,
                           timeout=180, env=subprocess_env(SALESBOT_EMBEDDING="none"))
    assert child.returncode == 0, child.stderr
    return json.loads(child.stdout.strip().splitlines()[-1])


def test_gate_paused_in_a_killed_process_is_resumed_and_approved_once_in_another(server_database: str) -> None:
    proposer = subprocess.Popen([sys.executable, "-c", PROPOSE_THEN_BLOCK], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=subprocess_env(SALESBOT_EMBEDDING="none"))
    try:
        assert proposer.stdout is not None
        ready, _, _ = select.select([proposer.stdout], [], [], 180)
        assert ready, "the proposing process printed no action id"
        line = proposer.stdout.readline().strip()
        assert line, proposer.stderr.read() if proposer.stderr else ""
        [action_id] = json.loads(line)
        assert proposer.poll() is None  # alive and paused at the gate
    finally:
        proposer.send_signal(signal.SIGKILL)
        proposer.wait(timeout=30)
    assert proposer.returncode == -signal.SIGKILL

    first = _run(RESUME_AND_APPROVE, action_id)
    # The checkpoint written by the dead process is what the new one resumes.
    assert first["paused"] is True and first["still_paused"] is False
    assert first["executed"] == ["executed"]
    second = _run(RESUME_AND_APPROVE, action_id)
    assert second["paused"] is False and second["executed"] == ["executed"]  # idempotent: nothing new written

    from tools.db.tables import AuditEvent, Task, sales_session

    with sales_session() as session:
        tasks = session.exec(sql_select(Task).where(Task.action_id == action_id)).all()
        executed = session.exec(sql_select(AuditEvent).where(AuditEvent.action_id == action_id,
                                                             AuditEvent.event == "executed")).all()
        assert session.get_bind().dialect.name == "postgresql"
    assert len(tasks) == 1 and len(executed) == 1
