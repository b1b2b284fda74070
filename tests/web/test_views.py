"""The browsing views in a real browser (chromium through Playwright) against
``faceatlas serve`` (the harness of ``conftest.py``): answer a merge suggestion, name
unassigned faces, a photo's face boxes, search by upload (file input and drag and drop),
an index job with live progress and a corrupt file listed, a person's neighbourhood graph.
Each test first makes, through the API, the state it needs (a person split in two, faces
taken out of their person), so that it does not depend on what other tests did."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from web_harness import Served, login

Shot = Callable[[Any, str], Path]


def phone(page: Any, shot: Shot, name: str) -> None:
    """A screenshot at phone width (375 px), and back to the desktop size."""
    size = page.viewport_size
    page.set_viewport_size({"width": 375, "height": 800})
    page.wait_for_timeout(100)
    shot(page, name + "-375")
    wide = page.evaluate("""() => [...document.querySelectorAll('#app *')]
        .filter(e => e.getBoundingClientRect().right > 376 && !e.closest('.sr-only'))
        .map(e => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)
        .slice(0, 5)""")
    assert not wide, f"{name}: wider than 375 px: {wide}"  # the view fits a phone
    page.set_viewport_size(size)


def go(page: Any, hash: str) -> None:
    """Open a view once the page shown before has finished rendering."""
    if page.url.endswith("#/people"):
        page.get_by_test_id("person-card").first.wait_for()
    page.wait_for_selector("#app:not([aria-busy])")
    page.goto("/" + hash)


def photos(served: Served) -> dict[int, dict[str, Any]]:
    """Every photo that holds a face of someone: ``{id: GET /photos/{id}/faces}``."""
    ids = set()
    for p in served.people():
        ids |= {f["image_id"] for f in served.api("GET", f"/people/{p['id']}")["face_details"]}
    return {i: served.api("GET", f"/photos/{i}/faces") for i in sorted(ids)}


def biggest(served: Served, at_least: int = 2) -> dict[str, Any]:
    """The visible person with the most faces (at least ``at_least``), in full."""
    people = [p for p in served.people(all=False) if p["faces"] >= at_least]
    assert people, "no person with enough faces left in the served library"
    shown: dict[str, Any] = served.api("GET", f"/people/{people[0]['id']}")
    return shown


def test_answer_a_suggestion(page: Any, served: Served, shot: Shot) -> None:
    person = biggest(served)
    face = person["face_ids"][-1]
    split = served.api("POST", f"/people/{person['id']}/split", {"faces": [face]})
    other = split["new_person"]["id"]
    go(page, "#/suggestions")
    card = page.locator(f'[data-testid="suggestion-card"][data-a="{min(person["id"], other)}"]'
                        f'[data-b="{max(person["id"], other)}"]')
    card.wait_for()
    assert card.locator("img").count() >= 2
    assert "Y" in page.locator(".kbd-help").inner_text()  # the shortcuts are announced
    shot(page, "cards")
    phone(page, shot, "cards")
    cards = page.get_by_test_id("suggestion-card")
    if cards.count() > 1:  # arrow keys move between cards
        cards.first.focus()
        page.keyboard.press("ArrowRight")
        assert cards.nth(1).evaluate("n => n === document.activeElement")
    card.focus()
    page.keyboard.press("y")  # the shortcut answers the focused card: yes, one person
    card.wait_for(state="detached")
    after = {p["id"]: p["faces"] for p in served.people()}
    assert person["faces"] in (after.get(person["id"]), after.get(other))
    assert 0 in (after.get(person["id"], 0), after.get(other, 0))
    suggestions = served.api("GET", "/people/suggestions")["suggestions"]
    assert not [s for s in suggestions if {s["person"], s["other"]} == {person["id"], other}]
    # N: different people, never suggested again
    kept = biggest(served)
    apart = served.api("POST", f"/people/{kept['id']}/split",
                       {"faces": [kept["face_ids"][-1]]})["new_person"]["id"]
    go(page, "#/people")
    go(page, "#/suggestions")
    card = page.locator(f'[data-testid="suggestion-card"][data-a="{min(kept["id"], apart)}"]'
                        f'[data-b="{max(kept["id"], apart)}"]')
    card.focus()
    page.keyboard.press("n")
    card.wait_for(state="detached")
    suggestions = served.api("GET", "/people/suggestions")["suggestions"]
    assert not [s for s in suggestions if {s["person"], s["other"]} == {kept["id"], apart}]
    assert {kept["id"], apart} <= {p["id"] for p in served.people() if p["faces"]}


def test_name_unassigned_faces(page: Any, served: Served, shot: Shot) -> None:
    person = biggest(served, 3)
    a, b = person["face_ids"][:2]
    served.api("POST", f"/people/{person['id']}/not", {"faces": [a, b]})
    go(page, "#/unassigned")
    card = page.locator(f'[data-testid="unassigned-face"][data-face-id="{a}"]')
    card.wait_for()
    shot(page, "faces")
    phone(page, shot, "faces")
    guess = served.api("GET", "/browse/unassigned?limit=1000")
    [row] = [f for f in guess["faces"] if f["face_id"] == a]
    assert row["candidate"] is not None
    card.get_by_test_id("assign-face").click()  # one click: the best guess
    card.wait_for(state="detached")
    moved = served.api("GET", f"/people/{row['candidate']}")
    assert a in moved["face_ids"]
    other = page.locator(f'[data-testid="unassigned-face"][data-face-id="{b}"]')
    other.get_by_label("Who is this?").fill("Typed Name")
    other.get_by_test_id("assign-name").click()
    other.wait_for(state="detached")
    [typed] = [p for p in served.people() if p["name"] == "Typed Name"]
    assert served.api("GET", f"/people/{typed['id']}")["face_ids"] == [b]


def test_photo_boxes_open_their_person(page: Any, served: Served, shot: Shot) -> None:
    group = next(p for p in photos(served).values()
                 if len(p["faces"]) >= 2 and any(f["person"] for f in p["faces"]))
    face = next(f for f in group["faces"] if f["person"])
    go(page, f"#/photo/{group['id']}")
    boxes = page.get_by_test_id("photo-face-box")
    boxes.first.wait_for()
    assert boxes.count() == len(group["faces"])
    page.locator("img.boxed-img").evaluate("img => img.decode()")
    box = page.locator(f'[data-testid="photo-face-box"][data-face-id="{face["id"]}"]')
    img = page.locator("img.boxed-img").bounding_box()
    drawn = box.bounding_box()
    scale = img["width"] / group["width"]  # the box follows the image's scale
    assert abs(drawn["x"] - img["x"] - face["box"][0] * scale) < 4
    assert abs(drawn["width"] - face["box"][2] * scale) < 4
    shot(page, "photo")
    phone(page, shot, "photo")
    box.focus()  # keyboard: a box is a link
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"#/person/{face['person']}$"))


def test_search_by_upload(page: Any, served: Served, shot: Shot) -> None:
    single = next(p for p in photos(served).values()
                  if len(p["faces"]) == 1 and p["faces"][0]["person"])
    who = single["faces"][0]["person"]
    upload = served.photos / single["file"]
    go(page, "#/search")
    page.get_by_test_id("search-upload").set_input_files(str(upload))
    result = page.get_by_test_id("search-result")
    result.first.wait_for()
    assert result.count() == 1
    found = result.first
    assert found.locator(f'a[href="#/photo/{single["id"]}"]').count() == 1
    assert found.locator(f'[data-testid="search-person"][data-person-id="{who}"]').count() >= 1
    assert found.locator("canvas.crop").count() == 1  # the face's crop of the upload
    shot(page, "results")
    phone(page, shot, "results")
    # drag and drop: a group photo dropped on the zone answers one result per face
    group = next(p for p in photos(served).values() if len(p["faces"]) >= 2)
    data = base64.b64encode((served.photos / group["file"]).read_bytes()).decode()
    page.evaluate("""([data, name]) => {
        const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], name, {type: "image/jpeg"}));
        const zone = document.querySelector('[data-testid="search-drop"]');
        zone.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true,
                                                  cancelable: true}));
    }""", [data, group["file"]])
    results = page.get_by_test_id("search-result")
    results.nth(1).wait_for()
    assert results.count() == len(group["faces"])
    for i in range(results.count()):
        assert results.nth(i).locator(f'a[href="#/photo/{group["id"]}"]').count() == 1
    result.first.locator(f'a[href="#/photo/{group["id"]}"]').click()
    page.wait_for_url(re.compile(rf"#/photo/{group['id']}$"))


def test_index_job_shows_progress_and_errors(page: Any, served: Served, shot: Shot) -> None:
    broken = served.photos / "broken-upload.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG after all")
    try:
        go(page, "#/index")
        page.get_by_test_id("start-index").click()
        progress = page.get_by_test_id("job-progress")
        progress.wait_for()
        page.wait_for_selector('[data-testid="job-progress"][data-state="done"]',
                               timeout=60_000)
        assert progress.evaluate("p => p.value === p.max && p.max > 0")
        errors = page.get_by_test_id("job-errors")
        errors.wait_for()
        assert "broken-upload.jpg" in errors.inner_text()
        assert "Done" in page.get_by_test_id("job-state").inner_text()
        shot(page, "job")
        phone(page, shot, "job")
        jobs = served.api("GET", "/jobs")
        assert jobs[-1]["state"] == "done"
        assert any(e["path"].endswith("broken-upload.jpg")
                   for e in jobs[-1]["result"]["error_files"])
    finally:
        broken.unlink()


def test_relations_graph_shows_who_appears_together(page: Any, served: Served,
                                                    shot: Shot) -> None:
    group = next(p for p in photos(served).values()
                 if len({f["person"] for f in p["faces"] if f["person"]}) >= 2)
    me, friend = sorted({f["person"] for f in group["faces"] if f["person"]})[:2]
    go(page, f"#/relations/{me}")
    graph = page.get_by_test_id("relations-graph")
    graph.wait_for()
    node = graph.locator(f'a[data-person-id="{friend}"]')
    assert node.count() == 1 and graph.locator(f'a[data-person-id="{me}"]').count() == 1
    assert graph.locator("image").count() >= 2  # thumbnails as nodes
    shot(page, "graph")
    phone(page, shot, "graph")
    node.click()
    page.wait_for_url(re.compile(rf"#/person/{friend}$"))


def test_a_read_key_sees_the_views_without_their_controls(anon_page: Any, served: Served,
                                                          shot: Shot) -> None:
    person = biggest(served, 2)
    served.api("POST", f"/people/{person['id']}/split", {"faces": [person["face_ids"][-1]]})
    served.api("POST", f"/people/{person['id']}/not", {"faces": [person["face_ids"][0]]})
    key = served.api("POST", "/keys", {"name": "web-viewer", "scope": "read"})["key"]
    page = anon_page
    try:
        login(page, key)
        go(page, "#/suggestions")
        page.get_by_test_id("suggestion-card").first.wait_for()
        assert page.get_by_test_id("read-only").count() == 1
        assert page.get_by_test_id("suggestion-yes").first.is_disabled()
        assert page.get_by_test_id("suggestion-no").first.is_disabled()
        go(page, "#/unassigned")
        page.get_by_test_id("unassigned-face").first.wait_for()
        assert page.get_by_test_id("assign-face").first.is_disabled()
        assert page.get_by_test_id("assign-name").first.is_disabled()
        go(page, "#/index")
        page.get_by_test_id("read-only").wait_for()
        assert page.get_by_test_id("start-index").count() == 0
        shot(page, "index")
    finally:
        served.api("DELETE", "/keys/web-viewer")
