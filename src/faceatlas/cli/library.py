"""Library commands: index photo folders, enrol people, identify faces, search photos."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import INTERRUPTED_EXIT_CODE, FaceAtlasError, NoFaceError
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
    from ..library import IndexSummary, Library
    from ..store import FaceFilter

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
    return max(1, min(8, os.cpu_count() or 1))


def _date(value: str | None, option: str) -> str | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).isoformat() if "T" in value \
            else datetime.fromisoformat(value).date().isoformat()
    except ValueError:
        raise FaceAtlasError(f"{option} '{value}' is not a date: use YYYY-MM-DD or "
                             "YYYY-MM-DDTHH:MM:SS") from None


def _filter(library: Library, folder: Path | None, album: str | None, since: str | None,
            until: str | None, person: str | None, min_quality: float | None) -> FaceFilter:
    from ..cluster.people import resolve_person
    from ..library.scan import absolute
    from ..store import FaceFilter

    person_id = None if person is None else resolve_person(library.store, person).id
    return FaceFilter(folder=absolute(folder) if folder is not None else None, album=album,
                      since=_date(since, "--since"), until=_date(until, "--until"),
                      person=person_id, min_quality=min_quality)


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

    def run() -> IndexSummary:
        from ..library import Indexer, Library
        from ..library.analysis import EngineSettings

        settings = EngineSettings(detector, recognizer, backend, min_face, threads=1,
                                  check_faces=check_faces)
        settings.validate()
        with Library.open(library) as lib:
            summary = Indexer(lib, settings, workers, album, progress=track, videos=videos,
                              video_interval=video_interval, ray=ray).run(
                [str(p) for p in paths])
            stats = lib.store.stats()
            checks = [c.to_dict() for c in lib.vectors.checks.values()]
        data = {**summary.to_dict(), "library": str(lib.root), "totals": stats,
                "vector_indexes": checks}
        if as_json:
            print_json(data)
        else:
            _print_summary(summary, stats, lib.root)
        return summary

    try:
        summary = guarded(run)
    except KeyboardInterrupt:
        raise fail(INTERRUPTED, INTERRUPTED_EXIT_CODE, "Interrupted") from None
    if summary.stopped:
        from ..store import DiskFullError

        raise fail(summary.stopped, DiskFullError.exit_code, "Stopped")
    if summary.interrupted:
        raise fail(INTERRUPTED, INTERRUPTED_EXIT_CODE, "Interrupted")


def _print_summary(s: IndexSummary, stats: dict[str, int], root: Path) -> None:
    from ..library.scan import SKIP_REASONS

    table = Table(title=f"index: {s.seconds:.1f} s", show_header=True)
    cols = ("files", "new", "changed", "moved", "unchanged", "skipped", "errors", "deleted",
            "faces")
    for col in cols:
        table.add_column(col, justify="right")
    table.add_row(*(str(v) for v in (s.files_seen, s.new, s.changed, s.moved, s.unchanged,
                                     len(s.skipped_files), len(s.errors), s.deleted, s.faces)))
    console.print(table)
    if s.skipped_files:
        why = ", ".join(f"{n} {SKIP_REASONS[r]}" for r, n in s.skipped.items() if n)
        console.print(f"skipped {len(s.skipped_files)} file(s): {why}", highlight=False)
        shown = sorted(s.skipped_files, key=lambda f: (f["reason"] == "hidden", f["path"]))
        for f in shown[:10]:
            detail = f" ({f['detail']})" if f["detail"] else ""
            err_console.print(f"[dim]skipped[/] {escape(f['path'])}: "
                              f"{SKIP_REASONS[f['reason']]}{escape(detail)}", highlight=False)
        if len(shown) > 10:
            err_console.print(f"... and {len(shown) - 10} more skipped (see --json)")
    for err in s.errors[:10]:
        err_console.print(f"[yellow]error[/] {escape(err['path'])}: {escape(err['error'])}",
                          highlight=False)
    if len(s.errors) > 10:
        err_console.print(f"... and {len(s.errors) - 10} more errors (see --json)")
    for note in s.notes[:5]:
        err_console.print(f"[dim]note[/] {escape(note['path'])}: {escape(note['note'])}",
                          highlight=False)
    if len(s.notes) > 5:
        err_console.print(f"... and {len(s.notes) - 5} more notes (see --json)")
    if s.pending:
        err_console.print(f"{s.pending} file(s) not reached; run the command again")
    if s.videos:
        console.print(f"{s.videos} video(s): {s.tracks} face track(s) from "
                      f"{s.video_frames} sampled frames", highlight=False)
    console.print(f"library {root}: {stats['images']} photos ({stats['ok']} with faces), "
                  f"{stats['faces']} faces, {stats['people']} people", highlight=False)
    if s.nonfaces:
        console.print(f"{s.nonfaces} detection(s) rejected as non-faces (not stored; "
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
        from ..library import Library
        from ..library.recognize import ENROLL_MIN_QUALITY, enroll

        engine = get_engine(detector, recognizer, backend, min_face)
        threshold = ENROLL_MIN_QUALITY if min_quality is None else min_quality
        with Library.open(library) as lib:
            person, outcomes = enroll(lib, name, [str(p) for p in images], engine, threshold)
            total = 0 if person is None else len(lib.store.person_faces(person.id))
        if as_json:
            print_json({"person": person.name if person else name.strip(),
                        "person_id": person.id if person else None, "enrolled_faces": total,
                        "images": [o.to_dict() for o in outcomes]})
        else:
            for o in outcomes:
                colour = {"enrolled": "green", "already": "blue"}.get(o.status, "red")
                reason = f": {o.reason}" if o.reason else ""
                console.print(f"[{colour}]{o.status}[/] {o.image}{reason}", highlight=False)
            label = person.label if person else name.strip()
            console.print(f"{label}: {total} enrolled face(s)", highlight=False)
        return sum(o.status != "refused" for o in outcomes)

    if guarded(run) == 0:
        if as_json:  # the result printed above says why
            raise typer.Exit(NoFaceError.exit_code)
        raise fail("no photo was enrolled", NoFaceError.exit_code, "NoFaceError")


def _images(paths: list[Path]) -> list[str]:
    """Image files of ``paths`` (files as given, folders expanded recursively), in order."""
    from ..library.scan import scan

    out: list[str] = []
    for path in paths:
        if path.is_dir():
            out += [f.path for f in scan([str(path)]).files]
        elif path.is_file():
            out.append(str(path))
        else:
            raise FaceAtlasError(f"{path}: no such file or folder")
    if not out:
        raise FaceAtlasError("no image found in the given folder(s)")
    return out


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
        from ..library import Library
        from ..library.recognize import identify_many

        files = _images(images)
        engine = get_engine(detector, recognizer, backend, min_face)
        with Library.open(library, create=False) as lib:
            flt = _filter(lib, folder, album, since, until, person, min_quality)
            results = identify_many(lib, engine, files, top_k, threshold, fpir, flt, margin)
        if as_json:
            print_json([r.to_dict() for r in results])
            return
        if results and results[0].threshold.note:
            err_console.print(f"[yellow]note:[/] {results[0].threshold.note}",
                              highlight=False)
        for res in results:
            t = res.threshold
            fpir_text = f"FPIR {t.fpir:g}" if t.fpir is not None else "FPIR unknown"
            what = "face track(s)" if res.kind == "video" else "face(s)"
            table = Table(title=f"{len(res.faces)} {what} in {res.image} (threshold "
                          f"{t.value:.3f}, {fpir_text}, {t.gallery_size} template(s))")
            for col in ("#", "time" if res.kind == "video" else "box (x, y, w, h)",
                        "decision", "similarity", "margin",
                        "best matches"):
                table.add_column(col)
            for i, f in enumerate(res.faces):
                matches = ", ".join(f"{m.person} {m.similarity:.3f}" for m in f.matches)
                decision = f.decision if not f.reason else f"{f.decision} ({f.reason})"
                where = ", ".join(f"{v:.0f}" for v in f.face.box)
                if f.track is not None:
                    where = f"{f.track['start']}-{f.track['end']} s (shot {f.track['shot']})"
                table.add_row(str(i), where, decision,
                              "-" if f.similarity is None else f"{f.similarity:.3f}",
                              "-" if f.margin is None else f"{f.margin:.3f}",
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
        from ..library import Library
        from ..library.recognize import search

        engine = get_engine(detector, recognizer, backend, min_face)
        with Library.open(library, create=False) as lib:
            flt = _filter(lib, folder, album, since, until, person, min_quality)
            res = search(lib, engine, image, limit, face, threshold, far, flt)
        if as_json:
            print_json(res.to_dict())
            return
        table = Table(title=f"{len(res.photos)} photo(s) with this face (threshold "
                      f"{res.threshold.value:.3f})")
        for col in ("similarity", "photo", "person"):
            table.add_column(col)
        for p in res.photos:
            where = str(p["path"])
            ranges = p.get("ranges")
            if isinstance(ranges, list):
                where += " at " + ", ".join(f"{r['start']}-{r['end']} s" for r in ranges)
            table.add_row(f"{p['similarity']:.3f}", where, str(p["person"] or "-"))
        console.print(table)

    guarded(run)
