"""salesbot's MCP server over Streamable HTTP on 127.0.0.1, driven by the official SDK client."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

pytestmark = pytest.mark.slow

TOKENS = {"rep": "rep-token-0123456789abcdef", "rep_writer": "rep-writer-token-0123456789",
          "manager": "manager-token-0123456789abcdef", "partner": "partner-token-0123456789abcdef"}
RATE_LIMIT = 8


@pytest.fixture()
def mcp_url(sample_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    import uvicorn

    from connectors.mcp.rate_limit import RateLimiter
    from connectors.mcp.server import build_http_app, build_server
    from salesbot.settings import reset_runtime

    roles_file = tmp_path / "roles.yaml"
    roles_file.write_text(
        "users: {alice: rep, mona: manager, pat: rep}\n"
        f"mcp_tokens: {{{TOKENS['rep']}: alice, {TOKENS['rep_writer']}: alice, {TOKENS['manager']}: mona, "
        f"{TOKENS['partner']}: pat}}\n", encoding="utf-8")
    monkeypatch.setenv("SALESBOT_ROLES_FILE", str(roles_file))
    reset_runtime()
    app = build_http_app(build_server(rate_limiter=RateLimiter(RATE_LIMIT)))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}/mcp"
    server.should_exit = True
    thread.join(timeout=10)


def _session(url: str, token: str | None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Client(streamable_http_client(url, http_client=httpx2.AsyncClient(headers=headers, timeout=60)))


def _payload(result: Any) -> Any:
    assert not result.is_error, result.content
    if result.structured_content is not None:
        content = result.structured_content
        return content.get("result", content) if set(content) == {"result"} else content
    return json.loads(result.content[0].text)


def _text_of(result: Any) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


def _calls(url: str, token: str | None, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    async def main() -> list[Any]:
        async with _session(url, token) as client:
            return [await client.call_tool(name, arguments) for name, arguments in calls]
    return anyio.run(main)


def test_tools_are_listed_with_hints_and_answers_are_cited(mcp_url: str) -> None:
    async def main() -> Any:
        async with _session(mcp_url, TOKENS["rep"]) as client:
            return await client.list_tools()
    listed = {tool.name: tool.annotations for tool in anyio.run(main).tools}
    assert set(listed) >= {"search_knowledge", "ask", "propose_pricing", "propose_follow_up_task",
                           "propose_opportunity_card", "data_question", "list_pending_actions"}
    for name, hints in listed.items():
        assert hints is not None and hints.read_only_hint is not None and hints.destructive_hint is False
        assert hints.idempotent_hint is not None, name
    assert listed["search_knowledge"].read_only_hint is True
    assert listed["propose_follow_up_task"].read_only_hint is False
    search, answer = _calls(mcp_url, TOKENS["rep"], [("search_knowledge", {"query": "warranty 质保", "k": 3}),
                                                     ("ask", {"question": "质保期是多久？"})])
    passages = _payload(search)
    assert passages and all(passage["source"] and passage["section"] for passage in passages)
    answered = _payload(answer)
    assert answered["answer"] and answered["citations"], answered


def test_a_rep_token_never_obtains_a_manager_only_fact(mcp_url: str) -> None:
    query = "各产品底价与成本 底价 单位成本"
    manager_passages = _payload(_calls(mcp_url, TOKENS["manager"], [("search_knowledge", {"query": query})])[0])
    manager_only = [passage for passage in manager_passages if _manager_only(passage["source"])]
    assert manager_only, "the manager should see the manager-only playbook (positive control)"
    # The facts: the floor prices and unit costs in the manager-only table (list prices are public).
    facts = {fact for passage in manager_only for fact in _restricted_cells(passage["text"])}
    assert facts
    restricted_sources = {passage["source"] for passage in manager_only}
    section = manager_only[0]
    # The pricing tool too: the policy's floor price and unit cost of the product it prices stay hidden.
    from tools.sales.catalog import catalog_products

    product = catalog_products()[0]
    facts |= {str(int(product.floor_price)), str(int(product.unit_cost))}
    results = _calls(mcp_url, TOKENS["rep"], [
        ("search_knowledge", {"query": query, "k": 20}),
        ("propose_pricing", {"product": product.sku, "quantity": 20}),
        ("ask", {"question": "各产品的底价和单位成本是多少？"}),
        ("ask", {"question": "What is the floor price and unit cost of each product?"}),
        ("data_question", {"question": "各产品的底价是多少"}),
    ])

    async def read_resource() -> Any:
        async with _session(mcp_url, TOKENS["rep"]) as client:
            return await client.read_resource(f"salesbot://section/{section['source']}/{section['section']}")
    resource = anyio.run(read_resource)
    seen = [_text_of(result) for result in results] + [" ".join(getattr(c, "text", "") for c in resource.contents)]
    rep_sources = {passage["source"] for passage in _payload(results[0])}
    assert "quote" in _text_of(results[1]).lower(), _text_of(results[1])[:300]  # priced, not refused
    assert not rep_sources & restricted_sources
    for text in seen:
        digits = re.sub(r"(?<=\d)[,，\s](?=\d)", "", text)  # "54,400" and "54 400" both read as 54400
        leaked = sorted(facts & set(re.findall(r"\d+", digits)))  # whole numbers: "15200" does not leak "5200"
        assert not leaked, (leaked, text[:500])


def test_a_write_proposal_stays_pending_and_executes_nothing(mcp_url: str) -> None:
    from sqlmodel import select

    from tools.db.tables import Task, sales_session
    from tools.gate.store import list_actions

    with sales_session() as session:
        tasks_before = len(session.exec(select(Task)).all())
    actions_before = len(list_actions())
    customer = _customer_name()
    proposed, pending = _calls(mcp_url, TOKENS["rep_writer"], [
        ("propose_follow_up_task", {"customer": customer, "due": "2026-12-20 10:00",
                                    "description": "renewal call 续约"}),  # renewal would be `auto` for a chat user
        ("list_pending_actions", {}),
    ])
    result = _payload(proposed)
    assert result["action"]["status"] == "pending" and "cannot approve" in result["how_to_confirm"]
    assert [row["id"] for row in _payload(pending)] == [result["action"]["id"]]
    actions = list_actions()
    assert len(actions) == actions_before + 1 and actions[-1].status == "pending"
    with sales_session() as session:
        assert len(session.exec(select(Task)).all()) == tasks_before


def test_missing_or_unknown_token_is_refused(mcp_url: str) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-listed-token-123456"}, {"Authorization": "Basic abc"}):
        response = httpx2.post(mcp_url, headers={**headers, "Accept": "application/json, text/event-stream"},
                               json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, timeout=10)
        assert response.status_code == 401
        assert "Traceback" not in response.text
    opened = True
    try:  # the SDK client cannot even open a session
        _calls(mcp_url, "not-a-listed-token-123456", [("list_pending_actions", {})])
    except BaseException:  # noqa: BLE001 - the SDK surfaces the 401 as an exception group
        opened = False
    assert not opened


def test_rate_limit_is_enforced_per_token_and_audited(mcp_url: str) -> None:
    from sqlmodel import select

    from tools.db.tables import AuditEvent, sales_session

    results = _calls(mcp_url, TOKENS["partner"], [("list_pending_actions", {})] * (RATE_LIMIT + 2))
    assert [result.is_error for result in results] == [False] * RATE_LIMIT + [True, True]
    assert "Rate limit" in _text_of(results[-1])
    other = _calls(mcp_url, TOKENS["rep"], [("list_pending_actions", {})])  # another token is unaffected
    assert not other[0].is_error
    with sales_session() as session:
        refused = session.exec(select(AuditEvent).where(AuditEvent.event == "mcp_rate_limited")).all()
    assert len(refused) == 2 and {event.actor for event in refused} == {"pat"}


def _manager_only(source: str) -> bool:
    """True when the sample document's front matter limits it to managers (the data says so, not this test)."""
    from salesbot.settings import SAMPLES_DIR

    paths = [path for path in Path(SAMPLES_DIR).rglob("*") if path.name == Path(source).name]
    return any(re.search(r"^access: \[manager\]", path.read_text(encoding="utf-8", errors="ignore"), re.M)
               for path in paths)


