"""Helpers of the browser tests (fixtures in ``tests/web/conftest.py``): the served
library (:class:`Served`), where chromium is, logging in through the login form."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("FACEATLAS_ARTIFACTS") or ROOT / "build" / "test-artifacts")

#: The composed group photos: (left portrait, right portrait).
GROUPS = {"group_1.jpg": ("person_a_2", "impostor_2"),
          "group_2.jpg": ("person_b_2", "person_a_1"),
          "group_3.jpg": ("impostor_1", "person_b_1")}


def chromium_path() -> str | None:
    """The chromium to drive: ``FACEATLAS_CHROMIUM``, else ``chromium`` on PATH."""
    return os.environ.get("FACEATLAS_CHROMIUM") or shutil.which("chromium")


def missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (required under CI=true: apt-get install chromium)")
    pytest.skip(reason)


@dataclass
class Served:
    """A running ``faceatlas serve`` on a sample library."""

    url: str
    key: str
    library: Path
    photos: Path
    process: subprocess.Popen[bytes]
    log: list[str] = field(default_factory=list)

    def api(self, method: str, path: str, body: Any = None, key: str | None = None
            ) -> Any:
        """Call ``/api/v1`` + ``path`` with the admin key (or ``key``); the parsed JSON,
        or ``(status, json)`` for an HTTP error."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + "/api/v1" + path, data=data, method=method,
                                     headers={"Authorization": f"Bearer {key or self.key}",
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as res:
                raw = res.read()
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def people(self, all: bool = True) -> list[dict[str, Any]]:
        """Every person (hidden ones too by default)."""
        out: list[dict[str, Any]] = self.api("GET", "/people" + ("?all=true" if all else ""))
        return out


def cli(*args: str) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    res = subprocess.run([sys.executable, "-m", "faceatlas.cli.main", *args], env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr + res.stdout
    return res.stdout


def new_page(browser: Any, served: Served, width: int = 1280, height: int = 860) -> Any:
    context = browser.new_context(base_url=served.url,
                                  viewport={"width": width, "height": height})
    context.set_default_timeout(30_000)  # a loaded 2-core machine
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    return page


def login(page: Any, key: str) -> None:
    """Log in through the login form and wait for the people page."""
    page.goto("/#/login")
    page.get_by_test_id("api-key").fill(key)
    page.get_by_test_id("login").click()
    page.wait_for_url(re.compile(r"#/people"))
