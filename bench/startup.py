"""Whole-process start-up time of the ``faceatlas`` command, against a baseline tree.

    nice python3 bench/startup.py [--runs 15] [--baseline /path/to/old/checkout] \
        [--out startup.json]

Each command runs ``--runs`` times as a fresh ``python3 -m faceatlas.cli.main`` process
(the same as the console script) with this tree's ``src`` on ``PYTHONPATH``, and, with
``--baseline``, as many times with that tree's ``src`` (e.g. a ``git worktree`` of the
commit before): the two trees and the commands alternate run by run, so that machine load
hits them alike. Prints the median, min and max wall time of each, and the ratio of the
medians. Commands: ``--help``; ``verify`` on two sample portraits (imports, model
loading, two detections and embeddings); and ``python -c "import faceatlas.cli.main"``,
with the heavy modules that import pulls in.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PORTRAITS = ROOT / "samples" / "portraits"
HEAVY = ("sklearn", "matplotlib", "networkx", "faiss", "scipy", "scann", "onnx",
         "onnxruntime", "cv2", "numpy")

COMMANDS: dict[str, list[str]] = {
    "help": ["-m", "faceatlas.cli.main", "--help"],
    "verify": ["-m", "faceatlas.cli.main", "verify", str(PORTRAITS / "person_a_1.jpg"),
               str(PORTRAITS / "person_a_2.jpg")],
    "import": ["-c", "import faceatlas.cli.main"],
}


def _env(tree: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree / "src")
    return env


def heavy_modules(tree: Path) -> list[str]:
    """The heavy top-level modules that ``import faceatlas.cli.main`` loads."""
    code = ("import sys, faceatlas.cli.main; "
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], env=_env(tree), check=True,
                         capture_output=True, text=True).stdout
    return out.split()


def _summary(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--baseline", type=Path, default=None,
                    help="another checkout (its src/ is used) to compare with")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    trees = {"this": ROOT, **({"baseline": args.baseline} if args.baseline else {})}
    times = {t: {name: [] for name in COMMANDS} for t in trees}
    for tree in trees.values():  # warm the file cache once
        for argv in COMMANDS.values():
            subprocess.run([sys.executable, *argv], env=_env(tree), capture_output=True,
                           check=True)
    for _ in range(args.runs):
        for name, argv in COMMANDS.items():
            for label, tree in trees.items():
                t0 = time.perf_counter()
                subprocess.run([sys.executable, *argv], env=_env(tree), capture_output=True,
                               check=True)
                times[label][name].append(time.perf_counter() - t0)
    result: dict[str, object] = {
        "runs": args.runs, "python": sys.version.split()[0],
        "load_average": os.getloadavg(),
        "trees": {label: {"path": str(tree), "heavy_modules_on_import": heavy_modules(tree),
                          "seconds": {n: _summary(v) for n, v in times[label].items()}}
                  for label, tree in trees.items()},
    }
    if "baseline" in trees:
        result["speed_up"] = {n: round(statistics.median(times["baseline"][n])
                                       / statistics.median(times["this"][n]), 2)
                              for n in COMMANDS}
    print(json.dumps(result, indent=2))
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
