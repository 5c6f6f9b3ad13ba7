"""`salesbot ask`, `salesbot chat` and `salesbot demo`: the agent in the terminal."""

from __future__ import annotations

import json
import logging
import uuid

import typer
from pydantic import BaseModel

ASK_FIELDS = ("answer", "citations", "refused", "pending_actions", "executed_actions")


def register(app: typer.Typer) -> None:
    app.command("ask")(ask_command)
    app.command("chat")(chat_command)
    app.command("demo")(demo_command)


def _render(result, console) -> None:
    from rich.panel import Panel
    from rich.table import Table

    style = "yellow" if result.refused else "green"
    console.print(Panel(result.answer, title=f"salesbot · {result.route}", border_style=style, title_align="left"))
    for number, citation in enumerate(result.citations, start=1):
        console.print(f"  [dim][{number}] {citation.source} — {citation.section}[/dim]")
    if result.table and result.table.rows:
        table = Table(*result.table.columns)
        for row in result.table.rows[:20]:
            table.add_row(*[str(cell) for cell in row])
        console.print(table)
    if result.chart:
        console.print(f"  [dim]chart: {result.chart}[/dim]")


def ask_command(
    question: str = typer.Argument(..., help="Question or request, Chinese or English."),
    role: str = typer.Option("rep", help="Role of the asking user (rep, manager, vp, admin)."),
    user: str = typer.Option("cli-user", "--user", help="User id (proposer of any action)."),
    thread: str | None = typer.Option(None, "--thread", help="Thread id: same id = same conversation memory."),
    json_output: bool = typer.Option(False, "--json", help="Print the stable JSON contract."),
) -> None:
    """Ask one question (or make one request) as a role; writes are only proposed, never executed here."""
    from agent.models import TurnRequest
    from agent.service import answer_turn
    from connectors.cli.roles import cli_role
    from salesbot.settings import get_settings

    role = cli_role(role, user, get_settings())  # --role may not exceed what the roles file gives this user
    result = answer_turn(TurnRequest(text=question, user_id=user, role=role,
                                     thread_id=thread or f"cli-{uuid.uuid4().hex[:12]}", channel="cli"))
    if json_output:
        payload = result.model_dump(mode="json")
        ordered = {key: payload[key] for key in ASK_FIELDS} | {k: v for k, v in payload.items() if k not in ASK_FIELDS}
        typer.echo(json.dumps(ordered, ensure_ascii=False, indent=2))
        return
    from rich.console import Console

    _render(result, Console())


def chat_command(
    role: str = typer.Option("rep", help="Role of the user."),
    user: str = typer.Option("cli-user", "--user", help="User id."),
    thread: str | None = typer.Option(None, "--thread", help="Resume a thread by id."),
    stream: bool | None = typer.Option(None, "--stream/--no-stream",
                                       help="Print the model's answer as it is written (default: on a terminal)."),
) -> None:
    """Interactive session with thread memory; proposed writes ask for approve / edit / reject."""
    from rich.console import Console
    from rich.prompt import Prompt

    from agent.answer.progress import reporting_progress
    from agent.models import TurnRequest
    from agent.service import answer_turn
    from connectors.cli.roles import cli_role
    from salesbot.settings import get_settings

    role = cli_role(role, user, get_settings())  # --role may not exceed what the roles file gives this user
    console = Console()
    streams = console.is_terminal if stream is None else stream
    thread_id = thread or f"chat-{uuid.uuid4().hex[:12]}"
    console.print(f"[bold]salesbot[/bold] chat · role {role} · thread {thread_id} · 'exit' to quit, 'help' for help")
    while True:
        try:
            text = Prompt.ask("[cyan]you[/cyan]").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if text.lower() in ("exit", "quit", "退出"):
            break
        if not text:
            continue
        progress = _TerminalStream(console) if streams else None
        with reporting_progress(progress):
            result = answer_turn(TurnRequest(text=text, user_id=user, role=role, thread_id=thread_id))
        if progress is not None:
            progress.finish()
        _render(result, console)
        for action in result.pending_actions:
            _ask_for_decision(action, user, role, console)


