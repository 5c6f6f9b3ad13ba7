"""update_opportunity_stage: move a customer's open opportunity (or a given one) to a new stage."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator
from sqlmodel import Session, col, select

from tools.db.tables import Opportunity, PendingAction, sales_session, utc_now
from tools.gate.errors import ActionInvalid, ApplyFailed
from tools.gate.kinds.base import (
    ActionKind,
    AppliedWrite,
    CustomerArguments,
    OptionalText,
    customer_fields,
    opportunity_stage,
    text_or_none,
)


class StageUpdateArguments(CustomerArguments):
    opportunity_id: Annotated[int | None, BeforeValidator(text_or_none)] = None
    stage: OptionalText = None
    note: OptionalText = None


class StageUpdate(ActionKind):
    name = "update_opportunity_stage"
    arguments = StageUpdateArguments
    identity_fields = ("opportunity_id", "customer", "customer_key")

    def normalise(self, args: dict[str, Any], *, now: datetime | None = None,
                  proposer_user: str | None = None) -> dict[str, Any]:
        parsed = self.parse(args, StageUpdateArguments)
        stage = opportunity_stage(parsed.stage, required=True)
        with sales_session() as session:
            if parsed.opportunity_id is not None:
                opportunity = session.get(Opportunity, parsed.opportunity_id)
                if opportunity is None:
                    raise ActionInvalid(f"no opportunity with id {parsed.opportunity_id}")
            else:
                fields = customer_fields(parsed.customer, parsed.customer_key, self.name)
                statement = select(Opportunity).where(col(Opportunity.stage).not_in(["closed_won", "closed_lost"]))
                if fields["customer_key"]:
                    statement = statement.where(Opportunity.customer_key == fields["customer_key"])
                else:
                    statement = statement.where(Opportunity.customer_name == fields["customer"])
                opportunity = session.exec(statement.order_by(col(Opportunity.updated_at).desc())).first()
                if opportunity is None:
                    raise ActionInvalid(f"no open opportunity for {fields['customer']}; log an opportunity card first")
            return {"opportunity_id": opportunity.id, "customer": opportunity.customer_name,
                    "customer_key": opportunity.customer_key, "from_stage": opportunity.stage, "stage": stage,
                    "note": parsed.note}

    def summary(self, args: dict[str, Any]) -> tuple[str, str]:
        customer = args.get("customer") or "?"
        return (f"Move {customer}'s opportunity #{args.get('opportunity_id')} from {args.get('from_stage')} "
                f"to {args.get('stage')}",
                f"将{customer}的商机 #{args.get('opportunity_id')} 从 {args.get('from_stage')} 改为 {args.get('stage')}")

    def apply(self, session: Session, action: PendingAction, actor: str) -> AppliedWrite:
        args = action.args
        existing = session.get(Opportunity, int(args["opportunity_id"]))
        if existing is None:
            raise ApplyFailed(f"opportunity #{args['opportunity_id']} no longer exists")
        previous = existing.stage
        existing.stage = args["stage"]
        existing.updated_at = utc_now()
        session.add(existing)
        session.flush()
        return AppliedWrite(f"opportunities:{existing.id}",
                            [{"table": "opportunities", "id": existing.id, "previous_stage": previous}])
