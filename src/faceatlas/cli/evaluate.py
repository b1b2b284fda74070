"""`faceatlas evaluate`: verification accuracy on LFW or on your own pairs."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from ..errors import DatasetError
from .common import JsonOption, console, deprecated, err_console, guarded, print_json, track
from .engine_options import BackendOpt, DetectorOpt, MinFaceOpt, RecognizerOpt, get_engine

app = typer.Typer(help="Measure verification accuracy (LFW protocol or your own pairs).",
                  no_args_is_help=True)

OutOpt = typer.Option(None, "--out", help="Folder for results.json and ROC/DET/score PNGs.")


def _write(out: Path | None, result: dict[str, object], scores, labels, name: str,
           threshold: float | None) -> None:
    if out is None:
        return
    from ..evaluation.plots import plot_all

    out.mkdir(parents=True, exist_ok=True)
    result["plots"] = plot_all(scores, labels, out, name, threshold)
    (out / "results.json").write_text(json.dumps(result, indent=2, default=str) + "\n")


@app.command("lfw")
def lfw(
    archive: Path = typer.Option(..., "--archive", help="lfw-deepfunneled.tgz (read in place)."),
    pairs: Path = typer.Option(..., "--pairs", help="Official pairs.txt (10 folds)."),
    as_json: bool = JsonOption,
    out: Path | None = OutOpt,
    embeddings: Path | None = typer.Option(
        None, "--embeddings", help="Reuse embeddings from this .npz, or save them there."),
    min_face: int = MinFaceOpt,
    detector: str = DetectorOpt,
    recognizer: str = RecognizerOpt,
    backend: str | None = BackendOpt,
) -> None:
    """LFW 10-fold accuracy (mean ± std), AUC, EER and TAR at FAR 1e-3."""

    def run() -> None:
        if out is not None:
            from ..evaluation.plots import require_plots

            require_plots("evaluate lfw --out")
        from ..evaluation.lfw import (
            LfwEmbeddings,
            embed_archive,
            protocol_report,
            protocol_scores,
            read_pairs,
        )

        protocol = read_pairs(pairs)
        engine = get_engine(detector, recognizer, backend, min_face)
        if embeddings is not None and embeddings.is_file():
            emb = LfwEmbeddings.load(embeddings)
            if emb.model and emb.model != engine.model_id:
                raise DatasetError(f"{embeddings} holds {emb.model} embeddings, not "
                                   f"{engine.model_id}; delete it or pick another file")
        else:
            needed = {n for p in protocol for n in (p.a, p.b)}
            emb = embed_archive(
                archive, engine, progress=lambda it, n: track(it, n, "embedding LFW"),
                on_error=lambda name, msg: err_console.print(f"skipped {msg}"), only=needed)
            if embeddings is not None:
                emb.save(embeddings)
        scores, labels, folds = protocol_scores(protocol, emb)
        result: dict[str, object] = {"model": engine.model_id, "images": len(emb.names),
                                     "fallback_images": int(emb.fallback.sum()),
                                     **protocol_report(scores, labels, folds)}
        _write(out, result, scores, labels, f"LFW, {engine.recognizer.spec.name}",
               float(result["best_threshold"]))  # type: ignore[arg-type]
        if as_json:
            print_json(result)
            return
        table = Table(title=f"LFW verification, {engine.model_id}")
        table.add_column("metric")
        table.add_column("value", justify="right")
        table.add_row("accuracy (10-fold)",
                      f"{result['accuracy']:.2f} ± {result['accuracy_std']:.2f} %")
        for key in ("auc", "eer", "tar_at_far_1e-3", "best_threshold"):
            table.add_row(key, f"{result[key]:.4f}")
        table.add_row("pairs / images / fallback",
                      f"{result['pairs']} / {result['images']} / {result['fallback_images']}")
        console.print(table)

    guarded(run)


@app.command("pairs")
def pairs_cmd(
    pairs: Path | None = typer.Argument(None, metavar="CSV",
                                        help="CSV with columns path_a,path_b,same."),
    old_pairs: Path | None = typer.Option(None, "--pairs", hidden=True),
    groups: Path | None = typer.Option(None, "--groups",
                                       help="CSV with columns path,group for a per-group "
                                            "FMR/FNMR breakdown."),
    root: Path | None = typer.Option(None, "--root", help="Folder the CSV paths are relative "
                                     "to (default: the CSV's folder)."),
    as_json: bool = JsonOption,
    out: Path | None = OutOpt,
    threshold: float | None = typer.Option(None, "--threshold", help="Global cosine threshold."),
    far: float | None = typer.Option(None, "--far", help="Use the threshold calibrated at this "
                                     "false-match rate (default 1e-3)."),
    min_face: int = MinFaceOpt,
    detector: str = DetectorOpt,
    recognizer: str = RecognizerOpt,
    backend: str | None = BackendOpt,
) -> None:
    """Verification on your own pairs, optionally broken down per group."""
    csv_path = deprecated(old_pairs, "--pairs", "a CSV argument", pairs)

    def run() -> None:
        from ..evaluation.pairs_csv import evaluate_pairs
        from ..verification import resolve_threshold

        if out is not None:
            from ..evaluation.plots import require_plots

            require_plots("evaluate pairs --out")
        if csv_path is None:
            raise DatasetError("give the pairs CSV: faceatlas evaluate pairs PAIRS.csv")
        engine = get_engine(detector, recognizer, backend, min_face)
        t = resolve_threshold(engine.recognizer.spec.name, threshold, far)
        res = evaluate_pairs(engine, csv_path, t.value, groups, root,
                             progress=lambda items: track(items, len(items), "embedding"))
        result = {"model": engine.model_id, "far_target": t.far, **res.to_dict()}
        _write(out, result, res.scores, res.labels, engine.recognizer.spec.name, t.value)
        if as_json:
            print_json(result)
            return
        for line in res.problems:
            err_console.print(f"[yellow]skipped:[/] {line}", highlight=False)
        console.print(f"{len(res.scores)} pairs, threshold {t.value:.3f}: FMR "
                      f"{result['fmr']:.4f}, FNMR {result['fnmr']:.4f}, AUC {result['auc']:.4f}, "
                      f"EER {result['eer']:.4f}")
        if res.groups:
            table = Table(title="per group (one global threshold)")
            for col in ("group", "genuine", "impostor", "FMR", "FNMR", "FMR ratio", "FNMR ratio"):
                table.add_column(col)
            for g in res.groups:
                table.add_row(*(_fmt(g[k]) for k in ("group", "genuine", "impostor", "fmr",
                                                     "fnmr", "fmr_ratio", "fnmr_ratio")))
            console.print(table)

    guarded(run)


def _fmt(v: object) -> str:
    if v is None:
        return "-"
    return f"{v:.4f}" if isinstance(v, float) else str(v)
