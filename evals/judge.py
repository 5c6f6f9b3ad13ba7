"""The LLM judge for ragas: a model named by the agent's config strings, plus embeddings when configured."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)


class JudgeUnavailableError(RuntimeError):
    """--judge names no usable model."""


@dataclass
class CallCounter:
    """How often the judge model was asked; the report states it so a run with zero calls is visible."""

    calls: int = 0
    failures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, failed: bool) -> None:
        with self._lock:
            self.calls += 1
            self.failures += failed


@dataclass
class Judge:
    config: str
    llm: Any
    embeddings: Any | None
    embeddings_note: str
    timeout_s: float
    counter: CallCounter

    @property
    def calls(self) -> int:
        return self.counter.calls


def _structured_judge_class() -> type:
    """A ragas LLM that asks for each prompt's output model through salesbot.llm.invoke_structured.

    Why not ragas's LangchainLLMWrapper: it asks for free text and parses JSON out of it, which small local
    models often get wrong (the score becomes NaN). invoke_structured constrains decoding to the output
    model's JSON schema on llama.cpp (grammar) and OpenAI-compatible servers (response_format), so even a
    1.5B model yields a parseable verdict. ragas's PydanticPrompt calls this interface with the output model.
    """
    from ragas.llms.base import InstructorBaseRagasLLM

    from salesbot.llm import invoke_structured

    class StructuredJudgeLLM(InstructorBaseRagasLLM):
        is_async = False

        def __init__(self, chat_model: Any, counter: CallCounter) -> None:
            self.chat_model = chat_model
            self.counter = counter

        def generate(self, prompt: str, response_model: Any) -> Any:
            try:
                result = invoke_structured(self.chat_model, prompt, response_model)
            except Exception:
                self.counter.count(failed=True)
                raise
            self.counter.count(failed=False)
            return result

        async def agenerate(self, prompt: str, response_model: Any) -> Any:
            return await asyncio.to_thread(self.generate, prompt, response_model)

    return StructuredJudgeLLM


def _embeddings_for_judge() -> tuple[Any | None, str]:
    """ragas embeddings over the knowledge base's configured embedder (SALESBOT_EMBEDDING), or None and why."""
    try:
        from knowledge.embeddings import load_embedder

        embedder = load_embedder()
    except Exception as error:  # a broken embedding setting only costs the relevancy metric
        logger.debug("judge embeddings unavailable", exc_info=True)
        return None, f"the configured embedding model could not be loaded ({error})"
    if embedder is None:
        return None, "no embedding model is configured (SALESBOT_EMBEDDING=none)"
    from langchain_core.embeddings import Embeddings
    from ragas.embeddings import LangchainEmbeddingsWrapper

    loaded_embedder = embedder

    class KnowledgeEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return loaded_embedder.embed(list(texts)).tolist()

        def embed_query(self, text: str) -> list[float]:
            return loaded_embedder.embed([text])[0].tolist()

    return LangchainEmbeddingsWrapper(KnowledgeEmbeddings()), f"embeddings {embedder.name}"


def build_judge(config: str) -> Judge:
    """Load the judge model by config string (llamacpp:/path.gguf, openai:URL#model)."""
    import warnings

    from salesbot.llm import ModelConfigError, ModelUnavailableError, load_chat_model
    from salesbot.settings import get_settings

    try:
        chat_model = load_chat_model(config)
    except (ModelConfigError, ModelUnavailableError) as error:
        raise JudgeUnavailableError(f"judge model unavailable: {error}") from error
    if chat_model is None:
        raise JudgeUnavailableError("--judge none: name a model (llamacpp:/path.gguf or openai:URL#model)")
    counter = CallCounter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        llm = _structured_judge_class()(chat_model, counter)
        embeddings, note = _embeddings_for_judge()
    return Judge(config=config, llm=llm, embeddings=embeddings, embeddings_note=note,
                 timeout_s=max(30.0, get_settings().llm_timeout_s * 4), counter=counter)
