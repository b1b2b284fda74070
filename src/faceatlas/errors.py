"""Error types. Every user mistake raises a :class:`FaceAtlasError` subclass whose
message is one actionable line; the CLI prints it without a traceback."""

from __future__ import annotations


class FaceAtlasError(Exception):
    """Base class of every error faceatlas raises on purpose."""

    exit_code = 1


class ImageError(FaceAtlasError):
    """An input could not be read as an image (missing, empty, corrupt, too large...)."""

    exit_code = 2


class NoFaceError(FaceAtlasError):
    """An image holds no face where one was required."""

    exit_code = 3


class ModelError(FaceAtlasError):
    """A model could not be found, verified, downloaded or loaded."""

    exit_code = 4


class ModelMismatchError(FaceAtlasError):
    """Two embeddings from different recognition models were compared."""

    exit_code = 5


class DatasetError(FaceAtlasError):
    """An evaluation dataset (archive, pairs file, CSV) is missing or malformed."""

    exit_code = 6


class VideoError(FaceAtlasError):
    """A video could not be read or written (missing, empty, truncated, no video stream,
    unknown codec)."""

    exit_code = 2
