"""log_opportunity_card: a new opportunity (customer, stage, objections, competitor, budget, next step)."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from tools.db.tables import Opportunity, PendingAction
from tools.gate.errors import ActionInvalid
from tools.gate.kinds.base import (
    MAX_LIST_ITEMS,
    MAX_TEXT_CHARS,
    ActionKind,
    AppliedWrite,
    CustomerArguments,
    OptionalText,
    customer_fields,
    opportunity_stage,
    optional_amount,
    product_sku,
)


class OpportunityCardArguments(CustomerArguments):
    product: OptionalText = None
    stage: OptionalText = None
    amount: OptionalText = None
    budget: OptionalText = None
    competitor: OptionalText = None
    next_step: OptionalText = None
    objections: list[str] | str | None = None
    owner: OptionalText = None


class OpportunityCard(ActionKind):
    name = "log_opportunity_card"
    arguments = OpportunityCardArguments

    def normalise(self, args: dict[str, Any], *, now: datetime | None = None,
                  proposer_user: str | None = None) -> dict[str, Any]:
        parsed = self.parse(args, OpportunityCardArguments)
        objections = parsed.objections or []
        if isinstance(objections, str):
            objections = [item.strip() for item in re.split(r"[;；\n]", objections) if item.strip()]
        if len(objections) > MAX_LIST_ITEMS or any(len(str(item)) > MAX_TEXT_CHARS for item in objections):
            raise ActionInvalid(f"{self.name}: objections: at most {MAX_LIST_ITEMS} objections of at most "
                                f"{MAX_TEXT_CHARS} characters each")
        return {**customer_fields(parsed.customer, parsed.customer_key, self.name),
                "product": product_sku(parsed.product, required=False),
                "stage": opportunity_stage(parsed.stage, required=False) or "prospecting",
                "amount": optional_amount(parsed.amount, "amount"),
                "budget": optional_amount(parsed.budget, "budget"),
                "competitor": parsed.competitor, "next_step": parsed.next_step,
                "objections": [str(item) for item in objections], "owner": parsed.owner}

    def summary(self, args: dict[str, Any]) -> tuple[str, str]:
        customer = args.get("customer") or "?"
        return (f"Log opportunity card for {customer} (stage {args.get('stage')})",
                f"记录{customer}的商机卡片(阶段 {args.get('stage')})")

    def apply(self, session: Session, action: PendingAction, actor: str) -> AppliedWrite:
        args = action.args
        opportunity = Opportunity(
            source_action_id=action.id, customer_key=args.get("customer_key"), customer_name=args["customer"],
            product_sku=args.get("product"), stage=args.get("stage") or "prospecting",
            amount=Decimal(args["amount"]) if args.get("amount") else None,
            budget=Decimal(args["budget"]) if args.get("budget") else None, next_step=args.get("next_step"),
            competitor=args.get("competitor"), objections="; ".join(args.get("objections") or []) or None,
            owner=args.get("owner") or action.proposer_user,
        )
        session.add(opportunity)
        session.flush()
        return AppliedWrite(f"opportunities:{opportunity.id}")
