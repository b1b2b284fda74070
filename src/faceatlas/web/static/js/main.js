// The hash router: #/NAME[/ID][?query] → js/views/VIEW.js, whose render(root, params)
// fills <main id="app">.

import { logout, forgetSession, session } from "./api.js";
import { el, showError, toast } from "./ui.js";

/** Route name → view module (js/views/NAME.js). */
export const ROUTES = {
  login: "login",
  people: "people",
  person: "person",
  suggestions: "suggestions",
  unassigned: "unassigned",
  photo: "photo",
  search: "search",
  index: "jobs",
  relations: "relations",
};

/** The route of a hash: {route, view, params}. */
export function parseHash(hash) {
  const raw = (hash || "").replace(/^#\/?/, "");
  const [pathPart, query = ""] = raw.split("?");
  const [name = "", id] = pathPart.split("/").filter((s) => s !== "").map(decodeURIComponent);
  const route = name in ROUTES ? name : "people";
  const params = Object.fromEntries(new URLSearchParams(query));
  if (id !== undefined) params.id = id;
  return { route, view: ROUTES[route], params };
}

let rendering = 0;

async function render() {
  const root = document.getElementById("app");
  const ticket = ++rendering;
  const { route, view, params } = parseHash(location.hash);
  const nav = document.getElementById("nav");
  if (route !== "login" && !(await session())) {
    if (ticket !== rendering) return;
    const next = location.hash && location.hash !== "#/login" ? location.hash : "";
    location.replace("#/login" + (next ? "?next=" + encodeURIComponent(next) : ""));
    return;
  }
  if (ticket !== rendering) return;
  nav.hidden = route === "login";
  for (const a of nav.querySelectorAll("a[data-route]")) {
    if (a.dataset.route === view || (view === "person" && a.dataset.route === "people")) {
      a.setAttribute("aria-current", "page");
    } else {
      a.removeAttribute("aria-current");
    }
  }
  root.replaceChildren();
  window.scrollTo(0, 0);
  root.setAttribute("aria-busy", "true");
  root.dataset.view = view;
  try {
    const module = await import(`./views/${view}.js`);
    if (ticket !== rendering) return;
    await module.render(root, params);
  } catch (err) {
    if (ticket !== rendering) return;
    console.error(err);
    if (!root.querySelector("h1")) {
      document.title = "Error · faceatlas";
      root.append(el("h1", { tabindex: "-1" }, "This page could not be shown"));
      root.querySelector("h1").focus();
    }
    showError(root, err);
  } finally {
    if (ticket === rendering) root.removeAttribute("aria-busy");
  }
}

document.getElementById("logout").addEventListener("click", async (event) => {
  event.preventDefault();
  try {
    await logout();
  } catch (err) {
    toast(err.message, "error");
  }
  forgetSession();
  location.hash = "#/login";
  toast("Logged out.");
});

window.addEventListener("hashchange", render);
if (!location.hash) history.replaceState(null, "", "#/people");
render();
