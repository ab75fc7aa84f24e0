"""A wheel built from the repository installs in a fresh virtualenv and works from there.

The wheel is built offline (`pip wheel --no-deps --no-build-isolation`, hatchling from the
dev extra) and installed without its dependencies into a new venv, which finds them in
this environment's site-packages through a path file — but not this environment's
editable parcall, so `parcall` there is the wheel's. `parcall run` then answers with the
wheel's built-in encyclopedia through an OpenAI-compatible server this test runs, and
`parcall eval --model gold` reads the wheel's evaluation data.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import sysconfig
import venv
import zipfile
from collections.abc import Iterator
from email.parser import Parser
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLAN = '1. search(query="Ed Wood")\njoin()'
ANSWER = "Action: Finish(an American filmmaker)"

PIP = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("hatchling", reason="needs hatchling (the dev extra) to build offline")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [*PIP, "wheel", "--no-deps", "--no-build-isolation", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    (built,) = out.glob("parcall-*.whl")
    return built


@pytest.fixture(scope="module")
def fresh(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv holding the wheel; returns its bin folder."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=False, symlinks=True)
    bin_dir = env_dir / "bin"
    subprocess.run(
        [
            *PIP,
            "--python",
            str(bin_dir / "python"),
            "install",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    # This environment's packages for the dependencies; a plain path line does not run the
    # .pth files there, so its editable parcall stays out.
    target = Path(
        sysconfig.get_path("purelib", vars={"base": str(env_dir), "platbase": str(env_dir)})
    )
    here = [p for p in {sysconfig.get_path("purelib"), *site.getsitepackages()} if p]
    (target / "zz_parent_site.pth").write_text("\n".join(here) + "\n", encoding="utf-8")
    return bin_dir


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env.update(HOME=str(home), NO_COLOR="1", COLUMNS="120")
    return env


@pytest.fixture()
def openai_server() -> Iterator[str]:
    """An OpenAI-compatible endpoint that answers the planner, then the joiner."""
    pytest.importorskip("starlette", reason="needs pip install 'parcall[serve]'")
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from parcall.serve import running_server

    outputs = [PLAN, ANSWER]

    async def completions(request: Request) -> JSONResponse:
        await request.json()
        text = outputs.pop(0) if outputs else ANSWER
        body: dict[str, Any] = {
            "id": "x",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
        return JSONResponse(body)

    app = Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])
    with running_server(app) as url:
        yield url


def test_the_wheel_carries_version_licences_urls_and_data(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (meta_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = Parser().parsestr(archive.read(meta_name).decode("utf-8"))
    import parcall

    assert meta["Name"] == "parcall" and meta["Version"] == parcall.__version__
    assert meta["License-Expression"] == "Apache-2.0"
    licences = meta.get_all("License-File") or []
    assert "LICENSE" in licences
    assert any(name.endswith("Qwen2.5-Coder.txt") for name in licences)
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
    assert {"Homepage", "Documentation", "Source", "Changelog"} <= set(urls)
    assert all(u.startswith("https://") for u in urls.values())
    for data in (
        "parcall/py.typed",
        "parcall/tools/data/encyclopedia.jsonl.gz",
        "parcall/eval/data/hotpotqa_dev_distractor_60.json.gz",
        "parcall/eval/data/fanoutqa_dev.json.gz",
        "parcall/eval/data/nestful/executable-spec.json.gz",
        "parcall/eval/data/bfcl/question_parallel.jsonl.gz",
        "parcall/models/LICENSES/Qwen2.5-Coder.txt",
    ):
        assert data in names, data
    assert not any(n.startswith(("tests/", "bench/", "docs/")) for n in names)


def test_parcall_run_works_from_the_wheel(fresh: Path, openai_server: str, tmp_path: Path) -> None:
    where = subprocess.run(
        [str(fresh / "python"), "-c", "import parcall; print(parcall.__file__)"],
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert Path(where).is_relative_to(fresh.parent), where  # the wheel's copy, not the repo's
    run = subprocess.run(
        [
            str(fresh / "parcall"),
            "run",
            "Who was Ed Wood?",
            "--json",
            "-m",
            f"{openai_server}/v1#x",
        ],
        env=clean_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(run.stdout)
    assert result["answer"] == "an American filmmaker"
    # The search ran on the encyclopedia inside the wheel.
    assert "Edward Davis Wood" in json.dumps(result)


def test_parcall_eval_reads_the_wheels_datasets(fresh: Path, tmp_path: Path) -> None:
    pytest.importorskip("bm25s", reason="needs pip install 'parcall[eval]'")
    out = tmp_path / "ev"
    command = [str(fresh / "parcall"), "eval", "hotpotqa", "--model", "gold", "--limit", "2"]
    run = subprocess.run(
        [*command, "--split", "dev", "--out", str(out)],
        env=clean_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    (summary,) = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["n"] == 2 and summary["scores"]["em"] == 1.0
