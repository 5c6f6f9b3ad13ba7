"""The entity registry's one matcher: legal forms, city prefixes, near misses, types, outside sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.graph import AliasMatcher, registered_aliases, strip_legal_form
from knowledge.registry import EntityRegistry, RegistryEntry


@pytest.mark.parametrize(("name", "stripped"), [
    ("苏州示例精密制造有限公司", "苏州示例精密制造"),
    ("天津示例冷链物流集团有限公司", "天津示例冷链物流"),
    ("示例医药股份有限公司", "示例医药"),
    ("Acme Widgets GmbH", "Acme Widgets"),
    ("Acme Trading Co., Ltd.", "Acme Trading"),
    ("Nordic Freeze A/S", "Nordic Freeze"),
    ("Riga Metals SIA", "Riga Metals"),
    ("Saigon Foods Joint Stock Company", "Saigon Foods"),
    ("Desert Pharma Distribution LLC", "Desert Pharma Distribution"),
])
def test_legal_forms_are_stripped_from_a_general_list(name: str, stripped: str) -> None:
    assert strip_legal_form(name) == stripped


def test_no_legal_form_and_too_short_remainders_are_left_alone() -> None:
    assert strip_legal_form("示例第二医院") is None
    assert strip_legal_form("有限公司") is None
    assert strip_legal_form("Inc.") is None


def test_registration_adds_legal_form_city_and_pinyin_variants() -> None:
    aliases = registered_aliases("customer", "sample-precision", "苏州示例精密制造有限公司", [], {"city": "苏州"})
    assert {"苏州示例精密制造", "示例精密制造有限公司", "示例精密制造"} <= set(aliases)
    assert "shilijingmizhizao" in aliases
    # Products are not organisations: no variants.
    assert registered_aliases("product", "AB-1", "AB-1 有限公司版", []) == ["AB-1 有限公司版", "AB-1"]


def _registry(tmp_path: Path, entries: list[RegistryEntry]) -> EntityRegistry:
    from knowledge.base import get_knowledge_base

    registry = get_knowledge_base().entity_registry
    registry.register_external("test", entries)
    return registry


def test_external_entities_resolve_by_stripped_and_city_less_names(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("SALESBOT_ENTITIES_FILE")
    from salesbot.settings import reset_runtime

    reset_runtime()
    registry = _registry(tmp_path, [
        RegistryEntry(type="customer", key="acme", name="Acme Widgets GmbH", attributes={"city": "Bremen"}),
        RegistryEntry(type="customer", key="sample-precision", name="苏州示例精密制造有限公司",
                      attributes={"city": "苏州", "name_en": "Suzhou Sample Precision"}),
        RegistryEntry(type="competitor", key="rival", name="Rival Instruments Inc."),
    ])
    assert registry.resolve("Acme Widgets", ["customer"]).key == "acme"  # type: ignore[union-attr]
    assert registry.resolve("示例精密制造", ["customer"]).key == "sample-precision"  # type: ignore[union-attr]
    assert registry.resolve("Rival Instruments", ["customer"]) is None  # a competitor, not a customer
    assert registry.resolve("Rival Instruments", ["competitor"]).key == "rival"  # type: ignore[union-attr]
    entity = registry.get("customer:sampleprecision")
    assert entity is not None and entity.latin_name() == "Suzhou Sample Precision"
    assert [item.key for item in registry.of_type("competitor")] == ["rival"]
    found = registry.find("call Acme Widgets about 示例精密制造", ["customer"])
    assert [(match.entity_type, match.alias) for match in found] == [("customer", "Acme Widgets"),
                                                                      ("customer", "示例精密制造")]


def test_near_misses_are_found_with_rapidfuzz_alignment() -> None:
    matcher = AliasMatcher([("示例人民医院", "customer:people"), ("Northwind", "customer:nw"), ("X3", "product:x3")])
    near = matcher.near_miss("给示例人名医院下周三安排回访")
    assert near is not None and near.entity_id == "customer:people" and (near.start, near.end) == (1, 7)
    near = matcher.near_miss("call Northwnd tomorrow")
    assert near is not None and near.entity_id == "customer:nw" and (near.start, near.end) == (5, 13)
    assert matcher.resolve("Northwnd") == "customer:nw"
    assert matcher.near_miss("X4 price") is None  # aliases under four characters never match fuzzily
    assert matcher.resolve("Acme Corp") is None


def test_a_leading_word_of_one_entity_resolves_but_a_shared_one_does_not() -> None:
    matcher = AliasMatcher([("Huaxi People's Hospital", "customer:a"), ("Huaxi Hospital", "customer:a"),
                            ("Pearl Harbor Foods", "customer:b"), ("Pearl Valley Power", "customer:c")])
    assert matcher.resolve("Huaxi", fuzzy=False) == "customer:a"
    assert matcher.resolve("Pearl", fuzzy=False) is None


def test_registry_file_errors_name_file_key_and_problem(tmp_path: Path) -> None:
    from knowledge.registry import read_registry_file
    from salesbot.yaml_files import ConfigFileError

    bad = tmp_path / "entities.yaml"
    bad.write_text("entities:\n  - {type: vendor, key: x}\n", encoding="utf-8")
    with pytest.raises(ConfigFileError) as error:
        read_registry_file(bad)
    assert "entities.yaml" in str(error.value) and "entities.0.type" in str(error.value)
