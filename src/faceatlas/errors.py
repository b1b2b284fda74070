"""Error types. Every user mistake raises a :class:`FaceAtlasError` subclass whose
message is one actionable line; the CLI prints it without a traceback and exits with the
class's ``exit_code``.

Exit codes of the ``faceatlas`` command: one per error class, listed in
:data:`EXIT_CODES` (the README has the same table).
"""

from __future__ import annotations

#: Exit code of a command-line usage error (the parser's own).
USAGE_EXIT_CODE = 2
#: Exit code of an interrupted command.
INTERRUPTED_EXIT_CODE = 130

#: Every exit code of the ``faceatlas`` command and what it means (the README's table).
EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "any other error (bad value, conflict with the catalog, cancelled, missing extra)",
    USAGE_EXIT_CODE: "usage: unknown command or option, missing argument",
    3: "not found: no such person, face, photo or library",
    4: "no face: an image holds no (usable) face where one was required",
    5: "model mismatch: embeddings of different recognition models",
    6: "damaged or unusable catalog or vector index (corrupt, locked, newer schema)",
    7: "unreadable input image or video (missing, empty, corrupt, too large, no video stream)",
    8: "model unknown, or not found, verified, downloaded or loaded",
    9: "bad export archive",
    10: "bad evaluation dataset (archive, pairs file, CSV)",
    11: "stopped early (disk full, worker died): what was saved is kept",
    INTERRUPTED_EXIT_CODE: "interrupted (Ctrl-C): what was done is kept",
}


class FaceAtlasError(Exception):
    """Base class of every error faceatlas raises on purpose."""

    exit_code = 1


class NotFoundError(FaceAtlasError):
    """A person, face, photo, library or named thing that the input refers to does not
    exist."""

    exit_code = 3


class ImageError(FaceAtlasError):
    """An input could not be read as an image (missing, empty, corrupt, too large...)."""

    exit_code = 7


class NoFaceError(FaceAtlasError):
    """An image holds no face where one was required."""

    exit_code = 4


class ModelError(FaceAtlasError):
    """A model could not be found, verified, downloaded or loaded."""

    exit_code = 8


class ModelMismatchError(FaceAtlasError):
    """Two embeddings from different recognition models were compared."""

    exit_code = 5


class DatasetError(FaceAtlasError):
    """An evaluation dataset (archive, pairs file, CSV) is missing or malformed."""

    exit_code = 10


class MissingExtraError(FaceAtlasError):
    """A feature needs an optional dependency that is not installed (the message names
    the ``pip install 'faceatlas[extra]'`` to run)."""

    exit_code = 1


def missing_extra(package: str, extra: str, feature: str) -> MissingExtraError:
    """The error to raise when ``feature`` needs ``package`` from the ``extra`` extra."""
    return MissingExtraError(f"{feature} needs {package}, which is not installed: "
                             f"pip install 'faceatlas[{extra}]'")


class VideoError(FaceAtlasError):
    """A video could not be read or written (missing, empty, truncated, no video stream,
    unknown codec); exit code of an unreadable input, like :class:`ImageError`."""

    exit_code = 7
