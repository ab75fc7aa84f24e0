"""Greedy sampling for llama.cpp with the grammar applied lazily.

llama-cpp-python puts a grammar in its sampler chain, so at every step the grammar judges
every candidate token: all 151,936 of a Qwen vocabulary. That made grammar-constrained calls
up to twice as slow as free ones. Like llama.cpp's own `common_sampler`, parcall takes the
greedy token first and asks the grammar about that one token; only when the grammar rejects
it are all candidates filtered. The result is the same token either way.
"""

from __future__ import annotations

import ctypes
import math
from typing import Any

__all__ = ["LazyGrammarSampler"]

PENALTY_LAST_N = 64
"""Tokens the repeat penalty looks back over (llama-cpp-python's default)."""


class LazyGrammarSampler:
    """Picks the next token of one generation: repeat penalty, greedy, grammar if any.

    Install it as the `sample` of a `Llama` for the length of one `generate` call (which
    then does the prompt caching and evaluation as usual); `close()` frees it.
    """

    def __init__(
        self, llama_cpp: Any, llm: Any, gbnf: str | None, *, repeat_penalty: float
    ) -> None:
        import numpy as np

        self._c = llama_cpp
        self._llm = llm
        self._np = np
        self._n_vocab = int(llm.n_vocab())
        self._data = (llama_cpp.llama_token_data * self._n_vocab)()
        self._view = np.ctypeslib.as_array(self._data)
        self._ids = np.arange(self._n_vocab, dtype=self._view["id"].dtype)
        self._one = (llama_cpp.llama_token_data * 1)()
        self._chain = llama_cpp.llama_sampler_chain_init(
            llama_cpp.llama_sampler_chain_default_params()
        )
        if repeat_penalty != 1.0:
            llama_cpp.llama_sampler_chain_add(
                self._chain,
                llama_cpp.llama_sampler_init_penalties(
                    self._n_vocab, PENALTY_LAST_N, repeat_penalty, 0.0, 0.0
                ),
            )
        llama_cpp.llama_sampler_chain_add(self._chain, llama_cpp.llama_sampler_init_greedy())
        self._grammar: Any = None
        if gbnf is not None:
            vocab = llama_cpp.llama_model_get_vocab(llm.model)
            self._grammar = llama_cpp.llama_sampler_init_grammar(vocab, gbnf.encode(), b"root")
            if not self._grammar:
                self.close()
                raise ValueError("llama.cpp could not parse the grammar")
        self.full_passes = 0
        """Steps where the greedy token broke the grammar and every candidate was filtered."""

    def __call__(self, *_: Any, idx: int | None = None, **__: Any) -> int:
        """`Llama.sample`'s signature: `idx` is the position whose logits to sample from."""
        ridx = -1 if idx is None else idx - self._llm.n_tokens
        logits = self._c.llama_get_logits_ith(self._llm.ctx, ridx)
        scores = self._np.ctypeslib.as_array(logits, shape=(self._n_vocab,))
        token = self._pick(scores, self._chain)
        if self._grammar is not None:
            if not self._allows(token):
                self.full_passes += 1
                token = self._pick(scores, self._grammar, self._chain)
                if not self._allows(token):  # nothing fits: end the output here
                    return int(self._llm.token_eos())
            self._c.llama_sampler_accept(self._grammar, token)
        self._c.llama_sampler_accept(self._chain, token)
        return token

    def _pick(self, scores: Any, *samplers: Any) -> int:
        self._view["id"] = self._ids
        self._view["logit"] = scores
        self._view["p"] = 0.0
        candidates = self._candidates(self._data, self._n_vocab)
        for sampler in samplers:
            self._c.llama_sampler_apply(sampler, ctypes.byref(candidates))
        return int(self._view["id"][candidates.selected])

    def _allows(self, token: int) -> bool:
        self._one[0].id = token
        self._one[0].logit = 0.0
        self._one[0].p = 0.0
        candidates = self._candidates(self._one, 1)
        self._c.llama_sampler_apply(self._grammar, ctypes.byref(candidates))
        return math.isfinite(self._one[0].logit)

    def _candidates(self, data: Any, size: int) -> Any:
        pointer = ctypes.cast(data, ctypes.POINTER(self._c.llama_token_data))
        return self._c.llama_token_data_array(data=pointer, size=size, selected=-1, sorted=False)

    def close(self) -> None:
        if self._chain:
            self._c.llama_sampler_free(self._chain)
            self._chain = None
        if self._grammar:
            self._c.llama_sampler_free(self._grammar)
            self._grammar = None
