"""`salesbot tasks|seed|price|feedback`: pending actions and tasks, sample data, pricing, feedback."""

from __future__ import annotations

import json
import logging
from decimal import Decimal, InvalidOperation
from typing import Any

import typer

logger = logging.getLogger(__name__)


def _fail(message: str) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code=1)


def _role_for(user: str, role: str | None) -> str:
    from connectors.cli.roles import cli_role
    from salesbot.roles import UnknownRoleError
    from salesbot.settings import get_settings

    settings = get_settings()
    try:
        return cli_role(role, user, settings)
    except UnknownRoleError as error:
        _fail(str(error))
        raise  # unreachable: _fail exits


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def task_rows(status: str | None = None) -> list[dict[str, Any]]:
    """Actions (pending, executed, …) followed by tasks, as the objects `salesbot tasks --json` prints."""
    from sqlmodel import select

    from tools.db.tables import Task, sales_session
    from tools.gate.store import list_actions
    from tools.sales.dates import local_now

    rows: list[dict[str, Any]] = [view.model_dump(mode="json") for view in list_actions(status)]
    with sales_session() as session:
        statement = select(Task).order_by(Task.due)  # type: ignore[arg-type]
        if status:
            statement = statement.where(Task.status == status)
        for task in session.exec(statement).all():
            rows.append({
                "id": f"T{task.id}", "kind": "task", "status": task.status,
                "args": {"customer": task.customer_name, "due": local_now(task.due).isoformat(timespec="minutes"),
                         "description": task.description, "owner": task.owner},
                "customer": task.customer_name, "due": local_now(task.due).isoformat(timespec="minutes"),
                "summary": f"{task.customer_name} {local_now(task.due):%Y-%m-%d %H:%M}: {task.description}",
                "owner": task.owner, "action_id": task.action_id,
                "thread_id": task.source_thread,
            })
    return rows


def _decide(action_id: str, decision: str, user: str, role: str | None, edited_args: dict[str, Any] | None,
            as_json: bool) -> None:
    from tools.gate.store import ActionError, get_action

    resolved_role = _role_for(user, role)
    before = get_action(action_id.strip().upper()) or get_action(action_id)
    if before is None:
        _fail(f"no action with id {action_id!r}; `salesbot tasks` lists them")
        return
    try:
        _decide_through_agent(before.id, decision, user, resolved_role, edited_args)
    except ActionError as error:
        _fail(str(error))
    after = get_action(before.id)
    assert after is not None
    if as_json:
        _print_json(after.model_dump(mode="json"))
        return
    if before.status != "pending":
        typer.echo(f"{after.id} was already {before.status}; nothing was written.")
    elif after.status == "executed":
        typer.echo(f"Approved {after.id}: {after.summary} → {after.result}")
    elif after.status == "rejected":
        typer.echo(f"Rejected {after.id}: {after.summary}")
    else:
        typer.echo(f"{after.id} is {after.status}: {after.error or after.summary}")


def _decide_through_agent(action_id: str, decision: str, user: str, role: str,
                          edited_args: dict[str, Any] | None) -> None:
    """Resume the paused conversation through the agent; the gate alone when the agent lacks it."""
    from agent.service import decide_action as agent_decide_action

    try:
        agent_decide_action(action_id, decision, user, role, edited_args)
    except NotImplementedError:
        logger.info("agent.service.decide_action not available; deciding on the action store directly")
        from tools.gate.store import decide_action

        decide_action(action_id, decision, user, role, edited_args)


def _parse_assignments(assignments: list[str]) -> dict[str, Any]:
    edited: dict[str, Any] = {}
    for assignment in assignments:
        key, separator, value = assignment.partition("=")
        if not separator or not key.strip():
            _fail(f"--set expects key=value, got {assignment!r}")
        edited[key.strip()] = value.strip()
    return edited


def _decimal_option(value: str | None, name: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value.replace(",", ""))
    except InvalidOperation:
        _fail(f"{name} must be a number, got {value!r}")
        return None


