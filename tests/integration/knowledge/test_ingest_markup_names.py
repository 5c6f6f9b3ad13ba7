"""File names and document text are data for the terminal too: rich markup in them is printed, never applied."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.cli import app


def test_markup_in_file_names_and_text_is_printed_verbatim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from salesbot.settings import reset_runtime

    monkeypatch.setenv("SALESBOT_EMBEDDING", "none")
    reset_runtime()
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes[bold].md").write_text("---\naccess: ['*']\n---\n# Terms [/bold]\n\nPayment within [b]30 days[/b].\n",
                                       encoding="utf-8")
    (docs / "broken[red].pdf").write_bytes(b"%PDF-1.4 not really")
    runner = CliRunner()
    ingested = runner.invoke(app, ["ingest", str(docs)], env={"COLUMNS": "1000"})
    assert ingested.exit_code == 1, ingested.output
    assert "broken[red].pdf" in ingested.output
    assert "Traceback" not in ingested.output and "MarkupError" not in ingested.output
    found = runner.invoke(app, ["search", "payment within days"], env={"COLUMNS": "1000"})
    assert found.exit_code == 0, found.output
    assert "[b]30 days[/b]" in found.output
