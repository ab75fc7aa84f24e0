"""A tool source that starts and then fails (an MCP server that exits at once, writes what is
not MCP or never answers; an OpenAPI document that cannot be read) is one `error:` line
with exit code 2, found before a model loads or a server says it is serving."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from parcall import ScriptedModel
from parcall.cli import _agent_flags, app
from parcall.cli import _run as cli_run

pytest.importorskip("mcp", reason="needs the mcp extra: pip install -e '.[mcp]'")

NO_MODEL = "http://127.0.0.1:9/v1#none"  # a spec that resolves without connecting


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def error_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith("error: "), output
    return lines[0]


def server(tmp_path: Path, code: str) -> str:
    """A command line running `code` as a would-be MCP server."""
    script = tmp_path / "server.py"
    script.write_text(code, encoding="utf-8")
    return shlex.join([sys.executable, str(script)])


@pytest.fixture
def model_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The model specs `parcall run` resolved; the model would load after the toolsets open."""
    resolved: list[str] = []

    def resolve(spec: str, **options: Any) -> ScriptedModel:
        resolved.append(spec)
        return ScriptedModel(["1. search('x')\njoin()\n", "Action: Finish(x)"])

    monkeypatch.setattr(cli_run, "resolve_model", resolve)
    monkeypatch.setattr(cli_run, "load_model", _no_load)
    return resolved


async def _no_load(*args: Any) -> float:
    raise AssertionError("the model loaded although a toolset did not open")


def test_an_mcp_server_that_exits_at_once_is_exit_code_2(
    model_loads: list[str], tmp_path: Path
) -> None:
    command = server(tmp_path, "import sys\nsys.exit(1)\n")
    result = invoke("run", "q", "--model", NO_MODEL, "--mcp", command)
    assert result.exit_code == 2, result.output
    line = error_line(result.output)
    assert line.startswith(f"error: --mcp {command!r}: the connection closed"), line
    assert "planning" not in result.output


def test_an_mcp_server_that_writes_what_is_not_mcp_says_what_it_wrote(
    model_loads: list[str], tmp_path: Path
) -> None:
    command = server(tmp_path, "print('Hello! I am a web server', flush=True)\n")
    result = invoke("run", "q", "--model", NO_MODEL, "--mcp", command)
    assert result.exit_code == 2, result.output
    line = error_line(result.output)  # the SDK's traceback for the line is not shown
    assert "it wrote 'Hello! I am a web server', which is not MCP (JSON-RPC)" in line, line


def test_an_mcp_server_that_fails_says_the_last_line_it_printed(
    model_loads: list[str], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    code = (
        "import sys\nprint('error: no API token in $WEATHER_TOKEN', file=sys.stderr)\nsys.exit(3)\n"
    )
    result = invoke("run", "q", "--model", NO_MODEL, "--mcp", server(tmp_path, code))
    assert result.exit_code == 2, result.output
    assert error_line(result.output).endswith("it printed: error: no API token in $WEATHER_TOKEN")
    assert "WEATHER_TOKEN" not in capfd.readouterr().err  # said once, in the error line


def test_an_mcp_server_that_never_answers_is_an_error_after_the_open_timeout(
    model_loads: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_agent_flags, "OPEN_TIMEOUT", 0.5)
    result = invoke(
        "run", "q", "--model", NO_MODEL, "--mcp", server(tmp_path, "import time\ntime.sleep(30)\n")
    )
    assert result.exit_code == 2, result.output
    assert error_line(result.output).endswith(
        "it did not open within 0.5 s (is it an MCP server on stdio?)"
    )


def test_an_mcp_server_that_opens_is_used_and_the_model_loads(model_loads: list[str]) -> None:
    demo = Path(__file__).parents[1] / "servers" / "mcp_demo.py"
    result = invoke("run", "q", "--model", NO_MODEL, "--mcp", f"{sys.executable} {demo} stdio")
    assert "the model loaded although a toolset did not open" in str(result.exception)
    assert model_loads == [NO_MODEL]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"openapi": "2.0", "paths": {}}', "is not an OpenAPI 3 document"),
        ("openapi: [3.0", "it is neither JSON nor YAML (expected ',' or ']'"),
        ('{"openapi": "3.0.0", "paths": {}}', "has no operations to make tools of"),
    ],
)
def test_an_openapi_document_that_cannot_be_read_is_exit_code_2(
    model_loads: list[str], tmp_path: Path, text: str, says: str
) -> None:
    doc = tmp_path / "api.yaml"
    doc.write_text(text, encoding="utf-8")
    result = invoke("run", "q", "--model", NO_MODEL, "--openapi", str(doc))
    assert result.exit_code == 2, result.output
    line = error_line(result.output)
    assert line.startswith(f"error: --openapi {str(doc)!r}: ") and says in line, line


def test_serve_with_a_failing_mcp_server_fails_at_startup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("uvicorn", reason="needs the serve extra: pip install -e '.[serve]'")

    def no_listen(*args: Any) -> Any:
        raise AssertionError("serve listened although a toolset did not open")

    monkeypatch.setattr("parcall.serve._server.listen", no_listen)
    command = server(tmp_path, "import sys\nsys.exit(1)\n")
    result = invoke("serve", "--model", NO_MODEL, "--mcp", command, "--port", "0")
    assert result.exit_code == 2, result.output
    assert error_line(result.output).startswith(f"error: --mcp {command!r}: the connection")
    assert "serving" not in result.output
