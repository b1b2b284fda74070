"""`faceatlas models`: list and register models."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from .common import JsonOption, console, guarded, print_json

app = typer.Typer(help="List and register models.", invoke_without_command=True)


@app.callback()
def list_models(ctx: typer.Context, as_json: bool = JsonOption) -> None:
    """List models with task, licence and where each was found."""
    if ctx.invoked_subcommand is not None:
        return

    def run() -> None:
        from ..models import ModelRegistry

        reg = ModelRegistry()
        rows = []
        for spec in reg.specs():
            found = reg.where(spec)
            rows.append({
                "name": spec.name, "task": spec.task, "family": spec.family,
                "license": spec.license, "commercial_use": spec.commercial_use,
                "embedding_dim": spec.embedding_dim, "file": spec.file.filename,
                "sha256": spec.file.sha256,
                "source": found.source if found else ("download" if spec.file.url else "missing"),
                "path": str(found.path) if found else None, "url": spec.file.url,
            })
        if as_json:
            print_json(rows)
            return
        table = Table(title="faceatlas models")
        for col in ("name", "task", "license", "found"):
            table.add_column(col)
        for r in rows:
            lic = str(r["license"]) + ("" if r["commercial_use"] else " [red](non-commercial)[/]")
            table.add_row(str(r["name"]), str(r["task"]), lic, str(r["path"] or r["source"]))
        console.print(table)

    guarded(run)


@app.command("register")
def register(
    name: str = typer.Argument(..., help="Name to register the model under."),
    path: Path = typer.Argument(..., help="ONNX file."),
    task: str = typer.Option("recognition", help="recognition or detection."),
    family: str = typer.Option("arcface", help="Recognition: arcface or sface; detection: "
                               "scrfd or yunet. Sets the input defaults below."),
    license: str = typer.Option(..., "--license", help="Licence of the weights."),
    commercial: bool = typer.Option(False, "--commercial/--non-commercial",
                                    help="Whether the licence allows commercial use."),
    color: str | None = typer.Option(None, help="Input colour order, RGB or BGR "
                                     "(default: the family's)."),
    mean: float | None = typer.Option(None, help="Input mean (default: the family's)."),
    std: float | None = typer.Option(None, help="Input std (default: the family's)."),
    as_json: bool = JsonOption,
) -> None:
    """Register your own ONNX model (e.g. insightface's w600k_r50.onnx or an SCRFD
    detector with --task detection --family scrfd)."""

    def run() -> None:
        from ..models import ModelRegistry

        spec = ModelRegistry().register(name, path, task, family, license, commercial,
                                        color=color, mean=mean, std=std)
        if as_json:
            print_json(spec.to_dict())
        else:
            console.print(f"registered '{spec.name}' ({spec.task}, {spec.family}, "
                          f"{spec.output})")

    guarded(run)
