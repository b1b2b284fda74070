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


def face_in(served: Served, photo: str) -> tuple[int, int]:
    """(person id, face id) of the one face of the solo photo ``photo``."""
    for p in served.people():
        for row in served.api("GET", f"/people/{p['id']}/photos?limit=1000")["photos"]:
            if row["path"].endswith("/" + photo):
                return p["id"], row["faces"][0]
    raise AssertionError(f"no person in {photo}")


def open_person(page: Any, pid: int) -> None:
    page.goto(f"/#/person/{pid}")
    page.locator(f'[data-testid="person-hero"][data-person-id="{pid}"]').wait_for()
    page.get_by_test_id("face-tile").first.wait_for()


def select_faces(page: Any, faces: list[int], keyboard: bool = False) -> None:
    for f in faces:
        box = page.locator(f'[data-testid="face-tile"][data-face-id="{f}"] input')
        if keyboard:  # focus the checkbox and press Space, as a keyboard user does
            box.focus()
            page.keyboard.press("Space")
            assert box.is_checked()
        else:
            box.check()


def card_ids(page: Any) -> list[int]:
    page.get_by_test_id("people-grid").wait_for()
    return [int(x) for x in page.get_by_test_id("person-card").evaluate_all(
        "cards => cards.map(c => c.dataset.personId)")]


def test_people_grid_is_sorted_and_filters_hidden(page: Any, served: Served,
                                                  shot: Callable[[Any, str], Path]) -> None:
    people = served.people(all=False)
    assert card_ids(page) == [p["id"] for p in people]  # most faces first, as the API
    first = page.get_by_test_id("person-card").first
    assert f"{people[0]['faces']} faces" in first.inner_text()
    assert first.locator("img").get_attribute("loading") == "lazy"
    # pages: one API call each
    calls: list[str] = []
    page.on("request", lambda r: calls.append(r.url) if "/api/v1/people" in r.url else None)
    page.goto("/#/people?limit=2")
    page.locator(".pager-info", has_text="Page 1 of").wait_for()
    assert card_ids(page) == [p["id"] for p in people[:2]]
    page.get_by_test_id("page-next").click()
    page.locator(".pager-info", has_text="Page 2 of").wait_for()
    assert card_ids(page) == [p["id"] for p in people[2:4]]
    assert [c.split("/api/v1")[1] for c in calls] == ["/people?limit=2&offset=0",
                                                      "/people?limit=2&offset=2"]
    shot(page, "page-2")
    # hide the last person on their page: gone from the grid, back with "show hidden"
    last = people[-1]["id"]
    open_person(page, last)
    page.get_by_test_id("hide-person").click()
    page.locator('[data-testid="hide-person"][aria-pressed="true"]').wait_for()
    assert served.api("GET", f"/people/{last}")["hidden"] is True
    page.goto("/#/people")
    assert last not in card_ids(page)
    page.get_by_test_id("show-hidden").check()
    page.wait_for_url(re.compile(r"hidden=1"))
    page.locator(f'[data-testid="person-card"][data-person-id="{last}"]').wait_for()
    shot(page, "with-hidden")
    open_person(page, last)
    page.get_by_test_id("hide-person").click()  # show again
    page.locator('[data-testid="hide-person"][aria-pressed="false"]').wait_for()
    assert served.api("GET", f"/people/{last}")["hidden"] is False


