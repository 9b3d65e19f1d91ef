"""The `jobtui` command. Headless commands print data on stdout, diagnostics on stderr,
and exit 0 ok / 1 run failed / 2 bad input / 3 not found (DESIGN.md §4 rule 7).

Textual is imported only inside the dashboard command.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import click

from jobtui.textsafe import inert, inert_json

if TYPE_CHECKING:
    from jobtui.engine import Engine

# Each module defines `commands: list[click.Command]` added to the root group.
COMMAND_MODULES = [
    "jobs",
    "sinks",
    "workspaces",
    "daemon",
    "runs",
    "datasets",
    "scale",
    "crontab",
]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Context:
    data_dir: str | None
    db: str | None
    read_only: bool = False
    no_daemon: bool = False
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from jobtui.engine import Engine

            self._engine = Engine.open(self.data_dir, self.db)
        return self._engine


pass_context = click.make_pass_decorator(Context)


class JobtuiGroup(click.Group):
    """Turns engine errors into one readable line on stderr and the matching exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        from jobtui.engine import JobtuiError, SpecError

        try:
            try:
                return super().invoke(ctx)
            finally:
                sys.stdout.flush()  # a reader gone away shows here, not in the flush at exit
        except SpecError as exc:
            for error in exc.errors:
                # One line per mistake: a line end in a key or a value is shown, not obeyed.
                echo(inert(f"error: {error}"), err=True)
            ctx.exit(exc.exit_code)
        except JobtuiError as exc:
            echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except BrokenPipeError:
            # The reader went away (`jobtui logs 7 | head`): stop quietly with 1, as click
            # does for --help; stdout goes to /dev/null so the flush at exit cannot fail.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(1)
        except click.ClickException as exc:
            # A bad argument is quoted back in the message: shown inert like any other text.
            exc.message = inert(exc.message, keep_newlines=True)  # type: ignore[misc]
            raise
        except (click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
                # Our output's file is on a full filesystem (`jobtui logs 7 > /full/x`): say
                # which, plainly (exit 2, as for a full data directory); stdout goes to
                # /dev/null so the flush at exit cannot fail again.
                where = exc.filename or _stdout_name()
                with contextlib.suppress(OSError):
                    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                echo(inert(f"error: cannot write {where}: the filesystem is full"), err=True)
                ctx.exit(2)
            if os.environ.get("JOBTUI_DEBUG"):
                raise
            echo(
                f"error: internal error: {type(exc).__name__}: {exc} "
                "(JOBTUI_DEBUG=1 shows the traceback)",
                err=True,
            )
            ctx.exit(1)


def _stdout_name() -> str:
    """What stdout is written to, for a message: its file's path when it is one."""
    try:
        target = os.readlink(f"/proc/self/fd/{sys.stdout.fileno()}")
    except (OSError, ValueError):
        return "the standard output"
    return f"the standard output ({target})" if target.startswith("/") else "the standard output"


@click.group(
    cls=JobtuiGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--data-dir",
    envvar="JOBTUI_DATA_DIR",
    type=click.Path(file_okay=False),
    help="Data directory (default: the platform's user data dir).",
)
@click.option(
    "--db",
    envvar="JOBTUI_DB",
    type=click.Path(dir_okay=False),
    help="Database file (default: <data-dir>/jobtui.db).",
)
@click.option(
    "--read-only", is_flag=True, help="Dashboard: hide every action that changes something."
)
@click.option(
    "--no-daemon", is_flag=True, help="Dashboard: do not start a daemon in the background."
)
@click.version_option(package_name="jobtui")
@click.pass_context
def cli(
    ctx: click.Context, data_dir: str | None, db: str | None, read_only: bool, no_daemon: bool
) -> None:
    """jobtui: define, schedule, run and watch jobs from the terminal.

    Without a command it opens the dashboard.
    """
    if not isinstance(ctx.obj, Context):  # a caller may hand in one with an engine open
        ctx.obj = Context(data_dir=data_dir, db=db, read_only=read_only, no_daemon=no_daemon)
    if ctx.invoked_subcommand is None:
        ctx.invoke(tui)


@cli.command("tui")
@click.option("--demo/--no-demo", default=True, help="Add demo jobs to an empty database.")
@pass_context
def tui(obj: Context, demo: bool = True) -> None:
    """Open the dashboard."""
    from jobtui.app import run_app

    engine = obj.engine
    if demo:
        engine.seed_demo()
    run_app(engine, read_only=obj.read_only, start_daemon=not obj.no_daemon)


# -- output helpers ---------------------------------------------------------------
# Every command prints through these: text a job or a user controls (log lines, titles,
# descriptions, errors, parameters, results) reaches the terminal inert (`jobtui.textsafe`,
# the dashboard's rule), whether stdout is a terminal, a pipe or a file. Only `logs --raw`
# and `logs --save` give the exact bytes.
def echo(text: Any = "", *, err: bool = False, nl: bool = True) -> None:
    """click.echo of `text` made inert; tabs and line ends kept."""
    click.echo(inert(str(text), keep_newlines=True), err=err, nl=nl)


def json_text(value: Any) -> str:
    """`value` as indented JSON with nothing a terminal acts on (see `inert_json`)."""
    return inert_json(json.dumps(to_jsonable(value), indent=2, ensure_ascii=False))


def to_jsonable(value: Any) -> Any:
    """Model objects (dataclasses, enums, datetimes) as plain JSON values."""
    import dataclasses
    from datetime import datetime
    from enum import Enum

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_jsonable(v) for v in value]
    return value


def format_when(value: Any) -> str:
    """A timestamp in the machine's zone, with the zone shown; "—" when there is none."""
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z") if value else "—"


def print_json(value: Any) -> None:
    click.echo(json_text(value))


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    """A plain aligned table (no rich: headless output stays greppable)."""
    # One line per row: a line end or a tab inside a cell is shown, not obeyed.
    cells = [[("" if c is None else inert(str(c), tab_size=1)) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, c in enumerate(row):
            widths[i] = max(widths[i], len(c))
    click.echo("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def read_json_file(path: str) -> Any:
    """A JSON document from a file (or stdin for "-"); anything unreadable is bad input
    (exit 2) naming the file and, where there is one, the place in it."""
    from jobtui.engine import InvalidInput, json_nesting_problem, shape_problem

    try:
        if path == "-":
            raw = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as fh:
                raw = fh.read()
    except OSError as exc:
        raise InvalidInput(f"{path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InvalidInput(
            f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line})"
        ) from None
    # Depth first: the parser would exhaust the stack (RecursionError) on thousands of levels.
    problem = json_nesting_problem(text)
    if problem is not None:
        raise InvalidInput(f"{path}: {problem}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:  # not reached after the depth check; kept as a last guard
        raise InvalidInput(f"{path}: nested too deep to read") from None
    except ValueError:  # Python reads no integer of more than 4,300 digits
        raise InvalidInput(f"{path}: not valid JSON (a number too long to read)") from None
    problem = shape_problem(data)
    if problem is not None:
        raise InvalidInput(f"{path}: {problem}")
    return data


def _register() -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"jobtui.commands.{name}")
        for command in module.commands:
            cli.add_command(command)


_register()


def main() -> None:
    cli(prog_name="jobtui")
