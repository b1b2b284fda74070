"""Schemathesis against the service's /openapi.json (with an admin key): whatever the
generated requests hold, no answer is a 5xx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from privacy_helpers import copy_library  # noqa: E402

from faceatlas.app.keys import create_key  # noqa: E402
from faceatlas.library import Library  # noqa: E402
from faceatlas.service.api import create_app  # noqa: E402
from faceatlas.service.state import ServiceConfig  # noqa: E402

KEY: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_schema(base: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Any:
    lib = copy_library(base[1], tmp_path_factory.mktemp("fuzz") / "lib")
    with Library.open(lib, create=False) as opened:
        KEY["admin"] = create_key(opened.store, "fuzz", "admin")["key"]
    app = create_app(ServiceConfig(library=lib, roots=[base[0]], max_upload_bytes=100_000))
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app)
    loaded.config.phases.coverage.enabled = False  # generated cases only: keeps it short
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=4, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_5xx(case: Any) -> None:
    response = case.call(headers={"Authorization": f"Bearer {KEY['admin']}"})
    assert response.status_code < 500, (case.method, case.path, response.text)
