"""Shared fixtures: the sample portraits and one engine per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from faceatlas import FaceEngine

ROOT = Path(__file__).resolve().parents[1]
PORTRAITS = ROOT / "samples" / "portraits"


@pytest.fixture(scope="session")
def portraits() -> Path:
    return PORTRAITS


@pytest.fixture(scope="session")
def engine() -> FaceEngine:
    return FaceEngine()
