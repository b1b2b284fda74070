// #/person/ID: a person's page. Name and hide, merge another person in, their faces in
// pages (select several: move, split into a new person, not this person, not a face),
// their photos, timeline and who they appear with, and forget (preview, confirm, receipt).

import { api, ApiError, apiPage, photoUrl, session } from "../api.js";
import {
  count, dialog, el, faceThumb, pager, personName, selectableFaceGrid, showError, toast,
} from "../ui.js";

const FACE_PAGE = 60;
const PHOTO_PAGE = 24;
const PREVIEW = 360; // px, the longer side of the photo previews (2x the tile size)
const REMOVED = { images: "photos", decisions: "corrections", index_entries: "search index entries" };
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** A person's name, or "person #ID" (how the command line names an unnamed person). */
function label(p) {
  return p.name || `person #${p.id}`;
}

export async function render(root, params) {
  const id = Number.parseInt(params.id, 10);
  if (!Number.isFinite(id)) throw new ApiError("No such person.", 404, "NotFound");
  let person;
  try {
    person = await api("GET", `/people/${id}?brief=true`);
  } catch (err) {
    if (err.status === 404) return notFound(root, id);
    throw err;
  }
  const me = (await session()) || { scope: "read" };
  const canWrite = me.scope === "write" || me.scope === "admin";
  const canAdmin = me.scope === "admin";
  // after a change the page is drawn again, its faces at the page they were on
  const refresh = async (facesOffset = 0) => {
    root.replaceChildren();
    await render(root, { ...params, facesOffset });
  };
  const facePage = Math.min(500, Math.max(1, Number.parseInt(params.faces || "", 10) || FACE_PAGE));

  root.append(hero(person, canWrite, refresh));
  document.title = `${personName(person.name)} · faceatlas`;
  root.querySelector("h1").focus({ preventScroll: true });

  const facesSection = el("section", { class: "section", "aria-labelledby": "faces-h" });
  const photosSection = el("section", { class: "section", "aria-labelledby": "photos-h" });
  const relSection = el("section", { class: "section", "aria-labelledby": "with-h" });
  const timeSection = el("section", { class: "section", "aria-labelledby": "time-h" });
  root.append(facesSection, photosSection, relSection, timeSection);
  if (canAdmin) root.append(forgetSection(person, root));

  await Promise.all([
    facesPart(facesSection, person, Number(params.facesOffset) || 0, canWrite, refresh,
              new Set(), facePage),
    photosPart(photosSection, person, 0),
    relationsPart(relSection, timeSection, person),
  ]);
}

function notFound(root, id) {
  document.title = "Not found · faceatlas";
  const h = el("h1", { tabindex: "-1" }, "This person is not in the library");
  root.append(el("div", { class: "empty", "data-testid": "person-missing" }, h,
    el("p", {}, `Person #${id} was forgotten, merged into someone else, or never existed.`),
    el("p", {}, el("a", { href: "#/people" }, "Back to People"))));
  h.focus();
}

// -- name, hide, merge ------------------------------------------------------------------
function hero(p, canWrite, refresh) {
  const name = el("input", { type: "text", id: "person-name", "data-testid": "person-name",
                             value: p.name || "", placeholder: "Add a name", maxlength: 200,
                             autocomplete: "off", disabled: !canWrite });
  const save = el("button", { type: "submit", class: "btn btn-primary", "data-testid": "save-name",
                              disabled: !canWrite }, "Save name");
  const form = el("form", { class: "name-form" },
    el("label", { for: "person-name", class: "visually-hidden" }, "Name"), name, save);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = name.value.trim();
    if (!value) { toast("Type a name first.", "error"); name.focus(); return; }
    save.disabled = true;
    try {
      const out = await api("PATCH", `/people/${p.id}`, { name: value });
      toast(`Saved: ${out.name}.`, "success");
      await refresh();
    } catch (err) {
      toast(err.message, "error");
      save.disabled = false;
    }
  });

  const hide = el("button", { type: "button", class: "btn", "data-testid": "hide-person",
                              "aria-pressed": p.hidden ? "true" : "false", disabled: !canWrite },
                  p.hidden ? "Hidden · show again" : "Hide from People");
  hide.addEventListener("click", async () => {
    hide.disabled = true;
    try {
      const out = await api("PATCH", `/people/${p.id}`, { hidden: !p.hidden });
      toast(out.hidden ? "Hidden from People." : "Shown in People again.", "success");
      await refresh();
    } catch (err) {
      toast(err.message, "error");
      hide.disabled = false;
    }
  });
  const merge = el("button", { type: "button", class: "btn", "data-testid": "merge-person",
                               disabled: !canWrite, "on:click": () => mergeDialog(p, refresh) },
                   "Merge with…");
  return el("section", { class: "person-hero", "data-testid": "person-hero",
                         "data-person-id": p.id },
    faceThumb(p.representative_face, personName(p.name), "avatar"),
    el("div", {},
      el("h1", { tabindex: "-1", class: !p.name ? "is-unnamed" : null }, personName(p.name)),
      el("p", { class: "stats" }, el("span", { "data-testid": "person-stats" }, count(p.faces, "face")),
         p.hidden ? el("span", { class: "badge" }, "hidden") : null),
      form,
      el("div", { class: "person-actions" }, hide, merge)));
}

