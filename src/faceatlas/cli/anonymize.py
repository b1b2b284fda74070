"""``faceatlas anonymize``: blur, pixelate or fill faces in images, folders and videos."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from ..errors import VideoError
from .common import JsonOption, LibraryOpt, console, err_console, guarded, print_json

METHODS_TEXT = "blur, pixelate, fill"  # privacy.anonymize.METHODS (tested)


def anonymize_cmd(
    source: Path = typer.Argument(..., help="Image, video or folder to anonymise."),
    output: Path = typer.Argument(..., help="Output file (same kind) or folder."),
    method: str = typer.Option("blur", "--method", help=f"One of {METHODS_TEXT}."),
    margin: float = typer.Option(0.25, "--margin", help="Grow each face box by this "
                                 "fraction of its size on every side."),
    keep: list[str] | None = typer.Option(None, "--keep", help="Leave this person's face "
                                          "clear (name or id in the library; repeatable)."),
    only: list[str] | None = typer.Option(None, "--only", help="Anonymise only this person "
                                          "(name or id in the library; repeatable)."),
    keep_gps: bool = typer.Option(False, "--keep-gps", help="Keep the photos' GPS position "
                                  "(dropped by default)."),
    recognizer: str = typer.Option("sface", "--recognizer", help="Recognition model used "
                                   "to tell --keep/--only people."),
    library: Path | None = LibraryOpt,
    as_json: bool = JsonOption,
) -> None:
    """Anonymise every face (or every face but --keep people, or only --only people) of an
    image, a video or a folder, detecting more eagerly than indexing does. Images keep
    their metadata but GPS; videos keep frame count, rate, size and audio."""

    def run() -> None:
        from ..library import Library
        from ..privacy.anonymize import Consent, anonymize, sensitive_engine

        engine = sensitive_engine(recognizer)
        consent = Consent.everyone()
        if keep or only:
            with Library.open(library, create=False) as lib:
                consent = Consent.from_library(lib, engine, list(keep or []), list(only or []))
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())
        with Progress(*columns, console=err_console, transient=True,
                      disable=as_json) as bar:
            tasks: dict[str, TaskID] = {}

            def step(name: str, done: int, total: int) -> None:
                if name not in tasks:
                    tasks[name] = bar.add_task(Path(name).name, total=total)
                bar.update(tasks[name], completed=done, total=total)

            outcomes = anonymize(source, output, engine, consent, method, margin, keep_gps,
                                 step)
        failed = sum(bool(o.error) for o in outcomes)
        if as_json:
            print_json({"outcomes": [o.to_dict() for o in outcomes], "failed": failed})
            if failed:
                raise typer.Exit(VideoError.exit_code)
            return
        for o in outcomes:
            if o.error:
                err_console.print(f"[red]{o.source}[/]: {o.error}", highlight=False)
                continue
            what = "track(s)" if o.kind == "video" else "face(s)"
            kept = f", kept clear: {', '.join(o.kept)}" if o.kept else ""
            audio = f", audio {o.audio}" if o.kind == "video" else ""
            console.print(f"{o.output}: {o.anonymised} of {o.faces} {what} anonymised"
                          f"{kept}{audio}", highlight=False)
        if failed:
            err_console.print(f"{failed} file(s) could not be anonymised", highlight=False)
            raise typer.Exit(VideoError.exit_code)

    guarded(run)


def register(app: typer.Typer) -> None:
    """Add ``anonymize`` to the main command."""
    app.command("anonymize")(anonymize_cmd)