def test_name_split_move_merge(page: Any, served: Served,
                               shot: Callable[[Any, str], Path]) -> None:
    pid, face = face_in(served, "impostor_2.jpg")
    before = served.api("GET", f"/people/{pid}")["faces"]
    assert before >= 2
    # name the person
    open_person(page, pid)
    src = page.get_by_test_id("person-photo").first.locator("img").get_attribute("src")
    assert re.search(r"/api/v1/photos/\d+\?size=\d+$", src)  # a preview, not the file
    page.get_by_test_id("person-name").fill("Grace Hopper")
    page.get_by_test_id("save-name").click()
    page.locator("h1", has_text="Grace Hopper").wait_for()
    assert served.api("GET", f"/people/{pid}")["name"] == "Grace Hopper"
    page.goto("/#/people")
    card = page.locator(f'[data-testid="person-card"][data-person-id="{pid}"]')
    assert "Grace Hopper" in card.inner_text()
    # split one face off into a new, named person
    open_person(page, pid)
    select_faces(page, [face])
    page.get_by_test_id("split-faces").click()
    page.get_by_test_id("split-name").fill("Grace Two")
    shot(page, "split-dialog")
    page.get_by_test_id("confirm-split").click()
    page.locator(f'[data-testid="face-tile"][data-face-id="{face}"]').wait_for(state="detached")
    [new] = [p for p in served.people() if p["name"] == "Grace Two"]
    assert new["faces"] == 1 and served.api("GET", f"/people/{pid}")["faces"] == before - 1
    # find them by name on the people page
    page.goto("/#/people")
    page.get_by_test_id("people-search").fill("grace")
    page.wait_for_url(re.compile(r"q=grace"))
    page.locator(".subtitle", has_text="for “grace”").wait_for()
    assert card_ids(page) == [p["id"] for p in served.people(all=False)
                              if "grace" in (p["name"] or "").lower()]
    shot(page, "search")
    # move it back, choosing the target by id
    open_person(page, new["id"])
    select_faces(page, [face])
    page.get_by_test_id("move-faces").click()
    page.get_by_test_id("move-target").fill(f"#{pid}")
    page.get_by_test_id("confirm-move").click()
    page.locator('[data-testid="face-tile"]').wait_for(state="detached")
    assert served.api("GET", f"/people/{pid}")["faces"] == before
    assert served.api("GET", f"/people/{new['id']}")["faces"] == 0
    # split it off again (over the API), then merge the two people back, by name
    split = served.api("POST", f"/people/{pid}/split", {"faces": [face], "name": "Grace Three"})
    other = split["new_person"]["id"]
    open_person(page, pid)
    page.get_by_test_id("merge-person").click()
    page.get_by_test_id("merge-target").fill("grace three")
    shot(page, "merge-dialog")
    page.get_by_test_id("confirm-merge").click()
    page.locator(f'[data-testid="face-tile"][data-face-id="{face}"]').wait_for()
    assert served.api("GET", f"/people/{pid}")["faces"] == before
    assert served.api("GET", f"/people/{other}")["faces"] == 0
    shot(page, "merged")


def test_not_a_face_then_forget_a_person(page: Any, served: Served,
                                         shot: Callable[[Any, str], Path]) -> None:
    pid, not_face = face_in(served, "person_b_1.jpg")
    pid2, doomed_face = face_in(served, "person_b_2.jpg")
    assert pid2 == pid
    before = served.api("GET", f"/people/{pid}")["faces"]
    # mark one detection "not a face": it leaves the person and the library
    open_person(page, pid)
    select_faces(page, [not_face], keyboard=True)
    page.get_by_test_id("not-face").click()
    page.get_by_test_id("confirm-not-face").click()
    page.locator(f'[data-testid="face-tile"][data-face-id="{not_face}"]') \
        .wait_for(state="detached")
    assert served.api("GET", f"/people/{pid}")["faces"] == before - 1
    assert not_face not in served.api("GET", f"/people/{pid}")["face_ids"]
    # a person of one face, to forget
    doomed = served.api("POST", f"/people/{pid}/split",
                        {"faces": [doomed_face], "name": "Doomed"})["new_person"]["id"]
    open_person(page, doomed)
    page.get_by_test_id("forget").click()
    preview = page.get_by_test_id("forget-preview")
    preview.wait_for()
    dry = served.api("DELETE", f"/people/{doomed}?dry_run=true")
    assert dry["face_ids"] == [doomed_face]
    assert dry["describe"] in preview.inner_text()  # exactly what the dry run says
    assert preview.locator("img").count() == len(dry["face_ids"])
    shot(page, "forget-preview")
    page.get_by_test_id("confirm-forget").click()
    receipt = page.get_by_test_id("forget-receipt")
    receipt.wait_for()
    assert "Doomed was forgotten" in receipt.inner_text()
    shot(page, "forget-receipt")
    # gone from the API ...
    status, err = served.api("GET", f"/people/{doomed}")
    assert status == 404 and err["error"]["type"] == "NotFoundError"
    assert doomed not in [p["id"] for p in served.people()]
    assert served.api("GET", f"/faces/{doomed_face}/thumbnail")[0] == 404
    # ... and from every page
    page.goto("/#/people?hidden=1")
    assert doomed not in card_ids(page)
    page.goto(f"/#/person/{doomed}")
    page.get_by_test_id("person-missing").wait_for()
    open_person(page, pid)
    assert page.locator(f'[data-face-id="{doomed_face}"]').count() == 0
    assert page.locator(f'[data-testid="companion"][data-person-id="{doomed}"]').count() == 0
    for route in ("suggestions", "unassigned"):
        page.goto(f"/#/{route}")
        page.locator("main h1").wait_for()
        page.wait_for_load_state("networkidle")
        html = page.locator("main").inner_html()
        assert f'data-person-id="{doomed}"' not in html
        assert f'data-face-id="{doomed_face}"' not in html


