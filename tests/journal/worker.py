"""A journaled run in its own process, for the kill test: `worker.py DB LOG run|resume ID`.

Tools sleep a little and write `start N PID` / `end N PID` lines to LOG; the plan streams
slowly. The test kills this process at random points and resumes the run until it ends.
"""

from __future__ import annotations

import os
import sys

import anyio

from parcall import Agent, ScriptedModel, tool

PLAN = "\n".join(
    [
        "1. step(n=1)",
        "2. step(n=2)",
        "3. step(n=3, after=$1)",
        "4. step(n=4, after=$2)",
        "5. step(n=5, after=$3)",
        "6. step(n=6, after=$4)",
        'finish("$5 and $6")',
    ]
)


def make_agent(db: str, log: str) -> Agent:
    def write(line: str) -> None:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{line} {os.getpid()}\n")

    @tool
    async def step(n: int, after: int = 0) -> int:
        """One step of work.

        Args:
            n: the step.
            after: the result it builds on.
        """
        write(f"start {n}")
        await anyio.sleep(0.15)
        write(f"end {n}")
        return after * 10 + n

    return Agent(ScriptedModel([PLAN], tokens_per_second=60), [step], store=db)


def main() -> None:
    db, log, mode, run_id = sys.argv[1:5]
    agent = make_agent(db, log)
    print("ready", flush=True)
    assert agent.store is not None
    # Killed before the run reached the journal: there is nothing to resume, run it anew.
    journaled = anyio.run(agent.store.get, run_id) is not None
    if mode == "resume" and journaled:
        result = agent.resume_sync(run_id)
    else:
        result = agent.run_sync("Do the steps.", run_id=run_id)
    print(f"answer {result.answer}", flush=True)


if __name__ == "__main__":
    main()
