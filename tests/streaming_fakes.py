"""A scripted chat model that streams: each reply arrives in small pieces, and a hook runs between pieces."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk
from pydantic import Field

from tests.fakes import ScriptedChatModel


class StreamingScriptedChatModel(ScriptedChatModel):
    """ScriptedChatModel whose .stream() yields each reply's text in pieces of `piece_chars` characters.

    `between_pieces(number_of_pieces_sent)` runs after each piece is handed out, so a test can look at what a
    connector has shown while the model is still "writing". invoke() still returns the whole reply at once.
    """

    piece_chars: int = 6
    streamed_pieces: list[str] = Field(default_factory=list)
    between_pieces: Callable[[int], None] | None = None

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        self.received_messages.append(list(messages))
        if self.i >= len(self.responses):
            raise AssertionError(f"StreamingScriptedChatModel ran out of replies after {len(self.responses)} call(s)")
        reply = self.responses[self.i]
        self.i += 1
        if reply.tool_calls:  # a tool call arrives as one chunk carrying its arguments as JSON text
            yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=[
                {"name": call["name"], "args": json.dumps(call["args"]), "id": call["id"], "index": index}
                for index, call in enumerate(reply.tool_calls)]))
            return
        text = str(reply.content)
        for start in range(0, len(text), self.piece_chars):
            piece = text[start:start + self.piece_chars]
            self.streamed_pieces.append(piece)
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if self.between_pieces is not None:
                self.between_pieces(len(self.streamed_pieces))


def streaming_model(*replies: Any, piece_chars: int = 6,
                    between_pieces: Callable[[int], None] | None = None) -> StreamingScriptedChatModel:
    return StreamingScriptedChatModel(responses=replies, piece_chars=piece_chars, between_pieces=between_pieces)
