"""Refusals: the knowledge base holds no answer, or the figure asked for is above the asker's role."""

from __future__ import annotations

from agent.answer.models import AnswerDraft


def refusal(language: str, who: str | None = None) -> AnswerDraft:
    if language == "zh":
        text = (f"知识库中没有找到能回答这个问题的内容，我不做猜测。建议咨询{who or '销售经理或产品/法务团队'}。")
    else:
        text = ("The knowledge base does not contain an answer to this, and I won't guess. "
                f"Please check with {who or 'your sales manager or the product/legal team'}.")
    return AnswerDraft(text=text, refused=True)


def restricted_refusal(language: str) -> AnswerDraft:
    if language == "zh":
        text = "底价、成本和毛利属于经理及以上角色可见的信息，我不能提供。需要特殊价格时请提交报价审批，由销售经理决定。"
    else:
        text = ("Floor prices, unit costs and margins are visible to managers and above only, so I can't share them. "
                "If you need a special price, submit the quote for approval and your manager will decide.")
    return AnswerDraft(text=text, refused=True)
