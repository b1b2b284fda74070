"""The browser tests' harness: one library indexed from the sample portraits (plus three
two-person photos composed from them) and clustered, served by a real ``faceatlas serve``
subprocess on 127.0.0.1 (a free port) for the whole session, an admin key made by
``faceatlas keys create``, and one headless Debian ``chromium`` driven by Playwright (never
a downloaded browser; ``FACEATLAS_CHROMIUM`` overrides the path). Without chromium the
tests skip, or fail under ``CI=true``. Screenshots go to ``$FACEATLAS_ARTIFACTS`` or
``build/test-artifacts/``.

The library is shared by every browser test and changed by them (test files run in
alphabetical order): tests create the people they change (``served.api`` splits faces
off, names people) rather than rely on what earlier tests left. ``test_people_pages.py``
leaves: the person of impostor_2.jpg named "Grace Hopper" (and empty people "Grace Two",
"Grace Three"), the face of person_b_1.jpg marked not-a-face and the face of
person_b_2.jpg forgotten; every photo and the other faces stay as indexed.

Fixtures: ``served`` (:class:`Served`: url, key, folders, ``api()`` with the admin key),
``browser`` (session), ``page`` (a fresh logged-in page per test), ``anon_page`` (a fresh
page, not logged in), ``shot`` (save a screenshot)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from privacy_helpers import compose
from web_harness import (
    ARTIFACTS,
    GROUPS,
    ROOT,
    Served,
    chromium_path,
    cli,
    login,
    missing,
    new_page,
)


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory, portraits: Path,
           engine: Any) -> Iterator[Served]:
    """The sample library served by ``faceatlas serve`` for the whole session."""
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    from faceatlas.app import people as people_uc
    from faceatlas.library import Indexer, Library

    root = tmp_path_factory.mktemp("web")
    photos = root / "photos"
    photos.mkdir()
    for p in sorted(portraits.glob("*.jpg")):
        shutil.copy(p, photos / p.name)
    for name, (left, right) in GROUPS.items():
        compose(portraits / f"{left}.jpg", portraits / f"{right}.jpg", photos / name)
    lib = root / "lib"
    with Library.open(lib) as opened:
        summary = Indexer(opened, workers=0, engine=engine).run([str(photos)])
        assert summary.new == 9 and summary.faces == 12, summary
        people_uc.cluster(opened)
    key = json.loads(cli("keys", "create", "web-admin", "--scope", "admin",
                          "--library", str(lib), "--json"))["key"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "faceatlas.cli.main", "serve", "--library", str(lib),
         "--root", str(photos), "--host", "127.0.0.1", "--port", "0", "--workers", "0"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    log: list[str] = []
    found: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip()
            log.append(line)
            m = re.search(r"running on (http://127\.0\.0\.1:\d+)", line)
            if m and not found:
                found.append(m.group(1))

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 60
    while not found and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if not found:
        proc.kill()
        pytest.fail("faceatlas serve did not start:\n" + "\n".join(log[-30:]))
    server = Served(found[0], key, lib, photos, proc, log)
    yield server
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless chromium for the session."""
    path = chromium_path()
    if path is None:
        missing("chromium is not installed (set FACEATLAS_CHROMIUM or apt-get install "
                 "chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, headless=True,
                               args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture
def anon_page(browser: Any, served: Served) -> Iterator[Any]:
    """A fresh browser context and page, not logged in."""
    page = new_page(browser, served)
    yield page
    assert not page.js_errors, page.js_errors
    page.context.close()


@pytest.fixture
def page(browser: Any, served: Served) -> Iterator[Any]:
    """A fresh browser context and page, logged in with the admin key, on #/people."""
    page = new_page(browser, served)
    login(page, served.key)
    yield page
    assert not page.js_errors, page.js_errors
    page.context.close()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    """``shot(page, name)``: save a full-page screenshot to the artefacts folder."""

    def take(page: Any, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        out = ARTIFACTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(out), full_page=True)
        return out

    return take
