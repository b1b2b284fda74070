// Search by photo: drop a photo (or choose one); for each face in it, who it may be and
// the library photos it appears in. The photo goes to this service only.

import { api } from "../api.js";
import { el, faceThumb, heading, personName, showError } from "../ui.js";
import { announcer, boxedImage, cropCanvas, owner, percent, useStyles } from "./_browse.js";

export async function render(root) {
  const alive = owner(root);
  await useStyles();
  if (!alive()) return;
  heading(root, "Search by photo",
          el("p", { class: "subtitle" }, "Find the people and photos that match each face of a photo."));
  const say = announcer(root);
  const input = el("input", { type: "file", id: "search-file", accept: "image/*",
                              "data-testid": "search-upload", class: "file-input" });
  const zone = el("label", { for: "search-file", class: "dropzone", "data-testid": "search-drop" },
    el("span", { class: "drop-icon", "aria-hidden": "true" }, "⤓"),
    el("span", { class: "drop-main" }, "Drop a photo here"),
    el("span", { class: "hint" }, "or ", el("span", { class: "linkish" }, "choose a file"),
       " (JPEG, PNG, WebP…)"));
  const results = el("div", { class: "search-results", "aria-live": "polite" });
  root.append(el("div", { class: "drop-wrap" }, zone, input), results);

  let run = 0;
  async function search(file) {
    if (!file) return;
    const ticket = ++run;
    results.replaceChildren(el("p", { class: "loading" }, `Looking for the faces of ${file.name}…`));
    root.setAttribute("aria-busy", "true");
    const form = new FormData();
    form.append("image", file, file.name || "upload.jpg");
    form.append("limit", "12");
    try {
      const res = await api("POST", "/search/faces", form);
      if (ticket !== run || !alive()) return;
      await show(results, file, res);
      const n = res.faces.length;
      say(`${n} ${n === 1 ? "face" : "faces"} found in ${file.name}.`);
    } catch (err) {
      if (ticket !== run || !alive()) return;
      results.replaceChildren();
      showError(results, err);
    } finally {
      if (ticket === run && alive()) root.removeAttribute("aria-busy");
    }
  }

  input.addEventListener("change", () => search(input.files && input.files[0]));
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (event) => {
      event.preventDefault();
      zone.classList.add("is-over");
    });
  }
  zone.addEventListener("dragleave", () => zone.classList.remove("is-over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("is-over");
    const files = event.dataTransfer && event.dataTransfer.files;
    if (files && files.length) search(files[0]);
  });
}

async function show(results, file, res) {
  const url = URL.createObjectURL(file);
  const img = new Image();
  img.src = url;
  try { await img.decode(); } catch { /* shown without crops */ }
  const ok = img.naturalWidth > 0;
  const faces = res.faces;
  const preview = el("figure", { class: "photo-frame search-preview" },
    boxedImage(url, `Your photo ${res.image} with ${faces.length} numbered faces`,
               faces.map((f, i) => ({ box: f.box, label: String(i + 1) })),
               ok ? img.naturalWidth : null, ok ? img.naturalHeight : null),
    el("figcaption", { class: "hint" }, `${res.image}: ${faces.length} ${faces.length === 1 ? "face" : "faces"}`));
  const note = res.note ? el("p", { class: "hint" }, res.note) : null;
  results.replaceChildren(...[preview, note].filter(Boolean),
    el("ol", { class: "face-results", role: "list" },
       faces.map((f, i) => faceResult(f, i, ok ? img : null))));
}

function faceResult(face, i, img) {
  const n = i + 1;
  const ident = face.identity;
  let who;
  if (!ident) {
    who = el("p", { class: "hint" }, "Nobody can be recognised yet.");
  } else if (ident.person_id !== null && ident.person_id !== undefined) {
    who = el("p", { class: "verdict" }, "Looks like ",
      el("a", { href: `#/person/${ident.person_id}`, "data-testid": "search-person",
                "data-person-id": ident.person_id }, personName(ident.decision)),
      el("span", { class: "hint" }, ` (${percent(ident.similarity)})`));
  } else {
    who = el("p", { class: "verdict hint" }, `Not recognised: ${ident.reason}`);
  }
  const matches = ident && ident.matches.length
    ? el("ul", { class: "match-list", role: "list", "aria-label": `People like face ${n}` },
         ident.matches.slice(0, 3).map((m) => el("li", {},
           el("a", { href: `#/person/${m.person_id}`, "data-testid": "search-person",
                     "data-person-id": m.person_id }, m.person),
           el("span", { class: "hint" }, ` ${percent(m.similarity)}`))))
    : null;
  const photos = face.photos.length
    ? el("ul", { class: "match-photos", role: "list", "aria-label": `Photos with face ${n}` },
         face.photos.map((p) => el("li", {},
           el("a", { href: `#/photo/${p.photo}`, "data-testid": "search-photo", "data-photo-id": p.photo,
                     title: p.path.split(/[\\/]/).pop() },
              faceThumb(p.face_id, `${p.person || "Unknown"} in ${p.path.split(/[\\/]/).pop()}`, "match-thumb"),
              el("span", { class: "match-cap" }, p.person || "Unknown"),
              el("small", { class: "hint" }, percent(p.similarity))))))
    : el("p", { class: "hint" }, "No photo of the library holds this face.");
  return el("li", { class: "face-result", "data-testid": "search-result", "data-face-index": i },
    el("div", { class: "face-result-head" },
       img ? cropCanvas(img, face.box, 88, `Face ${n} of your photo`)
         : el("span", { class: "crop crop-empty" }),
       el("div", {}, el("h2", {}, `Face ${n}`), who)),
    matches ? el("h3", {}, "Closest people") : null, matches,
    el("h3", {}, "Matching photos"), photos);
}
