"""What every action kind provides, and the argument helpers the kinds share (customers, products, amounts)."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints, ValidationError
from sqlmodel import Session

from tools.db.tables import OPPORTUNITY_STAGES, PendingAction
from tools.gate.errors import ActionInvalid
from tools.sales.customers import resolve_customer
from tools.sales.pricing import PricingError, resolve_product

ArgumentsT = TypeVar("ArgumentsT", bound=BaseModel)


def text_or_none(value: Any) -> Any:
    """Blank → None; numbers → their text (a CLI `--set` and a model both send strings, tests send ints)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    return value


# Bounds on free text, the same for a proposal and an edit: a description may be a paragraph, anything else
# (customer, note, next step, owner, …) a line. Longer input is refused, never truncated silently.
MAX_DESCRIPTION_CHARS = 2000
MAX_TEXT_CHARS = 500
MAX_LIST_ITEMS = 50

OptionalText = Annotated[Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)] | None,
                         BeforeValidator(text_or_none)]
DescriptionText = Annotated[Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION_CHARS)] | None,
                            BeforeValidator(text_or_none)]


class KindArguments(BaseModel):
    """Base of the kinds' argument models: extra keys (derived values stored with an action) are ignored."""

    model_config = ConfigDict(extra="ignore")


class CustomerArguments(KindArguments):
    """Arguments of a kind aimed at a customer: the name as written and, once resolved, its registry key."""

    customer: OptionalText = None
    customer_key: OptionalText = None


@dataclass(frozen=True)
class AppliedWrite:
    """What an approved action wrote: a reference such as tasks:12, and the data it relied on (for the audit)."""

    result_ref: str
    data_sources: list[dict[str, Any]] = field(default_factory=list)


class ActionKind(ABC):
    """One kind of write the assistant may propose. Register an instance in tools/gate/kinds/__init__.py."""

    name: ClassVar[str]
    arguments: ClassVar[type[KindArguments]]
    # Facts beyond the arguments that facts() adds for the responsibility rules (checked when the YAML loads).
    derived_facts: ClassVar[tuple[str, ...]] = ()
    # The arguments naming what the action writes to; an edit may never change them (that is a new proposal).
    identity_fields: ClassVar[tuple[str, ...]] = ("customer", "customer_key")

    @abstractmethod
    def normalise(self, args: dict[str, Any], *, now: datetime | None = None,
                  proposer_user: str | None = None) -> dict[str, Any]:
        """Validated, canonical, JSON-safe arguments (ActionInvalid says what is wrong)."""

    @abstractmethod
    def summary(self, args: dict[str, Any]) -> tuple[str, str]:
        """One line describing the action (English, Chinese), from its canonical arguments."""

    def facts(self, args: dict[str, Any]) -> dict[str, Any]:
        """Derived facts the responsibility rules see next to the arguments."""
        return {}

    def view_args(self, args: dict[str, Any]) -> dict[str, Any]:
        """The arguments as every viewer of the action may see them (views are not role-specific)."""
        return dict(args)

    @abstractmethod
    def apply(self, session: Session, action: PendingAction, actor: str) -> AppliedWrite:
        """Perform the write in the caller's transaction (the row carries action.id, unique); ApplyFailed if it cannot."""

    def parse(self, args: dict[str, Any], model: type[ArgumentsT]) -> ArgumentsT:
        """The arguments through the kind's pydantic model; ActionInvalid names the field and the problem."""
        try:
            return model.model_validate(args)
        except ValidationError as error:
            problem = error.errors()[0]
            location = ".".join(str(part) for part in problem["loc"]) or "arguments"
            raise ActionInvalid(f"{self.name}: {location}: {problem['msg']}") from error


# ---------------------------------------------------------------- shared argument helpers


def require_text(value: str | None, field_name: str, kind: str) -> str:
    if value is None or not str(value).strip():
        raise ActionInvalid(f"{kind} needs a {field_name}")
    return str(value).strip()


def customer_fields(mention: str | None, customer_key: str | None, kind: str) -> dict[str, Any]:
    """Canonical customer name and key; a new prospect (unknown name) is kept as written."""
    written = require_text(mention, "customer", kind)
    customer = resolve_customer(written)
    if customer is None:
        return {"customer": written, "customer_key": customer_key}
    return {"customer": customer.name_zh, "customer_key": customer.key}


def optional_amount(value: str | None, field_name: str) -> str | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).replace(",", ""))
    except InvalidOperation as error:
        raise ActionInvalid(f"{field_name} must be a number, got {value!r}") from error
    if not amount.is_finite() or amount < 0:
        raise ActionInvalid(f"{field_name} must be a positive number, got {value!r}")
    return str(amount)


def product_sku(mention: str | None, required: bool) -> str | None:
    if mention in (None, ""):
        if required:
            raise ActionInvalid("a product is needed")
        return None
    try:
        return resolve_product(str(mention)).sku
    except PricingError as error:
        raise ActionInvalid(str(error)) from error


def opportunity_stage(value: str | None, required: bool) -> str | None:
    if value in (None, ""):
        if required:
            raise ActionInvalid(f"a stage is needed; use one of {', '.join(OPPORTUNITY_STAGES)}")
        return None
    stage = re.sub(r"[\s-]+", "_", str(value).strip().lower())
    if stage not in OPPORTUNITY_STAGES:
        raise ActionInvalid(f"unknown stage {value!r}; use one of {', '.join(OPPORTUNITY_STAGES)}")
    return stage
