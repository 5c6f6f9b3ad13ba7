"""Short names a contract defines for an organisation ("以下简称“雪麒”", (hereinafter "Acme")) become its aliases."""

from __future__ import annotations

from pathlib import Path

import pytest

from salesbot.settings import reset_runtime


@pytest.fixture()
def defined_terms_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("SALESBOT_ENTITIES_FILE")
    monkeypatch.setenv("SALESBOT_EMBEDDING", "none")
    reset_runtime()
    folder = tmp_path / "knowledge"
    folder.mkdir()
    (folder / "replacement_contract.md").write_text(
        "---\ntitle: 冷库替换合同\ndoc_type: contract\ncustomers: [东岳示例食品有限公司]\n"
        "competitors: [西江示例制冷设备有限公司]\n---\n# 冷库替换合同\n\n"
        "甲方拟将原有的西江示例制冷设备有限公司（以下简称“西冷”）冷库整体替换。\n"
        "东岳示例食品有限公司（以下简称“甲方”）负责现场配合。\n", encoding="utf-8")
    (folder / "supply_en.md").write_text(
        "---\ntitle: Supply agreement\ndoc_type: contract\ncustomers: [Northgate Example Foods Ltd.]\n---\n"
        "# Supply agreement\n\nNorthgate Example Foods Ltd. (hereinafter \"NEF\") buys 4 units; "
        "an unrelated Other Corp (hereinafter \"Other\") is not a party of ours.\n", encoding="utf-8")
    from knowledge.ingest import ingest_paths

    assert ingest_paths([folder]).ok
    return folder


def test_defined_short_names_resolve_to_the_organisation(defined_terms_world: Path) -> None:
    from knowledge.base import get_entity_registry
    from tools.sales.opportunity import extract_opportunity_card

    registry = get_entity_registry()
    competitor = registry.resolve("西冷", ["competitor"])
    assert competitor is not None and competitor.name == "西江示例制冷设备有限公司"
    customer = registry.resolve("NEF", ["customer"])
    assert customer is not None and customer.name == "Northgate Example Foods Ltd."
    card = extract_opportunity_card("东岳示例食品说西冷报价更低，预算30万元。")
    assert card.competitor is not None and "西江" in card.competitor


def test_role_words_and_organisations_the_document_is_not_about_get_no_alias(defined_terms_world: Path) -> None:
    from knowledge.base import get_entity_registry

    registry = get_entity_registry()
    assert registry.resolve("甲方") is None  # a role in the contract, not a name
    assert registry.resolve("Other") is None  # defined for an organisation that is not in the metadata
