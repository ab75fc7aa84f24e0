"""`LlamaCpp`: an in-process llama.cpp model (llama-cpp-python), streamed through anyio.

The blocking token loop runs in worker threads, one token per hop, so closing or cancelling
the stream stops generation after the current token; a long prompt evaluation is cut short
through llama.cpp's abort callback. Calls on one instance are serialised, and consecutive
prompts that extend each other reuse the evaluated prefix (llama-cpp-python keeps the KV
cache of the longest common token prefix), which `Usage.cached_tokens` reports.

Two ways to read prompts ahead of time: `prefill(messages)` evaluates the known beginning of
a coming prompt while the model is idle (it gives way to a real call after the piece it is
reading), and a warm start restores the context after the system prompt from a state saved
by an earlier process (see `_state.py`), so a new process only reads the question.
"""

from __future__ import annotations

import asyncio
import ctypes
import importlib
import json
import os
import threading
from collections.abc import AsyncGenerator, Callable, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import anyio
import anyio.to_thread

from .._core.checks import check_int, check_number, check_type
from ._base import (
    STOP,
    Message,
    ModelChunk,
    ModelRequest,
    TextChunk,
    UsageChunk,
    prompt_text,
)
from ._errors import ModelCapabilityError
from ._llama_generation import Generation, Job
from ._llama_native import (
    LOGS,
    LlamaCppContextError,
    LlamaCppError,
    LlamaCppNotInstalledError,
    chat_template,
    cpu_has_amx,
    default_threads,
    import_llama_cpp,
    reused_prefix,
    weight_repacking,
)
from ._llama_sampling import LazyGrammarSampler
from ._local import DEFAULT_LOCAL_MODEL, check_local_name, resolve_local
from ._state import (
    SavedState,
    StateKey,
    model_identity,
    prompt_hash,
    read_state,
    state_dir,
    state_path,
    write_state,
)

__all__ = ["LlamaCpp", "LlamaCppError", "LlamaCppNotInstalledError", "WarmStatus"]

WarmStatus = Literal["loaded", "built", "current", "unsaved", "none"]
"""What a warm start did: restored a saved state, built and saved one, found the context
already holding the prefix, built one it could not save, or found no system prompt."""

_OPEN = "\x00parcall-open\x00"
_PREFILL_PIECE = 32  # tokens a prefill reads at a time
_T = TypeVar("_T")