/** Resolve what the user typed (a name, "#12", "person #12" or "12") among `people`. */
export function resolvePerson(text, people) {
  const t = text.trim();
  if (!t) return null;
  const lower = t.toLowerCase();
  const byName = people.find((q) => q.name && q.name.toLowerCase() === lower);
  if (byName) return byName.id;
  const m = /^(?:person\s*)?#?(\d+)$/i.exec(t);
  if (m) return Number(m[1]);
  return null;
}

/**
 * A dialog to choose a person (typed name/#id, or one of the first people as avatars).
 * Resolves to the chosen id, or null when cancelled. `testid`: the text field's test id;
 * `confirmId`: the confirm button's.
 */
function choosePerson({ title, help, confirmLabel, testid, confirmId, exclude }) {
  return new Promise((resolve) => {
    const listId = `people-${Math.random().toString(36).slice(2)}`;
    const input = el("input", { type: "text", list: listId, "data-testid": testid,
                                autocomplete: "off", placeholder: "Name or #id", id: `${listId}-in` });
    const datalist = el("datalist", { id: listId });
    const picks = el("div", { class: "pick-row", role: "group", "aria-label": "People" });
    const err = el("p", { class: "form-error", role: "alert", hidden: true });
    const ok = el("button", { type: "submit", class: "btn btn-primary", "data-testid": confirmId },
                  confirmLabel);
    const cancel = el("button", { type: "button", class: "btn", value: "cancel" }, "Cancel");
    let people = [];
    let done = false;
    const form = el("form", {},
      help ? el("p", { class: "hint" }, help) : null,
      el("label", { for: `${listId}-in` }, "Person"), input, datalist, picks, err,
      el("div", { class: "actions" }, cancel, ok));
    const d = dialog(title, form);
    cancel.addEventListener("click", () => d.close());
    d.addEventListener("close", () => { if (!done) resolve(null); });
    const loading = api("GET", "/people?all=true&limit=10000");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        people = await loading;
      } catch (e) {
        err.textContent = e.message;
        err.hidden = false;
        return;
      }
      const target = resolvePerson(input.value, people);
      if (target === null || target === exclude) {
        err.textContent = target === exclude ? "Choose someone else." : "No person with that name: type a name from the list or #id.";
        err.hidden = false;
        input.focus();
        return;
      }
      done = true;
      d.close();
      resolve(target);
    });
    input.focus();
    loading.then((rows) => {
      people = rows;
      for (const q of rows) {
        if (q.id === exclude) continue;
        datalist.append(el("option", { value: q.name || `#${q.id}` },
                           `${personName(q.name)} · ${count(q.faces, "face")}`));
      }
      for (const q of rows.filter((r) => r.id !== exclude && !r.hidden).slice(0, 8)) {
        picks.append(el("button", { type: "button", class: "pick", "data-person-id": q.id,
                                    title: personName(q.name),
                                    "on:click": () => { input.value = q.name || `#${q.id}`; ok.focus(); } },
          faceThumb(q.representative_face, "", "pick-img"),
          el("span", {}, q.name || `#${q.id}`)));
      }
    }).catch((e) => { err.textContent = e.message; err.hidden = false; });
  });
}

async function mergeDialog(p, refresh) {
  const other = await choosePerson({
    title: `Merge someone into ${label(p)}`,
    help: "Choose the person who is really this one: their faces move here and they "
      + "disappear from People.",
    confirmLabel: "Merge", testid: "merge-target", confirmId: "confirm-merge", exclude: p.id,
  });
  if (other === null) return;
  try {
    const out = await api("POST", `/people/${p.id}/merge`, { others: [other] });
    toast(`Merged: ${personName(out.name)} now has ${count(out.faces, "face")}.`, "success");
    await refresh();
  } catch (err) {
    toast(err.message, "error");
  }
}

