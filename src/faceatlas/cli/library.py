"""Library commands: index photo folders, enrol people, identify faces, search photos."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import INTERRUPTED_EXIT_CODE, NoFaceError
from .common import (
    JsonOption,
    LibraryOpt,
    console,
    deprecated,
    err_console,
    fail,
    guarded,
    print_json,
    track,
)
from .engine_options import (
    BackendOpt,
    CheckFacesOpt,
    DetectorOpt,
    MinFaceOpt,
    RecognizerOpt,
    get_engine,
)

if TYPE_CHECKING:
    from ..app.library import Scope

#: Shown in ``enroll --help``; tests check it is the library's ENROLL_MIN_QUALITY.
ENROLL_MIN_QUALITY_TEXT = "0.5"
#: Shown in ``identify --help``; tests check it is the library's IDENTIFY_MARGIN.
IDENTIFY_MARGIN_TEXT = "0.125"
#: faceatlas.library.videos.VIDEO_INTERVAL, without importing the library (a test checks)
VIDEO_INTERVAL = 0.5
INTERRUPTED = "interrupted; what was indexed is kept, run the command again to resume"

FarOpt = typer.Option(None, "--far", help="Decide at the threshold calibrated at this "
                      "false-match rate (default 1e-3).")
ThresholdOpt = typer.Option(None, "--threshold", help="Cosine threshold (overrides --far).")
FolderOpt = typer.Option(None, "--folder", help="Only faces of photos in this folder "
                         "(and its sub-folders).")
AlbumOpt = typer.Option(None, "--album", help="Only faces of photos of this album.")
SinceOpt = typer.Option(None, "--since", help="Only photos taken on or after this date "
                        "(YYYY-MM-DD[THH:MM:SS]).")
UntilOpt = typer.Option(None, "--until", help="Only photos taken on or before this date.")
PersonOpt = typer.Option(None, "--person", help="Only faces linked to this person.")
MinQualityOpt = typer.Option(None, "--min-quality", min=0.0, max=1.0,
                             help="Only library faces of at least this quality.")


def _default_workers() -> int:
    from ..app.library import default_workers

    return default_workers()


def _scope(folder: Path | None, album: str | None, since: str | None, until: str | None,
           person: str | None, min_quality: float | None) -> Scope:
    from ..app.library import Scope

    return Scope(folder=folder, album=album, since=since, until=until, person=person,
                 min_quality=min_quality)


def index(
    paths: list[Path] = typer.Argument(..., help="Photo files or folders (recursive)."),
    library: Path | None = LibraryOpt,
    workers: int = typer.Option(_default_workers(), "--workers", min=1,
                                help="Worker processes decoding and analysing photos."),
    album: str | None = typer.Option(None, "--album", help="Album name for these photos "
                                     "(default: each photo's folder name)."),
    videos: bool = typer.Option(True, "--videos/--no-videos", help="Index videos too (mp4, "
                                "mov, m4v, mkv, webm, avi): each person in each shot "
                                "becomes one face track with its time range."),
    video_interval: float = typer.Option(VIDEO_INTERVAL, "--video-interval", min=0.0,
                                         help="Seconds between the sampled frames of a "
                                         "video (0: every frame)."),
    as_json: bool = JsonOption,
    min_face: int = MinFaceOpt,
    check_faces: bool = CheckFacesOpt,
    detector: str = DetectorOpt,
    recognizer: str = RecognizerOpt,
    backend: str | None = BackendOpt,
    ray: str | None = typer.Option(None, "--ray", metavar="ADDRESS", help="Analyse on Ray "
                                   "(faceatlas[ray]) with --workers actors: 'local' starts "
                                   "Ray here, 'auto' or HOST:PORT joins a cluster."),
) -> None:
    """Index photo (and video) folders into the library: new and changed files are
    analysed, unchanged ones skipped, moved ones recognised, deleted ones removed. Safe
    to stop (Ctrl-C) and run again."""

    def run() -> dict[str, Any]:
        from ..app import library as uc
        from ..library import Library
        from ..library.analysis import EngineSettings

        settings = EngineSettings(detector, recognizer, backend, min_face, threads=1,
                                  check_faces=check_faces)
        settings.validate()
        with Library.open(library) as lib:
            data = uc.index(lib, paths, settings, workers, album, progress=track,
                            videos=videos, video_interval=video_interval, ray=ray)
        if as_json:
            print_json(data)
        else:
            _print_summary(data)
        return data

    try:
        summary = guarded(run)
    except KeyboardInterrupt:
        raise fail(INTERRUPTED, INTERRUPTED_EXIT_CODE, "Interrupted") from None
    if summary["stopped"]:
        from ..store import DiskFullError

        raise fail(summary["stopped"], DiskFullError.exit_code, "Stopped")
    if summary["interrupted"]:
        raise fail(INTERRUPTED, INTERRUPTED_EXIT_CODE, "Interrupted")


def _print_summary(s: dict[str, Any]) -> None:
    from ..library.scan import SKIP_REASONS

    table = Table(title=f"index: {s['seconds']:.1f} s", show_header=True)
    cols = ("files", "new", "changed", "moved", "unchanged", "skipped", "errors", "deleted",
            "faces")
    for col in cols:
        table.add_column(col, justify="right")
    skipped_files, errors, notes = s["skipped_files"], s["error_files"], s["notes"]
    table.add_row(*(str(v) for v in (s["files_seen"], s["new"], s["changed"], s["moved"],
                                     s["unchanged"], len(skipped_files), len(errors),
                                     s["deleted"], s["faces"])))
    console.print(table)
    if skipped_files:
        why = ", ".join(f"{n} {SKIP_REASONS[r]}" for r, n in s["skipped"].items() if n)
        console.print(f"skipped {len(skipped_files)} file(s): {why}", highlight=False)
        shown = sorted(skipped_files, key=lambda f: (f["reason"] == "hidden", f["path"]))
        for f in shown[:10]:
            detail = f" ({f['detail']})" if f["detail"] else ""
            err_console.print(f"[dim]skipped[/] {escape(f['path'])}: "
                              f"{SKIP_REASONS[f['reason']]}{escape(detail)}", highlight=False)
        if len(shown) > 10:
            err_console.print(f"... and {len(shown) - 10} more skipped (see --json)")
    for err in errors[:10]:
        err_console.print(f"[yellow]error[/] {escape(err['path'])}: {escape(err['error'])}",
                          highlight=False)
    if len(errors) > 10:
        err_console.print(f"... and {len(errors) - 10} more errors (see --json)")
    for note in notes[:5]:
        err_console.print(f"[dim]note[/] {escape(note['path'])}: {escape(note['note'])}",
                          highlight=False)
    if len(notes) > 5:
        err_console.print(f"... and {len(notes) - 5} more notes (see --json)")
    if s["pending"]:
        err_console.print(f"{s['pending']} file(s) not reached; run the command again")
    if s["videos"]:
        console.print(f"{s['videos']} video(s): {s['tracks']} face track(s) from "
                      f"{s['video_frames']} sampled frames", highlight=False)
    stats = s["totals"]
    console.print(f"library {s['library']}: {stats['images']} photos ({stats['ok']} with "
                  f"faces), {stats['faces']} faces, {stats['people']} people",
                  highlight=False)
    if s["nonfaces"]:
        console.print(f"{s['nonfaces']} detection(s) rejected as non-faces (not stored; "
                      "--no-check-faces keeps them)", highlight=False)


def enroll_cmd(
    name: str = typer.Argument(..., help="The person's name."),
    images: list[Path] = typer.Argument(..., help="Photos of the person (largest face used)."),
    library: Path | None = LibraryOpt,
    min_quality: float | None = typer.Option(
        None, "--min-quality", min=0.0, max=1.0,
        help=f"Refuse faces of lower quality (default {ENROLL_MIN_QUALITY_TEXT})."),
    as_json: bool = JsonOption,
    min_face: int = MinFaceOpt,
    detector: str = DetectorOpt,
    recognizer: str = RecognizerOpt,
    backend: str | None = BackendOpt,
) -> None:
    """Enrol a person from one or more photos (quality-gated). A new person whose every
    photo is refused is not created. Exit code 4 when no photo was enrolled."""

    def run() -> int:
        from ..app import library as uc
        from ..library import Library
        from ..store.base import person_label

        engine = get_engine(detector, recognizer, backend, min_face)
        with Library.open(library) as lib:
            res = uc.enroll(lib, engine, name, images, min_quality)
        if as_json:
            print_json(res)
        else:
            for o in res["images"]:
                colour = {"enrolled": "green", "already": "blue"}.get(o["status"], "red")
                reason = f": {o['reason']}" if o["reason"] else ""
                console.print(f"[{colour}]{o['status']}[/] {o['image']}{reason}",
                              highlight=False)
            label = person_label(res["person_id"], res["person"]) \
                if res["person_id"] is not None else res["person"]
            console.print(f"{label}: {res['enrolled_faces']} enrolled face(s)",
                          highlight=False)
        return uc.enrolled_count(res)

    if guarded(run) == 0:
        if as_json:  # the result printed above says why
            raise typer.Exit(NoFaceError.exit_code)
        raise fail("no photo was enrolled", NoFaceError.exit_code, "NoFaceError")


def identify_cmd(
    images: list[Path] = typer.Argument(..., help="Photos or videos (or folders of them) "
                                        "whose faces to identify; a video's faces are "
                                        "tracks with their times."),
    library: Path | None = LibraryOpt,
    top_k: int = typer.Option(5, "--top-k", min=1, help="People listed per face."),
    fpir: float | None = typer.Option(None, "--fpir", help="Decide at the 1:N threshold "
                                      "calibrated for this false-positive identification "
                                      "rate (chance that someone enrolled nowhere gets a "
                                      "name; default 0.01)."),
    threshold: float | None = typer.Option(None, "--threshold", help="Cosine threshold "
                                           "(overrides --fpir; the FPIR is then unknown)."),
    margin: float | None = typer.Option(None, "--margin", min=0.0, help="Required lead of "
                                        "the best person over the runner-up (default "
                                        f"{IDENTIFY_MARGIN_TEXT})."),
    folder: Path | None = FolderOpt,
    album: str | None = AlbumOpt,
    since: str | None = SinceOpt,
    until: str | None = UntilOpt,
    person: str | None = PersonOpt,
    min_quality: float | None = MinQualityOpt,
    as_json: bool = JsonOption,
    min_face: int = MinFaceOpt,
    detector: str = DetectorOpt,
    recognizer: str = RecognizerOpt,
    backend: str | None = BackendOpt,
) -> None:
    """Who is in these photos (open-set): per face the top-k people, and a name when the
    face reaches the 1:N threshold for the gallery searched and leads the runner-up;
    else unknown, with the reason. --json prints a list, one result per image, in order."""

    def run() -> None:
        from ..app import library as uc
        from ..library import Library

        files = uc.expand_images(images)
        engine = get_engine(detector, recognizer, backend, min_face)
        with Library.open(library, create=False) as lib:
            results = uc.identify(lib, engine, files, top_k, threshold, fpir, margin,
                                  _scope(folder, album, since, until, person, min_quality))
        if as_json:
            print_json(results)
            return
        if results and results[0].get("note"):
            err_console.print(f"[yellow]note:[/] {results[0]['note']}", highlight=False)
        for res in results:
            fpir_text = f"FPIR {res['fpir']:g}" if res["fpir"] is not None else "FPIR unknown"
            video = res.get("kind") == "video"
            what = "face track(s)" if video else "face(s)"
            table = Table(title=f"{len(res['faces'])} {what} in {res['image']} (threshold "
                          f"{res['threshold']:.3f}, {fpir_text}, {res['gallery_size']} "
                          "template(s))")
            for col in ("#", "time" if video else "box (x, y, w, h)", "decision",
                        "similarity", "margin", "best matches"):
                table.add_column(col)
            for i, f in enumerate(res["faces"]):
                matches = ", ".join(f"{m['person']} {m['similarity']:.3f}"
                                    for m in f["matches"])
                decision = f["decision"] if not f["reason"] \
                    else f"{f['decision']} ({f['reason']})"
                where = ", ".join(f"{v:.0f}" for v in f["box"])
                if "start" in f:
                    where = f"{f['start']}-{f['end']} s (shot {f['shot']})"
                table.add_row(str(i), where, decision,
                              "-" if f["similarity"] is None else f"{f['similarity']:.3f}",
                              "-" if f["margin"] is None else f"{f['margin']:.3f}",
                              matches or "-")
            console.print(table)

    guarded(run)


def search_cmd(
    image: Path = typer.Argument(..., help="Photo of the face to look for."),
    library: Path | None = LibraryOpt,
    face: int | None = typer.Option(None, "--face-index", help="Position of the face of "
                                    "IMAGE to look for (0 = largest; default largest)."),
    old_face: int | None = typer.Option(None, "--face", hidden=True),
    limit: int = typer.Option(20, "--limit", min=1, help="Most photos listed."),
    far: float | None = FarOpt,
    threshold: float | None = ThresholdOpt,
    folder: Path | None = FolderOpt,
    album: str | None = AlbumOpt,
    since: str | None = SinceOpt,
    until: str | None = UntilOpt,
    person: str | None = PersonOpt,
    min_quality: float | None = MinQualityOpt,
    as_json: bool = JsonOption,
    min_face: int = MinFaceOpt,
    detector: str = DetectorOpt,
    recognizer: str = RecognizerOpt,
    backend: str | None = BackendOpt,
) -> None:
    """Photos of the library that contain this face, best first."""
    face = deprecated(old_face, "--face", "--face-index", face)

    def run() -> None:
        from ..app import library as uc
        from ..library import Library

        engine = get_engine(detector, recognizer, backend, min_face)
        with Library.open(library, create=False) as lib:
            res = uc.search(lib, engine, image, limit, face, threshold, far,
                            _scope(folder, album, since, until, person, min_quality))
        if as_json:
            print_json(res)
            return
        table = Table(title=f"{len(res['photos'])} photo(s) with this face (threshold "
                      f"{res['threshold']:.3f})")
        for col in ("similarity", "photo", "person"):
            table.add_column(col)
        for p in res["photos"]:
            where = str(p["path"])
            ranges = p.get("ranges")
            if isinstance(ranges, list):
                where += " at " + ", ".join(f"{r['start']}-{r['end']} s" for r in ranges)
            table.add_row(f"{p['similarity']:.3f}", where, str(p["person"] or "-"))
        console.print(table)

    guarded(run)
