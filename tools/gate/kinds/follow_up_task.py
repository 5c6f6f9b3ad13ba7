"""create_follow_up_task: a call, visit or document to send, for a customer at a due time."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from tools.db.tables import PendingAction, Task
from tools.gate.errors import ActionInvalid
from tools.gate.kinds.base import (
    ActionKind,
    AppliedWrite,
    CustomerArguments,
    DescriptionText,
    OptionalText,
    customer_fields,
    require_text,
)
from tools.sales.dates import format_due, local_now, parse_due


class FollowUpTaskArguments(CustomerArguments):
    due: OptionalText = None
    description: DescriptionText = None
    owner: OptionalText = None


# A due date outside this window is a typo or a probe (1900-01-01 would be stored with a local-mean-time offset).
DUE_DAYS_IN_THE_PAST = 1
DUE_YEARS_AHEAD = 5


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def check_due_window(due: datetime, reference: datetime) -> None:
    """ActionInvalid unless due lies between a day before the reference's date and five years after it."""
    today = local_now(reference).date()
    earliest, latest = today - timedelta(days=DUE_DAYS_IN_THE_PAST), _years_after(today, DUE_YEARS_AHEAD)
    if not earliest <= local_now(due).date() <= latest:
        raise ActionInvalid(f"due date {due.date().isoformat()} is out of range: use a date from "
                            f"{earliest.isoformat()} to {latest.isoformat()} / 截止日期须在 {earliest.isoformat()} "
                            f"至 {latest.isoformat()} 之间")


class FollowUpTask(ActionKind):
    name = "create_follow_up_task"
    arguments = FollowUpTaskArguments

    def normalise(self, args: dict[str, Any], *, now: datetime | None = None,
                  proposer_user: str | None = None) -> dict[str, Any]:
        parsed = self.parse(args, FollowUpTaskArguments)
        due_text = require_text(parsed.due, "due", self.name)
        try:
            due = parse_due(due_text, now)
        except ValueError as error:
            raise ActionInvalid(str(error)) from error
        check_due_window(due, local_now(now))
        return {**customer_fields(parsed.customer, parsed.customer_key, self.name),
                "due": due.isoformat(timespec="minutes"),
                "description": require_text(parsed.description, "description", self.name),
                "owner": parsed.owner or proposer_user}

    def summary(self, args: dict[str, Any]) -> tuple[str, str]:
        customer = args.get("customer") or "?"
        due = datetime.fromisoformat(args["due"]) if args.get("due") else None
        due_en = format_due(local_now(due), "en") if due else "?"
        due_zh = format_due(local_now(due), "zh") if due else "?"
        return (f"Follow-up with {customer} due {due_en}: {args.get('description')}",
                f"{due_zh} 跟进{customer}：{args.get('description')}")

    def apply(self, session: Session, action: PendingAction, actor: str) -> AppliedWrite:
        args = action.args
        task = Task(owner=args.get("owner") or action.proposer_user, customer_key=args.get("customer_key"),
                    customer_name=args["customer"], due=datetime.fromisoformat(args["due"]),
                    description=args["description"], source_thread=action.thread_id, action_id=action.id)
        session.add(task)
        session.flush()
        return AppliedWrite(f"tasks:{task.id}")