// -- faces -------------------------------------------------------------------------------
// `selection` (face ids) lives across the pages of faces: select on one page, go on to the
// next, select more, then act on all of them
async function facesPart(section, p, offset, canWrite, refresh, selection, size) {
  const { data } = await apiPage("GET", `/people/${p.id}/faces?limit=${size}&offset=${offset}`);
  if (!data.faces.length && data.total > 0 && offset > 0) {  // the page emptied: the last one
    const last = Math.floor((data.total - 1) / size) * size;
    return facesPart(section, p, last, canWrite, refresh, selection, size);
  }
  const selectedText = (n) => (n ? `${count(n, "face")} selected` : "No face selected");
  const counter = el("span", { class: "count", "aria-live": "polite" }, selectedText(selection.size));
  const buttons = [];
  const act = (label, testid, handler, cls = "btn") => {
    const b = el("button", { type: "button", class: cls, "data-testid": testid,
                             disabled: !canWrite || selection.size === 0,
                             "on:click": () => handler(grid.selected()) }, label);
    buttons.push(b);
    return b;
  };
  const grid = selectableFaceGrid(
    data.faces.map((f) => ({ id: f.id, alt: `Face ${f.id} of ${personName(p.name)}` })),
    (ids) => {
      counter.textContent = selectedText(ids.length);
      bar.classList.toggle("has-selection", ids.length > 0);
      for (const b of buttons) b.disabled = !canWrite || ids.length === 0;
    }, selection);
  const run = async (fn, message) => {
    for (const b of buttons) b.disabled = true;
    try {
      const text = await fn();
      toast(text || message, "success");
      await refresh(offset);
    } catch (err) {
      toast(err.message, "error");
      for (const b of buttons) b.disabled = false;
    }
  };
  const bar = el("div", { class: "selection-bar", "data-testid": "selection-bar" }, counter,
    act("Move to…", "move-faces", async (ids) => {
      const to = await choosePerson({
        title: `Move ${count(ids.length, "face")} to…`, confirmLabel: "Move",
        testid: "move-target", confirmId: "confirm-move", exclude: p.id,
      });
      if (to === null) return;
      await run(async () => {
        let out = null;
        for (const face of ids) out = await api("POST", `/faces/${face}/move`, { to });
        return `Moved ${count(ids.length, "face")} to ${personName(out && out.name)}.`;
      });
    }),
    act("Split off…", "split-faces", (ids) => splitDialog(p, ids, run)),
    act("Not this person", "not-person", (ids) => run(async () => {
      await api("POST", `/people/${p.id}/not`, { faces: ids });
      return `${count(ids.length, "face")} taken out; they will not come back here.`;
    })),
    act("Not a face", "not-face", (ids) => notFaceDialog(ids, run), "btn btn-danger-quiet"));
  bar.classList.toggle("has-selection", selection.size > 0);
  const selectAll = el("button", { type: "button", class: "btn btn-quiet", "data-testid": "select-all",
                                   disabled: !canWrite, "on:click": () => grid.selectAll() }, "Select all");
  section.replaceChildren(
    el("div", { class: "section-head" },
      el("h2", { id: "faces-h" }, "Faces ", el("span", { class: "muted" }, `· ${data.total}`)),
      canWrite && data.faces.length ? selectAll : null),
    data.faces.length ? grid : el("p", { class: "hint" }, "No faces."),
    canWrite && data.faces.length ? bar : null,
    pager(data.total, offset, size,
          (o) => facesPart(section, p, o, canWrite, refresh, selection, size)
            .then(() => section.querySelector("h2").scrollIntoView({ block: "start" }))));
}

function splitDialog(p, ids, run) {
  const name = el("input", { type: "text", id: "split-name", "data-testid": "split-name",
                             placeholder: "Optional", autocomplete: "off" });
  const ok = el("button", { type: "submit", class: "btn btn-primary", "data-testid": "confirm-split" },
                "Split off");
  const cancel = el("button", { type: "button", class: "btn" }, "Cancel");
  const form = el("form", {},
    el("p", { class: "hint" }, `${count(ids.length, "face")} become a new person.`),
    el("label", { for: "split-name" }, "Name of the new person"), name,
    el("div", { class: "actions" }, cancel, ok));
  const d = dialog("Split into a new person", form);
  cancel.addEventListener("click", () => d.close());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    d.close();
    run(async () => {
      const out = await api("POST", `/people/${p.id}/split`,
                            { faces: ids, name: name.value.trim() || null });
      return `New person: ${personName(out.new_person.name)} (${count(out.new_person.faces, "face")}).`;
    });
  });
  name.focus();
}

