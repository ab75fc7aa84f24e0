"""An offline encyclopedia for demos: Wikipedia lead paragraphs searched with BM25.

The shipped data (`data/encyclopedia.jsonl.gz`, CC BY-SA 4.0, see
`data/LICENSE-encyclopedia.md`) holds the 591 distinct paragraphs that the first 60 HotpotQA
dev questions draw on, so those questions and comparisons between their entities can be
answered with no network. It is loaded once, on first use.
"""

from __future__ import annotations

import difflib
import gzip
import json
import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DATA_PATH", "Article", "Encyclopedia", "lookup", "search"]

DATA_PATH = Path(__file__).with_name("data") / "encyclopedia.jsonl.gz"
MAX_RESULTS = 10

_STOPWORD_TEXT = """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    few for from further had has have having he her here hers herself him himself his how
    i if in into is it its itself just me more most my myself no nor not of off on once
    only or other our ours ourselves out over own same she should so some such than that
    the their theirs them themselves then there these they this those through to too under
    until up very was we were what when where which while who whom why will with would you
    your yours yourself yourselves s t tell find show give me please
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())

# BM25F parameters: the title is a short, strong field; the body a long, weak one.
_K1 = 1.2
_TITLE_WEIGHT, _TITLE_B = 3.0, 0.5
_BODY_WEIGHT, _BODY_B = 1.0, 0.75
# Title matches outrank any text score: an exact title, then the title without its
# "(film)"-style qualifier, then a near spelling of either.
_EXACT_TITLE_BONUS = 1000.0
_BASE_TITLE_BONUS = 500.0
_NEAR_TITLE_BONUS = 250.0
_NEAR_TITLE_CUTOFF = 0.85
# A query that names the whole title ("Scott Derrickson nationality") gets this share of
# the title's idf mass on top of its text score.
_CONTAINED_TITLE_WEIGHT = 0.5


def _fold(text: str) -> str:
    """Lowercase and strip accents, so "Pérez" and "perez" are the same word."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Split text into lowercase, accent-free, lightly stemmed content words."""
    words = re.findall(r"[a-z0-9]+", _fold(text).replace("'", ""))
    return [_stem(word) for word in words if word not in _STOPWORDS]


