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
    "connectors.cli.coach_commands",
]


# Command families from other installed parts (the evaluation suite registers `salesbot eval` this way), so
# the product itself never imports them: see [project.entry-points."salesbot.cli"] in pyproject.toml.
PLUGIN_GROUP = "salesbot.cli"


def _register_all() -> None:
    from importlib.metadata import entry_points

    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(app)
    for plugin in sorted(entry_points(group=PLUGIN_GROUP), key=lambda entry: entry.name):
        plugin.load()(app)


_register_all()


def main() -> None:
    app()
