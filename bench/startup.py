"""Whole-process start-up time of the ``faceatlas`` command.

    nice python3 bench/startup.py [--runs 15] [--out startup.json]

Runs each command ``--runs`` times as a fresh ``python3 -m faceatlas.cli.main`` process
(the same as the console script, with the sources on ``PYTHONPATH``), alternating the
commands so that machine load hits them alike, and prints the median, min and max wall
time of each. Commands: ``--help``; ``verify`` on two sample portraits (imports, model
loading, two detections and embeddings); and ``import faceatlas.cli.main`` alone, with
the heavy modules it pulled in.
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
         "onnxruntime", "cv2")

COMMANDS: dict[str, list[str]] = {
    "help": ["-m", "faceatlas.cli.main", "--help"],
    "verify": ["-m", "faceatlas.cli.main", "verify", str(PORTRAITS / "person_a_1.jpg"),
               str(PORTRAITS / "person_a_2.jpg")],
    "import": ["-c", "import faceatlas.cli.main"],
}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(ROOT / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def heavy_modules() -> list[str]:
    """The heavy top-level modules that ``import faceatlas.cli.main`` loads."""
    code = ("import sys, faceatlas.cli.main; "
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], env=_env(), check=True,
                         capture_output=True, text=True).stdout
    return out.split()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    env = _env()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for argv in COMMANDS.values():  # warm the file cache once
        subprocess.run([sys.executable, *argv], env=env, capture_output=True, check=True)
    for _ in range(args.runs):
        for name, argv in COMMANDS.items():
            t0 = time.perf_counter()
            subprocess.run([sys.executable, *argv], env=env, capture_output=True, check=True)
            times[name].append(time.perf_counter() - t0)
    result = {
        "runs": args.runs,
        "python": sys.version.split()[0],
        "heavy_modules_on_import": heavy_modules(),
        "seconds": {name: {"median": round(statistics.median(v), 3), "min": round(min(v), 3),
                           "max": round(max(v), 3)} for name, v in times.items()},
    }
    print(json.dumps(result, indent=2))
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
