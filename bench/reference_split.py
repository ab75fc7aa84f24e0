"""Write one split of parcall's HotpotQA questions as a data file for the reference agents.

The reference script (`../shared/reference/hotpotqa_agents.py`) reads HotpotQA distractor
records (the Hugging Face column format) and runs its first N. parcall splits the same 60
questions into dev and test by a hash of each question (`parcall.eval.split_of`); this
writes the records of one split, in parcall's order, so both sides answer the same
questions:

    python bench/reference_split.py --split dev --out /tmp/hotpotqa-dev.json
    python ../shared/reference/hotpotqa_agents.py "$(parcall models path local)" 32 \\
        ref.jsonl /tmp/hotpotqa-dev.json

Records are read from parcall's shipped copy of the data, so no other file is needed.
"""

from __future__ import annotations

import argparse
import gzip
import json
from importlib import resources
from pathlib import Path
from typing import Any

from parcall.eval._hotpotqa import DATA_FILE, HotpotQA


def split_records(split: str) -> list[dict[str, Any]]:
    """The raw records of `split`, in the order `parcall eval` runs them."""
    raw = resources.files("parcall.eval").joinpath("data").joinpath(DATA_FILE).read_bytes()
    records = {r["question"]: r for r in json.loads(gzip.decompress(raw))}
    return [records[e.question] for e in HotpotQA().examples(split)]  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("dev", "test"), required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    records = split_records(args.split)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    print(f"{len(records)} {args.split} questions -> {args.out}")


if __name__ == "__main__":
    main()