function notFaceDialog(ids, run) {
  const ok = el("button", { type: "button", class: "btn btn-danger", "data-testid": "confirm-not-face" },
                "Not a face");
  const cancel = el("button", { type: "button", class: "btn" }, "Cancel");
  const d = dialog(`${count(ids.length, "detection")} that are not faces`,
    el("div", { class: "mini-faces" }, ids.slice(0, 24).map((f) => faceThumb(f, `Face ${f}`, ""))),
    el("p", {}, "They leave this person and the library, and the same spot of the same photo is "
       + "never taken for a face again."),
    el("div", { class: "actions" }, cancel, ok));
  cancel.addEventListener("click", () => d.close());
  ok.addEventListener("click", () => {
    d.close();
    run(async () => {
      await api("POST", "/faces/notface", { faces: ids });
      return `${count(ids.length, "detection")} marked as not a face.`;
    });
  });
  ok.focus();
}

// -- photos ------------------------------------------------------------------------------
function photoDate(iso) {
  if (!iso) return "";
  const [y, m, d] = iso.slice(0, 10).split("-").map(Number);
  return d ? `${d} ${MONTHS[m - 1]} ${y}` : String(y);
}

async function photosPart(section, p, offset) {
  const { data } = await apiPage("GET", `/people/${p.id}/photos?limit=${PHOTO_PAGE}&offset=${offset}`);
  const items = data.photos.map((ph) => {
    const file = ph.path.split(/[\\/]/).pop();
    const when = photoDate(ph.taken_at);
    return el("li", {},
      el("a", { href: `#/photo/${ph.id}`, "data-testid": "person-photo", "data-photo-id": ph.id,
                title: file },
        ph.media === "photo"
          ? el("img", { src: photoUrl(ph.id, PREVIEW), alt: `${file}${when ? ", " + when : ""}`,
                        loading: "lazy", decoding: "async" })
          : faceThumb(ph.faces[0], `${file} (${ph.media})`, "thumb"),
        when ? el("span", { class: "photo-date" }, when) : null));
  });
  const stats = document.querySelector('[data-testid="person-stats"]');
  if (stats) stats.textContent = `${count(p.faces, "face")} in ${count(data.total, "photo")}`;
  section.replaceChildren(
    el("h2", { id: "photos-h" }, "Photos ", el("span", { class: "muted" }, `· ${data.total}`)),
    items.length ? el("ul", { class: "photo-grid", role: "list" }, items)
      : el("p", { class: "hint" }, "No photos."),
    pager(data.total, offset, PHOTO_PAGE, (o) => photosPart(section, p, o)));
}

// -- who they appear with, timeline ------------------------------------------------------
async function relationsPart(withSection, timeSection, p) {
  let data;
  try {
    data = await api("GET", `/people/${p.id}/relations?n=12`);
  } catch (err) {
    showError(withSection, err);
    return;
  }
  const people = data.companions.map((c) => el("li", {},
    el("a", { href: `#/person/${c.person}`, "data-testid": "companion", "data-person-id": c.person },
      faceThumb(c.representative_face, "", "avatar"),
      el("span", { class: "name" }, personName(c.name)),
      el("span", { class: "meta" }, `${count(c.weight, "photo")} together`))));
  withSection.replaceChildren(
    el("div", { class: "section-head" }, el("h2", { id: "with-h" }, "Appears with"),
       el("a", { href: `#/relations/${p.id}`, "data-testid": "relations-graph-link" },
          "See the connections graph →")),
    people.length ? el("ul", { class: "companions", role: "list" }, people)
      : el("p", { class: "hint" }, "Nobody yet: no photo shows them with someone else."));

  const years = new Map();
  for (const m of data.timeline) {
    const [y, mo] = m.month.split("-");
    if (!years.has(y)) years.set(y, []);
    years.get(y).push({ ...m, mo: Number(mo) });
  }
  const rows = [...years.entries()].reverse().map(([y, months]) => el("li", {},
    el("span", { class: "year" }, y),
    el("div", { class: "months" }, months.map((m) => el("span", {
      class: "month", title: `${count(m.photos, "photo")} in ${MONTHS[m.mo - 1]} ${y}`,
    }, MONTHS[m.mo - 1], " ", el("small", {}, String(m.photos)))))));
  const estimated = data.timeline.reduce((n, m) => n + (m.estimated_dates || 0), 0);
  timeSection.replaceChildren(
    el("h2", { id: "time-h" }, "Timeline"),
    rows.length ? el("ul", { class: "timeline", role: "list", "data-testid": "timeline" }, rows)
      : el("p", { class: "hint" }, "No dated photos."),
    estimated ? el("p", { class: "hint" },
                   `${count(estimated, "photo")} dated by file time only (no capture date).`)
      : null);
}

