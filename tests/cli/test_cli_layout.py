"""The command is one package on top of the library: the library never imports it, and inside
it imports run one way (the app puts the commands together; no command imports the app)."""

from __future__ import annotations

import ast
from pathlib import Path

import parcall

SRC = Path(parcall.__file__).parent
CLI = SRC / "cli"


def imported(path: Path) -> set[str]:
    """The absolute names of the `parcall` modules a file imports (lazy imports too)."""
    package = ".".join(path.relative_to(SRC.parent).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module) if p)
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.startswith("parcall")}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_nothing_in_the_library_imports_the_command() -> None:
    offenders = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in SRC.rglob("*.py")
        if CLI not in path.parents
        for name in imported(path)
        if name == "parcall.cli" or name.startswith("parcall.cli.")
    ]
    assert offenders == []


def test_no_command_module_imports_the_app() -> None:
    offenders = [
        path.name
        for path in CLI.glob("_*.py")
        if path.name not in ("__init__.py", "_app.py") and "parcall.cli._app" in imported(path)
    ]
    assert offenders == []


def test_the_command_modules_import_each_other_without_a_circle() -> None:
    modules = {module_name(p): p for p in CLI.glob("*.py") if p.name != "__init__.py"}
    edges = {name: imported(path) & modules.keys() for name, path in modules.items()}
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, " -> ".join((*path, name))
        if name in done:
            return
        for other in edges[name]:
            visit(other, (*path, name))
        done.add(name)

    for name in sorted(modules):
        visit(name, ())
    assert "parcall.cli._run" in edges["parcall.cli._app"]  # the graph was read
