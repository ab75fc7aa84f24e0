"""The command line: mistakes are one `error:` line and exit 2, found before anything is
downloaded or loaded; what a run did (plan errors too) is shown; figures go to --out."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import parcall.cli._run
from parcall import ScriptedModel
from parcall._core.extras import EXTRAS, MissingExtraError, require
from parcall.cli import app

ROOT = Path(__file__).resolve().parents[2]


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "error:" in line]


@pytest.fixture
def nothing_fetched(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records (and stops) any attempt to fetch or load a model."""
    fetched: list[str] = []
    monkeypatch.setattr(
        parcall.cli._run, "_pull_with_progress", lambda spec, _: fetched.append(spec)
    )
    return fetched


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """`-m` resolves to a scripted model whose outputs a test sets; records the options."""
    seen: dict[str, Any] = {"outputs": []}

    def resolve(spec: str, **options: Any) -> ScriptedModel:
        seen["spec"], seen["options"] = spec, options
        return ScriptedModel(seen["outputs"])

    monkeypatch.setattr(parcall.cli._run, "resolve_model", resolve)
    return seen


@pytest.mark.parametrize("question", ["", "   "])
def test_an_empty_question_is_refused_before_anything_runs(
    question: str, nothing_fetched: list[str], scripted: dict[str, Any]
) -> None:
    result = invoke("run", question, "-m", "local:tiny")
    assert result.exit_code == 2
    assert error_lines(result.output) == [result.output.strip()]
    assert "question is empty" in result.output
    assert nothing_fetched == [] and "spec" not in scripted


@pytest.mark.parametrize("spec", ["nosuchmodel", "local:huge", "missing.gguf", "openai:"])
def test_every_bad_model_spec_is_the_same_mistake(spec: str, nothing_fetched: list[str]) -> None:
    result = invoke("run", "What is 2 + 2?", "-m", spec)
    assert result.exit_code == 2
    assert result.output.startswith("error: ")
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output and nothing_fetched == []


def test_unknown_local_and_unknown_form_are_worded_alike() -> None:
    huge, unknown = invoke("run", "q", "-m", "local:huge"), invoke("run", "q", "-m", "nosuch")
    assert huge.output.replace("local:huge", "X") == unknown.output.replace("nosuch", "X")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--format", "yaml"], "--format must be one of text, json, tools"),
        (["--max-replans", "-1"], "max_replans must be at least 0"),
        (["--trace", "/no/such/folder/run.jsonl"], "there is no folder"),
    ],
)
def test_options_are_checked_before_the_model_is_fetched(
    args: list[str], says: str, nothing_fetched: list[str]
) -> None:
    result = invoke("run", "What is 2 + 2?", "-m", "local:tiny", *args)
    assert result.exit_code == 2, result.output
    assert says in result.output
    assert nothing_fetched == []


def test_verbose_is_passed_to_a_local_model(
    scripted: dict[str, Any], nothing_fetched: list[str]
) -> None:
    scripted["outputs"] += ['1. calculator(expression="2 + 2")\njoin()', "Action: Finish(4)"]
    assert invoke("run", "2 + 2?", "-m", "local:tiny", "--verbose").exit_code == 0
    assert scripted["options"] == {"verbose": True}
    assert invoke("run", "2 + 2?", "-m", "local:tiny").exit_code == 0
    assert scripted["options"] == {"verbose": False}


BROKEN = '1. search(query="Ed Wood")\n2. search(query=123)\njoin()'


def test_plan_errors_are_in_the_json_output(scripted: dict[str, Any]) -> None:
    scripted["outputs"] += [BROKEN, "Action: Finish(American)"]
    result = invoke("run", "Who was Ed Wood?", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [(e["round"], e["line"]) for e in payload["plan_errors"]] == [(0, 2)]
    assert "search: bad value for 'query'" in payload["plan_errors"][0]["message"]
    assert [o["idx"] for o in payload["observations"]] == [1]


def test_plan_errors_are_in_the_live_view(scripted: dict[str, Any]) -> None:
    scripted["outputs"] += [BROKEN, "Action: Finish(American)"]
    result = invoke("run", "Who was Ed Wood?")
    assert result.exit_code == 0, result.output
    assert "plan error (round 0): line 2: search: bad value for 'query'" in result.output


def test_a_run_error_starts_on_its_own_line_after_the_view(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = invoke("run", "What is 2 + 2?", "-m", "openai:gpt-4o-mini")
    assert result.exit_code == 1
    (line,) = error_lines(result.output)
    assert line.startswith("error: ModelAuthError")
    assert "tokens" in result.output.split("error:")[0]  # the view was shown, and closed


@pytest.mark.parametrize(("module", "extra"), [(m, e) for m, (e, _) in EXTRAS.items()])
def test_every_missing_extra_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, module: str, extra: str
) -> None:
    tomllib = pytest.importorskip("tomllib", reason="needs Python 3.11 or later (tomllib)")
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert extra in declared["optional-dependencies"]
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingExtraError, match=rf"pip install 'parcall\[{extra}\]'$"):
        require(module, needed_for="this")


def test_a_png_without_matplotlib_is_one_line_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    trace = tmp_path / "run.jsonl"
    trace.write_text(json.dumps({"kind": "answered", "answer": "4", "time": 0.1}) + "\n")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = invoke("trace", str(trace), "--png", str(tmp_path / "t.png"))
    assert result.exit_code == 2
    assert error_lines(result.output) == [
        "error: a PNG timeline needs matplotlib: pip install 'parcall[bench]'"
    ]
    assert "Traceback" not in result.output and not (tmp_path / "t.png").exists()


def test_a_local_model_without_llama_cpp_is_one_line_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch, nothing_fetched: list[str]
) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    result = invoke("run", "What is 2 + 2?", "-m", "local:tiny")
    assert result.exit_code == 2
    (line,) = error_lines(result.output)
    assert "pip install 'parcall[llama]'" in line and nothing_fetched == []


def test_bench_writes_to_a_new_folder_here_unless_given_out(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["bench", "micro", "--sizes", "10", "--concurrent-runs", "0"]
    assert invoke(*args).exit_code == 0
    (made,) = tmp_path.glob("parcall-bench-*")
    assert sorted(p.name for p in made.iterdir()) == ["micro.json", "micro.md"]
    assert invoke(*args, "--out", "mine").exit_code == 0
    assert (tmp_path / "mine" / "micro.json").exists()
    assert len(list(tmp_path.glob("parcall-bench-*"))) == 1  # --out was used, not a new one


def test_the_bench_library_writes_nothing_unless_given_a_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from parcall.bench import run_micro

    monkeypatch.chdir(tmp_path)
    report = run_micro((10,), dispatch_runs=1, concurrent_runs=0, show_progress=False)
    assert report.files == [] and list(tmp_path.iterdir()) == []


def test_tools_load_from_a_module_in_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = 'def shout(text: str) -> str:\n    """Shout."""\n    return text.upper()\n'
    (tmp_path / "my_folder_tools.py").write_text(source + "\nTOOLS = [shout]\n")
    monkeypatch.chdir(tmp_path)
    # As under the `parcall` script: its own folder is on the path, the user's is not.
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    from parcall.cli._agent_flags import _load_tools

    assert [t.name for t in _load_tools(["my_folder_tools:TOOLS"])] == ["shout"]
