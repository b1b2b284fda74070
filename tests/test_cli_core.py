"""`faceatlas detect`, `embed` and `verify` on the sample portraits."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from typer.testing import CliRunner

from faceatlas.cli.main import app

runner = CliRunner()


def test_detect_json(portraits: Path) -> None:
    res = runner.invoke(app, ["detect", str(portraits / "person_a_2.jpg"), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert (data["width"], data["height"]) == (722, 899)
    (face,) = data["faces"]
    assert len(face["box"]) == 4 and len(face["landmarks"]) == 5
    assert 0.6 <= face["score"] <= 1 and 0 <= face["quality"]["score"] <= 1
    assert face["model"].startswith("sface@")


def test_detect_table_and_draw(portraits: Path, tmp_path: Path) -> None:
    out = tmp_path / "drawn" / "faces.png"
    res = runner.invoke(app, ["detect", str(portraits / "person_b_1.jpg"), "--draw", str(out)])
    assert res.exit_code == 0, res.output
    assert "1 face(s)" in res.stdout
    drawn = cv2.imread(str(out))
    original = cv2.imread(str(portraits / "person_b_1.jpg"))
    assert drawn.shape == original.shape and (drawn != original).any()
    bad = runner.invoke(app, ["detect", str(portraits / "person_b_1.jpg"),
                              "--draw", str(tmp_path / "faces.unknown")])
    assert bad.exit_code != 0 and "cannot write image" in bad.stderr


def test_embed_json(portraits: Path) -> None:
    res = runner.invoke(app, ["embed", str(portraits / "impostor_1.jpg"), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    vec = np.array(data["faces"][0]["embedding"])
    assert vec.shape == (128,) and abs(np.linalg.norm(vec) - 1) < 1e-4
    assert data["model"] == data["faces"][0]["model"]


def test_verify_same_and_different(portraits: Path) -> None:
    same = runner.invoke(app, ["verify", str(portraits / "person_a_1.jpg"),
                               str(portraits / "person_a_2.jpg"), "--json"])
    diff = runner.invoke(app, ["verify", str(portraits / "person_a_1.jpg"),
                               str(portraits / "impostor_2.jpg"), "--json"])
    assert same.exit_code == 0 and diff.exit_code == 0
    s, d = json.loads(same.stdout), json.loads(diff.stdout)
    assert s["same"] is True and d["same"] is False
    assert s["similarity"] > s["threshold"] > d["similarity"]
    text = runner.invoke(app, ["verify", str(portraits / "person_b_1.jpg"),
                               str(portraits / "person_b_2.jpg")])
    assert "same person" in text.stdout


def test_verify_explicit_threshold(portraits: Path) -> None:
    res = runner.invoke(app, ["verify", str(portraits / "person_a_1.jpg"),
                              str(portraits / "person_a_2.jpg"), "--threshold", "0.99",
                              "--json"])
    data = json.loads(res.stdout)
    assert data["threshold"] == 0.99 and data["same"] is False


def test_user_errors_are_one_line(portraits: Path) -> None:
    img = str(portraits / "person_a_1.jpg")
    cases = [
        (["verify", img, img, "--face-index", "3"], "face 3 requested"),
        (["detect", img, "--backend", "tensorflow"], "unknown backend 'tensorflow'"),
        (["detect", img, "--detector", "sface"], "not a detector"),
        (["embed", img, "--recognizer", "nope"], "unknown model 'nope'"),
    ]
    for args, expect in cases:
        res = runner.invoke(app, args)
        assert res.exit_code != 0, args
        assert "Traceback" not in res.output
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and expect in lines[0], res.stderr
