"""Records files read back for comparing and summarising: parcall's own (`parcall eval`'s
JSONL, one line per example) and the reference agents' output (`hotpotqa_agents.py`, one
line per question and agent), both as records keyed by example id.

A reference line `{"idx", "agent", "question", "answer", "em", "f1", "wall_s",
"llm_calls", "prompt_tokens", "completion_tokens", ...}` becomes a record of the HotpotQA
example with that question (ids are a hash of the question, so the reference may have run
on the whole 60-question file or on a split written by `write_hotpotqa_split`). A line without
`question` is mapped by `idx` into parcall's 60-question file. A file holding several
agents is read as `FILE#AGENT` (`reference.jsonl#react`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ._dataset import split_of

__all__ = ["RunRecords", "load_run"]


@dataclass(frozen=True)
class RunRecords:
    """The records of one run by example id, and what is known of the run."""

    label: str
    """The file name, with `#agent` for a reference file."""
    path: Path
    source: Literal["parcall", "reference"]
    dataset: str | None
    """The dataset's registry name, when the file or its summary says it."""
    primary: str | None
    records: Mapping[str, Mapping[str, Any]]
    about: Mapping[str, Any]
    """The run's row of `summary.json` next to the file (agent, model, split, command...),
    or what the reference file says (agent)."""

    @property
    def split(self) -> str:
        """`dev`, `test`, or `dev+test` when the records span both."""
        splits = sorted({split_of(i) for i in self.records})
        return "+".join(splits) if splits else "–"

    def only(self, ids: Sequence[str] | set[str]) -> RunRecords:
        """The same run restricted to the records of `ids`."""
        chosen = {i: r for i, r in self.records.items() if i in ids}
        return RunRecords(
            self.label, self.path, self.source, self.dataset, self.primary, chosen, self.about
        )


def load_run(spec: str | os.PathLike[str]) -> RunRecords:
    """Read a records file: parcall's JSONL, or a reference file as `FILE` or `FILE#AGENT`.

    Raises `FileNotFoundError` for a missing file and `ValueError` (naming the file and what
    is wrong) for a file that holds neither kind of record."""
    path, agent = _split_spec(spec)
    lines = path.read_text(encoding="utf-8").splitlines()
    rows: list[dict[str, Any]] = []
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:
            continue  # a line cut short by an interruption, as the runner skips it
        if isinstance(row, dict):
            rows.append(row)
    if not rows:
        raise ValueError(f"{path}: no records (expected one JSON object per line)")
    if all("id" in r and isinstance(r.get("scores"), dict) for r in rows):
        if agent is not None:
            raise ValueError(
                f"{path} holds parcall records of one run: '#{agent}' only picks an agent "
                "of a reference file"
            )
        return _parcall_run(path, rows)
    if all("idx" in r and "agent" in r for r in rows):
        return _reference_run(path, rows, agent)
    raise ValueError(
        f"{path}: neither parcall eval records (lines with id and scores) nor reference "
        "agent records (lines with idx, agent, em, f1)"
    )


def _split_spec(spec: str | os.PathLike[str]) -> tuple[Path, str | None]:
    text = os.fspath(spec)
    path = Path(text)
    if path.is_file() or "#" not in text:
        if not path.is_file():
            raise FileNotFoundError(f"no such records file: {text}")
        return path, None
    name, agent = text.rsplit("#", 1)
    if not Path(name).is_file():
        raise FileNotFoundError(f"no such records file: {name}")
    return Path(name), agent or None


def _parcall_run(path: Path, rows: Sequence[dict[str, Any]]) -> RunRecords:
    records = {str(r["id"]): r for r in rows}  # a later line of an id replaces an earlier one
    about = _summary_row(path) or _about_from_name(path.name)
    dataset = about.get("dataset") or _dataset_of(path.name.split(".", 1)[0])
    primary = about.get("primary") or _primary_of(dataset)
    if primary is None:
        primary = min((k for r in rows for k in r["scores"]), default=None)
    return RunRecords(path.name, path, "parcall", dataset, primary, records, about)


def _summary_row(path: Path) -> dict[str, Any]:
    """The row of `summary.json` beside the file that was summarised from it, if any."""
    try:
        rows = json.loads((path.parent / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(rows, list):
        return {}
    for row in rows:
        if isinstance(row, dict) and row.get("records_file") == path.name:
            return row
    return {}


def _about_from_name(name: str) -> dict[str, Any]:
    """Agent and model from a records file's name (`dataset.split.agent.model...jsonl`)."""
    parts = name.removesuffix(".jsonl").split(".")
    return {"agent": parts[2], "model": parts[3]} if len(parts) >= 4 else {}


def _dataset_of(name: str) -> str | None:
    from ._registry import dataset_names

    return name if name in dataset_names() else None


def _primary_of(dataset: str | None) -> str | None:
    if dataset is None:
        return None
    from ._registry import load_dataset

    try:
        return str(load_dataset(dataset).primary)
    except Exception:  # a dataset whose extra is missing still compares by its records
        return None


def _reference_run(path: Path, rows: Sequence[dict[str, Any]], agent: str | None) -> RunRecords:
    agents = sorted({str(r["agent"]) for r in rows})
    if agent is None:
        if len(agents) > 1:
            raise ValueError(
                f"{path} holds the reference agents {', '.join(agents)}: name one, "
                f"e.g. {path}#{agents[0]}"
            )
        agent = agents[0]
    if agent not in agents:
        raise ValueError(f"{path} has no agent {agent!r}: it holds {', '.join(agents)}")
    ids: list[str] | None = None
    records: dict[str, dict[str, Any]] = {}
    for row in rows:
        if str(row["agent"]) != agent:
            continue
        question = row.get("question")
        if isinstance(question, str):
            from ._hotpotqa import example_id

            example = example_id(question)
        else:
            ids = ids if ids is not None else _file_ids()
            example = _idx_id(path, row["idx"], ids)
        records[example] = _reference_record(example, row)
    about = {"agent": f"reference {agent}", "model": "–", "format": None}
    return RunRecords(f"{path.name}#{agent}", path, "reference", "hotpotqa", "em", records, about)


def _file_ids() -> list[str]:
    from ._hotpotqa import example_id, source_records

    return [example_id(r["question"]) for r in source_records()]


def _idx_id(path: Path, idx: Any, ids: Sequence[str]) -> str:
    if not isinstance(idx, int) or not 0 <= idx < len(ids):
        raise ValueError(
            f"{path}: idx {idx!r} is not a question of the {len(ids)}-question HotpotQA file "
            "(a line without 'question' is mapped by idx into that file)"
        )
    return ids[idx]


def _reference_record(example: str, row: Mapping[str, Any]) -> dict[str, Any]:
    def number(key: str) -> float:
        value = row.get(key)
        return float(value) if isinstance(value, (int, float)) else 0.0

    return {
        "id": example,
        "question": row.get("question", ""),
        "gold": row.get("gold"),
        "prediction": row.get("answer", ""),
        "scores": {"em": number("em"), "f1": number("f1")},
        "wall_s": number("wall_s"),
        "model_calls": number("llm_calls"),
        "tokens_in": number("prompt_tokens"),
        "tokens_cached": None,  # not reported by the script
        "tokens_out": number("completion_tokens"),
        "replans": max(0, len(row.get("plan_ok") or [True]) - 1),
        "error": None,
    }
