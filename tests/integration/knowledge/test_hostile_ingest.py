"""Hostile ingest inputs (issue 19): links out of the folder, restricted titles in `graph show`, access in the
JSON report, and two ingest processes at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from connectors.cli import app
from knowledge.ingest import ingest_paths
from knowledge.retriever import retrieve_with_role_filter

REPO_ROOT = Path(__file__).resolve().parents[3]
SECRET_CONTRACT = ("---\ntitle: Secret Deal Zephyr Holdings\ndoc_type: contract\naccess: [manager]\n"
                   "customers: [Zephyr Holdings Ltd.]\nproducts: [Quasar Pump]\n---\n"
                   "## 1 Parties\nBuyer: Zephyr Holdings Ltd. (hereinafter \"Zephy\")\n"
                   "## 2 Price\nZephy pays 54,400 for the Quasar Pump.\n")
PUBLIC_SHEET = ("---\ntitle: Quasar Pump datasheet\ndoc_type: whitepaper\nproducts: [Quasar Pump]\n---\n"
                "## Specs\nThe Quasar Pump runs at 40 C.\n")


def test_ingest_json_reports_each_documents_effective_access(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "secret.md").write_text(SECRET_CONTRACT, encoding="utf-8")
    (folder / "sheet.md").write_text(PUBLIC_SHEET, encoding="utf-8")
    (folder / "unclear.md").write_text("---\nAccess: []\n---\nFloor is 54,400.\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["ingest", str(folder), "--json"])
    report = {row["source"]: row for row in json.loads(result.stdout)}
    assert report["secret.md"]["access"] == ["manager"] and report["sheet.md"]["access"] == ["*"]
    assert report["unclear.md"]["status"] == "failed" and "bad access list" in report["unclear.md"]["reason"]
    assert result.exit_code == 1


def test_unclear_access_setting_admin_ingests_for_admins_only(tmp_path: Path, monkeypatch) -> None:
    from salesbot.settings import reset_runtime

    monkeypatch.setenv("SALESBOT_INGEST_UNCLEAR_ACCESS", "admin")
    reset_runtime()
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "unclear.md").write_text("----\nACCESS: []\n----\nThe floor is fifty-four thousand.\n",
                                       encoding="utf-8")
    report = ingest_paths([folder])
    (row,) = report.results
    assert row.status == "ingested" and row.access == ["admin"] and row.access_warning
    assert not retrieve_with_role_filter("floor fifty-four thousand", "manager")
    assert retrieve_with_role_filter("floor fifty-four thousand", "admin")


def test_a_symlink_out_of_the_folder_is_reported_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd.txt").write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "sheet.md").write_text(PUBLIC_SHEET, encoding="utf-8")
    (folder / "passwd.txt").symlink_to(outside / "passwd.txt")
    (folder / "linked_dir").symlink_to(outside, target_is_directory=True)
    (folder / "inside_link.md").symlink_to(folder / "sheet.md")  # a link that stays inside is fine
    report = ingest_paths([folder])
    by_path = {Path(row.path).relative_to(folder).as_posix(): row for row in report.results}
    assert by_path["passwd.txt"].status == "failed" and "outside the folder" in (by_path["passwd.txt"].reason or "")
    assert all(row.status == "failed" for name, row in by_path.items() if name.startswith("linked_dir"))
    assert by_path["inside_link.md"].status == "ingested"
    assert not [chunk for chunk in retrieve_with_role_filter("root bin bash", "admin", k=50)
                if "root:x" in chunk.text or chunk.source == "passwd.txt"]


def test_graph_show_hides_what_only_restricted_documents_say(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "secret.md").write_text(SECRET_CONTRACT, encoding="utf-8")
    (folder / "sheet.md").write_text(PUBLIC_SHEET, encoding="utf-8")
    assert ingest_paths([folder]).ok
    runner = CliRunner()
    as_rep = runner.invoke(app, ["graph", "show", "Quasar Pump"])
    assert as_rep.exit_code == 0 and "datasheet" in as_rep.stdout
    assert "Secret Deal" not in as_rep.stdout and "secret.md" not in as_rep.stdout
    as_manager = runner.invoke(app, ["graph", "show", "Quasar Pump", "--role", "manager"])
    assert "Secret Deal Zephyr Holdings" in as_manager.stdout and "secret.md" in as_manager.stdout
    # The customer and the contract exist only because of the manager-only document.
    assert runner.invoke(app, ["graph", "show", "Zephyr Holdings"]).exit_code == 1
    assert runner.invoke(app, ["graph", "show", "Secret Deal Zephyr Holdings", "--role", "rep"]).exit_code == 1
    customer = runner.invoke(app, ["graph", "show", "Zephyr Holdings", "--role", "manager"])
    assert customer.exit_code == 0 and "Zephy" in customer.stdout.split("aliases:")[1]
    assert runner.invoke(app, ["graph", "show", "Quasar Pump", "--role", "boss"]).exit_code == 2


HOLD_LOCK = """
import sys, time
from pathlib import Path
from knowledge.base import get_knowledge_base
from knowledge.ingest import ingest_lock
with ingest_lock(get_knowledge_base()):
    Path(sys.argv[1]).write_text("held")
    time.sleep(float(sys.argv[2]))
"""


def test_a_second_ingest_process_waits_then_says_another_ingest_runs(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "sheet.md").write_text(PUBLIC_SHEET, encoding="utf-8")
    ready = tmp_path / "ready"
    env = os.environ.copy()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(ready), "60"], cwd=REPO_ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ready.exists()
        second = subprocess.run([sys.executable, "-m", "connectors.cli", "ingest", str(folder), "--wait", "1"],
                                cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 3, second.stderr
        assert "another `salesbot ingest` is running" in second.stderr and "waiting" in second.stderr
        assert "Traceback" not in second.stderr + second.stdout
    finally:
        holder.kill()
        holder.wait()
    # The lock dies with its holder (even killed): the next ingest runs.
    third = subprocess.run([sys.executable, "-m", "connectors.cli", "ingest", str(folder), "--wait", "5"],
                           cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert third.returncode == 0, third.stderr
