"""``faceatlas index --ray local``: analysis on Ray actors (a local Ray instance), results
written to the catalog exactly as with the local worker pool."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from faceatlas.cli.main import app
from faceatlas.store import open_store

pytest.importorskip("ray", reason="Ray is not installed (pip install 'faceatlas[ray]')")
runner = CliRunner()


def test_ray_index_matches_the_local_pool(portraits: Path, pg_url: str,
                                          tmp_path: Path) -> None:
    local = runner.invoke(app, ["index", str(portraits), "--library", str(tmp_path / "a"),
                                "--workers", "1", "--json"])
    assert local.exit_code == 0, local.output
    res = runner.invoke(app, ["index", str(portraits), "--library", str(tmp_path / "b"),
                              "--store", pg_url, "--ray", "local", "--workers", "2", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["totals"]["faces"] == json.loads(local.stdout)["totals"]["faces"] >= 6
    with open_store(tmp_path / "a") as a, open_store(tmp_path / "b", pg_url) as b:
        for img in a.iter_images():
            other = b.image_by_path(img.path)
            assert other is not None and other.face_count == img.face_count
        assert b.check() == []