def test_a_read_key_browses_without_changing_anything(anon_page: Any, served: Served,
                                                      shot: Callable[[Any, str], Path]
                                                      ) -> None:
    key = served.api("POST", "/keys", {"name": "web-reader", "scope": "read"})["key"]
    pid = served.people(all=False)[0]["id"]
    page = anon_page
    page.goto(f"/#/person/{pid}")  # not logged in: login first, then back to this person
    page.wait_for_url(re.compile(r"#/login\?next="))
    page.get_by_test_id("api-key").fill(key)
    page.get_by_test_id("login").click()
    page.wait_for_url(re.compile(rf"#/person/{pid}$"))
    page.locator(f'[data-testid="person-hero"][data-person-id="{pid}"]').wait_for()
    page.get_by_test_id("face-tile").first.wait_for()
    for control in ("person-name", "save-name", "hide-person", "merge-person"):
        assert page.get_by_test_id(control).is_disabled(), control
    assert page.get_by_test_id("forget").count() == 0  # forgetting needs an admin key
    assert page.get_by_test_id("move-faces").count() == 0
    shot(page, "read-only")
    # revoking the key ends the session: the next call lands on the login page
    served.api("DELETE", "/keys/web-reader")
    page.goto("/#/people")
    page.wait_for_url(re.compile(r"#/login"))


def test_selection_lives_across_pages_of_faces(page: Any, served: Served) -> None:
    """Faces selected on one page of a person's faces stay selected on the next; the
    action takes all of them, and the person's page comes back where it was."""
    person = max(served.people(all=False), key=lambda p: p["faces"])
    pid = person["id"]
    faces = served.api("GET", f"/people/{pid}/faces?limit=1000")["faces"]
    assert len(faces) >= 3
    page.goto(f"/#/person/{pid}?faces=2")
    page.locator(f'[data-testid="person-hero"][data-person-id="{pid}"]').wait_for()
    first, third = faces[0]["id"], faces[2]["id"]
    select_faces(page, [first])
    page.get_by_test_id("page-next").first.click()
    tile = page.locator(f'[data-testid="face-tile"][data-face-id="{third}"]')
    tile.wait_for()
    select_faces(page, [third])
    page.get_by_test_id("selection-bar").get_by_text("2 faces selected").wait_for()
    page.get_by_test_id("page-prev").first.click()
    back = page.locator(f'[data-testid="face-tile"][data-face-id="{first}"] input')
    back.wait_for()
    assert back.is_checked()  # still selected after going back
    page.get_by_test_id("split-faces").click()
    page.get_by_test_id("split-name").fill("Two Pages")
    page.get_by_test_id("confirm-split").click()
    page.locator(f'[data-testid="face-tile"][data-face-id="{first}"]').wait_for(state="detached")
    [new] = [p for p in served.people() if p["name"] == "Two Pages"]
    moved = {f["id"] for f in served.api("GET", f"/people/{new['id']}/faces")["faces"]}
    assert moved == {first, third}
    for face in moved:  # as it was (a named person is not merged into an unnamed one)
        served.api("POST", f"/faces/{face}/move", {"to": pid})
    assert served.api("GET", f"/people/{pid}")["faces"] == person["faces"]
