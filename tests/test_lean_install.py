"""A lean install: no runtime dependency that no shipped feature uses; optional ones
(matplotlib, ScaNN) say which extra to install; faceatlas' own metrics match the
scikit-learn reference they replaced."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from faceatlas.cli.main import app
from faceatlas.errors import MissingExtraError
from faceatlas.evaluation.clustering import bcubed_prf, pairwise_prf
from faceatlas.evaluation.metrics import auc, roc
from faceatlas.extras import require

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "faceatlas"


def _imports() -> dict[str, set[str]]:
    """Top-level module -> files of src/faceatlas importing it (anywhere in the file)."""
    out: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 \
                and node.module else []
            for name in names:
                out.setdefault(name.split(".")[0], set()).add(path.relative_to(SRC).as_posix())
    return out


def test_runtime_dependencies_are_the_ones_used() -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {d.split(">")[0].split(";")[0].strip().lower() for d in meta["dependencies"]}
    for gone in ("pydantic", "scikit-learn", "matplotlib", "scann"):
        assert gone not in runtime
    assert set(meta["optional-dependencies"]) >= {"plots", "scann", "dlib", "dev", "server"}
    imports = _imports()
    assert "sklearn" not in imports
    # the REST service's packages (the server extra) only in the service and the web app
    # it serves
    for server_module in ("pydantic", "fastapi", "starlette"):
        assert all(f.startswith(("service/", "web/")) for f in imports.get(server_module, ())), \
            imports[server_module]
    # optional packages are imported only where the feature needing them lives
    assert imports["matplotlib"] <= {"relations/render.py", "evaluation/plots.py"}
    assert imports["scann"] == {"search/scann_layer.py"}
    module_of = {"opencv-python-headless": "cv2", "pillow": "PIL", "faiss-cpu": "faiss",
                 "pillow-heif": "pillow_heif"}
    model_packages = (SRC / "models" / "catalog.py").read_text()  # ship model files
    for dist in runtime:
        used = module_of.get(dist, dist) in imports or f'package="{dist}"' in model_packages
        assert used, f"{dist} is declared but never used"


def test_missing_plots_extra_is_a_clear_error(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    with pytest.raises(MissingExtraError, match=r"pip install 'faceatlas\[plots\]'"):
        require("matplotlib.figure", "plotting")
    from faceatlas.evaluation.plots import plot_all

    scores, labels = np.array([0.9, 0.1, 0.8, 0.2]), np.array([1, 0, 1, 0], bool)
    with pytest.raises(MissingExtraError, match="plotting needs matplotlib"):
        plot_all(scores, labels, tmp_path, "run")
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("path_a,path_b,same\n")
    res = CliRunner().invoke(app, ["evaluate", "pairs", str(pairs), "--out",
                                   str(tmp_path / "out"), "--json"])
    assert res.exit_code == MissingExtraError.exit_code
    assert "evaluate pairs --out needs matplotlib" in res.stdout and res.stderr == ""
    with pytest.raises(ModuleNotFoundError):  # other missing modules are not hidden
        require("faceatlas_no_such_module", "x")


def test_roc_and_auc_match_scikit_learn() -> None:
    metrics = pytest.importorskip("sklearn.metrics")  # reference, in the [dev] extra
    rng = np.random.default_rng(0)
    for n, decimals in ((2, 3), (50, 1), (5000, 2), (5000, 6)):
        scores = np.round(rng.normal(size=n), decimals)
        labels = np.arange(n) % 3 == 0
        far, tar, thr = roc(scores, labels)
        ref = metrics.roc_curve(labels, scores, drop_intermediate=False)
        for ours, theirs in zip((far, tar, thr), ref, strict=True):
            np.testing.assert_allclose(ours, theirs)
        assert auc(scores, labels) == pytest.approx(metrics.roc_auc_score(labels, scores),
                                                    abs=1e-12)


def test_clustering_scores_match_scikit_learn() -> None:
    cluster = pytest.importorskip("sklearn.metrics.cluster")
    rng = np.random.default_rng(1)
    for n, k_true, k_pred in ((1, 1, 1), (7, 3, 2), (500, 20, 30), (2000, 400, 5)):
        truth = rng.integers(0, k_true, n)
        pred = rng.integers(-1, k_pred, n)  # -1: unassigned, a singleton each
        p = pred.copy()
        p[p < 0] = np.arange(p.max() + 1, p.max() + 1 + (p < 0).sum())
        (tn, fp), (fn, tp) = cluster.pair_confusion_matrix(truth, p).astype(float)
        ours = pairwise_prf(truth, pred)
        if n > 1:
            assert ours.precision == pytest.approx(tp / (tp + fp) if tp + fp else 1.0)
            assert ours.recall == pytest.approx(tp / (tp + fn) if tp + fn else 1.0)
        c = cluster.contingency_matrix(truth, p)
        precision = float(((c ** 2).sum(axis=0) / c.sum(axis=0)).sum() / n)
        recall = float(((c ** 2).sum(axis=1) / c.sum(axis=1)).sum() / n)
        b = bcubed_prf(truth, pred)
        assert (b.precision, b.recall) == pytest.approx((precision, recall))
