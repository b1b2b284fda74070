"""Caching in the browser: a second visit of the people page takes the face thumbnails
from the browser's cache (no request, or a 304 without the image) and revalidates the
app's files (304), so it moves a small part of the first visit's bytes."""

from __future__ import annotations

from typing import Any

from web_harness import Served

#: Every <img> in the visible part of <main> has finished loading.
IMAGES_DONE = """() => {
  const h = innerHeight, w = innerWidth;
  return [...document.querySelectorAll('main img')].every((img) => {
    const r = img.getBoundingClientRect();
    const seen = r.width && r.bottom > 0 && r.top < h && r.right > 0 && r.left < w;
    return !seen || img.complete;
  });
}"""

RESOURCES = """() => performance.getEntriesByType('resource').map((e) => ({
  url: e.name, transfer: e.transferSize, body: e.encodedBodySize}))"""


def _visit(page: Any) -> list[dict[str, Any]]:
    page.goto("/#/people")
    page.get_by_test_id("person-card").first.wait_for()
    page.wait_for_function(IMAGES_DONE)
    page.wait_for_load_state("networkidle")
    resources: list[dict[str, Any]] = page.evaluate(RESOURCES)
    return resources


def test_a_second_visit_takes_thumbnails_and_app_files_from_the_cache(
        browser: Any, page: Any, served: Served) -> None:
    # a new context (empty cache) with the logged-in page's session cookie
    context = browser.new_context(base_url=served.url,
                                  storage_state=page.context.storage_state())
    context.set_default_timeout(15_000)
    try:
        first = _visit(context.new_page())
        again = _visit(context.new_page())   # same context: same HTTP cache
    finally:
        context.close()

    def thumbs(rs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in rs if "/thumbnail" in r["url"]]

    def static(rs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in rs if "/static/" in r["url"]]

    assert thumbs(first) and all(r["transfer"] > r["body"] > 0 for r in thumbs(first))
    assert {r["url"] for r in thumbs(again)} == {r["url"] for r in thumbs(first)}
    # no thumbnail's body crosses the network again (0: from the cache; else a 304's headers)
    assert all(r["transfer"] < r["body"] for r in thumbs(again)), thumbs(again)
    assert static(again) and all(r["transfer"] < r["body"] for r in static(again)), static(again)
    moved = sum(r["transfer"] for r in again)
    assert moved < sum(r["transfer"] for r in first) / 3
