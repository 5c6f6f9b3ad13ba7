"""`salesbot ingest`, `salesbot search` and `salesbot graph show`: the knowledge core's command line."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_command)
    app.command("search")(search_command)
    graph = typer.Typer(help="Inspect the entity graph.", no_args_is_help=True)
    graph.command("show")(graph_show_command)
    app.add_typer(graph, name="graph")


def ingest_command(
    paths: list[Path] = typer.Argument(..., help="Files or folders to ingest."),
    prune: bool = typer.Option(False, "--prune", help="Drop stored documents under these folders that are gone."),
    json_output: bool = typer.Option(False, "--json", help="Print the per-file report as JSON (with each "
                                     "document's effective access)."),
    lock_wait_s: float = typer.Option(300.0, "--wait", help="Seconds to wait for another running ingest."),
) -> None:
    """Ingest documents (Markdown, text, YAML, PDF, DOCX, CSV/XLSX QA sheets) incrementally."""
    from rich.console import Console
    from rich.markup import escape  # file names and reasons are data: "[/x]" in a name is not markup
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from knowledge.ingest import IngestBusyError, discover_files, ingest_paths

    console = Console(stderr=json_output)
    documents, _, _ = discover_files(paths)

    def tell_waiting() -> None:
        typer.echo("another `salesbot ingest` is running on this knowledge base; waiting for it to finish ...",
                   err=True)

    try:
        with Progress(TextColumn("[bold]ingest"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.description}"), console=console, transient=json_output) as progress:
            task = progress.add_task("", total=len(documents))
            report = ingest_paths(paths, prune=prune, entity_extractor=_configured_entity_extractor(),
                                  on_file=lambda result: progress.update(task, advance=1, description=escape(result.source)),
                                  lock_wait_s=lock_wait_s, on_lock_wait=tell_waiting)
    except IngestBusyError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=3) from None
    if json_output:
        typer.echo(json.dumps([result.model_dump() for result in report.results], ensure_ascii=False, indent=2))
    else:
        for result in report.results:
            if result.status == "failed":
                console.print(f"[red]FAILED[/red] {escape(str(result.path))}: {escape(result.reason or '')}")
            elif result.access_warning:
                console.print(f"[yellow]admins only[/yellow] {escape(result.source)}: unclear access metadata "
                              f"({escape(result.access_warning)})")
            elif result.flagged_injection:
                console.print(f"[yellow]flagged[/yellow] {escape(result.source)}: instruction-like text removed from the index")
        counts = {status: report.count(status) for status in ("ingested", "updated", "unchanged", "pruned", "failed")}
        console.print("  ".join(f"{status}: {count}" for status, count in counts.items()))
    raise typer.Exit(code=0 if report.ok else 1)


def _configured_entity_extractor():
    """LLM entity extraction when SALESBOT_LLM names a model; None keeps ingestion rule-based."""
    from salesbot.llm import load_chat_model

    model = load_chat_model()
    if model is None:
        return None
    from knowledge.extraction import entity_extractor_for

    return entity_extractor_for(model)


def search_command(
    query: str = typer.Argument(..., help="Question or keywords, Chinese or English."),
    role: str = typer.Option("rep", help="Role of the asking user (rep, manager, vp, admin)."),
    k: int = typer.Option(5, "--k", help="Number of passages."),
    json_output: bool = typer.Option(False, "--json", help="Print a JSON list (stable contract)."),
) -> None:
    """Search the knowledge base as a given role (the role filter is applied inside the retriever)."""
    from connectors.cli.roles import cli_role
    from knowledge.retriever import retrieve_with_role_filter
    from salesbot.input_limits import InputTooLongError, ensure_input_fits
    from salesbot.roles import UnknownRoleError
    from salesbot.settings import get_settings

    try:
        ensure_input_fits(query)  # SALESBOT_MAX_INPUT_CHARS, before any retrieval
    except InputTooLongError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from None
    try:
        role = cli_role(role, None, get_settings())  # --role may not exceed what the roles file gives the OS user
        chunks = retrieve_with_role_filter(query, role, k=k)
    except UnknownRoleError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from None
    if json_output:
        payload = [{"source": chunk.source, "section": chunk.section, "text": chunk.text, "score": chunk.score,
                    "doc_type": chunk.doc_type, "title": chunk.title, "chunk_id": chunk.chunk_id}
                   for chunk in chunks]
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.panel import Panel
    from rich.text import Text

    console = Console()
    if not chunks:
        console.print("No passages found (is the knowledge base ingested? try `salesbot ingest samples`).")
    for rank, chunk in enumerate(chunks, start=1):
        console.print(Panel(Text(chunk.text), title=escape(f"{rank}. {chunk.source} — {chunk.section}"),
                            subtitle=f"{chunk.doc_type} · score {chunk.score:.4f}", title_align="left"))


def graph_show_command(
    name: str = typer.Argument(..., help="Entity name or alias (any language), e.g. <product> or <customer>."),
    role: str = typer.Option("rep", help="Show only what this role may read (rep, manager, vp, admin)."),
) -> None:
    """Print an entity, its aliases, relations and documents, as far as `--role` may read them."""
    from rich.console import Console
    from rich.markup import escape

    from connectors.cli.roles import cli_role
    from knowledge.base import get_knowledge_base
    from knowledge.graph import describe_entity
    from salesbot.roles import UnknownRoleError
    from salesbot.settings import get_settings

    try:
        role = cli_role(role, None, get_settings())  # --role may not exceed what the roles file gives the OS user
    except UnknownRoleError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from None
    with get_knowledge_base().session() as session:
        view = describe_entity(session, name, role=role)
    console = Console()
    if view is None:
        console.print(f"No entity matches {name!r}.")
        raise typer.Exit(code=1)
    console.print(f"[bold]{escape(view.name)}[/bold] ({view.entity_type}, {escape(view.entity_id)})")
    console.print(escape("aliases: " + ", ".join(view.aliases)))
    for source, relation, target in view.relations:
        console.print(escape(f"  {source} —{relation}→ {target}"))
    for source, title in view.documents:
        console.print(escape(f"  document: {source} ({title})"))
