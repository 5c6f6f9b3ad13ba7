"""Loading a GGUF with llama-cpp-python so that it runs on any x86 CPU the build was compiled on.

llama.cpp moves weights into "extra buffer types" at load time when the build supports them: AMX tiles on
Intel Sapphire Rapids and later (AMX_INT8 in llama_print_system_info), repacked Q4_0 blocks on AVX2. A native
build (llama-cpp-python compiles with GGML_NATIVE by default) on an AMX machine enables the AMX path, and there
llama-cpp-python 0.3.36 segfaults in llama_decode on SmolLM2-135M-Instruct Q4_1 — the whole process dies, no
exception reaches Python. Loading with use_extra_bufts=false keeps the weights in ordinary CPU buffers: the same
results, the AVX2/AVX-512 kernels, no crash (measured: same greedy output, the test suite's real-model tests pass).

Llama() takes no argument for it (its **kwargs are ignored), so the default model parameters it starts from are
swapped for the duration of the load; loads are serialised so no other load sees the swap.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_swap_lock = threading.Lock()


@contextmanager
def plain_cpu_buffers() -> Iterator[None]:
    """Within this block, every llama_cpp.Llama(...) loads its weights without extra buffer types."""
    import llama_cpp
    import llama_cpp.llama as llama_module

    with _swap_lock:
        library_defaults = llama_cpp.llama_model_default_params
        llama_module.llama_cpp.llama_model_default_params = _without_extra_buffers(library_defaults)
        try:
            yield
        finally:
            llama_module.llama_cpp.llama_model_default_params = library_defaults


def _without_extra_buffers(library_defaults: Callable[[], Any]) -> Callable[[], Any]:
    def defaults_without_extra_buffers() -> Any:
        params = library_defaults()
        params.use_extra_bufts = False
        return params

    return defaults_without_extra_buffers


def serve() -> None:
    """`python -m salesbot.llama_runtime --model X.gguf ...`: llama_cpp.server, its arguments, plain CPU buffers.

    The same OpenAI-compatible server as `python -m llama_cpp.server` (the peer of SALESBOT_LLM=openai:...), for
    machines where the AMX path crashes it; the swap lasts the server's life, as it loads in this process.
    """
    import runpy

    import llama_cpp
    import llama_cpp.llama as llama_module

    llama_module.llama_cpp.llama_model_default_params = _without_extra_buffers(
        llama_cpp.llama_model_default_params)
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    serve()
