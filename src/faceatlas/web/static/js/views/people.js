// #/people: every person as a card (thumbnail, name or "Unnamed", face count), most
// faces first, hidden people left out; one API call per page of 60.

import { apiPage } from "../api.js";
import { count, el, faceThumb, heading, pager, personName } from "../ui.js";

export const PAGE_SIZE = 60;

/** A person card: a link to the person's page. */
export function personCard(p) {
  const name = personName(p.name);
  return el("li", { class: ["person-card", p.hidden && "is-hidden"], "data-testid": "person-card",
                    "data-person-id": p.id },
    el("a", { href: `#/person/${p.id}`, class: "card-link" },
      faceThumb(p.representative_face, p.name ? `${p.name}` : `Unnamed person ${p.id}`,
                "avatar"),
      el("span", { class: ["card-name", !p.name && "is-unnamed"] }, name),
      el("span", { class: "card-meta" }, count(p.faces, "face"),
         p.hidden ? el("span", { class: "badge" }, "hidden") : null)));
}

export async function render(root, params) {
  const offset = Math.max(0, Number.parseInt(params.offset || "0", 10) || 0);
  const size = Math.min(500, Math.max(1, Number.parseInt(params.limit || "", 10) || PAGE_SIZE));
  const showHidden = params.hidden === "1";
  const query = new URLSearchParams({ limit: size, offset });
  if (showHidden) query.set("all", "true");
  const sub = el("p", { class: "subtitle" });
  const toggle = el("label", { class: "switch" },
    el("input", { type: "checkbox", checked: showHidden, "data-testid": "show-hidden",
                  "on:change": (e) => go(0, e.target.checked) }),
    " Show hidden people");
  heading(root, "People", sub, toggle);
  const { data: people, total } = await apiPage("GET", `/people?${query}`);
  const all = total ?? people.length;
  sub.textContent = all ? `${count(all, "person", "people")}, most photographed first`
    : "";
  if (!people.length) {
    root.append(el("div", { class: "empty" },
      el("p", {}, offset ? "No more people." : "No people yet."),
      offset ? null : el("p", { class: "hint" }, "Index photos (",
        el("a", { href: "#/index" }, "Index"), ") and group their faces into people with ",
        el("code", {}, "faceatlas cluster"), ".")));
    return;
  }
  root.append(el("ul", { class: "people-grid", role: "list", "data-testid": "people-grid" },
                 people.map(personCard)));
  root.append(pager(all, offset, size, (o) => go(o, showHidden)));

  function go(newOffset, hidden) {
    const q = new URLSearchParams();
    if (newOffset) q.set("offset", newOffset);
    if (hidden) q.set("hidden", "1");
    if (size !== PAGE_SIZE) q.set("limit", size);
    const s = q.toString();
    location.hash = "#/people" + (s ? "?" + s : "");
  }
}
