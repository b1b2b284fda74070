// Unassigned faces: each face in nobody yet, with faceatlas's best guess. One click puts
// it into the guessed person; or type who it is (a new name makes a new person).

import { api } from "../api.js";
import { el, faceThumb, heading, pager, showError, toast } from "../ui.js";
import { announcer, canWrite, label, owner, readOnlyNote, percent, useStyles } from "./_browse.js";

const LIMIT = 48;

export async function render(root, params) {
  const alive = owner(root);
  await useStyles();
  if (!alive()) return;
  const offset = Math.max(0, Number(params.offset) || 0);
  const subtitle = el("p", { class: "subtitle" }, "Faces that belong to nobody yet.");
  heading(root, "Unassigned faces", subtitle);
  const say = announcer(root);
  let page, people, writable;
  try {
    [page, people, writable] = await Promise.all([
      api("GET", `/browse/unassigned?limit=${LIMIT}&offset=${offset}`),
      api("GET", "/people").catch(() => []),
      canWrite(),
    ]);
  } catch (err) {
    if (alive()) showError(root, err);
    return;
  }
  if (!alive()) return;
  let total = page.total;
  const setCount = () => {
    subtitle.textContent = total === 0 ? "Every face belongs to someone."
      : `${total.toLocaleString()} ${total === 1 ? "face belongs" : "faces belong"} to nobody yet.`;
  };
  setCount();
  const names = el("datalist", { id: "person-names" },
    (Array.isArray(people) ? people : []).filter((p) => p.name)
      .map((p) => el("option", { value: p.name })));
  root.append(names);
  if (!page.faces.length) {
    root.append(el("div", { class: "empty" },
      el("p", {}, offset ? "No more faces on this page." : "No unassigned faces: well done."),
      el("p", {}, el("a", { href: "#/people" }, "Back to people"))));
    return;
  }
  const grid = el("ul", { class: "unassigned-grid", role: "list" });
  if (!writable) root.append(readOnlyNote("Naming faces"));
  root.append(grid);

  const done = (item, message) => {
    const next = item.nextElementSibling || item.previousElementSibling;
    item.remove();
    total -= 1;
    setCount();
    toast(message, "success");
    say(message);
    const focus = next && next.querySelector("button, input");
    if (focus) focus.focus();
    else if (!grid.children.length) location.hash = `#/unassigned?offset=${offset}&r=${Date.now()}`;
  };

  for (const face of page.faces) {
    const li = item(face, done);
    if (!writable) li.querySelectorAll("button, input").forEach((b) => { b.disabled = true; });
    grid.append(li);
  }
  root.append(pager(page.total, offset, LIMIT,
                    (o) => { location.hash = `#/unassigned?offset=${o}`; }));
}

function item(face, done) {
  const li = el("li", { class: "unassigned-face", "data-testid": "unassigned-face",
                        "data-face-id": face.face_id });
  const guess = face.candidate !== null && face.candidate !== undefined;
  const guessName = guess ? label(face.candidate, face.candidate_name) : "";
  const named = guess && !!face.candidate_name;
  const busy = (on) => li.querySelectorAll("button, input").forEach((b) => { b.disabled = on; });

  const photo = el("a", { href: `#/photo/${face.image_id}`, class: "unassigned-photo",
                          title: "Open the photo" },
                   faceThumb(face.face_id, `Unassigned face ${face.face_id}`, "big-thumb"));
  li.append(photo);

  if (guess) {
    const assign = el("button", {
      type: "button", class: "btn btn-primary btn-small", "data-testid": "assign-face",
      "aria-label": `Yes, this is ${guessName}`, title: `Add to ${guessName}`,
      "on:click": async () => {
        busy(true);
        try {
          const res = await api("POST", `/faces/${face.face_id}/move`, { to: face.candidate });
          done(li, `Added to ${label(res.id, res.name)}.`);
        } catch (err) {
          busy(false);
          toast(err.message, "error");
        }
      },
    }, named ? `Yes, ${guessName}` : "Yes, this person");
    li.append(el("div", { class: "guess" },
      el("a", { href: `#/person/${face.candidate}`, class: "guess-person" },
         (face.candidate_faces || []).slice(0, 1).map((f) => faceThumb(f, guessName, "mini-thumb")),
         el("span", { class: "guess-text" },
            el("span", { class: "hint" }, `Best guess · ${percent(face.similarity)} alike`),
            el("b", {}, guessName))),
      assign));
  } else {
    li.append(el("p", { class: "guess hint" }, "No guess yet."));
  }

  const inputId = `who-${face.face_id}`;
  const input = el("input", { id: inputId, type: "text", list: "person-names", autocomplete: "off",
                              placeholder: "Name", "data-testid": "who-input", required: true });
  const form = el("form", { class: "who-form", "on:submit": async (event) => {
    event.preventDefault();
    const name = input.value.trim();
    if (!name) { input.focus(); return; }
    busy(true);
    try {
      const res = await api("POST", `/faces/${face.face_id}/assign`, { name });
      done(li, res.created ? `New person ${res.name}.` : `Added to ${label(res.id, res.name)}.`);
    } catch (err) {
      busy(false);
      toast(err.message, "error");
    }
  } },
    el("label", { for: inputId, class: "who-label" }, "Who is this?"),
    el("div", { class: "who-row" }, input,
       el("button", { type: "submit", class: "btn btn-small", "data-testid": "assign-name" },
          "Assign")));
  li.append(form);
  return li;
}
