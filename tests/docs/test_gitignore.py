"""The repository's .gitignore keeps a virtual environment out, folder or symlink."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("kind", ["folder", "symlink"])
def test_a_venv_is_ignored_whether_a_folder_or_a_symlink(tmp_path: Path, kind: str) -> None:
    if shutil.which("git") is None:
        pytest.skip("needs git")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    shutil.copy(ROOT / ".gitignore", tmp_path / ".gitignore")
    if kind == "folder":
        (tmp_path / ".venv").mkdir()
        (tmp_path / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    else:
        (tmp_path / "elsewhere").mkdir()
        (tmp_path / ".venv").symlink_to(tmp_path / "elsewhere")
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert ".venv" not in status.stdout
