"""Fuzzed ingestion: hundreds of random, truncated and mislabelled files in one `salesbot ingest` batch with a few
good ones. No traceback, every bad file named with a reason, exit status 1, every good file searchable after."""

from __future__ import annotations

import io
import json
import os
import random
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from knowledge.loaders import SUPPORTED_SUFFIXES
from knowledge.retriever import retrieve_with_role_filter
from tests.pdf_factory import write_text_pdf

REPO_ROOT = Path(__file__).resolve().parents[3]
SEED = 18
BAD_FILES = 216
# What a user must never see: a traceback or the name of the exception behind a failure.
RAW_EXCEPTION = re.compile(r"Traceback|\b[A-Z]\w*(?:Error|Exception)\b|BadZipFile|File \"")


def pdf_bytes(tmp_path: Path, lines: list[str]) -> bytes:
    return write_text_pdf(tmp_path / "base.pdf", lines).read_bytes()


def docx_bytes(paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading(paragraphs[0], level=0)
    for paragraph in paragraphs[1:]:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def xlsx_bytes(rows: list[list[str]]) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def good_files(tmp_path: Path) -> dict[str, tuple[bytes, str]]:
    """file name → (content, a made-up word only that file contains)."""
    return {
        "note.md": (b"# Visit note\nThe buyer asked about the quorvantel mounting kit.\n", "quorvantel"),
        "terms.txt": (b"SERVICE TERMS\n\n1. SCOPE\n\nThe supplier repairs the brindlewick units on site.\n",
                      "brindlewick"),
        "sheet.pdf": (pdf_bytes(tmp_path, ["Datasheet", "The zephrotine sensor runs at 24 V DC."]), "zephrotine"),
        "guide.docx": (docx_bytes(["Installation guide", "Fix the marvelloch bracket with two bolts."]), "marvelloch"),
        "faq.csv": (b"question,answer\nWhat is the plendrax warranty?,Two years.\n", "plendrax"),
        "faq.xlsx": (xlsx_bytes([["Question", "Answer"], ["Does the trovalinde gateway log data?", "Yes."]]),
                     "trovalinde"),
        "policy.yaml": (b"title: Returns policy\nreturns: Goods of the glimmerfax line are taken back in 30 days.\n",
                        "glimmerfax"),
        "合同.txt": ("第一条 合同标的\n乙方供应 snorvelkin 型监护仪30台。\n".encode("gb18030"), "snorvelkin"),
    }


def bad_files(tmp_path: Path, generator: random.Random) -> dict[str, bytes]:
    """BAD_FILES files that must each be refused (named with a reason), of every supported extension."""
    real = {".pdf": pdf_bytes(tmp_path, ["A real PDF", "with two lines"]),
            ".docx": docx_bytes(["A real document", "with a paragraph"]),
            ".xlsx": xlsx_bytes([["question", "answer"], ["q", "a"]])}

    def noise(size: int) -> bytes:
        return bytes(generator.randrange(256) for _ in range(size))

    def binary() -> bytes:  # random bytes with NUL bytes early on: never text
        return b"\x00" + noise(generator.randrange(16, 3000))

    def bom_garbage() -> bytes:  # a byte-order mark followed by bytes that are not valid in that encoding
        return generator.choice([b"\xff\xfe" + noise(generator.randrange(0, 60)) * 2 + b"\x00\xd8A",
                                 b"\xfe\xff" + noise(2 * generator.randrange(0, 60)) + b"\xdc\x00",
                                 b"\xef\xbb\xbf" + b"text " + b"\xff\xfe\xc3" + noise(generator.randrange(0, 40)),
                                 b"\xff\xfe" + noise(2 * generator.randrange(0, 60)) + b"\x41"])

    def truncated_zip() -> bytes:
        content = real[generator.choice([".docx", ".xlsx"])]
        return content[: generator.randrange(4, len(content) // 2)]

    def truncated_pdf() -> bytes:
        content = real[".pdf"]
        return content[: generator.randrange(8, content.index(b"stream"))]  # cut before any text

    def flipped_zip() -> bytes:
        content = bytearray(real[generator.choice([".docx", ".xlsx"])])
        for _ in range(40):
            content[generator.randrange(30, len(content))] = generator.randrange(256)
        return bytes(content[:30]) + b"\x00" + bytes(content[31:])

    def mislabelled_text() -> bytes:
        return b"This is a plain text note, not an office file.\n" * generator.randrange(1, 5)

    def empty() -> bytes:
        return b"" if generator.random() < 0.7 else b" \n\t\n"

    text_like: list[Callable[[], bytes]] = [empty, binary, bom_garbage, lambda: real[".docx"], lambda: real[".xlsx"]]
    makers: dict[str, list[Callable[[], bytes]]] = {
        ".md": text_like, ".markdown": text_like, ".txt": text_like,
        ".yaml": [*text_like, lambda: b"key: [unclosed\n", lambda: b"a: &x [1]\nb: *x\n",
                  lambda: b"[" * 5000 + b"]" * 5000],  # nesting deeper than the parser's recursion limit
        ".yml": [*text_like, lambda: b"\t- : : :\n"],
        ".csv": [empty, binary, bom_garbage, lambda: b"question,product\nWhat?,X\n", lambda: real[".xlsx"],
                 lambda: b"question,answer\n\"" + b"x" * 200_000 + b"\",y\n"],
        ".pdf": [empty, binary, truncated_pdf, mislabelled_text, lambda: real[".docx"], bom_garbage,
                 lambda: real[".pdf"].replace(b"/Type /Catalog", b"/Type /Catalog /A " + b"[" * 9000 + b"]" * 9000)],
        ".docx": [empty, binary, truncated_zip, flipped_zip, mislabelled_text, lambda: real[".pdf"], bom_garbage],
        ".xlsx": [empty, binary, truncated_zip, flipped_zip, mislabelled_text, lambda: real[".pdf"],
                  lambda: real[".docx"]],
    }
    assert set(makers) == SUPPORTED_SUFFIXES  # every extension the loaders accept is fuzzed
    suffixes = sorted(makers)
    files: dict[str, bytes] = {}
    for number in range(BAD_FILES):
        suffix = suffixes[number % len(suffixes)]
        files[f"bad_{number:03d}{suffix}"] = generator.choice(makers[suffix])()
    return files


def run_cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SALESBOT_EMBEDDING": "none", "COLUMNS": "2000"}
    return subprocess.run([sys.executable, "-m", "connectors.cli", *arguments], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_a_fuzzed_batch_names_every_bad_file_and_ingests_every_good_one(tmp_path: Path, monkeypatch) -> None:
    from salesbot.settings import reset_runtime

    generator = random.Random(SEED)
    folder = tmp_path / "inbox"
    folder.mkdir()
    good = good_files(tmp_path)
    bad = bad_files(tmp_path, generator)
    for name, content in [*bad.items(), *((name, content) for name, (content, _) in good.items())]:
        (folder / name).write_bytes(content)

    printed = run_cli("ingest", str(folder))
    assert printed.returncode == 1, printed.stderr
    output = printed.stdout + printed.stderr
    assert not RAW_EXCEPTION.search(output), RAW_EXCEPTION.search(output)
    failed_lines = [line for line in output.splitlines() if line.startswith("FAILED ")]
    assert sorted(Path(line.split(": ", 1)[0].removeprefix("FAILED ")).name for line in failed_lines) == sorted(bad)
    assert all(line.split(": ", 1)[1].strip() for line in failed_lines)  # each with a reason

    reported = run_cli("ingest", str(folder), "--json")  # the second run: nothing changed, same failures
    assert reported.returncode == 1 and not RAW_EXCEPTION.search(reported.stdout + reported.stderr)
    results = {Path(row["path"]).name: row for row in json.loads(reported.stdout)}
    assert set(results) == set(bad) | set(good)
    assert {name for name, row in results.items() if row["status"] == "failed"} == set(bad)
    assert all(results[name]["status"] == "unchanged" and results[name]["chunks"] >= 1 for name in good)

    monkeypatch.setenv("SALESBOT_EMBEDDING", "none")
    reset_runtime()
    for name, (_, word) in good.items():
        passages = retrieve_with_role_filter(f"{word}", "rep", k=3)
        assert passages and passages[0].source == name, (name, [passage.source for passage in passages])
    searched = run_cli("search", "zephrotine sensor", "--json")
    assert searched.returncode == 0 and json.loads(searched.stdout)[0]["source"] == "sheet.pdf"
