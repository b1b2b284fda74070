"""Evaluation: metrics on hand-computed cases, the LFW archive/pairs readers and CLI,
and the pairs-CSV per-group breakdown."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from faceatlas import FaceEngine
from faceatlas.cli.main import app
from faceatlas.errors import DatasetError
from faceatlas.evaluation import metrics
from faceatlas.evaluation.lfw import embed_archive, iter_archive, read_pairs
from faceatlas.evaluation.pairs_csv import CROSS, evaluate_pairs

runner = CliRunner()

# ------------------------------------------------------------------------------ metrics

SEPARABLE = (np.array([0.9, 0.8, 0.3, 0.1]), np.array([1, 1, 0, 0], bool))
OVERLAP = (np.array([0.9, 0.4, 0.6, 0.1]), np.array([1, 1, 0, 0], bool))


def test_metrics_separable() -> None:
    s, y = SEPARABLE
    assert metrics.auc(s, y) == 1.0
    assert metrics.eer(s, y)[0] == 0.0
    t, acc = metrics.best_threshold(s, y)
    assert acc == 1.0 and t == pytest.approx(0.55)


def test_metrics_overlap_by_hand() -> None:
    s, y = OVERLAP
    # genuine 0.9 beats both impostors, genuine 0.4 beats one of two: 3 of 4 orderings
    assert metrics.auc(s, y) == pytest.approx(0.75)
    # at threshold 0.6: one impostor of two accepted, one genuine of two rejected
    rate, thr = metrics.eer(s, y)
    assert rate == pytest.approx(0.5)
    assert thr == pytest.approx(0.6)
    t, acc = metrics.best_threshold(s, y)
    assert acc == pytest.approx(0.75)
    assert metrics.accuracy_at(s, y, t) == pytest.approx(0.75)
    assert metrics.tar_at_far(s, y, 0.0) == pytest.approx(0.5)  # only 0.9 above both
    assert metrics.tar_at_far(s, y, 0.5) == pytest.approx(1.0)


def test_kfold_threshold_comes_from_the_other_folds() -> None:
    scores = np.array([0.9, 0.1, 0.7, 0.6])
    labels = np.array([1, 0, 1, 0], bool)
    folds = np.array([0, 0, 1, 1])
    cv = metrics.kfold_accuracy(scores, labels, folds)
    # fold 0 is judged with fold 1's threshold (0.65): right; fold 1 with 0.5: 0.6 accepted
    assert cv.thresholds == pytest.approx([0.65, 0.5])
    assert cv.accuracies == pytest.approx([1.0, 0.5])
    assert cv.mean == pytest.approx(0.75) and cv.std == pytest.approx(0.25)


def test_threshold_at_far() -> None:
    impostors = np.arange(1, 1001) / 1000.0
    t, far = metrics.threshold_at_far(impostors, 0.01)
    assert far == pytest.approx(0.01)
    assert np.count_nonzero(impostors >= t) == 10
    assert 0.990 < t <= 0.991


def test_metrics_need_both_classes() -> None:
    with pytest.raises(DatasetError):
        metrics.auc(np.array([0.1, 0.2]), np.array([True, True]))


# ---------------------------------------------------------------------------------- LFW

LFW_FILES = {
    "Person_A/Person_A_0001.jpg": "person_a_1", "Person_A/Person_A_0002.jpg": "person_a_2",
    "Person_B/Person_B_0001.jpg": "person_b_1", "Person_B/Person_B_0002.jpg": "person_b_2",
    "Imp_One/Imp_One_0001.jpg": "impostor_1", "Imp_Two/Imp_Two_0001.jpg": "impostor_2",
}
PAIRS = """2\t1
Person_A\t1\t2
Person_A\t1\tImp_One\t1
Person_B\t1\t2
Person_B\t2\tImp_Two\t1
"""


@pytest.fixture(scope="module")
def lfw_dir(tmp_path_factory: pytest.TempPathFactory, portraits: Path) -> Path:
    root = tmp_path_factory.mktemp("lfw")
    with tarfile.open(root / "lfw-deepfunneled.tgz", "w:gz") as tar:
        items = [(name, (portraits / f"{stem}.jpg").read_bytes())
                 for name, stem in LFW_FILES.items()]
        blank = io.BytesIO()
        Image.new("RGB", (250, 250), (128, 128, 128)).save(blank, "JPEG")
        items.append(("Blank_Wall/Blank_Wall_0001.jpg", blank.getvalue()))
        for name, data in items:
            info = tarfile.TarInfo(f"lfw-deepfunneled/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (root / "pairs.txt").write_text(PAIRS)
    return root


def test_archive_reader_and_pairs(lfw_dir: Path) -> None:
    names = [n for n, _ in iter_archive(lfw_dir / "lfw-deepfunneled.tgz")]
    assert sorted(names) == sorted([*LFW_FILES, "Blank_Wall/Blank_Wall_0001.jpg"])
    pairs = read_pairs(lfw_dir / "pairs.txt")
    assert [(p.same, p.fold) for p in pairs] == [(True, 0), (False, 0), (True, 1), (False, 1)]
    assert pairs[1].b == "Imp_One/Imp_One_0001.jpg"


def test_embed_archive_uses_fallback_for_faceless_image(lfw_dir: Path,
                                                        engine: FaceEngine) -> None:
    emb = embed_archive(lfw_dir / "lfw-deepfunneled.tgz", engine)
    by_name = emb.index()
    assert len(emb.names) == 7 and emb.embeddings.shape == (7, 128)
    assert np.allclose(np.linalg.norm(emb.embeddings, axis=1), 1.0, atol=1e-4)
    assert emb.fallback.tolist().count(True) == 1
    assert emb.fallback[by_name["Blank_Wall/Blank_Wall_0001.jpg"]]
    assert emb.identities[by_name["Person_A/Person_A_0002.jpg"]] == "Person_A"
    va, vb = (emb.embeddings[by_name[f"Person_A/Person_A_000{i}.jpg"]] for i in (1, 2))
    vi = emb.embeddings[by_name["Imp_One/Imp_One_0001.jpg"]]
    assert float(va @ vb) > float(va @ vi) + 0.2


def test_cli_lfw_json(lfw_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")  # --out draws plots: the [plots] extra (in .ci/run)
    out = tmp_path / "report"
    res = runner.invoke(app, ["evaluate", "lfw", "--archive", str(lfw_dir / "lfw-deepfunneled.tgz"),
                              "--pairs", str(lfw_dir / "pairs.txt"), "--json", "--out", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    for key in ("accuracy", "accuracy_std", "auc", "eer", "tar_at_far_1e-3", "best_threshold",
                "pairs", "genuine", "impostor", "fallback_images", "fold_accuracies"):
        assert key in data
    assert data["pairs"] == 4 and data["genuine"] == 2 and data["images"] == 6
    assert data["auc"] == 1.0  # the sample portraits separate cleanly
    assert 0.0 <= data["accuracy"] <= 100.0 and len(data["fold_accuracies"]) == 2
    assert {p.name for p in out.iterdir()} >= {"results.json", "roc.png", "det.png", "scores.png"}


def test_malformed_pairs_file_is_a_clear_error(lfw_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "pairs.txt"
    bad.write_text("1\t1\nPerson_A\t1\t2\nPerson_A\tone\tImp_One\t1\n")
    with pytest.raises(DatasetError, match="line 3 should be an impostor pair"):
        read_pairs(bad)
    res = runner.invoke(app, ["evaluate", "lfw", "--archive", str(lfw_dir / "lfw-deepfunneled.tgz"),
                              "--pairs", str(bad)])
    assert res.exit_code == DatasetError.exit_code
    assert "line 3" in res.output and "Traceback" not in res.output
    short = tmp_path / "short.txt"
    short.write_text("10\t300\nPerson_A\t1\t2\n")
    with pytest.raises(DatasetError, match="announces"):
        read_pairs(short)


# ---------------------------------------------------------------------------- pairs CSV


@pytest.fixture()
def pairs_csv(tmp_path: Path, portraits: Path) -> tuple[Path, Path]:
    p = tmp_path / "pairs.csv"
    p.write_text(
        "path_a,path_b,same\n"
        "person_a_1.jpg,person_a_2.jpg,1\n"
        "person_b_1.jpg,person_b_2.jpg,true\n"
        "person_a_1.jpg,impostor_1.jpg,0\n"
        "person_b_1.jpg,impostor_2.jpg,false\n"
        "person_a_2.jpg,person_b_2.jpg,0\n"
        "person_a_1.jpg,missing.jpg,1\n"
        "person_a_1.jpg,person_a_2.jpg,maybe\n")
    g = tmp_path / "groups.csv"
    g.write_text("path,group\nperson_a_1.jpg,g1\nperson_a_2.jpg,g1\nimpostor_1.jpg,g1\n"
                 "person_b_1.jpg,g2\nperson_b_2.jpg,g2\nimpostor_2.jpg,g2\n")
    return p, g


def test_pairs_csv_groups_breakdown(pairs_csv: tuple[Path, Path], portraits: Path,
                                    engine: FaceEngine) -> None:
    p, g = pairs_csv
    res = evaluate_pairs(engine, p, threshold=0.3, groups_csv=g, root=portraits)
    assert len(res.scores) == 5  # 7 rows - bad 'same' - missing image
    assert any("maybe" in m for m in res.problems)
    assert any("missing.jpg" in m for m in res.problems)
    rows = {r["group"]: r for r in res.groups}
    assert set(rows) == {"g1", "g2", CROSS}
    assert rows["g1"]["genuine"] == 1 and rows["g1"]["impostor"] == 1
    assert rows[CROSS]["impostor"] == 1 and rows[CROSS]["genuine"] == 0
    assert rows["g1"]["fnmr"] == 0.0 and rows["g2"]["fmr"] == 0.0
    # a threshold above every score rejects every genuine pair in every group
    high = evaluate_pairs(engine, p, threshold=0.999, groups_csv=g, root=portraits)
    assert all(r["fnmr"] == 1.0 for r in high.groups if r["genuine"])


def test_cli_pairs_json(pairs_csv: tuple[Path, Path], portraits: Path) -> None:
    p, g = pairs_csv
    res = runner.invoke(app, ["evaluate", "pairs", "--pairs", str(p), "--groups", str(g),
                              "--root", str(portraits), "--threshold", "0.3", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["threshold"] == 0.3 and data["pairs"] == 5 and data["skipped"] >= 2
    assert {r["group"] for r in data["groups"]} == {"g1", "g2", CROSS}


def test_pairs_csv_bad_header(tmp_path: Path, engine: FaceEngine) -> None:
    p = tmp_path / "pairs.csv"
    p.write_text("a,b\nx.jpg,y.jpg\n")
    with pytest.raises(DatasetError, match="path_a, path_b, same"):
        evaluate_pairs(engine, p, threshold=0.3)
