"""The tasks / seed / price / feedback commands against a real SQLite database."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from sqlmodel import func, select
from typer.testing import CliRunner

from connectors.cli import app
from tests.relative_dates import due_at
from tools.db.tables import Customer, Deal, Opportunity, Product, sales_session
from tools.sales.pricing import resolve_product

runner = CliRunner()


def _invoke(*arguments: str):  # type: ignore[no-untyped-def]
    result = runner.invoke(app, list(arguments))
    return result


def test_seed_is_deterministic_idempotent_and_realistic() -> None:
    first = _invoke("seed")
    assert first.exit_code == 0 and "330 deals" in first.stdout
    second = _invoke("seed")
    assert second.exit_code == 0 and "0 deals" in second.stdout
    with sales_session() as session:
        assert session.exec(select(func.count()).select_from(Customer)).one() == 12
        assert session.exec(select(func.count()).select_from(Product)).one() == 8
        deals = session.exec(select(Deal)).all()
        assert session.exec(select(func.count()).select_from(Opportunity)).one() >= 10
    assert len(deals) >= 300
    assert min(deal.closed_on for deal in deals).year == 2024 and max(deal.closed_on for deal in deals).year == 2026
    assert {deal.outcome for deal in deals} == {"won", "lost"}
    assert any(deal.competitor for deal in deals) and any(deal.competitor is None for deal in deals)
    moderate = [deal for deal in deals if deal.discount <= 0.20]
    assert len(moderate) / len(deals) > 0.9
    for deal in deals:
        assert deal.unit_price > resolve_product(deal.product_sku).floor_price
        assert deal.amount == deal.unit_price * deal.quantity
    reps_by_region = {(deal.region, deal.rep) for deal in deals}
    assert ("华东", "zhang.wei") in reps_by_region and ("海外", "emily.ross") in reps_by_region
    assert len({deal.rep for deal in deals if deal.region == "华南"}) == 1


def test_price_command_is_role_aware() -> None:
    _invoke("seed")
    floor = resolve_product("X3").floor_price
    rep = _invoke("price", "X3", "--qty", "20", "--customer", "华东人民医院", "--competitor-price", "50000",
                  "--role", "rep", "--lang", "en")
    assert rep.exit_code == 0, rep.stdout
    # Below the rep's band every price reads the same to a rep: no hint whether it is under the floor.
    assert "needs manager approval" in rep.stdout and "54,400" not in rep.stdout and "margin" not in rep.stdout.lower()
    manager = _invoke("price", "X3", "--qty", "20", "--competitor-price", "50000", "--role", "manager", "--json")
    data = json.loads(manager.stdout)
    assert data["role"] == "manager" and data["strategies"][-1]["floor_price"] == str(floor)
    assert "suggestion_id" in data and data["suggestion_id"]
    unknown = _invoke("price", "Z9", "--qty", "1")
    assert unknown.exit_code == 1 and "unknown product" in unknown.output


def test_tasks_edit_reject_and_errors(monkeypatch) -> None:
    from tools.gate.store import propose_action

    view = propose_action("create_follow_up_task", {"customer": "Northwind", "due": due_at(2),
                                                    "description": "call"}, "emily.ross", "rep", "t")
    denied = _invoke("tasks", "approve", view.id, "--as", "li.na", "--role", "rep")
    assert denied.exit_code == 1 and "only the person who asked" in denied.output
    edited = _invoke("tasks", "edit", view.id, "--set", f"due={due_at(5, 9, ' ')}", "--set", "description=demo call",
                     "--as", "emily.ross", "--json")
    assert edited.exit_code == 0, edited.output
    data = json.loads(edited.stdout)
    assert data["status"] == "executed" and data["due"] == f"{due_at(5, 9)}+08:00"
    assert data["args"]["description"] == "demo call"

    other = propose_action("create_follow_up_task", {"customer": "Northwind", "due": due_at(2),
                                                     "description": "call"}, "emily.ross", "rep", "t")
    rejected = _invoke("tasks", "reject", other.id, "--as", "emily.ross")
    assert rejected.exit_code == 0 and "Rejected" in rejected.stdout
    missing = _invoke("tasks", "approve", "NOPE1")
    assert missing.exit_code == 1 and "no action" in missing.output
    listing = json.loads(_invoke("tasks", "--json").stdout)
    statuses = {row["id"]: row["status"] for row in listing}
    assert statuses[view.id] == "executed" and statuses[other.id] == "rejected"
    assert [row for row in listing if row["kind"] == "task"][0]["args"]["description"] == "demo call"


def test_feedback_record_and_export(tmp_path: Path) -> None:
    from tools.sales.pricing import propose_pricing

    _invoke("seed")
    proposal = propose_pricing("V8", 10, customer="成都西部医疗中心")
    recorded = _invoke("feedback", "record", proposal.suggestion_id, "modified", "--as", "chen.jie",
                       "--comment", "used option B with 2 training days")
    assert recorded.exit_code == 0, recorded.output
    bad = _invoke("feedback", "record", proposal.suggestion_id, "loved")
    assert bad.exit_code == 1 and "unknown verdict" in bad.output
    missing = _invoke("feedback", "record", "SNOPE", "adopted")
    assert missing.exit_code == 1 and "no suggestion" in missing.output

    output = tmp_path / "feedback.jsonl"
    exported = _invoke("feedback", "export", str(output))
    assert exported.exit_code == 0 and "1 records" in exported.stdout
    record = json.loads(output.read_text(encoding="utf-8").splitlines()[0])
    assert record["suggestion_id"] == proposal.suggestion_id and record["verdict"] == "modified"
    assert "V8" in record["question"] and "Value bundle" in record["answer"]
    assert record["comment"] == "used option B with 2 training days"
    assert any(source.get("table") == "deals" for source in record["sources"])


def test_price_submit_proposes_a_quote_and_approval_writes_one(monkeypatch) -> None:
    from tools.db.tables import Quote

    _invoke("seed")
    submitted = _invoke("price", "X3", "--qty", "20", "--customer", "华东人民医院", "--submit", "A",
                        "--user", "zhang.wei", "--role", "rep", "--lang", "en")
    assert submitted.exit_code == 0, submitted.output
    action_id = submitted.stdout.split()[0]
    assert "pending" in submitted.stdout and f"salesbot tasks approve {action_id} --as zhang.wei" in submitted.stdout
    with sales_session() as session:
        assert session.exec(select(Quote)).all() == []
    approved = _invoke("tasks", "approve", action_id, "--as", "zhang.wei", "--role", "rep", "--json")
    assert approved.exit_code == 0, approved.output
    view = json.loads(approved.stdout)
    assert view["status"] == "executed" and view["result"].startswith("quotes:")
    assert view["args"]["strategy"] == "within_authority" and view["args"]["suggestion_id"]
    again = _invoke("tasks", "approve", action_id, "--as", "zhang.wei", "--role", "rep")
    assert again.exit_code == 0 and "already executed" in again.stdout
    with sales_session() as session:
        quotes = session.exec(select(Quote)).all()
    assert len(quotes) == 1 and quotes[0].action_id == action_id and quotes[0].product_sku == "QM-X3"
    assert quotes[0].quantity == 20 and quotes[0].unit_price == Decimal(view["args"]["unit_price"])


def test_price_submit_of_a_withheld_price_never_shows_it_to_the_rep() -> None:
    from tools.db.tables import Quote

    _invoke("seed")
    floor = resolve_product("X3").floor_price
    floor_texts = (f"{floor:,.0f}", f"{floor:.0f}")
    # The competitor's price is under the floor: option C is clamped to the floor, which a rep may not see.
    submitted = _invoke("price", "X3", "--qty", "20", "--customer", "华东人民医院", "--competitor-price", "50000",
                        "--submit", "C", "--user", "zhang.wei", "--role", "rep", "--json")
    assert submitted.exit_code == 0, submitted.output
    assert not any(text in submitted.stdout for text in floor_texts)
    view = json.loads(submitted.stdout)
    assert view["status"] == "pending" and view["kind"] == "submit_quote_for_approval"
    assert view["required_approver"] == "vp" and view["args"]["unit_price"] is None
    assert view["args"]["strategy"] == "competitive"
    for listing in (_invoke("tasks", "--json"), _invoke("tasks")):
        assert listing.exit_code == 0 and view["id"] in listing.stdout
        assert not any(text in listing.stdout for text in floor_texts)

    denied = _invoke("tasks", "approve", view["id"], "--as", "liu.yang", "--role", "manager")
    assert denied.exit_code == 1 and "VP approval" in denied.output
    approved = _invoke("tasks", "approve", view["id"], "--as", "zhao.min", "--role", "vp")
    assert approved.exit_code == 0, approved.output
    with sales_session() as session:
        quote = session.exec(select(Quote)).one()
    assert quote.unit_price == floor and quote.approved_by == "zhao.min" and quote.submitted_by == "zhang.wei"

    bad = _invoke("price", "X3", "--qty", "20", "--customer", "华东人民医院", "--submit", "D")
    assert bad.exit_code == 1 and "A, B or C" in bad.output
    no_customer = _invoke("price", "X3", "--qty", "20", "--submit", "A")
    assert no_customer.exit_code == 1 and "--customer" in no_customer.output


def _seeded_stage_change_and_other_deal() -> tuple[str, int]:
    from tools.gate.store import propose_action

    _invoke("seed")
    view = propose_action("update_opportunity_stage", {"customer": "Northwind", "stage": "negotiation"},
                          "emily.ross", "rep", "t")
    with sales_session() as session:
        others = [item.id for item in session.exec(select(Opportunity)).all()
                  if item.id != view.args["opportunity_id"] and item.owner != "emily.ross"]
    return view.id, int(others[0])  # type: ignore[arg-type]


def test_tasks_edit_cannot_retarget_an_action_to_another_deal() -> None:
    from tools.gate.store import get_action

    action_id, target = _seeded_stage_change_and_other_deal()
    retarget = _invoke("tasks", "edit", action_id, "--set", f"opportunity_id={target}", "--set", "stage=closed_won",
                       "--as", "emily.ross", "--role", "rep")
    assert retarget.exit_code == 1 and "cannot change what the action applies to" in retarget.output
    too_old = _invoke("tasks", "edit", action_id, "--set", "note=" + "x" * 501, "--as", "emily.ross")
    assert too_old.exit_code == 1 and "at most 500 characters" in too_old.output
    assert get_action(action_id).status == "pending"  # type: ignore[union-attr]


def test_chat_edit_command_cannot_retarget_an_action() -> None:
    from agent.models import TurnRequest
    from agent.service import answer_turn
    from tools.gate.store import get_action

    action_id, target = _seeded_stage_change_and_other_deal()
    result = answer_turn(TurnRequest(text=f"修改 {action_id} opportunity_id={target}", user_id="emily.ross",
                                     role="rep", thread_id="chat-retarget"))
    assert "cannot change what the action applies to" in result.answer
    assert get_action(action_id).status == "pending"  # type: ignore[union-attr]


def _roles_file(tmp_path: Path, monkeypatch, *, override: bool = False) -> None:  # type: ignore[no-untyped-def]
    from salesbot.settings import reset_runtime

    roles = tmp_path / "roles.yaml"
    roles.write_text("users:\n  zhang.wei: rep\n  liu.yang: manager\n", encoding="utf-8")
    monkeypatch.setenv("SALESBOT_ROLES_FILE", str(roles))
    if override:
        monkeypatch.setenv("SALESBOT_CLI_ROLE_OVERRIDE", "true")
    monkeypatch.setattr("getpass.getuser", lambda: "zhang.wei")
    reset_runtime()


def test_cli_role_may_not_exceed_the_roles_file(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _invoke("seed")
    _roles_file(tmp_path, monkeypatch)
    for arguments in (["price", "X3", "--qty", "1", "--as", "zhang.wei", "--role", "manager", "--json"],
                      ["price", "X3", "--qty", "1", "--role", "vp"],
                      ["search", "X3", "--role", "manager"],
                      ["sql", "SELECT 1", "--role", "admin"],
                      ["ask", "hello", "--role", "manager"]):
        refused = _invoke(*arguments)
        assert refused.exit_code == 2, (arguments, refused.output)
        assert "exceeds the role the roles file" in refused.output and "Traceback" not in refused.output
    manager = _invoke("price", "X3", "--qty", "1", "--as", "liu.yang", "--role", "manager", "--json")
    assert manager.exit_code == 0, manager.output
    assert json.loads(manager.stdout)["role"] == "manager"
    own = _invoke("price", "X3", "--qty", "1", "--as", "zhang.wei", "--role", "rep", "--json")
    assert own.exit_code == 0 and json.loads(own.stdout)["role"] == "rep"


def test_an_admin_setting_lets_the_cli_role_exceed_the_roles_file(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _invoke("seed")
    _roles_file(tmp_path, monkeypatch, override=True)
    allowed = _invoke("price", "X3", "--qty", "1", "--as", "zhang.wei", "--role", "manager", "--json")
    assert allowed.exit_code == 0, allowed.output
    assert json.loads(allowed.stdout)["role"] == "manager"
