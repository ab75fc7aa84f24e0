"""Journals in a real PostgreSQL server that the test starts (Debian's package); skipped
with the reason where no server can be started."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import plan
from parcall import Agent, ScriptedModel, tool

pytestmark = pytest.mark.anyio

ANSWER = "Thought: ok.\nAction: Finish(done)"


def _bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    return next((str(v / name) for v in versions if (v / name).exists()), None)


def _as_postgres(args: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the `postgres` user then."""
    if os.geteuid() != 0:
        return args
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("running as root without runuser: PostgreSQL cannot be started")
    return [runuser, "-u", "postgres", "--", *args]


@pytest.fixture(scope="module")
def postgres_dsn() -> Iterator[str]:
    pytest.importorskip("psycopg", reason="needs the postgres extra: pip install -e '.[postgres]'")
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("needs PostgreSQL's server (Debian: apt-get install postgresql)")
    # Not under pytest's temporary folder: as root that one is closed to the postgres user.
    folder = Path(tempfile.mkdtemp(prefix="parcall-pg-"))
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    made = subprocess.run(
        _as_postgres([initdb, "-D", str(data), "-U", "postgres", "--auth=trust"]),
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"initdb failed: {made.stderr.strip()[-300:]}")
    options = f"-c listen_addresses='' -k {folder} -p 5439"
    log = folder / "server.log"
    started = subprocess.run(
        _as_postgres([pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "start"]),
        capture_output=True,
        text=True,
        check=False,
    )
    if started.returncode != 0:
        reason = log.read_text()[-300:] if log.exists() else started.stderr[-300:]
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"PostgreSQL did not start: {reason}")
    try:
        yield f"host={folder} port=5439 user=postgres dbname=postgres"
    finally:
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_run_journaled_by_one_process_is_resumed_by_another(postgres_dsn: str) -> None:
    from parcall.store import PostgresRunStore

    calls: list[int] = []

    @tool
    async def square(n: int) -> int:
        """Square a number."""
        calls.append(n)
        return n * n

    first_store = PostgresRunStore(postgres_dsn)
    script = [plan("1. square(n=3)", "2. square(n=4)"), ANSWER]
    first = await Agent(ScriptedModel(script), [square], store=first_store).run("Q?", meta={"a": 1})
    first_store.close()
    assert first.run_id is not None and calls == [3, 4]

    # Another connection (as another replica would have): the run is there, nothing reruns.
    other = PostgresRunStore(postgres_dsn)
    stored = await other.get(first.run_id)
    assert stored is not None and stored.status == "done" and stored.meta == {"a": 1}
    again = await Agent(ScriptedModel([]), [square], store=other).resume(first.run_id)
    assert again.answer == "done" and calls == [3, 4]
    assert [o.value for o in again.observations] == [9, 16]
    assert first.run_id in [r.id for r in await other.runs(status="done")]
    with pytest.raises(ValueError, match="already has a run"):
        await Agent(ScriptedModel([]), [square], store=other).run("Q?", run_id=first.run_id)
    other.close()


def test_a_server_that_is_not_there_is_named(tmp_path: Path) -> None:
    pytest.importorskip("psycopg", reason="needs the postgres extra: pip install -e '.[postgres]'")
    from parcall.store import PostgresRunStore

    with pytest.raises(ValueError, match="cannot connect to PostgreSQL"):
        PostgresRunStore(f"host={tmp_path} port=1 user=nobody dbname=none connect_timeout=2")