_STRATEGY_LETTERS = "ABC"


def _strategy_index(letter: str) -> int:
    cleaned = letter.strip().upper()
    if len(cleaned) != 1 or cleaned not in _STRATEGY_LETTERS:
        _fail(f"--submit expects A, B or C (the strategy letter), got {letter!r}")
    return _STRATEGY_LETTERS.index(cleaned)


def _submit_strategy(proposal: Any, index: int, customer: str | None, user: str, role: str, language: str,
                     as_json: bool) -> None:
    """Propose one strategy of a pricing proposal as a quote through the gate, and print the pending action.

    A strategy whose price this role may not see is submitted by strategy key and suggestion id only: the
    gate reads the price from the stored proposal, and neither this command nor the action's view shows it.
    """
    from tools.gate.store import ActionError, propose_action

    strategy = proposal.strategies[index]
    strategy_view = proposal.view_for_role(role)["strategies"][index]
    args: dict[str, Any] = {"product": proposal.sku, "quantity": proposal.quantity, "strategy": strategy.key,
                            "suggestion_id": proposal.suggestion_id,
                            "customer": proposal.customer.name_zh if proposal.customer else customer}
    if not strategy_view.get("price_withheld"):
        args["unit_price"] = str(strategy.unit_price)
    try:
        view = propose_action("submit_quote_for_approval", args, proposer_user=user, proposer_role=role,
                              thread_id=f"cli:{user}",
                              sources=[{"suggestion_id": proposal.suggestion_id, "strategy": strategy.key}],
                              request_text=f"submit strategy {_STRATEGY_LETTERS[index]} of {proposal.suggestion_id}")
    except ActionError as error:
        _fail(str(error))
        return
    if as_json:
        _print_json(view.model_dump(mode="json"))
        return
    chinese = language == "zh"
    typer.echo(f"{view.id}  {view.status}  {view.summary_zh if chinese else view.summary}")
    typer.echo(f"   {view.approver_label}")
    if view.status == "pending":
        who = user if view.required_approver == "confirm" else f"<{view.required_approver}>"
        typer.echo(("   批准：" if chinese else "   Approve with: ") + f"salesbot tasks approve {view.id} --as {who}")


