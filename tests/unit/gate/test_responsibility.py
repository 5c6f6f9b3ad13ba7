"""The responsibility list is checked at load, quote approval follows the pricing policy, one authority check."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from salesbot.errors import UserFacingError
from salesbot.settings import SAMPLES_DIR, reset_runtime
from tests.relative_dates import DUE_TOMORROW
from tools.gate.responsibility import DEFAULT_RESPONSIBILITY_FILE, load_responsibility
from tools.gate.store import (
    ActionError,
    ActionNotAllowed,
    ResponsibilityFileError,
    decide_action,
    ensure_may_decide,
    get_action,
    propose_action,
)

QUOTE = {"customer": "<customer>", "product": "QI-G5", "quantity": 50}


def _use_responsibility(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    path = tmp_path / "responsibility.yaml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("SALESBOT_RESPONSIBILITY_FILE", str(path))
    reset_runtime()
    return path


@pytest.mark.parametrize(("typo", "key", "problem"), [
    ("    - approver: manger\n", "actions.create_follow_up_task.0.approver", "'manager'"),
    ("    - when: {description: {containz: x}}\n      approver: confirm\n", "actions.create_follow_up_task.0.when",
     "unknown operator 'containz'"),
    ("    - when: {stage: {in: closed_won}}\n      approver: manager\n", "actions.create_follow_up_task.0.when",
     "in needs a list"),
])
def test_typos_in_rules_fail_at_load_with_file_key_and_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               typo: str, key: str, problem: str) -> None:
    path = _use_responsibility(tmp_path, monkeypatch, "actions:\n  create_follow_up_task:\n" + typo)
    with pytest.raises(ResponsibilityFileError) as raised:
        load_responsibility()
    message = str(raised.value)
    assert str(path) in message and key in message and problem in message
    assert isinstance(raised.value, UserFacingError) and isinstance(raised.value, ActionError)
    # The same error reaches a proposer instead of a wrong approval.
    with pytest.raises(ResponsibilityFileError):
        propose_action("create_follow_up_task", {"customer": "<customer>", "due": DUE_TOMORROW,
                                                 "description": "call"}, "rep.one", "rep", "t")


def test_unknown_kind_and_misplaced_policy_approver_fail_at_load(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = _use_responsibility(tmp_path, monkeypatch, "actions:\n  create_folow_up_task:\n    - approver: vp\n")
    with pytest.raises(ResponsibilityFileError, match="unknown action kind 'create_folow_up_task'") as raised:
        load_responsibility()
    assert str(path) in str(raised.value) and "actions" in str(raised.value)
    _use_responsibility(tmp_path, monkeypatch, "actions:\n  log_opportunity_card:\n    - approver: pricing_policy\n")
    with pytest.raises(ResponsibilityFileError, match="log_opportunity_card has no pricing policy band"):
        load_responsibility()
    _use_responsibility(tmp_path, monkeypatch, "default_approver: confirm\nactoins: {}\n")
    with pytest.raises(ResponsibilityFileError, match="actoins"):
        load_responsibility()


def test_the_bundled_list_has_no_discount_thresholds() -> None:
    text = DEFAULT_RESPONSIBILITY_FILE.read_text(encoding="utf-8")
    rules = yaml.safe_load(text)["actions"]["submit_quote_for_approval"]
    assert rules == [{"name": rules[0]["name"], "approver": "pricing_policy"}]
    assert "0.15" not in text and "0.08" not in text and "gt:" not in text


def _policy_with_bands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bands: list[tuple[float, str]]) -> None:
    policy = yaml.safe_load((SAMPLES_DIR / "policy" / "pricing_policy.yaml").read_text(encoding="utf-8"))
    policy["approval_levels"] = [{"max_discount": limit, "approver": approver, "label_en": f"{approver} band",
                                  "label_zh": f"{approver}审批"} for limit, approver in bands]
    path = tmp_path / "pricing_policy.yaml"
    path.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("SALESBOT_PRICING_POLICY_FILE", str(path))
    reset_runtime()


def _approvers() -> tuple[str, str, str]:
    # 12160 / 11000 / 10500 against a list price of 12800: 5%, 14.06%, 17.97% off.
    return tuple(propose_action("submit_quote_for_approval", {**QUOTE, "unit_price": price}, "rep.one", "rep",
                                "t").required_approver for price in ("12160", "11000", "10500"))  # type: ignore[return-value]


def test_quote_approval_follows_the_pricing_policy_bands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _approvers() == ("confirm", "manager", "vp")
    # Tighter bands in the policy file alone move every quote up a level: nothing else is edited.
    _policy_with_bands(tmp_path, monkeypatch, [(0.04, "rep"), (0.10, "manager"), (0.30, "vp")])
    assert _approvers() == ("manager", "vp", "vp")
    _policy_with_bands(tmp_path, monkeypatch, [(0.20, "rep"), (0.30, "vp")])
    assert _approvers() == ("confirm", "confirm", "confirm")


def test_rules_may_refer_to_the_policy_band(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _use_responsibility(tmp_path, monkeypatch, DEFAULT_RESPONSIBILITY_FILE.read_text(encoding="utf-8").replace(
        "  submit_quote_for_approval:\n",
        "  submit_quote_for_approval:\n    - when: {policy_approver: manager, origin: user}\n      approver: vp\n"))
    assert _approvers() == ("confirm", "vp", "vp")


def test_ensure_may_decide_is_the_one_authority_check() -> None:
    view = propose_action("submit_quote_for_approval", {**QUOTE, "unit_price": "12160"}, "rep.one", "rep", "t")
    assert view.required_approver == "confirm"
    assert ensure_may_decide(view.id, "approve", "rep.one", "rep").id == view.id
    assert ensure_may_decide(view, "approve", "boss", "manager").id == view.id
    with pytest.raises(ActionNotAllowed, match="only the person who asked"):
        ensure_may_decide(view, "approve", "rep.two", "rep")
    with pytest.raises(ActionNotAllowed, match="only the person who asked"):
        ensure_may_decide(view, "reject", "rep.two", "rep")
    # An edit that deepens the discount into the manager band is checked against the edited price.
    with pytest.raises(ActionNotAllowed, match="manager approval"):
        ensure_may_decide(view.id, "edit", "rep.one", "rep", {"unit_price": "11000"})
    with pytest.raises(ActionNotAllowed, match="unknown role"):
        ensure_may_decide(view.id, "approve", "rep.one", "intern")
    with pytest.raises(ActionNotAllowed, match="unknown decision"):
        ensure_may_decide(view.id, "delete", "rep.one", "rep")
    unchanged = get_action(view.id)
    assert unchanged is not None and unchanged.status == "pending"  # checking decides nothing
    large = propose_action("submit_quote_for_approval", {**QUOTE, "unit_price": "10500"}, "rep.one", "rep", "t")
    ensure_may_decide(large.id, "reject", "rep.one", "rep")  # the proposer may always withdraw
    with pytest.raises(ActionNotAllowed, match="VP approval"):
        ensure_may_decide(large.id, "approve", "boss", "manager")
    assert decide_action(large.id, "approve", "chief", "vp").status == "executed"
