"""`salesbot sql QUESTION`: answer a data question with read-only SQL (table, SQL, optional chart)."""

from __future__ import annotations

import json

import typer


def register(app: typer.Typer) -> None:
    @app.command("sql")
    def sql_command(
        question: str = typer.Argument(..., help="Data question in Chinese or English, or one SELECT statement."),
        db: str | None = typer.Option(None, "--db", help="SQLAlchemy URL; default: the sales database."),
        role: str = typer.Option("manager", "--role", help="Asker's role (data questions need manager or above)."),
        as_json: bool = typer.Option(False, "--json", help="Print the answer as JSON (stable contract)."),
        chart: str | None = typer.Option(None, "--chart", help="Write a PNG chart here when the shape suits."),
    ) -> None:
        """Answer a data question: the table, the SQL behind it, and a chart where one helps."""
        from connectors.cli.roles import cli_role
        from salesbot.settings import get_settings
        from tools.text2sql.service import answer_data_question

        role = cli_role(role, None, get_settings())  # --role may not exceed what the roles file gives the OS user
        llm = _configured_llm()
        answer = answer_data_question(question, role, db_url=db, chart_path=chart, llm=llm)
        if as_json:
            typer.echo(json.dumps(answer.model_dump(), ensure_ascii=False, default=str))
        else:
            _render(answer)
        if answer.refused:
            raise typer.Exit(code=2)


def _configured_llm():
    """The configured chat model, or None (`SALESBOT_LLM=none`, or agent/llm.py not available)."""
    from salesbot.settings import get_settings

    if get_settings().llm == "none":
        return None
    try:
        from salesbot.llm import load_chat_model
    except ImportError:
        return None
    try:
        return load_chat_model()
    except Exception:  # no model: the rules still answer
        return None


def _render(answer) -> None:
    from rich.console import Console
    from rich.syntax import Syntax
    from rich.table import Table

    console = Console()
    if answer.refused:
        console.print(f"[bold red]Refused:[/] {answer.message}")
        return
    if answer.sql:
        console.print(Syntax(answer.sql, "sql", word_wrap=True))
    if answer.columns:
        table = Table(show_lines=False)
        for column in answer.columns:
            table.add_column(str(column))
        for row in answer.rows[:200]:
            table.add_row(*["" if value is None else str(value) for value in row])
        console.print(table)
    console.print(answer.message)
    if answer.chart:
        console.print(f"Chart: {answer.chart}")
