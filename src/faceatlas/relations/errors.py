"""Errors of the relations stage."""

from __future__ import annotations

from ..errors import FaceAtlasError, NotFoundError


class RelationsError(FaceAtlasError):
    """A relations query or update cannot be done as asked (unknown person, bad input...)."""

    exit_code = 1


class UnknownPersonError(RelationsError, NotFoundError):
    """A person id or name that appears in no photo of the relation graph."""

    exit_code = NotFoundError.exit_code
