"""The offline encyclopedia behind the demo `search` and `lookup` tools."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import pytest

from parcall.tools._encyclopedia import (
    DATA_PATH,
    Article,
    Encyclopedia,
    default_encyclopedia,
    lookup,
    search,
    tokenize,
)


@pytest.fixture(scope="module")
def shipped() -> Encyclopedia:
    return default_encyclopedia()


def _first_title(result: str) -> str:
    return result.split("\n", 1)[0]


def test_data_file_is_small_and_loads(shipped: Encyclopedia) -> None:
    assert DATA_PATH.stat().st_size < 2_000_000
    assert len(shipped) == 591
    assert all(article.title and article.text for article in shipped.articles)
    assert all(
        article.source.startswith("https://en.wikipedia.org/wiki/") for article in shipped.articles
    )


def test_data_file_records_have_title_text_and_source() -> None:
    with gzip.open(DATA_PATH, "rt", encoding="utf-8") as lines:
        first = json.loads(next(lines))
    assert set(first) == {"title", "text", "source"}


def test_licence_file_ships_next_to_the_data() -> None:
    licence = (DATA_PATH.parent / "LICENSE-encyclopedia.md").read_text(encoding="utf-8")
    assert "CC BY-SA 4.0" in licence
    assert "HotpotQA" in licence


def test_html_entities_are_decoded(shipped: Encyclopedia) -> None:
    assert not any("&amp;" in a.title or "&quot;" in a.title for a in shipped.articles)
    assert "Tunnels & Trolls" in _first_title(search("Tunnels & Trolls"))


def test_every_title_finds_its_own_article(shipped: Encyclopedia) -> None:
    misses = [a.title for a in shipped.articles if shipped.search(a.title)[0][0] != a]
    assert misses == []


def test_search_result_is_title_then_paragraph() -> None:
    result = search("Scott Derrickson")
    title, text = result.split("\n", 1)
    assert title == "Scott Derrickson"
    assert text.startswith("Scott Derrickson (born July 16, 1966) is an American director")


def test_exact_title_beats_qualified_title() -> None:
    assert _first_title(search("Ed Wood")) == "Ed Wood"
    assert _first_title(search("Ed Wood film")) == "Ed Wood (film)"


def test_entity_plus_attribute_query_finds_the_entity() -> None:
    assert _first_title(search("Ed Wood nationality")) == "Ed Wood"
    assert _first_title(search("Shirley Temple government position")) == "Shirley Temple"


def test_near_spelling_of_a_title_matches() -> None:
    assert _first_title(search("Scot Derickson")) == "Scott Derrickson"
    assert _first_title(search("sergio perez")) == "Sergio Pérez"


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("Italian theoretical physicist, founder of loop quantum gravity", "Carlo Rovelli"),
        ("arena in Lewiston Maine that opened in 1958", "Androscoggin Bank Colisée"),
        ("largest hypermarket chains headquartered in Boulogne Billancourt", "Carrefour"),
        ("genus of large barrel-shaped cacti", "Ferocactus"),
    ],
)
def test_content_queries_find_the_paragraph(query: str, title: str) -> None:
    assert title in [article.title for article, _ in default_encyclopedia().search(query, 3)]


def test_k_returns_several_paragraphs_best_first() -> None:
    result = search("Ed Wood", k=2)
    blocks = result.split("\n\n")
    assert [_first_title(block) for block in blocks] == ["Ed Wood", "Ed Wood (film)"]


def test_k_below_one_is_rejected() -> None:
    with pytest.raises(ValueError, match="k must be at least 1"):
        search("Ed Wood", k=0)


@pytest.mark.parametrize("query", ["zzqx blorf", "the of and", "", "!!!"])
def test_unknown_query_says_no_result(query: str) -> None:
    assert search(query).startswith("No result for")


def test_lookup_by_exact_and_unqualified_title() -> None:
    assert _first_title(lookup("Shirley Temple")) == "Shirley Temple"
    assert _first_title(lookup("ed wood (film)")) == "Ed Wood (film)"
    assert _first_title(lookup("Kiss and Tell")) == "Kiss and Tell (1945 film)"


def test_lookup_of_unknown_title_suggests_similar_ones() -> None:
    result = lookup("Derrick Scottson")
    assert result.startswith("No result for the title")
    assert "Scott Derrickson" in result


@pytest.mark.parametrize(
    "title",
    [
        "Scott Derrickson",
        "Ed Wood",
        "Annie Morton",
        "Terry Richardson",
        "Laleli Mosque",
        "Esma Sultan Mansion",
        "Elko Regional Airport",
        "Gerald R. Ford International Airport",
        "Freakonomics (film)",
        "In the Realm of the Hackers",
        "Ferocactus",
        "Silene",
        "Ajuga",
        "Dictyosperma",
        "Letters to Cleo",
        "Screaming Trees",
        "Wolf Alice",
        "Buck-Tick",
        "Peter Schmeichel",
        "Kasper Schmeichel",
        "Richard Nixon",
    ],
)
def test_demo_question_entities_are_covered(title: str) -> None:
    assert _first_title(search(title)) == title


def test_queries_are_fast_after_load(shipped: Encyclopedia) -> None:
    queries = [article.title + " history" for article in shipped.articles[:200]]
    started = time.perf_counter()
    for query in queries:
        shipped.search(query, 3)
    assert (time.perf_counter() - started) / len(queries) < 0.05


def test_tokenize_folds_case_accents_plurals_and_stopwords() -> None:
    assert tokenize("The Pérez brothers' Cars") == ["perez", "brother", "car"]


def test_custom_encyclopedia_from_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "tiny.jsonl"
    rows = [
        {"title": "Alpha", "text": "Alpha is the first letter.", "source": "x"},
        {"title": "Beta", "text": "Beta follows alpha.", "source": "y"},
    ]
    path.write_text("\n".join(json.dumps(row) for row in rows), encoding="utf-8")
    tiny = Encyclopedia.load(path)
    assert len(tiny) == 2
    assert tiny.lookup("beta") == Article("Beta", "Beta follows alpha.", "y")
    assert [article.title for article, _ in tiny.search("first letter", 2)] == ["Alpha"]
