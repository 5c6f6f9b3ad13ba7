"""`salesbot coach FILE`: a conversation becomes an opportunity card, quote strategies and proposed follow-ups."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer


def register(app: typer.Typer) -> None:
    app.command("coach")(coach_command)


def coach_command(
    file: Path = typer.Argument(..., help="Transcript (.txt/.vtt/.srt), chat export, e-mail (.eml) or screenshot."),
    customer: str | None = typer.Option(None, "--customer", help="The customer, when the conversation omits it."),
    role: str | None = typer.Option(None, "--role", help="Your role (default: the roles file's role for you)."),
    user: str = typer.Option("cli", "--user", help="Your user id: the rep in the conversation and the proposer."),
    as_json: bool = typer.Option(False, "--json", help="Print the stable JSON contract."),
) -> None:
    """Coach a sales conversation: card with evidence lines, price avoidance, quotes, follow-up proposals."""
    from connectors.cli.roles import cli_role
    from salesbot.errors import UserFacingError
    from salesbot.settings import get_settings
    from tools.coach import coach_path

    resolved_role = cli_role(role, None, get_settings())
    try:
        report = coach_path(file, customer=customer, role=resolved_role, user_id=user)
    except UserFacingError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=1) from None
    if as_json:
        typer.echo(json.dumps(report.to_contract(), ensure_ascii=False, default=str))
        return
    _render(report.to_contract(), report.notes)


def _render(contract: dict[str, Any], notes: list[str]) -> None:
    card = contract["card"]
    lines = ["Opportunity card / 商机卡片"]
    for field in ("customer", "products", "quantity", "competitors", "budget", "timeline", "decision_maker", "stage"):
        value = card[field]
        if value not in (None, []):
            lines.append(f"  {field}: {', '.join(map(str, value)) if isinstance(value, list) else value}")
    for price in card["competitor_prices"]:
        lines.append(f"  competitor price: {price['competitor']} {price['amount']:,.0f} {price['currency']} "
                     f"(line {price['line']})")
    for objection in card["objections"]:
        lines.append(f"  objection: {objection['type']} (line {objection['line']})")
    lines.append("Evidence / 依据")
    lines.extend(f"  [{item['field']}] line {item['line']}: {item['text']}" for item in card["evidence"])
    lines.append(f"Price avoidance / 回避价格: {contract['price_avoidance']}")
    pricing = contract["pricing"]
    if pricing:
        lines.append(f"Quote strategies for {pricing['sku']} x {pricing['quantity']}:")
        for strategy in pricing.get("strategies", []):
            lines.append(f"  {strategy.get('key')}: {strategy.get('unit_price')} {pricing.get('currency')}")
    for action in contract["pending_actions"]:
        lines.append(f"Pending [{action['id']}]: {action['summary']} (confirm: salesbot tasks)")
    for action in contract["executed_actions"]:
        lines.append(f"Done [{action['id']}]: {action['summary']}")
    lines.extend(f"Note: {note}" for note in notes)
    lines.append(f"({contract['elapsed_ms']:.0f} ms)")
    typer.echo("\n".join(lines))
