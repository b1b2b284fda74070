// One person's neighbourhood: the people they appear with most, drawn as a graph of
// face thumbnails (the person in the middle; a line's width and label: photos shared).

import { api } from "../api.js";
import { el, faceThumb, heading, showError } from "../ui.js";
import { label, owner, svg, useStyles } from "./_browse.js";

const SIZE = 640;

export async function render(root, params) {
  const alive = owner(root);
  await useStyles();
  if (!alive()) return;
  const n = Math.min(30, Math.max(1, Number(params.n) || 12));
  let graph;
  try {
    graph = await api("GET", `/relations/neighbourhood?person=${encodeURIComponent("#" + params.id)}&n=${n}`);
  } catch (err) {
    if (!alive()) return;
    heading(root, "Who they appear with");
    showError(root, err);
    return;
  }
  if (!alive()) return;
  const center = graph.nodes.find((x) => x.center);
  const name = label(graph.person, center && center.name);
  const others = graph.nodes.filter((x) => !x.center);
  heading(root, `${name}'s circle`, el("p", { class: "subtitle" },
    others.length ? `The ${others.length === 1 ? "person" : `${others.length} people`} ${name} appears with most.`
      : `${name} appears with nobody yet.`));
  root.append(el("p", {}, el("a", { href: `#/person/${graph.person}` }, `‹ ${name}`)));
  const weightOf = new Map(graph.edges
    .filter((e) => e.a === graph.person || e.b === graph.person)
    .map((e) => [e.a === graph.person ? e.b : e.a, e.weight]));
  root.append(el("figure", { class: "graph-frame" }, draw(graph, center, others),
    el("figcaption", { class: "hint" }, "Lines join people seen in the same photos; the number is how many.")));
  if (others.length) {
    root.append(el("section", { class: "section" }, el("h2", {}, "Appears with"),
      el("ul", { class: "companion-list", role: "list" }, others.map((o) => el("li", {},
        el("a", { href: `#/person/${o.id}` }, faceThumb(o.face, "", "mini-thumb"), label(o.id, o.name)),
        el("span", { class: "hint" }, ` ${weightOf.get(o.id) || 0} shared ${(weightOf.get(o.id) || 0) === 1 ? "photo" : "photos"}`),
        el("a", { href: `#/relations/${o.id}`, class: "hint", "aria-label": `${label(o.id, o.name)}'s circle` }, " · circle"))))));
  }
}

function short(text, max = 18) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function draw(graph, center, others) {  // a ring of companions around the person
  const c = SIZE / 2;
  // the ring grows with the number of companions, so that thumbnails and names keep apart
  const ring = Math.max(170, (others.length * 140) / (2 * Math.PI));
  const pos = new Map([[center.id, [c, c]]]);
  others.forEach((o, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, others.length);
    pos.set(o.id, [c + ring * Math.cos(a), c + ring * Math.sin(a)]);
  });
  const maxW = Math.max(1, ...graph.edges.map((e) => e.weight));
  const edges = graph.edges.filter((e) => pos.has(e.a) && pos.has(e.b)).map((e) => {
    const [x1, y1] = pos.get(e.a), [x2, y2] = pos.get(e.b);
    const main = e.a === center.id || e.b === center.id;
    const width = 1.5 + 6 * (e.weight / maxW);
    const mx = (x1 + x2) / 2, my = (y1 + y2) / 2;
    return svg("g", { class: main ? "edge edge-main" : "edge" },
      svg("line", { x1, y1, x2, y2, "stroke-width": width }),
      svg("circle", { cx: mx, cy: my, r: 11, class: "edge-badge" }),
      svg("text", { x: mx, y: my, dy: "0.35em", "text-anchor": "middle", class: "edge-label", text: e.weight }));
  });
  const nodes = graph.nodes.map((node) => {
    const [x, y] = pos.get(node.id);
    const r = node.center ? 52 : 34;
    const id = `clip-${node.id}`;
    const name = label(node.id, node.name);
    const photos = `${node.photos} ${node.photos === 1 ? "photo" : "photos"}`;
    return svg("a", { href: `#/person/${node.id}`, class: node.center ? "node node-center" : "node",
                      "data-person-id": node.id, "aria-label": `${name}, ${photos}` },
      svg("clipPath", { id }, svg("circle", { cx: x, cy: y, r })),
      svg("circle", { cx: x, cy: y, r: r + 3, class: "node-ring" }),
      node.face !== null && node.face !== undefined
        ? svg("image", { href: `/api/v1/faces/${node.face}/thumbnail`, x: x - r, y: y - r, width: 2 * r,
                         height: 2 * r, "clip-path": `url(#${id})`, preserveAspectRatio: "xMidYMid slice" })
        : svg("text", { x, y, dy: "0.35em", "text-anchor": "middle", text: "?" }),
      svg("text", { x, y: y + r + 18, "text-anchor": "middle", class: "node-label", text: short(name) }),
      svg("title", { text: `${name} (${photos})` }));
  });
  const xs = [...pos.values()].map((p) => p[0]), ys = [...pos.values()].map((p) => p[1]);
  const pad = 70;
  const x0 = Math.min(...xs) - pad - 30, x1 = Math.max(...xs) + pad + 30;
  const y0 = Math.min(...ys) - pad, y1 = Math.max(...ys) + pad + 24;
  return svg("svg", { viewBox: `${x0} ${y0} ${x1 - x0} ${y1 - y0}`, width: x1 - x0, height: y1 - y0, class: "relations-graph", role: "group",
                      "data-testid": "relations-graph",
                      "aria-label": `Graph of ${label(center.id, center.name)} and the people they appear with` },
             edges, nodes);
}
