// Shared by the browsing views (suggestions, unassigned, photo, search, jobs, relations):
// their stylesheet, SVG elements, face boxes drawn over an image, a live region.

import { session } from "../api.js";
import { el } from "../ui.js";

const SVG_NS = "http://www.w3.org/2000/svg";
let styles = null;

/** Load css/browse.css once (resolves when it applies, so nothing flashes unstyled). */
export function useStyles() {
  if (!styles) {
    styles = new Promise((resolve) => {
      const link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = "/static/css/browse.css";
      link.addEventListener("load", resolve);
      link.addEventListener("error", resolve);
      document.head.append(link);
    });
  }
  return styles;
}

/** An SVG element with attributes and children. */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k.startsWith("on:")) node.addEventListener(k.slice(3), v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c) node.append(c);
  return node;
}

/** "0.734" → "73%": a similarity shown to people. */
export function percent(similarity) {
  return `${Math.round(Math.max(0, similarity) * 100)}%`;
}

/** A visually hidden polite live region; returns a function that announces a message. */
export function announcer(root) {
  const region = el("p", { class: "sr-only", "aria-live": "polite", role: "status" });
  root.append(region);
  return (message) => {
    region.textContent = "";
    setTimeout(() => { region.textContent = message; }, 30);
  };
}

/**
 * An image with face boxes over it, scaled with the image (boxes in percent of the
 * image's size). faces: [{box: [x, y, w, h], label, href?, attrs?}]; width/height: the
 * image's pixel size (else read from the loaded image). Returns the figure element.
 */
export function boxedImage(src, alt, faces, width, height) {
  const img = el("img", { src, alt, class: "boxed-img", decoding: "async" });
  const layer = el("div", { class: "box-layer" });
  const stage = el("div", { class: "box-stage" }, img, layer);
  const place = (w, h) => {
    layer.replaceChildren();
    faces.forEach((f, i) => {
      const [x, y, bw, bh] = f.box;
      const style = `left:${(100 * x) / w}%;top:${(100 * y) / h}%;`
        + `width:${(100 * bw) / w}%;height:${(100 * bh) / h}%`;
      const tag = el("span", { class: "box-tag" }, f.label);
      const attrs = { class: ["face-box", f.cls], style, ...(f.attrs || {}) };
      const box = f.href ? el("a", { href: f.href, ...attrs }, tag)
        : el("span", attrs, tag);
      box.style.setProperty("--i", String(i));
      layer.append(box);
    });
  };
  if (width && height) place(width, height);
  else img.addEventListener("load", () => place(img.naturalWidth, img.naturalHeight));
  return stage;
}

/** A crop of `img` (a loaded <img>) at box [x, y, w, h] (with a margin), as a canvas. */
export function cropCanvas(img, box, side = 96, label = "") {
  const [x, y, w, h] = box;
  const W = img.naturalWidth, H = img.naturalHeight;
  const want = Math.min(W, H, 1.4 * Math.max(w, h));  // a square around the face
  const sx = Math.max(0, Math.min(W - want, x + w / 2 - want / 2));
  const sy = Math.max(0, Math.min(H - want, y + h / 2 - want / 2));
  const sw = want, sh = want, s = want;
  const canvas = el("canvas", { width: side, height: side, class: "crop", role: "img",
                                "aria-label": label });
  const ctx = canvas.getContext("2d");
  const scale = side / s;
  ctx.fillStyle = "#888";
  ctx.fillRect(0, 0, side, side);
  ctx.drawImage(img, sx, sy, sw, sh, (side - sw * scale) / 2, (side - sh * scale) / 2,
                sw * scale, sh * scale);
  return canvas;
}

/** Whether a key event comes from a field where typing must not trigger shortcuts. */
export function typing(event) {
  const t = event.target;
  return !!(t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName)));
}

/**
 * Add a document listener that lives while `anchor` is in the page (removed on the first
 * event after the view is left).
 */
export function whileShown(anchor, type, handler) {
  const listener = (event) => {
    if (!anchor.isConnected) {
      document.removeEventListener(type, listener);
      return;
    }
    handler(event);
  };
  document.addEventListener(type, listener);
}

/**
 * A check that this render of a view still owns `root`: false once the router has moved
 * to another view (or rendered this one again), so a late answer is dropped, not shown
 * in the next page.
 */
export function owner(root) {
  const me = {};
  const view = root.dataset.view;
  root.browseRender = me;
  return () => root.browseRender === me && root.dataset.view === view;
}

/** How a person is called where several may be unnamed: the name, or "Unnamed #ID". */
export function label(id, name) {
  return name && name.trim() ? name : `Unnamed #${id}`;
}

/** Whether the logged-in key may change the library (scope write or admin). */
export async function canWrite() {
  const who = await session();
  return !!who && (who.scope === "write" || who.scope === "admin");
}

/** The note shown where a read key sees controls it cannot use. */
export function readOnlyNote(what) {
  return el("p", { class: "hint read-only-note", "data-testid": "read-only" },
            `${what} needs a key with the write scope: this one can only look.`);
}
