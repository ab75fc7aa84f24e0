"""The public surface is exactly what we mean to export."""

from __future__ import annotations

import ast
import pathlib
import types

import parcall

SRC = pathlib.Path(parcall.__file__).parent


def test_all_is_exactly_the_public_api() -> None:
    assert sorted(parcall.__all__) == sorted(
        name
        for name in vars(parcall)
        if not name.startswith("_")
        and name not in {"models", "tools", "cli", "bench", "passes", "store", "eval"}
        if not name.startswith("_") and not isinstance(vars(parcall)[name], types.ModuleType)
    )
    for name in parcall.__all__:
        assert getattr(parcall, name) is not None


def test_no_eval_or_exec_anywhere_in_the_library() -> None:
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            if isinstance(node.func, ast.Name):
                assert node.func.id not in {"eval", "exec", "compile"}, f"{path}:{node.lineno}"
            if isinstance(node.func, ast.Attribute):  # builtins.eval(...), __builtins__.exec
                assert node.func.attr not in {"eval", "exec"}, f"{path}:{node.lineno}"
            if isinstance(node.func, ast.Name) and node.func.id == "getattr":
                names = {a.value for a in node.args if isinstance(a, ast.Constant)}
                assert not names & {"eval", "exec", "compile"}, f"{path}:{node.lineno}"


def test_run_context_is_what_tools_are_given_and_pass_context_what_passes_are() -> None:
    from parcall._core.context import RunContext
    from parcall._run.plan_pass import PassContext

    assert parcall.RunContext is RunContext and "deps" in RunContext.__dataclass_fields__
    assert parcall.PassContext is PassContext and "system" in PassContext.__dataclass_fields__


def test_the_run_options_are_public() -> None:
    assert {"Settings", "JoinPolicy"} <= set(parcall.__all__)
    assert parcall.Settings().join == parcall.JoinPolicy()
