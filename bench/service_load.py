"""REST service under load: 50 concurrent clients on loopback run verify and identify for a
bounded time against a library of 10k faces; beside it, the same requests made in-process
through the application layer (what the HTTP layer costs).

    nice python3 bench/service_load.py --lfw /work/cache/lfw_sface.npz --seconds 30

Library: the first 10,000 LFW faces (cached SFace embeddings, through the store
interface), each identity with >= 2 faces a named person (user-linked), the rest
unassigned. Queries: the sample portraits (samples/portraits), uploaded as files; verify
compares two of them, identify one against the library. The service runs in a uvicorn
subprocess (``faceatlas serve``) on 127.0.0.1; clients are threads with one HTTP
connection each (httpx). In-process: the same calls of ``faceatlas.app`` from the same
number of threads, each call taking the library and engine locks the service takes.
Figures: requests per second, latency p50 / p95 / p99, error count.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PORTRAITS = sorted((ROOT / "samples" / "portraits").glob("*.jpg"))
MODEL = "sface@fb143eea0783"


def build(lib: Path, lfw: Path, n: int) -> None:
    from faceatlas.store import ImageInfo, NewFace, SQLiteStore

    d = np.load(lfw)
    ids = [str(x) for x in d["identities"][:n]]
    with SQLiteStore(lib / "catalog.sqlite") as store:
        faces: dict[str, list[int]] = {}
        for k in range(min(n, len(ids))):
            info = ImageInfo(path=f"/photos/{k}.jpg", folder="/photos", album="photos",
                             content_hash=f"{k:064x}", size=1, mtime_ns=1)
            face = NewFace(box=(0.0, 0.0, 100.0, 100.0),
                           landmarks=np.zeros((5, 2), np.float32), det_score=0.9,
                           quality=float(d["quality"][k]), model=MODEL,
                           vector=np.asarray(d["embeddings"][k], np.float32))
            faces.setdefault(ids[k], []).append(store.save_image(info, [face]).face_ids[0])
        for name, fids in faces.items():
            if len(fids) >= 2:
                person = store.create_person(name.replace("_", " "))
                store.assign_faces(fids, person.id, "user")


def stats(lat: list[float], errors: int, seconds: float) -> dict[str, float]:
    a = np.array(lat) * 1000 if lat else np.zeros(1)
    return {"requests": len(lat), "rps": len(lat) / seconds, "p50": float(np.percentile(a, 50)),
            "p95": float(np.percentile(a, 95)), "p99": float(np.percentile(a, 99)),
            "errors": errors}


def drive(clients: int, seconds: float, call: Callable[[str, random.Random], None]
          ) -> dict[str, dict[str, float]]:
    """``clients`` threads calling ``call(kind)`` (alternating verify / identify) until
    ``seconds`` have passed; per kind and overall stats."""
    lat: dict[str, list[float]] = {"verify": [], "identify": []}
    errs = {"verify": 0, "identify": 0}
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker(i: int) -> None:
        rng = random.Random(i)
        k = i
        while time.perf_counter() < stop:
            kind = ("verify", "identify")[k % 2]
            k += 1
            t = time.perf_counter()
            try:
                call(kind, rng)
                ok = True
            except Exception as exc:  # counted, and the first few shown
                ok = False
                if sum(errs.values()) < 3:
                    print(f"error ({kind}): {exc!r}", file=sys.stderr)
            dt = time.perf_counter() - t
            with lock:
                if ok:
                    lat[kind].append(dt)
                else:
                    errs[kind] += 1

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    took = time.perf_counter() - start
    out = {k: stats(v, errs[k], took) for k, v in lat.items()}
    out["all"] = stats(lat["verify"] + lat["identify"], sum(errs.values()), took)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lfw", type=Path, required=True)
    ap.add_argument("--faces", type=int, default=10_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--workers", type=int, default=None,
                    help="faceatlas serve --workers (default: its own default)")
    args = ap.parse_args()
    import httpx

    from faceatlas.app import analysis
    from faceatlas.app import library as uc
    from faceatlas.app.engine import get_engine
    from faceatlas.app.keys import create_key
    from faceatlas.library import Library
    from faceatlas.service.state import LibraryHost, ServiceConfig

    images = [(p.name, p.read_bytes()) for p in PORTRAITS]
    with tempfile.TemporaryDirectory() as tmp:
        lib = Path(tmp) / "lib"
        lib.mkdir()
        build(lib, args.lfw, args.faces)
        with Library.open(lib, create=False) as opened:
            key = create_key(opened.store, "bench", "read")["key"]
            faces = opened.store.stats()["faces"]
            uc.identify(opened, get_engine(), [PORTRAITS[0]])  # builds the vector index once
        print(f"library: {faces} faces; {args.clients} clients, {args.seconds:.0f} s each run")

        # in-process: the application layer under the service's locks
        host = LibraryHost(ServiceConfig(library=lib))

        def direct(kind: str, rng: random.Random) -> None:
            if kind == "verify":
                a, b = rng.sample(PORTRAITS, 2)
                with host.engine() as engine:
                    analysis.verify(engine, a, b)
            else:
                with host.library() as opened, host.engine() as engine:
                    uc.identify(opened, engine, [rng.choice(PORTRAITS)])

        inproc = drive(args.clients, args.seconds, direct)
        host.close()

        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        server = subprocess.Popen([sys.executable, "-m", "faceatlas.cli.main", "serve",
                                   "--library", str(lib), "--port", str(port),
                                   *([] if args.workers is None
                                     else ["--workers", str(args.workers)])], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}/api/v1"
            for _ in range(600):
                try:
                    if httpx.get(url + "/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            local = threading.local()

            def http(kind: str, rng: random.Random) -> None:
                if not hasattr(local, "client"):
                    local.client = httpx.Client(base_url=url, timeout=120,
                                                headers={"Authorization": f"Bearer {key}"})
                if kind == "verify":
                    (na, a), (nb, b) = rng.sample(images, 2)
                    r = local.client.post("/verify", files={"a": (na, a), "b": (nb, b)})
                else:
                    name, data = rng.choice(images)
                    r = local.client.post("/identify", files={"image": (name, data)})
                if r.status_code != 200:
                    raise RuntimeError(f"{r.status_code}: {r.text[:200]}")

            http("identify", random.Random(0))  # warm the server's engine and index
            served = drive(args.clients, args.seconds, http)
        finally:
            server.terminate()
            server.wait(timeout=30)

    print("| run | kind | requests | req/s | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|---|---|")
    for name, res in (("in-process", inproc), ("HTTP (uvicorn)", served)):
        for kind in ("verify", "identify", "all"):
            r = res[kind]
            print(f"| {name} | {kind} | {r['requests']:.0f} | {r['rps']:.1f} | {r['p50']:.0f} "
                  f"| {r['p95']:.0f} | {r['p99']:.0f} | {r['errors']:.0f} |")
    ratio = served["all"]["rps"] / max(inproc["all"]["rps"], 1e-9)
    print(f"HTTP / in-process throughput: {ratio:.2f}")
    print("load average (1, 5, 15 min) at the end: "
          + ", ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