def _restricted_cells(text: str) -> set[str]:
    """Cells of a Markdown table's floor-price (底价) and cost (成本) columns, as digits only ("54,400元" → "54400")."""
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in text.splitlines()
            if line.strip().startswith("|") and "---" not in line]
    if not rows:
        return set()
    columns = [index for index, name in enumerate(rows[0]) if "底价" in name or "成本" in name]
    cells = {re.sub(r"\D", "", row[index]) for row in rows[1:] for index in columns if index < len(row)}
    return {cell for cell in cells if len(cell) >= 4}  # prices, not margins or row numbers


def _customer_name() -> str:
    from sqlmodel import select

    from tools.db.tables import Customer, sales_session

    with sales_session() as session:
        customer = session.exec(select(Customer)).first()
        assert customer is not None
        return str(customer.name_zh)


def _stdio_env(home: Path, roles_file: Path, token: str) -> dict[str, str]:
    import os

    env = dict(os.environ)  # the test run's SALESBOT_* (embedding, entities) plus this server's own
    env.update({"SALESBOT_HOME": str(home), "SALESBOT_ROLES_FILE": str(roles_file), "SALESBOT_MCP_TOKEN": token})
    return env


def test_stdio_server_serves_the_token_users_role(sample_home: Path, tmp_path: Path) -> None:
    """`salesbot serve mcp --stdio`, as a desktop client starts it: the rep token's role filters what comes back."""
    import sys

    from mcp.client.stdio import StdioServerParameters, stdio_client

    roles_file = tmp_path / "roles.yaml"
    roles_file.write_text(f"users: {{alice: rep}}\nmcp_tokens: {{{TOKENS['rep']}: alice}}\n", encoding="utf-8")
    salesbot = str(Path(sys.executable).with_name("salesbot"))
    params = StdioServerParameters(command=salesbot, args=["serve", "mcp", "--stdio"],
                                   env=_stdio_env(sample_home, roles_file, TOKENS["rep"]))

    async def main() -> tuple[set[str], Any]:
        async with Client(stdio_client(params)) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            return tools, await client.call_tool("search_knowledge", {"query": "各产品底价与成本 底价 单位成本",
                                                                      "k": 20})
    tools, search = anyio.run(main)
    assert "search_knowledge" in tools and "propose_follow_up_task" in tools
    passages = _payload(search)
    assert passages, "the rep still gets the public passages"
    assert not [passage for passage in passages if _manager_only(passage["source"])]


def test_stdio_server_refuses_to_start_with_an_unlisted_token(sample_home: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    roles_file = tmp_path / "roles.yaml"
    roles_file.write_text(f"users: {{alice: rep}}\nmcp_tokens: {{{TOKENS['rep']}: alice}}\n", encoding="utf-8")
    salesbot = str(Path(sys.executable).with_name("salesbot"))
    completed = subprocess.run([salesbot, "serve", "mcp", "--stdio"], input="", capture_output=True, text=True,
                               env=_stdio_env(sample_home, roles_file, "not-a-listed-token-at-all"), timeout=120)
    assert completed.returncode != 0
    assert "SALESBOT_MCP_TOKEN" in completed.stderr + completed.stdout
    assert "Traceback" not in completed.stderr + completed.stdout
