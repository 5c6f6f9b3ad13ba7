"""Entities that only documents name (front matter, contract party lines) are known to every tool layer."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from salesbot.settings import reset_runtime

NOW = datetime(2026, 11, 23, 15, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture()
def documents_only_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A knowledge folder without any registry file: every entity comes from a document."""
    monkeypatch.delenv("SALESBOT_ENTITIES_FILE")
    monkeypatch.setenv("SALESBOT_EMBEDDING", "none")
    reset_runtime()
    folder = tmp_path / "knowledge"
    folder.mkdir()
    (folder / "front_matter_contract.md").write_text(
        "---\ntitle: Supply contract 2026-07\ndoc_type: contract\ncustomers: [Borealis Cold Storage Oy]\n"
        "competitors: [Zephyr Instruments Inc.]\n---\n# Supply contract 2026-07\n\n"
        "The Supplier delivers 12 cold rooms; Zephyr Instruments was the other bidder.\n", encoding="utf-8")
    (folder / "party_line_contract.md").write_text(
        "---\ntitle: 冷库采购合同 HT-07\ndoc_type: contract\n---\n# 冷库采购合同 HT-07\n\n"
        "甲方（买方）：南岭示例医药物流有限公司\n地址：某市某路 1 号\n\n乙方（卖方）：某某制冷设备有限公司\n\n"
        "第一条 甲方向乙方采购冷库 4 套。\n", encoding="utf-8")
    (folder / "en_party_line.md").write_text(
        "---\ntitle: Equipment agreement EA-9\ndoc_type: contract\n---\n# Equipment agreement EA-9\n\n"
        "1.1 Buyer: Desert Pharma Distribution LLC, a company registered in somewhere (\"Buyer\").\n"
        "1.2 Seller: Some Seller Co., Ltd.\n", encoding="utf-8")
    from knowledge.ingest import ingest_paths

    report = ingest_paths([folder])
    assert report.ok, [failure.model_dump() for failure in report.failed]
    return folder


def test_customer_known_only_from_front_matter_resolves_and_gets_tasks(documents_only_world: Path) -> None:
    from tools.sales.customers import find_customer_in_text, resolve_customer
    from tools.sales.task_requests import parse_task_request

    customer = resolve_customer("Borealis Cold Storage")  # legal form dropped by the user
    assert customer is not None and customer.name_zh == "Borealis Cold Storage Oy"
    found = find_customer_in_text("please call Borealis Cold Storage tomorrow")
    assert found is not None and found[0].key == customer.key
    parsed = parse_task_request("schedule a call with Borealis Cold Storage Oy next Friday", NOW)
    assert parsed is not None and parsed["customer_key"] == customer.key


def test_customer_known_only_from_a_party_line(documents_only_world: Path) -> None:
    from tools.sales.customers import resolve_customer
    from tools.sales.task_requests import parse_task_request

    parsed = parse_task_request("给南岭示例医药物流下周三安排一次回访", NOW)
    assert parsed is not None and parsed["customer"] == "南岭示例医药物流有限公司"
    english = resolve_customer("Desert Pharma Distribution")
    assert english is not None and english.name_zh == "Desert Pharma Distribution LLC"
    # The seller's line is not a customer.
    assert resolve_customer("某某制冷设备有限公司") is None


def test_competitor_known_only_from_a_document_is_found_by_the_opportunity_card(documents_only_world: Path) -> None:
    from tools.sales.opportunity import extract_opportunity_rules

    card = extract_opportunity_rules("Borealis Cold Storage said Zephyr Instruments quoted 10% lower; we will send a quote.")
    assert card.competitor == "Zephyr Instruments Inc."
    assert card.customer == "Borealis Cold Storage Oy"
    lost = extract_opportunity_rules("南岭示例医药物流最后决定采用Zephyr Instruments的方案。")
    assert lost.stage == "closed_lost"


def test_a_broken_registry_file_is_reported_not_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESBOT_EMBEDDING", "none")
    reset_runtime()
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "entities.yaml").write_text("entities:\n  - {type: customer}\n", encoding="utf-8")
    from knowledge.ingest import ingest_paths

    report = ingest_paths([folder])
    assert [result.source for result in report.failed] == ["entities.yaml"]
    assert "entities.0" in (report.failed[0].reason or "")
