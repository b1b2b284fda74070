"""The people pages in a real browser (chromium through Playwright) against
``faceatlas serve``: log in (a wrong key is refused), the people grid, a person page and
every correction on it (name, merge, move, split, not-a-face, hide), forget with its
preview and receipt, logout."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from web_harness import Served, login


def test_login_refuses_a_wrong_key_then_logs_in_and_out(anon_page: Any, served: Served,
                                                        shot: Callable[[Any, str], Path]
                                                        ) -> None:
    page = anon_page
    page.goto("/")
    page.wait_for_url(re.compile(r"#/login"))  # not logged in: sent to the login page
    page.get_by_test_id("api-key").fill("fa_" + "x" * 43)
    page.get_by_test_id("login").click()
    error = page.get_by_test_id("login-error")
    error.wait_for()
    assert "not valid" in error.inner_text()
    shot(page, "wrong-key")
    login(page, served.key)
    cookies = {c["name"]: c for c in page.context.cookies()}
    cookie = cookies["faceatlas_session"]
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert served.key not in cookie["value"]
    page.get_by_test_id("person-card").first.wait_for()
    shot(page, "people")
    page.get_by_test_id("logout").click()
    page.wait_for_url(re.compile(r"#/login"))
    page.get_by_test_id("api-key").wait_for()
    assert "faceatlas_session" not in {c["name"] for c in page.context.cookies()}
    page.goto("/#/people")  # the session is over: back to the login page
    page.wait_for_url(re.compile(r"#/login"))
