"""Shared pieces of the CLI: JSON output, errors without tracebacks (JSON ones with
``--json``), the exit code of each error class, progress bars, the options every library
command shares."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from importlib import import_module
from typing import Any, Optional, TypeVar

import typer
import typer.core
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text
from typer.core import TyperGroup

# Recent Typer releases ship their own copy of click (``typer._click``); older ones use
# click itself.
_click: Any = getattr(typer.core, "_click", None) or import_module("click")

console = Console()
err_console = Console(stderr=True)

T = TypeVar("T")

JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON (errors "
                          "too, on stdout, with a non-zero exit code).")
LibraryOpt = typer.Option(None, "--library", help="Library folder (default "
                          "$FACEATLAS_LIBRARY, else $FACEATLAS_HOME/library).")
StoreOpt = typer.Option(None, "--store", help="Catalog URL (postgresql://USER@HOST/DB; "
                        "default $FACEATLAS_STORE, else the library folder's SQLite file).")


def with_store_option(func: Callable[..., T]) -> Callable[..., T]:
    """``func`` (a command taking ``--library``) with a ``--store URL`` option too: the URL
    is put in ``$FACEATLAS_STORE`` while the command runs, which is where
    :meth:`faceatlas.library.Library.open` looks (one option, every library command)."""
    import functools
    import inspect
    import os

    from ..store import STORE_ENV

    @functools.wraps(func)
    def run(*args: Any, store: str | None = None, **kwargs: Any) -> T:
        if store is None:
            return func(*args, **kwargs)
        before = os.environ.get(STORE_ENV)
        os.environ[STORE_ENV] = store
        try:
            return func(*args, **kwargs)
        finally:
            if before is None:
                os.environ.pop(STORE_ENV, None)
            else:
                os.environ[STORE_ENV] = before

    sig = inspect.signature(func)
    param = inspect.Parameter("store", inspect.Parameter.KEYWORD_ONLY, default=StoreOpt,
                              annotation=Optional[str])  # noqa: UP045 (a runtime object)
    params = [p for p in sig.parameters.values() if p.name != "store"]
    run.__signature__ = sig.replace(parameters=[  # type: ignore[attr-defined]
        *params, param])
    run.__annotations__ = {**getattr(func, "__annotations__", {}), "store": Optional[str]}  # noqa: UP045
    return run


def add_store_option(app: typer.Typer, names: set[str]) -> None:
    """Give the commands ``names`` of ``app`` (and every command of its groups named so)
    the ``--store`` option (:func:`with_store_option`)."""
    for info in app.registered_commands:
        name = info.name or (info.callback.__name__ if info.callback else "")
        if name in names and info.callback is not None:
            info.callback = with_store_option(info.callback)
    for group in app.registered_groups:
        if group.name in names and group.typer_instance is not None:
            callback = group.typer_instance.registered_callback
            if callback is not None and callback.callback is not None:
                callback.callback = with_store_option(callback.callback)
            add_store_option(group.typer_instance, {
                c.name or (c.callback.__name__ if c.callback else "")
                for c in group.typer_instance.registered_commands})


def _default(obj: object) -> object:
    if hasattr(obj, "tolist"):  # numpy arrays and scalars (numpy imported only if used)
        return obj.tolist()
    return str(obj)


def print_json(data: Any) -> None:
    """Write ``data`` as JSON on stdout."""
    sys.stdout.write(json.dumps(data, default=_default, indent=2) + "\n")
    sys.stdout.flush()


def _json_requested() -> bool:
    """Whether the running command was given ``--json``."""
    ctx = _click.globals.get_current_context(silent=True)
    while ctx is not None:
        if ctx.params.get("as_json"):
            return True
        ctx = ctx.parent
    return False


def print_json_error(message: str, code: int, kind: str) -> None:
    """Write an error as JSON on stdout: ``{"error": {"type", "message", "exit_code"}}``."""
    print_json({"error": {"type": kind, "message": message, "exit_code": code}})


def fail(message: str, code: int = 1, kind: str = "FaceAtlasError") -> typer.Exit:
    """Print a one-line error (as JSON on stdout when the command was given ``--json``)
    and return the Exit to raise."""
    if _json_requested():
        print_json_error(message, code, kind)
    else:
        err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False,
                          soft_wrap=True)
    return typer.Exit(code)


def deprecated(old_value: T, old: str, new: str, value: T) -> T:
    """The value of an option given under its deprecated name ``old`` (with a warning on
    stderr), else ``value``."""
    if old_value is None:
        return value
    err_console.print(f"[yellow]warning:[/] {old} is deprecated; use {new}", highlight=False)
    return old_value if value is None else value


def track(items: Iterable[T], total: int | None, description: str,
          enabled: bool = True) -> Iterator[T]:
    """Iterate with a Rich progress bar (rate and ETA) on stderr."""
    if not enabled:
        yield from items
        return
    columns = (TextColumn("[progress.description]{task.description}"), BarColumn(),
               MofNCompleteColumn(), RateColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=False) as progress:
        task = progress.add_task(description, total=total)
        for item in items:
            yield item
            progress.advance(task)


class RateColumn(ProgressColumn):
    """Items per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f}/s" if speed else "-/s", style="progress.data.speed")


def guarded(fn: Callable[[], T]) -> T:
    """Run ``fn`` turning faceatlas errors into a clean message and exit code."""
    from ..errors import FaceAtlasError

    try:
        return fn()
    except FaceAtlasError as exc:
        raise fail(str(exc), exc.exit_code, type(exc).__name__) from None


class JsonErrorGroup(TyperGroup):
    """The root command: with ``--json`` anywhere on the command line, usage errors
    (unknown option, missing argument...) are JSON on stdout too, with their exit code."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             *more: Any, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode or "--json" not in argv:
            return super().main(argv, prog_name, complete_var, standalone_mode, *more, **extra)
        try:
            rv = super().main(argv, prog_name, complete_var, False, *more, **extra)
        except _click.ClickException as exc:
            print_json_error(exc.format_message(), exc.exit_code, "UsageError")
            sys.exit(exc.exit_code)
        except typer.Abort:
            print_json_error("aborted", 1, "Aborted")
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)