class _TerminalStream:
    """Progress of one answer on the terminal (agent.answer.progress): the model's text as it is written, after a
    line saying the extractive answer is ready; the checked answer is printed after it in full."""

    def __init__(self, console) -> None:
        self.console = console
        self.shown = ""
        self.asked = False

    def working(self, language: str) -> None:
        if not self.asked:
            self.asked = True
            self.console.print("[dim]… asking the model[/dim]")

    def preliminary(self, result) -> None:
        self.console.print("[dim]… found it in the documents; the model is writing the answer:[/dim]")

    def model_text(self, text: str) -> None:
        if text.startswith(self.shown):
            self.console.out(text[len(self.shown):], end="", highlight=False)
        else:  # the model's answer changed beyond appending (a repaired escape): start the line again
            self.console.out("\n" + text, end="", highlight=False)
        self.shown = text
        self.console.file.flush()

    def finish(self) -> None:
        if self.shown:
            self.console.out("")


def _ask_for_decision(action, user: str, role: str, console) -> None:
    """approve / edit / reject / later for one proposal; any verb agent.decisions knows (确认, 取消 …) works too."""
    from rich.prompt import Prompt

    from agent.decisions import decision_for_word, parse_edit_arguments
    from agent.service import FRIENDLY_FAILURE, decide_action
    from salesbot.errors import UserFacingError

    while True:
        try:
            answer = Prompt.ask(f"[{action.id}] approve / edit / reject / later", default="later")
        except (EOFError, KeyboardInterrupt):
            return
        word, _, rest = answer.strip().partition(" ")
        decision = decision_for_word(word)
        if decision is not None or word.lower() in ("later", "稍后"):
            break
        console.print("[yellow]approve, edit, reject or later (确认 / 修改 / 取消)[/yellow]")
    if decision is None:
        return
    edited = None
    if decision == "edit":
        edited = parse_edit_arguments(rest) or {
            key: Prompt.ask(f"  {key}", default=str(action.args.get(key) or ""))
            for key in action.args if key in ("due", "description", "stage", "customer")}
    try:
        _render(decide_action(action.id, decision, user, role, edited), console)
    except UserFacingError as error:
        console.print(f"[red]{error}[/red]")
    except Exception:  # a chat user never sees a traceback; the details go to the log
        logging.getLogger(__name__).exception("deciding action %s failed", action.id)
        console.print(f"[red]{FRIENDLY_FAILURE['en']}[/red]")


class _DemoTurn(BaseModel):
    role: str
    text: str


class _DemoTurns(BaseModel):
    turns: list[_DemoTurn]


def demo_command(
    samples: bool = typer.Option(True, help="Ingest the bundled sample knowledge base first."),
) -> None:
    """The main job on the embedded default: ingest the samples, seed the sales DB, run example turns."""
    from rich.console import Console

    from agent.models import TurnRequest
    from agent.service import answer_turn
    from knowledge.ingest import ingest_paths
    from salesbot.settings import SAMPLES_DIR, get_settings
    from salesbot.yaml_files import load_yaml_model
    from tools.sales.seed import install_demo_pricing_policy, seed_sample_company

    install_demo_pricing_policy()
    console = Console()
    console.print(f"[bold]SALESBOT_HOME[/bold] = {get_settings().home_dir}")
    if samples:
        report = ingest_paths([SAMPLES_DIR])
        console.print(f"knowledge base: {report.count('ingested') + report.count('updated')} ingested, "
                      f"{report.count('unchanged')} unchanged, {len(report.failed)} failed")
    seeded = seed_sample_company()
    console.print(f"sales database: {seeded}")
    for turn in load_yaml_model(SAMPLES_DIR / "_demo_turns.yaml", _DemoTurns).turns:
        role, text = turn.role, turn.text
        console.rule(f"[bold]{role}[/bold]: {text}")
        _render(answer_turn(TurnRequest(text=text, role=role, user_id=f"demo-{role}", thread_id="demo")), console)
    console.print("Pending actions wait for a person: `salesbot tasks` lists them, "
                  "`salesbot tasks approve ID` applies one.")
