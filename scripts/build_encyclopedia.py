"""Build the offline encyclopedia shipped with parcall's demo `search` tool.

Reads the HotpotQA dev-distractor records in data/hotpotqa (each question carries ten
Wikipedia lead paragraphs) and writes one article per title to
src/parcall/tools/data/encyclopedia.jsonl.gz, with its attribution file next to it.

    python scripts/build_encyclopedia.py [--source DIR] [--out DIR]

FanOutQA (data/fanoutqa) is not used: it carries sub-answers and Wikipedia page ids but
no article text, so it cannot feed a text search.
"""

from __future__ import annotations

import argparse
import gzip
import html
import io
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = Path("/work/shared/data/hotpotqa")
DEFAULT_OUT = ROOT / "src" / "parcall" / "tools" / "data"
SOURCE_FILE = "hotpot_dev_distractor_60.json"

LICENSE_TEXT = """\
# Licence of `encyclopedia.jsonl.gz`

The articles in `encyclopedia.jsonl.gz` are the lead paragraphs of English Wikipedia
articles as distributed in the **HotpotQA** dataset (dev "distractor" split, the ten context
paragraphs of each of its first 60 questions; {count} distinct articles).

- Text: Wikipedia contributors, English Wikipedia (2017 dump used by HotpotQA). Each record's
  `source` field links the article the paragraph comes from; see the article history there
  for the list of authors.
- Dataset: Zhilin Yang, Peng Qi, Saizheng Zhang, Yoshua Bengio, William W. Cohen,
  Ruslan Salakhutdinov and Christopher D. Manning. "HotpotQA: A Dataset for Diverse,
  Explainable Multi-hop Question Answering." EMNLP 2018. https://hotpotqa.github.io/

Both are licensed under the **Creative Commons Attribution-ShareAlike 4.0 International**
licence (CC BY-SA 4.0): https://creativecommons.org/licenses/by-sa/4.0/

Changes made by parcall: HTML entities decoded (`&amp;` to `&`), the sentences of each
paragraph joined into one text, duplicate titles merged, records sorted by title. This file
and `encyclopedia.jsonl.gz` are distributed under CC BY-SA 4.0, separately from parcall's
own code (Apache-2.0). Rebuild with `python scripts/build_encyclopedia.py`.
"""


def wikipedia_url(title: str) -> str:
    return "https://en.wikipedia.org/wiki/" + quote(title.replace(" ", "_"), safe="_(),'!:")


def clean(text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def articles(records: list[dict[str, Any]]) -> list[dict[str, str]]:
    by_title: dict[str, str] = {}
    for record in records:
        context = record["context"]
        for raw_title, sentences in zip(context["title"], context["sentences"], strict=True):
            title = clean(raw_title)
            text = clean("".join(sentences))
            if text and len(text) > len(by_title.get(title, "")):
                by_title[title] = text
    return [
        {"title": title, "text": by_title[title], "source": wikipedia_url(title)}
        for title in sorted(by_title)
    ]


def write_gzip_jsonl(path: Path, rows: list[dict[str, str]]) -> None:
    buffer = io.BytesIO()
    # mtime=0 and a fixed name keep the file byte-for-byte reproducible.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as out:
        for row in rows:
            out.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
    path.write_bytes(buffer.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    options = parser.parse_args()

    records = json.loads((options.source / SOURCE_FILE).read_text(encoding="utf-8"))
    rows = articles(records)
    options.out.mkdir(parents=True, exist_ok=True)
    data_path = options.out / "encyclopedia.jsonl.gz"
    write_gzip_jsonl(data_path, rows)
    (options.out / "LICENSE-encyclopedia.md").write_text(
        LICENSE_TEXT.format(count=len(rows)), encoding="utf-8"
    )
    print(f"wrote {len(rows)} articles to {data_path} ({data_path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
