"""The no-LLM follow-up request parser: customer, due date and description from one sentence."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tools.sales.customers import resolve_customer
from tools.sales.task_requests import parse_task_request

NOW = datetime(2026, 11, 23, 15, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_chinese_follow_up_request() -> None:
    parsed = parse_task_request("给华东人民医院下周三安排一次回访", NOW)
    assert parsed is not None
    assert parsed["customer"] == "华东人民医院"
    assert parsed["customer_key"] == "huadong-peoples"
    assert parsed["due"] == "2026-12-02T10:00+08:00"
    assert parsed["description"] == "回访"


def test_english_follow_up_request() -> None:
    parsed = parse_task_request("schedule a follow-up call with Northwind next Friday", NOW)
    assert parsed is not None
    assert parsed["customer_key"] == "northwind"
    assert parsed["customer_display"] == "Northwind Manufacturing Inc."
    assert parsed["due"] == "2026-12-04T10:00+08:00"
    assert parsed["description"] == "follow-up call"


def test_mixed_language_reminder() -> None:
    parsed = parse_task_request("remind me in 3 days to send the X3 quote to 江南第二医院", NOW)
    assert parsed is not None
    assert parsed["customer"] == "江南第二医院"
    assert parsed["due"] == "2026-11-26T10:00+08:00"
    assert parsed["description"] == "send the X3 quote"


def test_short_alias_and_time_of_day() -> None:
    parsed = parse_task_request("明天下午3点跟恒力打电话确认交期", NOW)
    assert parsed is not None
    assert parsed["customer_key"] == "hengli-precision"
    assert parsed["due"] == "2026-11-24T15:00+08:00"
    assert parsed["description"] == "打电话确认交期"


def test_no_date_keeps_due_empty_instead_of_guessing() -> None:
    parsed = parse_task_request("提醒我给珠江电力发报价", NOW)
    assert parsed is not None
    assert parsed["customer_key"] == "pearl-river-power"
    assert parsed["due"] is None


def test_questions_and_unknown_customers_are_not_task_requests() -> None:
    assert parse_task_request("X3 的质保是多久？", NOW) is None
    assert parse_task_request("schedule a call with Acme Corp next Friday", NOW) is None


def test_customer_resolution_zh_en_alias_and_typos() -> None:
    assert resolve_customer("Huadong People's Hospital").key == "huadong-peoples"
    assert resolve_customer("北风").key == "northwind"
    assert resolve_customer("华东人名医院").key == "huadong-peoples"  # one wrong character
    assert resolve_customer("Northwnd").key == "northwind"
    assert resolve_customer("Acme Corp") is None


def test_registry_alias_finds_the_customer_for_a_task() -> None:
    # 江南二院 is an alias in the registry only (the old customer matcher did not know it).
    parsed = parse_task_request("给江南二院下周三安排一次回访", NOW)
    assert parsed is not None
    assert parsed["customer"] == "江南第二医院" and parsed["customer_key"] == "jiangnan-second"
    assert parsed["due"] == "2026-12-02T10:00+08:00" and parsed["description"] == "回访"


def test_near_miss_in_running_text_and_legal_form_free_names() -> None:
    from tools.sales.customers import find_customer_in_text

    found = find_customer_in_text("给华东人名医院下周三安排一次回访")
    assert found is not None and found[0].key == "huadong-peoples" and (found[1], found[2]) == (1, 7)
    assert resolve_customer("Northwind Manufacturing").key == "northwind"  # "Inc." dropped
    assert resolve_customer("宁波东港物流").key == "donggang-logistics"  # "集团" dropped
    assert resolve_customer("东港物流集团").key == "donggang-logistics"  # city 宁波 dropped
