"""Commands on single images: detect, embed, verify."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ..errors import FaceAtlasError
from .common import JsonOption, console, deprecated, guarded, print_json
from .engine_options import (
    BackendOpt,
    CheckFacesOpt,
    DetectorOpt,
    MinFaceOpt,
    RecognizerOpt,
    get_engine,
)


def detect(
    image: Path = typer.Argument(..., help="Image file."),
    as_json: bool = JsonOption,
    draw: Path | None = typer.Option(None, "--draw", help="Write the image with boxes here."),
    min_face: int = MinFaceOpt,
    check_faces: bool = CheckFacesOpt,
    detector: str = DetectorOpt,
    recognizer: str = RecognizerOpt,
    backend: str | None = BackendOpt,
) -> None:
    """Find faces: box, five landmarks, score and quality."""

    def run() -> None:
        from ..app import analysis

        engine = get_engine(detector, recognizer, backend, min_face, check_faces)
        out = analysis.detect(engine, image)
        faces = out.faces
        if draw is not None:
            _draw(out.bgr, faces, draw)
        if as_json:
            print_json(out.data)
            if out.error is not None:
                raise typer.Exit(out.error.exit_code)
            return
        table = Table(title=f"{len(faces)} face(s) in {image}")
        for col in ("#", "box (x, y, w, h)", "score", "quality"):
            table.add_column(col)
        for i, f in enumerate(faces):
            table.add_row(str(i), ", ".join(f"{v:.0f}" for v in f.box), f"{f.detection.score:.3f}",
                          f"{f.quality.score:.2f}")
        console.print(table)
        if out.rejected:
            console.print(f"{out.rejected} detection(s) rejected as non-faces "
                          "(see --json; --no-check-faces keeps them)", highlight=False)
        if out.error is not None:
            raise out.error

    guarded(run)


def _draw(bgr, faces, out: Path) -> None:
    import cv2

    canvas = bgr.copy()
    for i, f in enumerate(faces):
        x, y, w, h = (int(round(v)) for v in f.box)
        cv2.rectangle(canvas, (x, y), (x + w, y + h), (0, 200, 0), 2)
        for px, py in f.detection.landmarks:
            cv2.circle(canvas, (int(px), int(py)), 2, (0, 0, 255), -1)
        cv2.putText(canvas, f"{i} q={f.quality.score:.2f}", (x, max(12, y - 4)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 200, 0), 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        written = cv2.imwrite(str(out), canvas)
    except cv2.error:
        written = False
    if not written:
        raise FaceAtlasError(f"{out}: cannot write image (use a .png or .jpg name)")


def embed(
    image: Path = typer.Argument(..., help="Image file."),
    as_json: bool = JsonOption,
    min_face: int = MinFaceOpt,
    detector: str = DetectorOpt,
    recognizer: str = RecognizerOpt,
    backend: str | None = BackendOpt,
) -> None:
    """Embed every face of an image (L2-normalised vectors with their model id)."""

    def run() -> None:
        from ..app import analysis

        engine = get_engine(detector, recognizer, backend, min_face)
        data, found = analysis.embed(engine, image)
        if as_json:
            print_json(data)
            if not found:
                raise typer.Exit(analysis.no_face_error(image).exit_code)
            return
        console.print(f"{found} face(s), model {engine.model_id}, "
                      f"dimension {engine.recognizer.spec.embedding_dim}")
        if not found:
            raise analysis.no_face_error(image)

    guarded(run)


def verify(
    image_a: Path = typer.Argument(..., help="First image."),
    image_b: Path = typer.Argument(..., help="Second image."),
    as_json: bool = JsonOption,
    threshold: float | None = typer.Option(None, "--threshold", help="Cosine threshold."),
    far: float | None = typer.Option(None, "--far",
                                     help="Use the threshold calibrated at this false-match "
                                          "rate (e.g. 1e-2, 1e-3; default 1e-3)."),
    face: int | None = typer.Option(None, "--face-index", help="Position of the face "
                                    "to compare in both images (0 = largest; default "
                                    "largest)."),
    face_a: int | None = typer.Option(None, "--face-index-a",
                                      help="Position of the face in the first image."),
    face_b: int | None = typer.Option(None, "--face-index-b",
                                      help="Position of the face in the second image."),
    old_face: int | None = typer.Option(None, "--face", hidden=True),
    old_face_a: int | None = typer.Option(None, "--face-a", hidden=True),
    old_face_b: int | None = typer.Option(None, "--face-b", hidden=True),
    min_face: int = MinFaceOpt,
    detector: str = DetectorOpt,
    recognizer: str = RecognizerOpt,
    backend: str | None = BackendOpt,
) -> None:
    """Are two faces the same person? Exit code 0 either way; see `same`."""

    face = deprecated(old_face, "--face", "--face-index", face)
    face_a = deprecated(old_face_a, "--face-a", "--face-index-a", face_a)
    face_b = deprecated(old_face_b, "--face-b", "--face-index-b", face_b)

    def run() -> None:
        engine = get_engine(detector, recognizer, backend, min_face)
        from ..app import analysis

        res = analysis.verify(engine, image_a, image_b, threshold=threshold, far=far,
                              face_a=face_a if face_a is not None else face,
                              face_b=face_b if face_b is not None else face)
        if as_json:
            print_json(res)
            return
        verdict = "[green]same person[/]" if res["same"] else "[red]different people[/]"
        far_txt = f" (FAR {res['far']:g})" if res.get("far") is not None else ""
        console.print(f"{verdict}: similarity {res['similarity']:.3f}, threshold "
                      f"{res['threshold']:.3f}{far_txt}")

    guarded(run)
