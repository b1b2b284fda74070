// Small DOM helpers shared by the views.

import { thumbUrl } from "./api.js";

/**
 * Create an element. attrs: `class`, `text`, `html` is NOT supported (no innerHTML),
 * `data-*`, `aria-*`, `on:EVENT` handlers, boolean attributes (true/false), anything else
 * as an attribute. Children: nodes, strings, or arrays of them (null/false skipped).
 */
export function el(tag, attrs = {}, ...children) {
  const svg = tag === "svg" || attrs && attrs.xmlns === "http://www.w3.org/2000/svg";
  const node = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag)
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.setAttribute("class", Array.isArray(v) ? v.filter(Boolean).join(" ") : v);
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on:")) node.addEventListener(k.slice(3), v);
    else if (k === "value" && "value" in node) node.value = v;
    else if (k === "checked" && "checked" in node) node.checked = !!v;
    else if (v === true) node.setAttribute(k, "");
    else node.setAttribute(k, String(v));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** A face thumbnail: lazy-loaded <img> with alt text. */
export function faceThumb(faceId, alt = "", cls = "thumb") {
  if (faceId === null || faceId === undefined) {
    return el("span", { class: [cls, "thumb-empty"], role: "img", "aria-label": alt || "no face" });
  }
  return el("img", { class: cls, src: thumbUrl(faceId), alt, loading: "lazy",
                     decoding: "async", width: 96, height: 96 });
}

/** How a person is called: their name or "Unnamed". */
export function personName(name) {
  return name && name.trim() ? name : "Unnamed";
}

/** A link to a person's page. */
export function personLink(id, name) {
  return el("a", { href: `#/person/${id}`, class: "person-link" }, personName(name));
}

/** A short message at the bottom of the screen; kind: "info" | "success" | "error". */
export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const t = el("div", { class: ["toast", `toast-${kind}`], role: kind === "error" ? "alert" : null },
               message);
  box.append(t);
  setTimeout(() => t.classList.add("toast-out"), kind === "error" ? 6000 : 3500);
  setTimeout(() => t.remove(), kind === "error" ? 6600 : 4100);
}

/**
 * Page navigation: "Previous", "Page X of Y", "Next". onPage(newOffset) is called on a
 * click. Returns an empty fragment when everything fits on one page.
 */
export function pager(total, offset, limit, onPage) {
  if (total <= limit && offset === 0) return document.createDocumentFragment();
  const page = Math.floor(offset / limit) + 1;
  const pages = Math.max(1, Math.ceil(total / limit));
  const prev = el("button", { type: "button", class: "btn btn-quiet", "data-testid": "page-prev",
                              disabled: offset <= 0,
                              "on:click": () => onPage(Math.max(0, offset - limit)) },
                  "‹ Previous");
  const next = el("button", { type: "button", class: "btn btn-quiet", "data-testid": "page-next",
                              disabled: offset + limit >= total,
                              "on:click": () => onPage(offset + limit) }, "Next ›");
  return el("nav", { class: "pager", "aria-label": "Pages" }, prev,
            el("span", { class: "pager-info", "aria-live": "polite" },
               `Page ${page} of ${pages}`), next);
}

/**
 * A grid of faces, each with a checkbox (a <label> around it: click or Space/Enter on the
 * focused checkbox selects it). faces: [{id, alt?, caption?}]. onChange(selectedIds) after
 * every change. The returned element has .selected() and .clear().
 */
export function selectableFaceGrid(faces, onChange = () => {}, selected = new Set()) {
  const grid = el("ul", { class: "face-grid", role: "list" });
  for (const f of faces) {
    const box = el("input", { type: "checkbox", class: "face-check", value: f.id,
                              "aria-label": f.alt || `Face ${f.id}` });
    const tile = el("li", { class: "face-tile", "data-testid": "face-tile", "data-face-id": f.id },
      el("label", {}, box, faceThumb(f.id, f.alt || `Face ${f.id}`, "thumb face-img"),
         f.caption ? el("span", { class: "face-caption" }, f.caption) : null));
    if (selected.has(f.id)) { box.checked = true; tile.classList.add("is-selected"); }
    box.addEventListener("change", () => {
      if (box.checked) selected.add(f.id); else selected.delete(f.id);
      tile.classList.toggle("is-selected", box.checked);
      onChange([...selected]);
    });
    grid.append(tile);
  }
  grid.selected = () => [...selected];
  grid.clear = () => {
    selected.clear();
    grid.querySelectorAll("input.face-check").forEach((b) => { b.checked = false; });
    grid.querySelectorAll(".face-tile").forEach((t) => t.classList.remove("is-selected"));
    onChange([]);
  };
  grid.selectAll = () => {
    grid.querySelectorAll("input.face-check").forEach((b) => {
      b.checked = true; selected.add(Number(b.value));
    });
    grid.querySelectorAll(".face-tile").forEach((t) => t.classList.add("is-selected"));
    onChange([...selected]);
  };
  return grid;
}

/** Show an error in `root` (a message box, with a retry link). */
export function showError(root, err) {
  const message = (err && err.message) || String(err);
  const box = el("div", { class: "error-box", role: "alert", "data-testid": "error" },
    el("strong", {}, "Something went wrong. "), message, " ",
    el("button", { type: "button", class: "btn btn-quiet", "on:click": () => location.reload() },
       "Retry"));
  root.append(box);
  return box;
}

/** The view's heading: sets document.title and gets focus (for screen readers). */
export function heading(root, text, ...extra) {
  document.title = `${text} · faceatlas`;
  const h = el("h1", { tabindex: "-1" }, text);
  root.append(el("div", { class: "view-head" }, h, ...extra));
  h.focus({ preventScroll: true });
  return h;
}

/** Format a count with its noun: count(1, "face") → "1 face", count(3, "face") → "3 faces". */
export function count(n, noun, plural = noun + "s") {
  return `${n.toLocaleString()} ${n === 1 ? noun : plural}`;
}

/** A modal dialog (<dialog>) with a title and content; returns the dialog (already open). */
export function dialog(title, ...content) {
  const d = el("dialog", { class: "dialog", "aria-label": title },
    el("h2", {}, title), ...content);
  d.addEventListener("close", () => d.remove());
  document.body.append(d);
  d.showModal();
  return d;
}