def register(app: typer.Typer) -> None:
    tasks = typer.Typer(help="Pending actions (waiting for confirmation), executed actions and follow-up tasks.",
                        invoke_without_command=True)

    @tasks.callback()
    def list_tasks(
        context: typer.Context,
        as_json: bool = typer.Option(False, "--json", help="Print a JSON list of objects."),
        status: str | None = typer.Option(None, help="Only this status: pending | executed | rejected | open …"),
    ) -> None:
        """List pending and executed actions, then tasks."""
        if context.invoked_subcommand is not None:
            return
        rows = task_rows(status)
        if as_json:
            _print_json(rows)
            return
        if not rows:
            typer.echo("No actions or tasks yet.")
        for row in rows:
            approver = f" [{row['required_approver']}]" if row.get("status") == "pending" else ""
            typer.echo(f"{row['id']:>7}  {row['status']:<9} {row['kind']:<26}{approver} {row.get('summary', '')}")

    @tasks.command("approve")
    def approve(
        action_id: str = typer.Argument(..., help="Action id, e.g. A7K2Q."),
        user: str = typer.Option("cli-user", "--as", help="Who approves."),
        role: str | None = typer.Option(None, help="Role of the approver (default: from the roles file)."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Approve a pending action (approving twice writes once)."""
        _decide(action_id, "approve", user, role, None, as_json)

    @tasks.command("reject")
    def reject(
        action_id: str = typer.Argument(...),
        user: str = typer.Option("cli-user", "--as", help="Who rejects."),
        role: str | None = typer.Option(None, help="Role of the person rejecting."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Reject a pending action; nothing is written."""
        _decide(action_id, "reject", user, role, None, as_json)

    @tasks.command("edit")
    def edit(
        action_id: str = typer.Argument(...),
        assignments: list[str] = typer.Option(..., "--set", help="key=value, e.g. --set due=下周五 (repeatable)."),
        user: str = typer.Option("cli-user", "--as"),
        role: str | None = typer.Option(None),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Approve a pending action with changed arguments (re-validated; approver re-checked)."""
        _decide(action_id, "edit", user, role, _parse_assignments(assignments), as_json)

    app.add_typer(tasks, name="tasks")

    @app.command("seed")
    def seed() -> None:
        """Fill the sales database with the sample company (idempotent)."""
        from tools.sales.seed import seed_sample_company

        report = seed_sample_company()
        typer.echo(f"Added {report.customers} customers, {report.products} products, {report.deals} deals, "
                   f"{report.opportunities} opportunities.")

    @app.command("price")
    def price(
        product: str = typer.Argument(..., help="Product SKU or name (an alias from the entity registry)."),
        quantity: int = typer.Option(..., "--qty", help="Number of units."),
        customer: str | None = typer.Option(None, help="Customer name or key."),
        competitor_price: str | None = typer.Option(None, "--competitor-price", help="Competitor's unit price."),
        ask: str | None = typer.Option(None, "--ask", help="Customer's requested unit price."),
        user: str = typer.Option("cli-user", "--as", "--user",
                                 help="Who asks (decides the role if --role is absent)."),
        role: str | None = typer.Option(None, help="rep | manager | vp | admin."),
        language: str = typer.Option("zh", "--lang", help="zh | en."),
        submit: str | None = typer.Option(None, "--submit",
                                          help="A | B | C: submit that strategy as a quote for approval."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Three quote strategies that respect the discount policy; --submit proposes one for approval."""
        from tools.sales.pricing import PricingError, propose_pricing, render_pricing

        resolved_role = _role_for(user, role)
        strategy_index = _strategy_index(submit) if submit is not None else None
        if strategy_index is not None and not customer:
            _fail("--submit needs --customer (the quote is for a customer)")
        try:
            proposal = propose_pricing(product, quantity, customer=customer,
                                       competitor_price=_decimal_option(competitor_price, "--competitor-price"),
                                       customer_ask=_decimal_option(ask, "--ask"), user=user, role=resolved_role)
        except PricingError as error:
            _fail(str(error))
            return
        if strategy_index is not None:
            _submit_strategy(proposal, strategy_index, customer, user, resolved_role, language, as_json)
            return
        if as_json:
            _print_json({**proposal.view_for_role(resolved_role), "role": resolved_role,
                         "text": render_pricing(proposal, resolved_role, language)})
        else:
            typer.echo(render_pricing(proposal, resolved_role, language))

    feedback = typer.Typer(help="Feedback on suggestions and the evaluation dataset built from it.",
                           no_args_is_help=True)

    @feedback.command("record")
    def record(
        suggestion_id: str = typer.Argument(..., help="Suggestion or action id."),
        verdict: str = typer.Argument(..., help="adopted | rejected | modified"),
        user: str = typer.Option("cli-user", "--as"),
        comment: str | None = typer.Option(None, help="Why, or what was changed."),
    ) -> None:
        """Record whether a suggestion was adopted, rejected or modified."""
        from tools.feedback import FeedbackError, record_feedback

        try:
            record_feedback(suggestion_id, verdict, user=user, comment=comment)
        except FeedbackError as error:
            _fail(str(error))
        typer.echo(f"Recorded {verdict} for {suggestion_id}.")

    @feedback.command("export")
    def export(path: str = typer.Argument(..., help="Output JSONL file.")) -> None:
        """Write all feedback as a JSONL evaluation dataset."""
        from tools.feedback_export import export_feedback

        count = export_feedback(path)
        typer.echo(f"Wrote {count} records to {path}.")

    app.add_typer(feedback, name="feedback")
