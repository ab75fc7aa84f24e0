"""`extract`: a model-backed tool that turns a passage into the value the next step needs.

Search results are paragraphs; the next tool wants a name, a number or a date. A plan
writes `2. extract(question="Who directed the film?", context=$1)` and `3. search(query=$2)`
instead of pasting a whole paragraph into a query (LLMCompiler reads its math tool's
`context` with the model the same way). The answer is short and, when it is a plain number,
typed as one.
"""

from __future__ import annotations

import re

from .._core.tool import Tool
from ..models._base import Message, Model, ModelRequest, TextChunk

__all__ = ["EXTRACT_SYSTEM", "extract_tool"]

EXTRACT_SYSTEM = """\
You read a text and answer one question about it with the shortest exact answer copied from \
the text: a name, a number, a date, a place or yes/no. No sentence, no explanation. If the \
text does not contain the answer, reply: unknown"""

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def extract_tool(
    model: Model,
    *,
    name: str = "extract",
    max_tokens: int = 24,
    context_chars: int = 1500,
    grammar: bool | None = None,
) -> Tool:
    """A tool `extract(question, context)` that asks `model` for a short answer.

    `grammar` constrains the answer to one short line (default: on for in-process llama.cpp
    models, which accept GBNF). Calls go through the same backend as the agent's planner, so
    an in-process model runs them one at a time.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, not {max_tokens!r}")
    if context_chars < 1:
        raise ValueError(f"context_chars must be at least 1, not {context_chars!r}")
    use_grammar = _accepts_grammar(model) if grammar is None else grammar
    line = "root ::= [^\\n]{1,80}\n" if use_grammar else None

    async def extract(question: str, context: str) -> str | int | float:
        """Read a text (usually an earlier result, e.g. $1) and return the short answer to a
        question about it: a name, a number, a date or yes/no. Use it to turn a search result
        into the value the next step needs.

        Args:
            question: what to find in the text, e.g. "Who directed the film?".
            context: the text to read, usually an earlier result such as $1.
        """
        text = " ".join(str(context).split())[:context_chars]
        request = ModelRequest(
            messages=(
                Message("system", EXTRACT_SYSTEM),
                Message("user", f"Text: {text}\nQuestion: {question}\nShort answer:"),
            ),
            purpose="other",
            stop=("\n",),
            max_tokens=max_tokens,
            temperature=0.0,
            grammar=line,
        )
        pieces: list[str] = []
        async for chunk in model.stream(request):
            if isinstance(chunk, TextChunk):
                pieces.append(chunk.text)
        return _typed(_clean("".join(pieces)))

    return Tool.from_function(extract, name=name)


def _accepts_grammar(model: Model) -> bool:
    return type(model).__name__ == "LlamaCpp" or bool(getattr(model, "supports_grammar", False))


def _clean(answer: str) -> str:
    answer = answer.strip().splitlines()[0] if answer.strip() else ""
    answer = re.sub(r"^(short answer|answer)\s*:\s*", "", answer, flags=re.IGNORECASE)
    return answer.strip().strip("\"'").rstrip(".").strip()


def _typed(answer: str) -> str | int | float:
    if _NUMBER.fullmatch(answer.replace(",", "")):
        number = float(answer.replace(",", ""))
        return int(number) if number.is_integer() and "." not in answer else number
    return answer
