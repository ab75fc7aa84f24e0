"""Command-line mistakes are one `error:` line and a documented exit code, found before a
model loads or a server says it is serving."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from typer.testing import CliRunner

from parcall import ScriptedModel
from parcall.cli import _run as cli_run
from parcall.cli import app

NO_MODEL = "http://127.0.0.1:9/v1#none"  # a spec that resolves without connecting


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def one_error_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith("error: "), output
    assert "╭" not in output and "Usage:" not in output, output  # not click's boxed usage error
    return lines[0]


@pytest.fixture
def model_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The model specs `parcall run` resolved (a model is resolved, then loaded, after every
    option is checked)."""
    resolved: list[str] = []

    def resolve(spec: str, **options: Any) -> ScriptedModel:
        resolved.append(spec)
        return ScriptedModel(["1. search('x')\njoin()\n", "Action: Finish(x)"])

    monkeypatch.setattr(cli_run, "resolve_model", resolve)
    return resolved


def test_a_tools_module_that_does_not_load_is_one_error_line(model_loads: list[str]) -> None:
    result = invoke("run", "q", "--tools", "nosuch:x")
    assert result.exit_code == 2
    assert one_error_line(result.output) == (
        "error: --tools 'nosuch:x': cannot load it: No module named 'nosuch'"
    )
    assert model_loads == []


def test_a_tools_value_that_is_not_a_tool_is_one_error_line(model_loads: list[str]) -> None:
    result = invoke("run", "q", "--tools", "os:sep")
    assert result.exit_code == 2
    assert (
        one_error_line(result.output) == "error: --tools 'os:sep' is neither a tool nor a function"
    )
    assert invoke("run", "q", "--tools", "nocolon").exit_code == 2


def test_a_missing_mcp_command_is_found_before_the_model_loads(model_loads: list[str]) -> None:
    result = invoke("run", "q", "--mcp", "nosuchcmd --x")
    assert result.exit_code == 2
    assert one_error_line(result.output) == (
        "error: --mcp 'nosuchcmd --x': there is no command 'nosuchcmd' (not on PATH)"
    )
    assert model_loads == []


def test_a_missing_openapi_file_is_found_before_the_model_loads(
    model_loads: list[str], tmp_path: Any
) -> None:
    missing = str(tmp_path / "nothing.json")
    result = invoke("run", "q", "--openapi", missing)
    assert result.exit_code == 2
    assert one_error_line(result.output) == (
        f"error: --openapi {missing!r}: there is no such file (give a path or an http(s) URL)"
    )
    assert model_loads == []


def test_the_help_says_toolsets_replace_the_built_in_tools_and_add_to_tools() -> None:
    for command in ("run", "serve"):
        text = " ".join(invoke(command, "--help").output.replace("│", " ").split())
        assert "none when --mcp or --openapi bring tools; those add to --tools" in text
        assert text.count("They add to --tools and replace the built-in tools.") == 2


@pytest.mark.parametrize("port", ["99999", "-1"])
def test_a_port_out_of_range_is_one_error_line(port: str) -> None:
    result = invoke("serve", "--model", NO_MODEL, "--port", port)
    assert result.exit_code == 2
    assert one_error_line(result.output) == (
        f"error: --port must be between 0 and 65535, not {port}"
    )


def test_a_port_in_use_is_an_error_before_anything_says_serving() -> None:
    pytest.importorskip("uvicorn", reason="needs the serve extra: pip install -e '.[serve]'")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = invoke("serve", "--model", NO_MODEL, "--port", str(port))
    assert result.exit_code == 1
    line = one_error_line(result.output)  # and no "serving … on http://…" before it
    assert line.startswith(f"error: cannot listen on 127.0.0.1:{port}: ")
    assert "in use" in line


@pytest.mark.parametrize(
    ("args", "says", "help"),
    [
        ("run q --max-replans abc", "invalid value for '--max-replans'", "parcall run"),
        ("run --bogus", "no such option: --bogus", "parcall run"),
        ("nosuchcommand", "no such command 'nosuchcommand'", "parcall"),
        ("--bogus", "no such option: --bogus", "parcall"),
        ("serve --port abc", "invalid value for '--port'", "parcall serve"),
        ("eval hotpotqa --limit x", "invalid value for '--limit'", "parcall eval run"),
        ("eval compare", "missing argument 'a'", "parcall eval compare"),
        ("bench simulated --repeats x", "invalid value for '--repeats'", "parcall bench simulated"),
        ("models pull a b", "got unexpected extra argument(s) (b)", "parcall models pull"),
    ],
)
def test_a_usage_mistake_is_one_error_line_naming_the_help(args: str, says: str, help: str) -> None:
    result = invoke(*args.split())
    assert result.exit_code == 2
    line = one_error_line(result.output)
    assert line.startswith(f"error: {says}"), line
    assert line.endswith(f"; see {help} --help"), line


def test_a_group_alone_still_shows_its_help() -> None:
    result = invoke("models")
    assert result.exit_code == 2
    assert "Usage:" in result.output and "error:" not in result.output
