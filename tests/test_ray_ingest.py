"""``faceatlas index --ray local``: analysis on Ray actors (a local Ray instance), results
written to the catalog exactly as with the local worker pool."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner
from video_helpers import Appearance, write_clip

from faceatlas.cli.main import app
from faceatlas.store import open_store

pytest.importorskip("ray", reason="Ray is not installed (pip install 'faceatlas[ray]')")
runner = CliRunner()


def test_ray_index_matches_the_local_pool(portraits: Path, pg_url: str,
                                          tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    shutil.copytree(portraits, photos)
    write_clip(photos / "clip.mp4", [Appearance(portraits / "person_a_2.jpg", 0.0, 2.0,
                                                10, 60, 100, 60)], seconds=2.0)
    local = runner.invoke(app, ["index", str(photos), "--library", str(tmp_path / "a"),
                                "--workers", "1", "--json"])
    assert local.exit_code == 0, local.output
    res = runner.invoke(app, ["index", str(photos), "--library", str(tmp_path / "b"),
                              "--store", pg_url, "--ray", "local", "--workers", "2", "--json"])
    assert res.exit_code == 0, res.output
    out, ref = json.loads(res.stdout), json.loads(local.stdout)
    assert out["totals"]["faces"] == ref["totals"]["faces"] >= 7
    # the video was analysed in a Ray actor: the same track(s) from the same frames
    assert (out["videos"], out["tracks"], out["video_frames"]) == \
        (ref["videos"], ref["tracks"], ref["video_frames"]) == (1, 1, ref["video_frames"])
    assert out["video_frames"] > 0
    with open_store(tmp_path / "a") as a, open_store(tmp_path / "b", pg_url) as b:
        for img in a.iter_images():
            other = b.image_by_path(img.path)
            assert other is not None and other.face_count == img.face_count
            assert other.media == img.media
        assert b.check() == []