class LlamaCpp:
    """A GGUF model run by llama.cpp in this process.

    `model` is `local` (the default local model), `local:tiny|small|medium`, or the path of
    a `.gguf` file. A registry model is fetched into the cache on first use (see `pull`);
    the file is loaded on the first `stream` call, or by awaiting `load()`.

    llama.cpp's own log lines are shown (on stderr) only with `verbose=True`.

    Calls on one instance run one at a time. A consumer that stops reading early should
    close the stream (`aclose()`, or leave an `aclosing` block): generation stops after the
    current token and the next call can start.

    `repeat_penalty` defaults to 1.0 (none): a plan must repeat `$1`, argument names and
    tool names, and a penalty on repeated tokens made the default model write the wrong
    `$N`. Loops are bounded by the plan grammar and by the agent ending a plan that repeats
    a call.

    `warm_start=True`: when a call finds the context empty (a new process), the context after
    its system prompt is restored from a state saved in `state_dir` (default: `states/` in
    parcall's cache folder, or `$PARCALL_STATE_DIR`), or evaluated and saved for next time.
    A state made for another model file, prompt, llama-cpp-python version or context size,
    or a damaged file, is ignored and rebuilt. `warm_status` says what the last one did.
    """

    supports_grammar = True
    """Plans may be constrained by a grammar (what `Agent(constrained=None)` looks for)."""

    def __init__(
        self,
        model: str | os.PathLike[str] = "local",
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        n_batch: int = 512,
        seed: int | None = None,
        repeat_penalty: float = 1.0,
        verbose: bool = False,
        warm_start: bool = True,
        state_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        import_llama_cpp()  # fail at construction, not at the first request
        check_type("LlamaCpp", "model", model, (str, os.PathLike), "a model name or a path")
        check_int("LlamaCpp", "n_ctx", n_ctx, minimum=1)
        check_int("LlamaCpp", "n_threads", n_threads, minimum=1, optional=True)
        check_int("LlamaCpp", "n_batch", n_batch, minimum=1)
        check_int("LlamaCpp", "seed", seed, optional=True)
        check_number("LlamaCpp", "repeat_penalty", repeat_penalty, positive=True)
        check_type("LlamaCpp", "verbose", verbose, bool, "True or False")
        text = os.fspath(model)
        check_local_name(text)
        self._source = f"local:{DEFAULT_LOCAL_MODEL}" if text == "local" else text
        self._n_ctx = n_ctx
        self._n_threads = n_threads or default_threads()
        self._n_batch = n_batch
        self._seed = seed
        self._repeat_penalty = repeat_penalty
        self._verbose = verbose
        self._llm: Any = None
        self._template: Any = None
        self._turns: dict[str, anyio.Semaphore] = {}
        self._busy = threading.Lock()  # held while a generation owns the llama context
        self._abort = threading.Event()
        self._abort_callback: Any = None  # kept alive while llama.cpp holds the pointer
        self._grammars: dict[str, str] = {}
        self._warm_start = warm_start
        self._state_dir = Path(state_dir) if state_dir is not None else None
        self._path: Path | None = None
        # The stop flag of a prefill holding the model (shared with forks, like the turns).
        self._prefilling: list[threading.Event] = []
        self.warm_status: WarmStatus | None = None

    @property
    def name(self) -> str:
        if self._source.startswith("local:"):
            return f"llama.cpp/{self._source}"
        return f"llama.cpp/{Path(self._source).name}"

    def fork(self) -> LlamaCpp:
        """A second llama.cpp context on the same model file and settings.

        For side calls, such as the `extract` tool, that would otherwise evict this
        context's cached prompt (the planner's conversation). The weights are memory-mapped,
        so the fork costs a context, not a second copy of the model; calls on the two run one
        at a time, as two contexts on one CPU would only slow each other down.
        """
        twin = LlamaCpp(
            self._source,
            n_ctx=self._n_ctx,
            n_threads=self._n_threads,
            n_batch=self._n_batch,
            seed=self._seed,
            repeat_penalty=self._repeat_penalty,
            verbose=self._verbose,
            warm_start=False,  # side calls: their prompts are not the planner's
        )
        twin._turns = self._turns
        twin._prefilling = self._prefilling
        return twin

    async def load(self) -> None:
        """Load the model now (otherwise the first `stream` call does)."""
        async with self._turn():
            await anyio.to_thread.run_sync(self._load)

    def close(self) -> None:
        """Free the model's memory; a later `stream` loads it again."""
        if not self._busy.acquire(blocking=False):
            raise LlamaCppError("cannot close a LlamaCpp while it is generating")
        try:
            if self._llm is not None:
                self._llm.close()
                self._llm = None
        finally:
            self._busy.release()

    async def warm(self, messages: Sequence[Message]) -> WarmStatus:
        """Load the model and bring its context to the system prompt of `messages` (the
        first message, then the opening of the next): from a saved state, or evaluated and
        saved for the next process. What `parcall models warm` does ahead of time."""
        async with self._turn():
            if not self._busy.acquire(blocking=False):
                raise LlamaCppError("this LlamaCpp is generating in another event loop")
            try:
                await anyio.to_thread.run_sync(self._load)
                self._abort.clear()
                return await anyio.to_thread.run_sync(self._warm, tuple(messages))
            finally:
                self._busy.release()

    async def prefill(self, messages: Sequence[Message]) -> None:
        """Evaluate the beginning of a coming prompt into the KV cache while the model is
        idle: `messages` rendered with the last one left open. Skipped if the model is not
        loaded or busy; when cancelled or when a real call arrives, it stops at the end of
        the piece it is reading (at most `_PREFILL_PIECE` tokens, which the coming prompt
        reads anyway)."""
        turn = self._turn()
        if self._llm is None or turn.value == 0:
            return
        async with turn:
            if not self._busy.acquire(blocking=False):
                return
            stop = threading.Event()
            self._prefilling.append(stop)
            self._abort.clear()
            try:
                # Not abandoned on cancel: a worker thread anyio abandons also slows the
                # decodes after it for a few seconds. Cancelling sets `stop` instead, and
                # the call returns once the thread has ended its piece.
                async with anyio.create_task_group() as tg:
                    tg.start_soon(_set_when_cancelled, stop)
                    await anyio.to_thread.run_sync(self._prefill, tuple(messages), stop)
                    tg.cancel_scope.cancel()
            finally:
                self._prefilling.remove(stop)
                self._busy.release()

    async def _abortable(self, call: Callable[[], _T]) -> _T:
        """`call()` in a worker thread; cancelling aborts llama.cpp's evaluation and waits
        for the thread to let go of the context."""
        job = Job(call)
        try:
            return await anyio.to_thread.run_sync(job, abandon_on_cancel=True)
        except BaseException:
            self._abort.set()
            if job.abandon():
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(job.wait)
            raise

    async def stream(self, request: ModelRequest) -> AsyncGenerator[ModelChunk, object]:
        if request.tools:
            raise ModelCapabilityError(
                "LlamaCpp has no native tool calling; use a text or grammar plan format"
            )
        for prefill in self._prefilling:
            prefill.set()  # a prefill gives way to every real call (after its piece)
        async with self._turn():
            if not self._busy.acquire(blocking=False):
                raise LlamaCppError(
                    "this LlamaCpp is generating in another event loop; use one per loop"
                )
            try:
                await anyio.to_thread.run_sync(self._load)
                self._abort.clear()
                run = await self._abortable(lambda: self._start(request))
            except BaseException:
                self._busy.release()
                raise
            try:
                while True:
                    run.busy.clear()
                    piece = await anyio.to_thread.run_sync(run.step, abandon_on_cancel=True)
                    if piece is None:
                        break
                    if piece and (yield TextChunk(piece)) is STOP:
                        break  # the consumer has what it needs: generate nothing more
                yield UsageChunk(run.usage())
            finally:
                # Stop a step still running in its thread (abandoned on cancel), then wait
                # for it, so the next call never shares the context with a leftover one.
                self._abort.set()
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(run.busy.wait)
                run.close()
                self._busy.release()

    def _turn(self) -> anyio.Semaphore:
        """One generation at a time; a semaphore per async backend, as each binds to one."""
        try:
            asyncio.get_running_loop()
            backend = "asyncio"
        except RuntimeError:
            backend = "trio"
        if backend not in self._turns:
            self._turns[backend] = anyio.Semaphore(1)
        return self._turns[backend]

    # --- blocking parts, run in worker threads ---------------------------------------------

    def _load(self) -> None:
        if self._llm is not None:
            return
        llama_cpp = import_llama_cpp()
        path = resolve_local(self._source)
        LOGS["shown"] = self._verbose
        kwargs: dict[str, Any] = {
            "model_path": str(path),
            "n_ctx": self._n_ctx,
            "n_threads": self._n_threads,
            "n_threads_batch": self._n_threads,
            "n_batch": self._n_batch,
            "verbose": self._verbose,
        }
        if self._seed is not None:
            kwargs["seed"] = self._seed
        try:
            with weight_repacking(enabled=not cpu_has_amx()):
                llm = llama_cpp.Llama(**kwargs)
        except (ValueError, RuntimeError) as exc:
            raise LlamaCppError(f"llama.cpp could not load {path}: {exc}") from exc

        def should_abort(_data: object) -> bool:
            return self._abort.is_set()

        self._abort_callback = llama_cpp.ggml_abort_callback(should_abort)
        llama_cpp.llama_set_abort_callback(llm.ctx, self._abort_callback, None)
        self._template = chat_template(llm)
        self._path = path
        self._llm = llm

    def _start(self, request: ModelRequest) -> Generation:
        llm = self._llm
        llama_cpp = import_llama_cpp()
        if self._warm_start and llm.n_tokens == 0:
            self._warm(request.messages)  # may read the system prompt: cancellable
        prompt, add_bos = self._render(request.messages)
        tokens: list[int] = llm.tokenize(prompt.encode("utf-8"), add_bos=add_bos, special=True)
        room = self._n_ctx - len(tokens)
        if room < 1:
            raise LlamaCppContextError(
                f"the prompt has {len(tokens)} tokens but the context holds {self._n_ctx}; "
                "raise n_ctx or shorten the prompt",
                limit=self._n_ctx,
            )
        max_tokens = min(request.max_tokens or room, room)
        vocab = llama_cpp.llama_model_get_vocab(llm.model)
        gbnf = self._grammar(request)
        temperature = request.temperature or 0.0
        sampler: LazyGrammarSampler | None = None
        if temperature == 0.0:
            # Greedy: sample ourselves, checking the grammar on the chosen token only.
            sampler = LazyGrammarSampler(llama_cpp, llm, gbnf, repeat_penalty=self._repeat_penalty)
            llm.sample = sampler
        grammar = None
        if sampler is None and gbnf is not None:
            grammars = importlib.import_module("llama_cpp.llama_grammar")
            grammar = grammars.LlamaGrammar.from_string(gbnf, verbose=False)
        return Generation(
            tokens=tokens,
            cached=reused_prefix(llm, tokens),
            stream=llm.generate(
                tokens,
                temp=temperature,
                repeat_penalty=self._repeat_penalty,
                grammar=grammar,
                reset=True,  # llama-cpp-python keeps the longest common prefix
            ),
            detokenize=llm.detokenize,
            is_end=lambda token: bool(llama_cpp.llama_vocab_is_eog(vocab, token)),
            stop=request.stop,
            max_tokens=max_tokens,
            aborted=self._abort,
            on_close=(lambda: _uninstall(llm, sampler)) if sampler is not None else None,
        )

    def _warm(self, messages: tuple[Message, ...]) -> WarmStatus:
        self.warm_status = status = self._warm_context(messages)
        return status

    def _warm_context(self, messages: tuple[Message, ...]) -> WarmStatus:
        if len(messages) < 2 or messages[0].role != "system" or self._path is None:
            return "none"
        llm = self._llm
        llama_cpp = import_llama_cpp()
        opened = self._render_open((messages[0], Message(messages[1].role, "")))
        if opened is None:
            return "none"
        text, add_bos = opened
        tokens: list[int] = llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)
        if not tokens or len(tokens) >= self._n_ctx:
            return "none"
        if list(llm.input_ids[: llm.n_tokens][: len(tokens)]) == tokens:
            return "current"
        key = StateKey(
            model=model_identity(self._path),
            llama_cpp_version=str(llama_cpp.__version__),
            n_ctx=self._n_ctx,
            prompt_sha256=prompt_hash(f"{int(add_bos)}:{text}"),
        )
        where = state_path(self._state_dir or state_dir(), self._path, key)
        saved = read_state(where, key)
        if saved is not None and list(saved.tokens) == tokens and self._restore(saved):
            return "loaded"
        if not self._evaluate(tokens):
            return "none"
        try:
            write_state(where, SavedState(key, tuple(tokens), self._state_bytes()))
        except OSError:  # a read-only or full cache: the next process builds it again
            return "unsaved"
        return "built"

    def _restore(self, saved: SavedState) -> bool:
        llm = self._llm
        llama_cpp = import_llama_cpp()
        size = len(saved.payload)
        buffer = (ctypes.c_uint8 * size).from_buffer_copy(saved.payload)
        if llama_cpp.llama_state_set_data(llm.ctx, buffer, size) != size:
            llm.reset()  # the next evaluation clears the context from position 0
            return False
        n = len(saved.tokens)
        llm.input_ids[:n] = saved.tokens
        llm.n_tokens = n
        llm._requires_eval = True  # no fresh logits: the next call evaluates a token first
        return True

    def _state_bytes(self) -> bytes:
        llama_cpp = import_llama_cpp()
        ctx = self._llm.ctx
        size = int(llama_cpp.llama_state_get_size(ctx))
        buffer = (ctypes.c_uint8 * size)()
        written = int(llama_cpp.llama_state_get_data(ctx, buffer, size))
        return ctypes.string_at(buffer, min(written, size))

    def _prefill(self, messages: tuple[Message, ...], stop: threading.Event) -> None:
        opened = self._render_open(messages)
        if opened is None or stop.is_set():
            return
        text, add_bos = opened
        tokens = self._llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)
        if not 0 < len(tokens) < self._n_ctx:
            return
        # In pieces, so that a prefill asked to stop ends soon and keeps what it read.
        start = reused_prefix(self._llm, tokens)
        for end in (*range(start + _PREFILL_PIECE, len(tokens), _PREFILL_PIECE), len(tokens)):
            if stop.is_set() or not self._evaluate(tokens[:end]):
                return

    def _evaluate(self, tokens: list[int]) -> bool:
        """Bring the context to `tokens` (reusing the common prefix); False if aborted."""
        run = self._llm.generate(tokens, temp=0.0, reset=True)
        try:
            next(run)  # evaluates the prompt, then samples a token that is thrown away
        except StopIteration:
            pass
        except RuntimeError as exc:
            if self._abort.is_set():
                return False
            raise LlamaCppError(f"llama.cpp failed: {exc}") from exc
        finally:
            run.close()
        return True

    def _render_open(self, messages: tuple[Message, ...]) -> tuple[str, bool] | None:
        """`messages` rendered up to the end of the last one's content, left open."""
        last = messages[-1]
        text, add_bos = self._render((*messages[:-1], Message(last.role, last.content + _OPEN)))
        cut = text.find(_OPEN)
        return None if cut < 0 else (text[:cut], add_bos)

    def _render(self, messages: tuple[Message, ...]) -> tuple[str, bool]:
        """The prompt text in the model's chat template, and whether to add BOS."""
        chat = [{"role": m.role, "content": m.content} for m in messages]
        if self._template is None:
            return prompt_text(messages) + "<|assistant|>\n", True
        return str(self._template(messages=chat).prompt), False

    def _grammar(self, request: ModelRequest) -> str | None:
        """The request's constraint as checked GBNF text (a JSON schema is converted)."""
        if request.grammar is None and request.json_schema is None:
            return None
        llama_cpp = import_llama_cpp()
        from_schema = request.grammar is None
        text = request.grammar or json.dumps(request.json_schema, sort_keys=True)
        if text not in self._grammars:
            grammars = importlib.import_module("llama_cpp.llama_grammar")
            try:
                gbnf = grammars.json_schema_to_gbnf(text) if from_schema else text
            except Exception as exc:  # the converter raises plain errors of several types
                raise ModelCapabilityError(
                    f"llama.cpp cannot turn this JSON schema into a grammar: {exc}"
                ) from exc
            # llama.cpp returns NULL for a grammar it cannot parse; check before sampling.
            vocab = llama_cpp.llama_model_get_vocab(self._llm.model)
            sampler = llama_cpp.llama_sampler_init_grammar(vocab, gbnf.encode(), b"root")
            if not sampler:
                raise ModelCapabilityError(
                    "llama.cpp could not parse the GBNF grammar (root rule `root`); "
                    "run with verbose=True to see its error"
                )
            llama_cpp.llama_sampler_free(sampler)
            if len(self._grammars) >= 64:  # plan grammars change with the tool set only
                self._grammars.clear()
            self._grammars[text] = gbnf
        return self._grammars[text]


async def _set_when_cancelled(flag: threading.Event) -> None:
    try:
        await anyio.sleep_forever()
    finally:
        flag.set()


def _uninstall(llm: Any, sampler: LazyGrammarSampler) -> None:
    """Give a `Llama` its own `sample` back and free the sampler."""
    llm.__dict__.pop("sample", None)
    sampler.close()