def _title_key(title: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", _fold(title).replace("'", "")))


def _base_title(title: str) -> str:
    """The title without a trailing qualifier: "Ed Wood (film)" -> "Ed Wood"."""
    return re.sub(r"\s*\([^)]*\)\s*$", "", title) or title


@dataclass(frozen=True)
class Article:
    """One encyclopedia entry: a Wikipedia lead paragraph and where it comes from."""

    title: str
    text: str
    source: str

    def render(self) -> str:
        return f"{self.title}\n{self.text}"


class Encyclopedia:
    """A small in-memory BM25F index over articles, with title matching on top."""

    def __init__(self, articles: Iterable[Article]) -> None:
        self.articles: tuple[Article, ...] = tuple(articles)
        count = len(self.articles)
        title_terms = [Counter(tokenize(article.title)) for article in self.articles]
        body_terms = [Counter(tokenize(article.text)) for article in self.articles]
        title_lengths = [sum(terms.values()) for terms in title_terms]
        body_lengths = [sum(terms.values()) for terms in body_terms]
        average_title = max(sum(title_lengths) / max(count, 1), 1.0)
        average_body = max(sum(body_lengths) / max(count, 1), 1.0)

        document_frequency: Counter[str] = Counter()
        for titles, bodies in zip(title_terms, body_terms, strict=True):
            document_frequency.update(set(titles) | set(bodies))
        self._idf = {
            term: math.log(1.0 + (count - df + 0.5) / (df + 0.5))
            for term, df in document_frequency.items()
        }

        # term -> [(article index, saturated BM25F term weight)], computed once.
        self._postings: dict[str, list[tuple[int, float]]] = {}
        for index in range(count):
            title_norm = 1 - _TITLE_B + _TITLE_B * title_lengths[index] / average_title
            body_norm = 1 - _BODY_B + _BODY_B * body_lengths[index] / average_body
            for term in set(title_terms[index]) | set(body_terms[index]):
                frequency = (
                    _TITLE_WEIGHT * title_terms[index][term] / title_norm
                    + _BODY_WEIGHT * body_terms[index][term] / body_norm
                )
                weight = frequency / (_K1 + frequency)
                self._postings.setdefault(term, []).append((index, weight))

        self._by_key: dict[str, list[int]] = {}
        self._by_base_key: dict[str, list[int]] = {}
        for index, article in enumerate(self.articles):
            self._by_key.setdefault(_title_key(article.title), []).append(index)
            base = _title_key(_base_title(article.title))
            self._by_base_key.setdefault(base, []).append(index)
        self._base_terms = [set(tokenize(_base_title(a.title))) for a in self.articles]
        self._title_terms = [set(terms) for terms in title_terms]
        self._title_keys = sorted(set(self._by_key) | set(self._by_base_key))

    @classmethod
    def load(cls, path: Path = DATA_PATH) -> Encyclopedia:
        """Read a `.jsonl.gz` (or plain `.jsonl`) file of `{title, text, source}` records."""
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as lines:
            articles = [
                Article(title=row["title"], text=row["text"], source=row.get("source", ""))
                for row in map(json.loads, lines)
                if row.get("title") and row.get("text")
            ]
        return cls(articles)

    def __len__(self) -> int:
        return len(self.articles)

    def search(self, query: str, k: int = 1) -> list[tuple[Article, float]]:
        """The k best articles for a query with their scores, best first; empty if none match."""
        scores: dict[int, float] = {}
        terms = set(tokenize(query))
        for term in terms:
            idf = self._idf.get(term, 0.0)
            for index, weight in self._postings.get(term, ()):
                scores[index] = scores.get(index, 0.0) + idf * weight
        for index in scores:
            base_terms = self._base_terms[index]
            if base_terms and base_terms <= terms:
                title_mass = sum(self._idf.get(term, 0.0) for term in base_terms)
                # "Ed Wood nationality" names "Ed Wood" more than "Ed Wood (film)".
                qualified = not self._title_terms[index] <= terms
                weight = _CONTAINED_TITLE_WEIGHT * (0.8 if qualified else 1.0)
                scores[index] += weight * title_mass
        for index, bonus in self._title_matches(query).items():
            scores[index] = scores.get(index, 0.0) + bonus
        ranked = sorted(scores.items(), key=lambda item: (-item[1], self.articles[item[0]].title))
        return [(self.articles[index], score) for index, score in ranked[:k] if score > 0]

    def lookup(self, title: str) -> Article | None:
        """The article with this title (or, failing that, the nearest title), if any."""
        matches = self._title_matches(title)
        if not matches:
            return None
        best = max(matches, key=lambda index: (matches[index], -len(self.articles[index].title)))
        return self.articles[best]

    def similar_titles(self, title: str, n: int = 3) -> list[str]:
        """Up to n titles spelled most like the given one."""
        keys = difflib.get_close_matches(_title_key(title), self._title_keys, n=n, cutoff=0.5)
        found: list[str] = []
        for key in keys:
            for index in self._by_key.get(key, []) + self._by_base_key.get(key, []):
                if self.articles[index].title not in found:
                    found.append(self.articles[index].title)
        return found[:n]

    def _title_matches(self, text: str) -> dict[int, float]:
        key = _title_key(text)
        if not key or len(key) > 120:
            return {}
        matches: dict[int, float] = {}
        for index in self._by_key.get(key, []):
            matches[index] = _EXACT_TITLE_BONUS
        for index in self._by_base_key.get(key, []):
            matches.setdefault(index, _BASE_TITLE_BONUS)
        if not matches:
            near = difflib.get_close_matches(key, self._title_keys, n=3, cutoff=_NEAR_TITLE_CUTOFF)
            for rank, near_key in enumerate(near):
                for index in self._by_key.get(near_key, []) + self._by_base_key.get(near_key, []):
                    matches.setdefault(index, _NEAR_TITLE_BONUS - rank)
        return matches


_default: Encyclopedia | None = None
_default_lock = threading.Lock()


def default_encyclopedia() -> Encyclopedia:
    """The shipped encyclopedia, loaded on first use and shared after that (thread-safe)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Encyclopedia.load()
    return _default


def _no_result(what: str, encyclopedia: Encyclopedia, hint: Sequence[str] = ()) -> str:
    message = (
        f"No result for {what} in the offline encyclopedia"
        f" ({len(encyclopedia)} Wikipedia lead paragraphs)."
    )
    if hint:
        message += " Similar titles: " + "; ".join(hint) + "."
    return message + " Try another wording or the exact name of a person, place or work."


def search(query: str, k: int = 1) -> str:
    """Search the offline encyclopedia and return the best matching paragraphs.

    Each result is the article title on one line and its lead paragraph below it; results
    are separated by a blank line. Works best with the name of an entity (a person, film,
    band, place), optionally followed by what you want to know about it.

    Args:
        query: What to look for, e.g. "Scott Derrickson" or "Ed Wood nationality".
        k: How many paragraphs to return, best first (1 to 10).
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    encyclopedia = default_encyclopedia()
    hits = encyclopedia.search(query, min(k, MAX_RESULTS))
    if not hits:
        return _no_result(repr(query), encyclopedia)
    return "\n\n".join(article.render() for article, _ in hits)


def lookup(title: str) -> str:
    """Return the encyclopedia article with the given title.

    An exact title wins; a title without its qualifier ("Ed Wood" for "Ed Wood (film)") or a
    near spelling is accepted when nothing matches exactly.

    Args:
        title: The article title, e.g. "Shirley Temple".
    """
    encyclopedia = default_encyclopedia()
    article = encyclopedia.lookup(title)
    if article is None:
        return _no_result(f"the title {title!r}", encyclopedia, encyclopedia.similar_titles(title))
    return article.render()
