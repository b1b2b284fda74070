"""Web app benchmark (issue 13): the people page and a person page on a library of about
10,000 photos and 1,000 people, measured in the browser.

    nice -n 10 python3 bench/web_pages.py --build     # once: extract, index, cluster
    python3 bench/web_pages.py --measure [--reps 5]   # serve, log in, load the pages

``--build`` (idempotent) extracts the first 10,000 photos of LFW (deep-funneled, by
``Person/Person_NNNN.jpg`` name order) to ``CACHE/photos`` once, indexes them with the
real pipeline (``faceatlas index --workers 1``, niced, log in ``/work/cache/web10k.log``)
and runs ``faceatlas cluster`` (default ``--min-faces 2``). A rerun skips what is done
(``index`` skips unchanged files, ``cluster`` is incremental). The counts go to
``CACHE/build.json``.

``--build`` also makes a second, small library of 24 phone-size (12 MP) photos beside it
(``CACHE/phone``): LFW's 250 px photos hide what a photo grid costs.

``--measure`` starts one ``faceatlas serve`` per ``--variant LABEL[=SRC]`` (the code of a
``src/`` folder, e.g. ``git archive COMMIT src``; none: this checkout) on 127.0.0.1 and
free ports over that library, all at once, each with an admin key; logs in through the
app with Playwright driving Debian's chromium; and loads ``#/people`` and
``#/person/ID`` (the biggest person and a typical one, the median face count) cold (a
new browser context: empty cache) and warm (the same context, second visit), ``--reps``
times each, the variants taking turns in every repetition. From the browser's
Performance API: first-paint and first-contentful-paint, the time until the grid is
loaded (cards there and every visible ``<img>`` complete, polled each animation frame),
the bytes transferred (``transferSize`` of the navigation and every resource), and how
each thumbnail and app file was answered (body, 304 headers only, or no request: from
the cache). The raw API calls behind the pages are timed too, among them the baseline
``GET /api/v1/people`` unpaged (what a client had before pagination) vs paged, and a
12 MP photo vs its preview. Results go to ``--out`` (JSON); docs/benchmarks.md, "Web
app", has the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ARCHIVE = Path("/work/shared/datasets/lfw/lfw-deepfunneled.tgz")
CACHE = Path("/work/cache/web10k")
LOG = Path(os.environ.get("WEB_PAGES_LOG", "/work/cache/web10k.log"))
OUT = Path("/work/cache/web_pages.json")
PHOTOS = 10_000


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "faceatlas.cli.main", *args]


def _log(msg: str) -> None:
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    with LOG.open("a") as f:
        f.write(line + "\n")


# ---------------------------------------------------------------------------------------
# build


def extract(archive: Path, dest: Path, n: int) -> int:
    """Extract the first ``n`` .jpg of the archive in name order to ``dest/Person/``;
    files already there are kept. Returns how many photos ``dest`` holds."""
    def rel(name: str) -> str:
        return f"{Path(name).parent.name}/{Path(name).name}"

    with tarfile.open(archive) as tar:  # names first, then one pass in archive order
        names = sorted(rel(m.name) for m in tar.getmembers()
                       if m.isfile() and m.name.endswith(".jpg"))
    chosen = set(names[:n])
    if sum(1 for p in dest.rglob("*.jpg") if rel(str(p)) in chosen) < len(chosen):
        with tarfile.open(archive) as tar:
            for m in tar:
                if m.isfile() and rel(m.name) in chosen and not (dest / rel(m.name)).is_file():
                    m.name = rel(m.name)
                    tar.extract(m, dest, filter="data")
    return sum(1 for _ in dest.rglob("*.jpg"))


def build(archive: Path, cache: Path, n: int, min_faces: int, workers: int) -> dict[str, Any]:
    """Extract, index and cluster the benchmark library (each step idempotent)."""
    photos, library = cache / "photos", cache / "library"
    photos.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {}
    t = time.perf_counter()
    count = extract(archive, photos, n)
    out["extract_s"] = round(time.perf_counter() - t, 1)
    _log(f"{count} photos in {photos} ({out['extract_s']} s)")
    nice = ["nice", "-n", "10"] if shutil.which("nice") else []
    t = time.perf_counter()
    with LOG.open("a") as log:
        subprocess.run([*nice, *_cli("index", str(photos), "--library", str(library),
                                     "--workers", str(workers), "--json")],
                       check=True, stdout=log, stderr=log)
    out["index_s"] = round(time.perf_counter() - t, 1)
    _log(f"index done in {out['index_s']} s")
    t = time.perf_counter()
    with LOG.open("a") as log:
        subprocess.run([*nice, *_cli("cluster", "--library", str(library),
                                     "--min-faces", str(min_faces), "--json")],
                       check=True, stdout=log, stderr=log)
    out["cluster_s"] = round(time.perf_counter() - t, 1)
    _log(f"cluster done in {out['cluster_s']} s")
    st = json.loads(subprocess.run(_cli("status", "--library", str(library), "--json"),
                                   check=True, capture_output=True, text=True).stdout)
    out.update({k: st[k] for k in ("photos", "photos_with_faces", "faces",
                                   "unassigned_faces", "people")})
    out["min_faces"] = min_faces
    out["source"] = f"first {n} .jpg of {archive.name} in name order"
    out["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    (cache / "build.json").write_text(json.dumps(out, indent=2))
    _log(f"build: {json.dumps(out)}")
    return out


def build_phone(cache: Path, n: int = 24, size: tuple[int, int] = (4032, 3024)) -> dict[str, Any]:
    """A second, small library of phone-size photos for the person page's photo grid
    (LFW's 250 px photos hide what originals cost there): the first ``n`` photos of the
    10k library's most frequent LFW person, each enlarged to ``size`` (12 MP) with
    sensor-like grain, saved as JPEG (quality 92), indexed and clustered. Idempotent."""
    import numpy as np
    from PIL import Image

    photos, library = cache / "phone" / "photos", cache / "phone" / "library"
    if (cache / "phone" / "build.json").is_file():
        return dict(json.loads((cache / "phone" / "build.json").read_text()))
    folders = sorted((cache / "photos").iterdir(), key=lambda d: (-len(list(d.glob("*.jpg"))),
                                                                 d.name))
    sources = sorted(folders[0].glob("*.jpg"))[:n]
    photos.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for src in sources:
        dest = photos / src.name
        if not dest.is_file():
            big = Image.open(src).convert("RGB").resize(size, Image.Resampling.BICUBIC)
            arr = np.asarray(big, np.int16) + rng.normal(0, 5, (size[1], size[0], 1)).astype(
                np.int16)
            Image.fromarray(arr.clip(0, 255).astype(np.uint8)).save(dest, quality=92)
    nice = ["nice", "-n", "10"] if shutil.which("nice") else []
    with LOG.open("a") as log:
        for args in (("index", str(photos), "--workers", "1"), ("cluster",)):
            subprocess.run([*nice, *_cli(*args, "--library", str(library), "--json")],
                           check=True, stdout=log, stderr=log)
    out = {"photos": len(sources), "person": folders[0].name, "size": list(size),
           "bytes": sum(p.stat().st_size for p in photos.glob("*.jpg"))}
    (cache / "phone" / "build.json").write_text(json.dumps(out, indent=2))
    _log(f"phone library: {json.dumps(out)}")
    return out


# ---------------------------------------------------------------------------------------
# measure


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``faceatlas serve`` over ``library`` on 127.0.0.1 and a free port, with an admin
    key (revoked when the server stops)."""

    def __init__(self, library: Path, roots: list[Path], src: Path | None = None) -> None:
        self.library, self.roots = library, roots
        self.env = dict(os.environ)
        if src is not None:  # serve another version of the code (a before/after comparison)
            self.env["PYTHONPATH"] = str(src.resolve())
        self.key_name = f"webbench-{os.getpid()}-{int(time.time())}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = ""
        self.key = ""

    def __enter__(self) -> Server:
        out = subprocess.run(_cli("keys", "create", self.key_name, "--scope", "admin",
                                  "--library", str(self.library), "--json"),
                             check=True, capture_output=True, text=True).stdout
        self.key = json.loads(out)["key"]
        port = free_port()
        roots = [a for r in self.roots for a in ("--root", str(r))]
        self.proc = subprocess.Popen(
            _cli("serve", "--library", str(self.library), "--host", "127.0.0.1",
                 "--port", str(port), "--workers", "0", *roots),
            stdout=subprocess.DEVNULL, stderr=LOG.open("a"), env=self.env)
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(self.base + "/api/v1/health", timeout=2):
                    break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("faceatlas serve did not start (see the log)") from None
                time.sleep(0.3)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        subprocess.run(_cli("keys", "revoke", self.key_name, "--library", str(self.library)),
                       capture_output=True)

    def get(self, path: str) -> tuple[float, int, Any]:
        """GET an API path with the key: (milliseconds, body bytes, parsed JSON)."""
        req = urllib.request.Request(self.base + "/api/v1" + path,
                                     headers={"Authorization": f"Bearer {self.key}"})
        t = time.perf_counter()
        with urllib.request.urlopen(req, timeout=120) as r:
            body = r.read()
            is_json = "json" in r.headers.get("content-type", "")
        return (time.perf_counter() - t) * 1000, len(body), json.loads(body) if is_json else None


def stats(values: list[float]) -> dict[str, float]:
    """Median and p90 (nearest rank) of the repetitions, and how many."""
    v = sorted(values)
    if not v:
        return {}
    p90 = v[min(len(v) - 1, max(0, -(-9 * len(v) // 10) - 1))]
    return {"median": round(statistics.median(v), 1), "p90": round(p90, 1), "n": len(v)}


# The page is loaded when its cards are there and every <img> inside the visible part of
# <main> has finished loading; polled on every animation frame, the value is the time.
GRID_LOADED_JS = """(sel) => {
  const cards = document.querySelectorAll(sel);
  if (!cards.length) return false;
  const h = window.innerHeight, w = window.innerWidth;
  for (const img of document.querySelectorAll('main img')) {
    const r = img.getBoundingClientRect();
    if (r.width === 0 || r.bottom <= 0 || r.top >= h || r.right <= 0 || r.left >= w) continue;
    if (!img.complete) return false;  // loaded, or failed (counted as broken)
  }
  performance.mark('grid-loaded');
  return performance.now();
}"""

METRICS_JS = """() => {
  const paint = {};
  for (const e of performance.getEntriesByType('paint')) paint[e.name] = e.startTime;
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  const h = window.innerHeight, w = window.innerWidth;
  let visible = 0, broken = 0;
  for (const img of document.querySelectorAll('main img')) {
    const r = img.getBoundingClientRect();
    if (r.width && r.bottom > 0 && r.top < h && r.right > 0 && r.left < w) visible++;
    if (img.complete && img.naturalWidth === 0) broken++;
  }
  return {paint, visible_images: visible, broken_images: broken,
          images: document.querySelectorAll('main img').length,
          nav: nav ? {transfer: nav.transferSize, status: nav.responseStatus || 0} : null,
          resources: res.map(e => ({url: e.name, transfer: e.transferSize,
                                    encoded: e.encodedBodySize, status: e.responseStatus || 0,
                                    start: e.startTime, end: e.responseEnd}))};
}"""


def classify(entry: dict[str, Any]) -> str:
    """How a resource was answered: ``cache`` (no request), ``304`` or ``200``."""
    if entry["transfer"] == 0 and entry["encoded"] > 0:
        return "cache"
    if entry["status"] == 304 or 0 < entry["transfer"] <= entry["encoded"]:
        return "304"  # only headers crossed (chromium reports a revalidated entry as 200)
    return "200"


def load(context: Any, url: str, card: str, settle: bool) -> dict[str, Any]:
    """Open ``url`` in a new page of ``context`` and read the Performance API."""
    page = context.new_page()
    statuses: dict[str, int] = {}

    def on_response(r: Any) -> None:
        if "/thumbnail" in r.url:
            k = str(r.status)
            statuses[k] = statuses.get(k, 0) + 1

    page.on("response", on_response)
    page.goto(url)
    grid = page.wait_for_function(GRID_LOADED_JS, arg=card, polling="raf",
                                  timeout=120_000).json_value()
    at_grid = page.evaluate(METRICS_JS)
    if settle:  # what the page goes on to fetch (lazy images near the fold, prefetches)
        page.wait_for_load_state("networkidle")
    after = page.evaluate(METRICS_JS) if settle else at_grid
    page.close()

    def transferred(m: dict[str, Any]) -> int:
        return int((m["nav"] or {}).get("transfer", 0) + sum(e["transfer"] for e in m["resources"]))

    thumbs = [e for e in after["resources"] if "/thumbnail" in e["url"]]
    kinds = {k: sum(classify(e) == k for e in thumbs) for k in ("200", "304", "cache")}
    static = [e for e in after["resources"] if "/static/" in e["url"]]
    static_kinds = {k: sum(classify(e) == k for e in static) for k in ("200", "304", "cache")}
    api = [e for e in after["resources"] if "/api/v1/" in e["url"] and "/thumbnail" not in e["url"]]
    return {"first_paint_ms": at_grid["paint"].get("first-paint"),
            "fcp_ms": at_grid["paint"].get("first-contentful-paint"),
            "grid_loaded_ms": grid,
            "bytes_at_grid": transferred(at_grid), "bytes_total": transferred(after),
            "requests": len(after["resources"]) + 1, "thumbnails": len(thumbs),
            "thumbnails_by_answer": kinds,
            "static_by_answer": static_kinds, "thumbnail_responses_seen": statuses,
            "api_calls": [e["url"].split("/api/v1", 1)[1] for e in api],
            "images_in_page": after["images"], "visible_images": at_grid["visible_images"],
            "broken_images": after["broken_images"],
            "timeline": [(e["url"].split("/", 3)[-1], round(e["start"]), round(e["end"]))
                         for e in after["resources"] if "/thumbnail" not in e["url"]
                         and "/photos/" not in e["url"]],
            "thumbnails_done_ms": round(max((e["end"] for e in thumbs), default=0)),
            "photos_bytes": sum(e["transfer"] for e in after["resources"]
                                if "/photos/" in e["url"])}


def summarize_loads(loads: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in ("first_paint_ms", "fcp_ms", "grid_loaded_ms", "bytes_at_grid", "bytes_total",
              "requests", "thumbnails", "photos_bytes"):
        out[k] = stats([float(x[k]) for x in loads if x[k] is not None])
    for k in ("200", "304", "cache"):
        out[f"thumbnails_{k}"] = stats([float(x["thumbnails_by_answer"][k]) for x in loads])
        out[f"static_{k}"] = stats([float(x["static_by_answer"][k]) for x in loads])
    out["visible_images"] = loads[-1]["visible_images"]
    out["images_in_page"] = loads[-1]["images_in_page"]
    out["broken_images"] = max(x["broken_images"] for x in loads)
    out["api_calls"] = loads[-1]["api_calls"]
    return out


def api_calls(servers: dict[str, Server], reps: int, paths: dict[str, str]
              ) -> dict[str, dict[str, Any]]:
    """Each API call as a raw request with the key, on every server in turn (one
    warm-up call each, then ``reps`` alternating rounds): time and answer size."""
    out: dict[str, dict[str, Any]] = {label: {} for label in servers}
    for name, path in paths.items():
        runs: dict[str, list[tuple[float, int, Any]]] = {label: [] for label in servers}
        for server in servers.values():
            server.get(path)  # warm the service (imports, catalog pages)
        for _ in range(reps):
            for label, server in servers.items():
                runs[label].append(server.get(path))
        for label, rs in runs.items():
            item: dict[str, Any] = {"path": path, "ms": stats([r[0] for r in rs]),
                                    "bytes": rs[-1][1]}
            if isinstance(rs[-1][2], list):
                item["items"] = len(rs[-1][2])
            out[label][name] = item
    return out


def measure_library(library: Path, variants: dict[str, Path | None], reps: int, paged: str,
                    viewport: tuple[int, int], chromium: str, only: tuple[str, ...]
                    ) -> dict[str, Any]:
    """One server per variant (the code under its source folder, None: this checkout's)
    over ``library``, all running at once; API calls, then the pages named in ``only``
    in the browser, the variants taking turns in every repetition so that the machine's
    load weighs on each alike."""
    from contextlib import ExitStack

    from playwright.sync_api import sync_playwright

    result: dict[str, Any] = {"load_average_before": [round(x, 2) for x in os.getloadavg()],
                              "variants": {label: {"src": str(src) if src else "this checkout"}
                                           for label, src in variants.items()}}
    with ExitStack() as stack:
        servers = {label: stack.enter_context(Server(library, [library.parent / "photos"], src))
                   for label, src in variants.items()}
        first = next(iter(servers.values()))
        _, _, people = first.get("/people")
        counts = [p["faces"] for p in people]
        biggest = people[0]
        typical = people[len(people) // 2]  # the median face count (sorted by count)
        result["people_listed"] = len(people)
        result["persons"] = {"biggest": {"id": biggest["id"], "faces": biggest["faces"]},
                             "typical": {"id": typical["id"], "faces": typical["faces"]}}
        result["face_count_median"] = statistics.median(counts) if counts else 0
        calls = {"people_unpaged": "/people", "people_paged": paged}
        for who, p in (("biggest", biggest), ("typical", typical)):
            pid = p["id"]
            calls.update({f"person_{who}": f"/people/{pid}",
                          f"person_{who}_brief": f"/people/{pid}?brief=true",
                          f"person_{who}_faces": f"/people/{pid}/faces?limit=60",
                          f"person_{who}_photos": f"/people/{pid}/photos?limit=24",
                          f"person_{who}_relations": f"/people/{pid}/relations?n=12"})
        _, _, photos = first.get(f"/people/{biggest['id']}/photos?limit=1")
        if photos and photos.get("photos"):  # a photo of the grid: the file vs its preview
            ph = photos["photos"][0]["id"]
            calls.update({"photo_original": f"/photos/{ph}",
                          "photo_preview_360": f"/photos/{ph}?size=360"})
        for label, api in api_calls(servers, reps, calls).items():
            result["variants"][label]["api"] = api
            _log(f"{label} api: {json.dumps({k: v['ms'] for k, v in api.items()})}")
        pages = {"people": ("#/people", '[data-testid="person-card"]'),
                 "person_biggest": (f"#/person/{biggest['id']}", '[data-testid="face-tile"]'),
                 "person_typical": (f"#/person/{typical['id']}", '[data-testid="face-tile"]')}
        size = {"width": viewport[0], "height": viewport[1]}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            states = {}
            for label, server in servers.items():
                ctx = browser.new_context(viewport=size)
                page = ctx.new_page()
                page.goto(server.base + "/#/login")
                page.get_by_test_id("api-key").fill(server.key)
                page.get_by_test_id("login").click()
                page.wait_for_selector('[data-testid="person-card"]', timeout=120_000)
                states[label] = ctx.storage_state()
                ctx.close()
            for name, (route, card) in pages.items():
                if name not in only:
                    continue
                loads: dict[str, dict[str, list[dict[str, Any]]]] = {
                    label: {"cold": [], "warm": []} for label in servers}
                for _ in range(reps):
                    for label, server in servers.items():
                        ctx = browser.new_context(storage_state=states[label], viewport=size)
                        ctx.add_init_script("performance.setResourceTimingBufferSize(10000)")
                        url = server.base + "/" + route
                        loads[label]["cold"].append(load(ctx, url, card, settle=True))
                        loads[label]["warm"].append(load(ctx, url, card, settle=True))
                        ctx.close()
                for label, runs in loads.items():
                    entry = {"route": route, "cold": summarize_loads(runs["cold"]),
                             "warm": summarize_loads(runs["warm"]), "runs": runs}
                    result["variants"][label].setdefault("pages", {})[name] = entry
                    for kind in ("cold", "warm"):
                        r = entry[kind]
                        _log(f"{label} {name} {kind}: fcp {r['fcp_ms']} grid "
                             f"{r['grid_loaded_ms']} bytes {r['bytes_total']} thumbs "
                             f"200/304/cache {r['thumbnails_200']}/{r['thumbnails_304']}/"
                             f"{r['thumbnails_cache']}")
            browser.close()
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return result


def measure(library: Path, reps: int, out: Path, paged: str = "/people?limit=60",
            variants: dict[str, Path | None] | None = None,
            viewport: tuple[int, int] = (1280, 800)) -> dict[str, Any]:
    """Serve ``library`` (and the phone-size library beside it, when built) once per
    variant (label: source folder, None for this checkout), log in through the app and
    load the pages; see the module doc."""
    chromium = os.environ.get("FACEATLAS_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        raise SystemExit("Debian's chromium is needed (apt-get install chromium)")
    variants = variants or {"after": None}
    build_file = library.parent / "build.json"
    phone_file = library.parent / "phone" / "build.json"
    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
                   f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB",
        "library": json.loads(build_file.read_text()) if build_file.is_file() else {},
        "phone_library": json.loads(phone_file.read_text()) if phone_file.is_file() else {},
        "reps": reps, "viewport": list(viewport)}
    _log(f"measure {list(variants)} on {library}")
    result["main"] = measure_library(library, variants, reps, paged, viewport, chromium,
                                     ("people", "person_biggest", "person_typical"))
    phone = library.parent / "phone" / "library"
    if phone.is_dir():  # the person page over 12 MP photos
        _log(f"measure {list(variants)} on {phone}")
        result["phone"] = measure_library(phone, variants, reps, paged, viewport, chromium,
                                          ("person_biggest",))
    out.write_text(json.dumps(result, indent=2))
    _log(f"results in {out}")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", action="store_true")
    ap.add_argument("--measure", action="store_true")
    ap.add_argument("--archive", type=Path, default=ARCHIVE)
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--photos", type=int, default=PHOTOS)
    ap.add_argument("--min-faces", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--paged", default="/people?limit=60",
                    help="the paged people call of the API baseline")
    ap.add_argument("--variant", action="append", metavar="LABEL[=SRC]",
                    help="measure a server running the code in SRC (a src/ folder; "
                         "none: this checkout), under LABEL; repeatable, in this order")
    args = ap.parse_args()
    if not (args.build or args.measure):
        ap.error("give --build and/or --measure")
    if args.build:
        build(args.archive, args.cache, args.photos, args.min_faces, args.workers)
        build_phone(args.cache)
    if args.measure:
        variants: dict[str, Path | None] = {}
        for v in args.variant or ["after"]:
            label, _, src = v.partition("=")
            variants[label] = Path(src) if src else None
        measure(args.cache / "library", args.reps, args.out, args.paged, variants)


if __name__ == "__main__":
    main()