// -- forget ------------------------------------------------------------------------------
function forgetSection(p, root) {
  const button = el("button", { type: "button", class: "btn btn-danger", "data-testid": "forget" },
                    "Forget this person…");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const plan = await api("DELETE", `/people/${p.id}?dry_run=true`);
      forgetDialog(p, plan, root);
    } catch (err) {
      toast(err.message, "error");
    } finally {
      button.disabled = false;
    }
  });
  return el("section", { class: "section danger-zone", "aria-labelledby": "forget-h" },
    el("h2", { id: "forget-h" }, "Forget"),
    el("p", { class: "hint" }, "Erase this person from the library for good: their faces, "
       + "embeddings, thumbnails and corrections. You see exactly what goes before anything "
       + "is erased; the photos themselves stay."),
    button);
}

function forgetDialog(p, plan, root) {
  const faces = plan.face_ids || [];
  const sources = Object.entries(plan.sources || {}).map(([k, v]) => `${v} ${k}`).join(", ");
  const images = plan.images || [];
  const ok = el("button", { type: "button", class: "btn btn-danger", "data-testid": "confirm-forget" },
                "Forget for good");
  const cancel = el("button", { type: "button", class: "btn" }, "Cancel");
  const d = dialog(`Forget ${label(p)}?`,
    el("div", { "data-testid": "forget-preview" },
      el("p", {}, plan.describe || ""),
      el("ul", { class: "counts" },
        el("li", {}, el("b", {}, String(faces.length)), "faces",
           sources ? el("span", { class: "hint" }, ` (${sources})`) : null),
        el("li", {}, el("b", {}, String(faces.length)), "embeddings and thumbnails"),
        el("li", {}, el("b", {}, String(images.length)), "photos erased"),
        el("li", {}, el("b", {}, String((plan.kept && plan.kept.photos) || 0)), "photos kept")),
      faces.length ? el("div", { class: "mini-faces", "aria-label": "Faces that will be erased" },
        faces.slice(0, 48).map((f) => faceThumb(f, `Face ${f}`, ""))) : null,
      faces.length > 48 ? el("p", { class: "hint" }, `and ${faces.length - 48} more`) : null,
      images.length ? el("ul", { class: "path-list" }, images.map((i) => el("li", {},
        typeof i === "string" ? i : (i.path || JSON.stringify(i))))) : null,
      el("p", { class: "hint" }, "This cannot be undone.")),
    el("div", { class: "actions" }, cancel, ok));
  cancel.addEventListener("click", () => d.close());
  cancel.focus();
  ok.addEventListener("click", async () => {
    ok.disabled = true;
    ok.textContent = "Forgetting…";
    try {
      const receipt = await api("DELETE", `/people/${p.id}`);
      d.close();
      showReceipt(root, p, receipt);
    } catch (err) {
      d.close();
      toast(err.message, "error");
    }
  });
}

function showReceipt(root, p, r) {
  root.replaceChildren();
  document.title = "Forgotten · faceatlas";
  const removed = r.removed || {};
  const h = el("h1", { tabindex: "-1" }, `${label(p)} was forgotten`);
  root.append(el("section", { class: "receipt", "data-testid": "forget-receipt" },
    h,
    el("p", { class: "ok-mark" }, "✓ Erased from the library"),
    el("ul", { class: "counts" }, Object.entries(removed).map(([k, v]) =>
      el("li", {}, el("b", {}, String(v)), REMOVED[k] || k.replace(/_/g, " ")))),
    el("p", {}, `Photos kept: ${(r.kept && r.kept.photos) || 0}.`),
    el("p", { class: "hint" }, `Receipt ${r.id || ""}${r.utc ? " · " + r.utc : ""}`,
       r.path ? el("br") : null, r.path ? el("code", {}, r.path) : null),
    el("p", {}, el("a", { href: "#/people", class: "btn btn-primary" }, "Back to People"))));
  h.focus();
}
