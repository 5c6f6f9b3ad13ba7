"""`salesbot sql QUESTION`: answer a data question with read-only SQL (table, SQL, optional chart);
`salesbot sql layer draft|check`: onboard a database by drafting its semantic layer and checking edited ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

QUESTION_COMMAND = "ask"
EXIT_PROBLEMS = 1
EXIT_INVALID = 2


class QuestionOrSubcommandGroup(TyperGroup):
    """`salesbot sql QUESTION [options]` answers a question, `salesbot sql layer …` manages layers.

    Click would read the question as a subcommand name, so anything that is not one of the subcommands goes to
    the hidden question command, options in any order: `salesbot sql "question" --json` works as it always has.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # ctx: the click Context typer bundles
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [QUESTION_COMMAND, *args]
        return super().parse_args(ctx, args)


def register(app: typer.Typer) -> None:
    sql_app = typer.Typer(cls=QuestionOrSubcommandGroup, no_args_is_help=True, help=(
        "Answer a data question: `salesbot sql QUESTION [--db URL] [--json] [--chart PNG] [--role ROLE]`. "
        "Onboard a database: `salesbot sql layer draft --db URL -o layer.yaml`, then `salesbot sql layer check`."))
    sql_app.command(QUESTION_COMMAND, hidden=True)(sql_command)
    layer_app = typer.Typer(no_args_is_help=True, help="Draft a semantic layer for a database, check an edited one.")
    layer_app.command("draft")(layer_draft_command)
    layer_app.command("check")(layer_check_command)
    sql_app.add_typer(layer_app, name="layer")
    app.add_typer(sql_app, name="sql")


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


def layer_draft_command(
    db: str = typer.Option(..., "--db", help="SQLAlchemy URL of the database to describe (read only)."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write the YAML here; default: print it."),
    name: str | None = typer.Option(None, "--name", help="Layer name; default: draft-<database name>."),
    role: str = typer.Option("manager", "--role", help="Your role (reading a database needs manager or above)."),
) -> None:
    """Draft a semantic layer from the schema and sampled values: labels, joins, roles, English and Chinese words."""
    from tools.text2sql.drafting import draft_layer
    from tools.text2sql.layer import draft_header, layer_yaml, save_layer

    _require_data_role(role)
    engine = _open_database(db)
    try:
        layer = draft_layer(engine, name=name or f"draft-{_database_name(db)}")
    except Exception as error:  # a database the drafter cannot read: say so, no traceback
        _fail(f"Could not draft a layer from {_shown_url(db)}: {type(error).__name__}. "
              "Check the URL and that the database is readable.")
    finally:
        engine.dispose()
    header = draft_header(_shown_url(db))
    if output is None:
        typer.echo(layer_yaml(layer, header), nl=False)
        return
    saved = save_layer(layer, output, header=header)
    joins = sum(1 for join in layer.joins if join.source == "naming")
    typer.echo(f"Drafted {len(layer.tables)} tables and {len(layer.joins)} joins ({joins} guessed from names) "
               f"into {saved}.\nReview it, then run: salesbot sql layer check {saved} --db {_shown_url(db)}")


def layer_check_command(
    layer_file: Path = typer.Argument(..., help="The semantic layer YAML to check."),
    db: str | None = typer.Option(None, "--db", help="Also compare with this database (SQLAlchemy URL)."),
    as_json: bool = typer.Option(False, "--json", help="Print the findings as JSON."),
    role: str = typer.Option("manager", "--role", help="Your role (needed with --db: manager or above)."),
) -> None:
    """Validate a layer and report unreachable columns, ambiguous words, joins without keys, missing labels.

    Exit code 0: no errors (warnings allowed); 1: errors; 2: the file is not a valid layer.
    """
    from salesbot.yaml_files import ConfigFileError
    from tools.text2sql.drafting.check import check_layer
    from tools.text2sql.layer import load_layer

    try:
        layer = load_layer(layer_file)
    except ConfigFileError as error:
        if as_json:
            typer.echo(json.dumps({"layer": str(layer_file), "valid": False, "message": str(error)},
                                  ensure_ascii=False))
        else:
            typer.echo(f"Not a valid semantic layer: {error}", err=True)
        raise typer.Exit(code=EXIT_INVALID) from None
    engine = None
    if db is not None:
        _require_data_role(role)
        engine = _open_database(db)
    try:
        report = check_layer(layer, engine)
    except Exception as error:  # the database could not be compared: say so, no traceback
        _fail(f"Could not compare the layer with {_shown_url(db or '')}: {type(error).__name__}.")
    finally:
        if engine is not None:
            engine.dispose()
    if as_json:
        typer.echo(json.dumps({**report.model_dump(), "valid": True, "errors": len(report.errors),
                               "warnings": len(report.warnings)}, ensure_ascii=False))
    else:
        _render_report(report)
    if report.errors:
        raise typer.Exit(code=EXIT_PROBLEMS)


def _render_report(report: Any) -> None:
    typer.echo(f"Layer {report.layer}: {report.tables} tables, {report.columns} columns, {report.joins} joins")
    for problem in report.problems:
        typer.echo(f"  {problem.severity}: [{problem.kind}] {problem.where}: {problem.message}")
    typer.echo(f"{len(report.errors)} errors, {len(report.warnings)} warnings")


def _require_data_role(role: str) -> None:
    """Reading a database's schema and values is for the roles that may ask data questions."""
    from connectors.cli.roles import cli_role
    from salesbot.roles import normalize_role
    from salesbot.settings import get_settings

    settings = get_settings()
    granted = normalize_role(cli_role(role, None, settings))
    if granted not in settings.data_question_roles:
        _fail(f"Reading a database is open to these roles only: {', '.join(settings.data_question_roles)}.")


def _open_database(url: str) -> Any:
    from tools.text2sql.executor import read_only_engine

    try:
        return read_only_engine(url)
    except Exception as error:  # bad URL, missing file, driver not installed
        _fail(f"Cannot open the database {_shown_url(url)}: {type(error).__name__}. Check the URL.")


def _database_name(url: str) -> str:
    """`sqlite:///data/shop.sqlite` → shop; `postgresql://host/sales` → sales."""
    from sqlalchemy.engine import make_url

    try:
        database = make_url(url).database or "database"
    except Exception:  # an unparsable URL fails later with its own message
        return "database"
    return Path(database).stem or "database"


def _shown_url(url: str) -> str:
    """The URL without its password, fit for messages and file headers."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL: show nothing of it
        return "the database"


def _fail(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code=EXIT_INVALID)


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
