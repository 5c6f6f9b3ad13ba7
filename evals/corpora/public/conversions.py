"""The two conversions behind documents that were published as HTML (the loader reads no HTML), kept to be re-run.

    python evals/corpora/public/conversions.py tour-html ChyardContract.aspx OUT.txt
    python evals/corpora/public/conversions.py sqlite-faq faq.in OUT.md

`tour-html` renders the model contract held in an ASP.NET page as text: the contract's own markup only (from its
number GF-2014-2401 to the end of the placeholder), whitespace collapsed as a browser would, one line per table
row or paragraph, each form field written as ＿＿＿＿. `sqlite-faq` renders SQLite's Tcl-templated FAQ page as
Markdown: one `## (N) question` heading per entry, links reduced to their text, <pre> blocks kept as code.
Neither changes a word of the documents.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

TOUR_CONTRACT_NUMBER = "GF-2014-2401"
_BLOCK_TAGS = {"tr", "p", "br", "div", "h1", "h2", "h3", "th", "li"}
_BLOCK_END_TAGS = {"tr", "p", "div", "th", "table"}
FIELD_BLANK = "＿＿＿＿"


class _TextRenderer(HTMLParser):
    """HTML to text the way a reader sees it: block tags break lines, form inputs show as blanks."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self._skipping += 1
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")
        if tag == "input":
            self.parts.append(FIELD_BLANK)

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"}:
            self._skipping -= 1
        if tag in _BLOCK_END_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(re.sub(r"\s+", " ", data))


def decode_page(raw: bytes) -> str:
    """The page's text: UTF-8 when it is, else GB18030 (the page declares gb2312)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030")


def tour_contract_text(page: str) -> str:
    """The model contract's text from the page that embeds it."""
    start = page.rfind("<table", 0, page.find(TOUR_CONTRACT_NUMBER))
    end = page.find("</asp:PlaceHolder>", start)
    renderer = _TextRenderer()
    renderer.feed(page[start:end])
    lines = (re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in html.unescape("".join(renderer.parts)).split("\n"))
    return "\n".join(line for line in lines if line) + "\n"


def _brace_group(text: str, start: int) -> tuple[str, int]:
    """(content, end) of the Tcl brace group that opens at text[start]."""
    depth = 0
    for index in range(start, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1:index], index + 1
    raise ValueError("unbalanced braces in the FAQ source")


def _link_text(text: str) -> str:
    """[target|label] becomes label, [target] becomes target: the words a reader sees."""
    text = re.sub(r"\[([^\[\]|]+)\|([^\[\]]+)\]", r"\2", text)
    return re.sub(r"\[([^\[\]]+)\]", r"\1", text)


def _answer_text(fragment: str) -> str:
    fragment = _link_text(fragment)
    fragment = re.sub(r"(?is)<pre>(.*?)</pre>", lambda match: "\n```\n" + match.group(1).strip("\n") + "\n```\n",
                      fragment)
    fragment = re.sub(r"(?i)<li>", "\n- ", fragment)
    fragment = re.sub(r"(?i)</?(p|blockquote|ul|ol|br)[^>]*>", "\n", fragment)
    fragment = html.unescape(re.sub(r"<[^>]+>", "", fragment))
    lines: list[str] = []
    in_code = False
    for line in fragment.split("\n"):
        if line.strip() == "```":
            in_code = not in_code
            lines.append("```")
        else:
            lines.append(line.rstrip() if in_code else " ".join(line.split()))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def sqlite_faq_markdown(source: str) -> str:
    """The FAQ as Markdown; an empty `faq {} {}` entry keeps its number free, as the published page does."""
    title = re.search(r"<title>(.*?)</title>", source)
    lines = [f"# {title.group(1) if title else 'FAQ'}", ""]
    position, number = 0, 0
    entry = re.compile(r"^faq \{", re.MULTILINE)
    while match := entry.search(source, position):
        question, end = _brace_group(source, match.end() - 1)
        answer, position = _brace_group(source, source.index("{", end))
        number += 1
        heading = " ".join(re.sub(r"<[^>]+>", "", _link_text(question)).split())
        if heading:
            lines += [f"## ({number}) {heading}", "", _answer_text(answer), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["tour-html", "sqlite-faq"])
    parser.add_argument("source", type=Path)
    parser.add_argument("output", type=Path)
    args = parser.parse_args(argv)
    if args.kind == "tour-html":
        text = tour_contract_text(decode_page(args.source.read_bytes()))
    else:
        text = sqlite_faq_markdown(args.source.read_text(encoding="utf-8"))
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
