// #/people: every person as a card (thumbnail, name or "Unnamed", face count), most
// faces first, hidden people left out; one API call per page of 60; a name filter.

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

/** The hash of the people page for these settings. */
function hashFor({ offset = 0, hidden = false, size = PAGE_SIZE, q = "" }) {
  const params = new URLSearchParams();
  if (offset) params.set("offset", offset);
  if (hidden) params.set("hidden", "1");
  if (size !== PAGE_SIZE) params.set("limit", size);
  if (q) params.set("q", q);
  const s = params.toString();
  return "#/people" + (s ? "?" + s : "");
}

export async function render(root, params) {
  const state = {
    offset: Math.max(0, Number.parseInt(params.offset || "0", 10) || 0),
    size: Math.min(500, Math.max(1, Number.parseInt(params.limit || "", 10) || PAGE_SIZE)),
    hidden: params.hidden === "1",
    q: (params.q || "").trim(),
  };
  const sub = el("p", { class: "subtitle", "aria-live": "polite" });
  const search = el("input", { type: "search", class: "people-search", value: state.q,
                               placeholder: "Find by name", "aria-label": "Find a person by name",
                               "data-testid": "people-search", autocomplete: "off" });
  const toggle = el("label", { class: "switch" },
    el("input", { type: "checkbox", checked: state.hidden, "data-testid": "show-hidden",
                  "on:change": (e) => { location.hash = hashFor({ ...state, offset: 0, hidden: e.target.checked }); } }),
    " Show hidden");
  heading(root, "People", sub, el("div", { class: "people-tools" }, search, toggle));
  const results = el("div", { class: "people-results" });
  root.append(results);

  let ticket = 0;
  async function load() {
    const mine = ++ticket;
    const query = new URLSearchParams({ limit: state.size, offset: state.offset });
    if (state.hidden) query.set("all", "true");
    if (state.q) query.set("q", state.q);
    const { data: people, total } = await apiPage("GET", `/people?${query}`);
    if (mine !== ticket) return;
    const all = total ?? people.length;
    sub.textContent = state.q ? `${count(all, "match", "matches")} for “${state.q}”`
      : all ? `${count(all, "person", "people")}, most photographed first` : "";
    if (!people.length) {
      results.replaceChildren(el("div", { class: "empty" },
        el("p", {}, state.q ? "Nobody by that name." : state.offset ? "No more people." : "No people yet."),
        state.q || state.offset ? null : el("p", { class: "hint" }, "Index photos (",
          el("a", { href: "#/index" }, "Index"), ") and group their faces into people with ",
          el("code", {}, "faceatlas cluster"), ".")));
      return;
    }
    results.replaceChildren(
      el("ul", { class: "people-grid", role: "list", "data-testid": "people-grid" },
         people.map(personCard)),
      pager(all, state.offset, state.size, (o) => { location.hash = hashFor({ ...state, offset: o }); }));
  }

  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      state.q = search.value.trim();
      state.offset = 0;
      history.replaceState(null, "", hashFor(state)); // no re-render: keep the focus
      load().catch((err) => results.replaceChildren(el("p", { class: "form-error" }, err.message)));
    }, 250);
  });
  await load();
}
