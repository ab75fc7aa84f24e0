"""`parcall eval` with the joiner's prompt options switched (they are not flags of it).

    python bench/prompt_lever.py [--join-rules] [--result-sentences N] -- EVAL ARGS...

For example, the joiner's rules in the cached system prompt on HotpotQA dev:

    python bench/prompt_lever.py --join-rules -- eval hotpotqa --split dev --out DIR

Every argument after `--` goes to `parcall` as it is; the records and summary are
`parcall eval`'s own (the summary's command does not name the lever: keep each in its own
`--out`).
"""

from __future__ import annotations

import functools
import sys

import parcall.eval._record as record
from parcall._planner.prompts import JOIN_RULES, Prompts
from parcall.cli import main


def _prompts(options: list[str]) -> Prompts:
    kwargs: dict[str, object] = {}
    if "--join-rules" in options:
        kwargs["join_rules"] = JOIN_RULES
    if "--result-sentences" in options:
        kwargs["result_sentences"] = int(options[options.index("--result-sentences") + 1])
    return Prompts(**kwargs)  # type: ignore[arg-type]


if __name__ == "__main__":
    if "--" not in sys.argv:
        sys.exit(__doc__)
    cut = sys.argv.index("--")
    prompts = _prompts(sys.argv[1:cut])
    record.Agent = functools.partial(record.Agent, prompts=prompts)  # type: ignore[misc]
    sys.argv = ["parcall", *sys.argv[cut + 1 :]]
    sys.exit(main())
