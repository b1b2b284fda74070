// One photo with its faces boxed and named; a box opens its person.

import { api, photoUrl } from "../api.js";
import { el, heading, showError } from "../ui.js";
import { boxedImage, label as personLabel, owner, useStyles } from "./_browse.js";

// Longer side of the preview shown (the boxes are placed in percent: any size fits).
const PREVIEW = 1600;

export async function render(root, params) {
  const alive = owner(root);
  await useStyles();
  if (!alive()) return;
  let photo;
  try {
    photo = await api("GET", `/photos/${encodeURIComponent(params.id)}/faces`);
  } catch (err) {
    if (!alive()) return;
    heading(root, "Photo");
    showError(root, err);
    return;
  }
  if (!alive()) return;
  const when = photo.taken_at ? new Date(photo.taken_at).toLocaleDateString(undefined,
    { year: "numeric", month: "long", day: "numeric" }) : null;
  const n = photo.faces.length;
  heading(root, photo.file, el("p", { class: "subtitle" },
    [when, photo.album, `${n} ${n === 1 ? "face" : "faces"}`].filter(Boolean).join(" · ")));

  const label = (f) => (f.person === null ? "Unknown" : personLabel(f.person, f.name));
  const boxes = photo.faces.map((f) => ({
    box: f.box,
    label: label(f),
    cls: f.person === null ? "is-unknown" : null,
    href: f.person === null ? "#/unassigned" : `#/person/${f.person}`,
    attrs: {
      "data-testid": "photo-face-box",
      "data-person-id": f.person === null ? "" : f.person,
      "data-face-id": f.id,
      "aria-label": f.person === null ? "Unknown face: name it among the unassigned faces"
        : `${label(f)}: open their page`,
    },
  }));
  const names = photo.faces.map(label).join(", ");
  if (photo.kind === "video") {
    root.append(el("div", { class: "photo-frame" },
      el("video", { src: photoUrl(photo.id), controls: true, class: "boxed-img",
                    "aria-label": `Video ${photo.file}` })));
  } else {
    root.append(el("figure", { class: "photo-frame" },
      boxedImage(photoUrl(photo.id, PREVIEW), n ? `Photo ${photo.file} with ${names}` : `Photo ${photo.file}`,
                 boxes, photo.width, photo.height),
      el("figcaption", { class: "hint" }, n ? "Select a face to open its person." : "No face found in this photo.")));
  }
  if (n) {
    root.append(el("section", { class: "section" },
      el("h2", {}, "In this photo"),
      el("ul", { class: "in-photo", role: "list" }, photo.faces.map((f) => el("li", {},
        f.person === null
          ? el("a", { href: "#/unassigned" }, "Unknown face")
          : el("a", { href: `#/person/${f.person}` }, label(f)),
        f.person === null ? null : el("a", { href: `#/relations/${f.person}`, class: "hint" },
                                      " · their circle"))))));
  }
}
