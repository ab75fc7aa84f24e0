"""The `parcall` command: `run`, `shell`, `serve`, `models`, `eval`, `trace`, `runs` and
`bench`, mirroring the library API. This module only puts the commands together; each lives
in a module of its own, and none of them imports this one."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from .._core.extras import MissingExtraError
from ._bench import bench_app
from ._errors import fail
from ._eval import eval_app
from ._models import models_app
from ._observe import runs_app, trace_app
from ._run import run
from ._serve import serve_command
from ._shell import shell

try:  # typer 0.2x carries its own copy of click
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover - older typer uses click itself
    from click.exceptions import UsageError  # type: ignore[assignment]

__all__ = ["app", "main"]


class _Commands(TyperGroup):
    """Every command: a mistake on the command line (an unknown option or command, a value
    of the wrong type) or a missing optional extra is one `error:` line, never a boxed usage
    message or a traceback."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except UsageError as exc:
            raise _usage_error(exc) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            raise _usage_error(exc) from None
        except MissingExtraError as exc:
            raise fail(exc) from None


def _usage_error(exc: UsageError) -> Exception:
    """click's usage error as an `error:` line naming the help to read; `parcall GROUP` alone
    still prints the group's help."""
    if type(exc).__name__ == "NoArgsIsHelpError":
        return exc
    message = exc.format_message().rstrip(".")
    where = f"; see {exc.ctx.command_path} --help" if exc.ctx is not None else ""
    return fail(message[:1].lower() + message[1:] + where, exc.exit_code)


app = typer.Typer(
    name="parcall",
    help="Parallel function calling: one streamed plan, run as a DAG.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=_Commands,
)
app.command("serve")(serve_command)
app.command()(run)
app.command()(shell)
app.add_typer(models_app, name="models")
app.add_typer(eval_app, name="eval")
app.add_typer(trace_app, name="trace")
app.add_typer(runs_app, name="runs")
app.add_typer(bench_app, name="bench")


def main() -> None:
    app()
