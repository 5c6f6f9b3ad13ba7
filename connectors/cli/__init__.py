"""The `salesbot` command line: each command family registers itself from its own module."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(help="salesbot: AI sales copilot (knowledge, pricing, follow-ups, data questions).",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

# Each module exposes register(app). Imports inside commands stay lazy so `salesbot --help` starts fast.
COMMAND_MODULES = [
    "connectors.cli.knowledge_commands",
    "connectors.cli.agent_commands",
    "connectors.cli.tasks_commands",
    "connectors.cli.sql_commands",
    "connectors.cli.serve_commands",
    "connectors.cli.eval_commands",
]


def _register_all() -> None:
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(app)


_register_all()


def main() -> None:
    app()
