"""A picture of the relation graph (or of one person's neighbourhood): faces as nodes
(stored thumbnails, else initials on a disc coloured by community), edge width by the
number of shared photos, names only for the most photographed people."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.offsetbox import AnnotationBbox, OffsetImage  # noqa: E402

from .errors import RelationsError  # noqa: E402
from .graph import RelationGraph  # noqa: E402

Thumbnailer = Callable[[int], "np.ndarray | None"]


def select_people(rg: RelationGraph, max_people: int = 200,
                  person: int | None = None) -> list[int]:
    """Whom to draw: the most photographed people, or ``person`` and their strongest ties."""
    g = rg.graph
    if person is not None:
        rg.photos_of(person)
        near = sorted(g[person], key=lambda u: (-g[person][u]["weight"], u))
        return [person, *near[:max_people - 1]]
    return sorted(g, key=lambda u: (-g.nodes[u]["photos"], u))[:max_people]


def initials(name: str | None, person: int) -> str:
    """``"Anna Berg" -> "AB"``; ``#12`` for an unnamed person."""
    words = [w for w in (name or "").split() if w[:1].isalnum()]
    return "".join(w[0].upper() for w in words[:2]) if words else f"#{person}"


def _round_thumb(bgr: np.ndarray, side: int) -> np.ndarray:
    h, w = bgr.shape[:2]
    s = min(h, w)
    crop = bgr[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
    rgb = cv2.cvtColor(cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA),
                       cv2.COLOR_BGR2RGB)
    yy, xx = np.mgrid[:side, :side]
    r = (side - 1) / 2
    alpha = (((yy - r) ** 2 + (xx - r) ** 2) <= r * r).astype(np.uint8) * 255
    return np.dstack([rgb, alpha])


def _layout(sub: nx.Graph, seed: int) -> dict[int, np.ndarray]:
    """Spring layout on log weights (heavy ties pull, without collapsing the core), started
    from Kamada-Kawai so that the picture fills the frame evenly."""
    tie = nx.Graph()
    tie.add_nodes_from(sub)
    tie.add_edges_from((a, b, {"w": math.log1p(w)}) for a, b, w in sub.edges(data="weight"))
    start = nx.kamada_kawai_layout(tie, weight=None) if len(tie) > 2 else None
    return nx.spring_layout(tie, pos=start, weight="w", seed=seed,
                            k=4.0 / math.sqrt(len(tie)), iterations=60)


def draw_graph(rg: RelationGraph, out: str | Path, names: Mapping[int, str] | None = None,
               thumbnail: Thumbnailer | None = None, person: int | None = None,
               max_people: int = 200, labels: int = 20, seed: int = 0) -> Path:
    """Render to a PNG; returns its path. ``labels``: how many of the most photographed
    people get their name written."""
    names = names or {}
    people = select_people(rg, max_people, person)
    if not people:
        raise RelationsError("the relation graph is empty: nothing to draw")
    sub = rg.graph.subgraph(people)
    n = len(people)
    pos = _layout(sub, seed)
    if person is not None:
        pos = {u: p - pos[person] for u, p in pos.items()}
    side_in = float(np.clip(3.0 + 1.3 * math.sqrt(n), 6.0, 24.0))
    fig, ax = plt.subplots(figsize=(side_in, side_in), dpi=100)
    ax.set_axis_off()
    w = np.array([d["weight"] for _, _, d in sub.edges(data=True)], dtype=float)
    if len(w):
        scale = np.log1p(w) / np.log1p(w.max())
        nx.draw_networkx_edges(sub, pos, ax=ax, width=0.4 + 5.0 * scale,
                               edge_color=[(0.35, 0.4, 0.5, 0.15 + 0.6 * s) for s in scale])
    comm = nx.community.louvain_communities(sub, weight="weight", seed=seed)
    colour_of = {u: plt.get_cmap("tab20")(i % 20) for i, c in
                 enumerate(sorted(comm, key=lambda c: (-len(c), min(c)))) for u in c}
    photos = np.array([sub.nodes[u]["photos"] for u in people], dtype=float)
    rel = np.sqrt(photos / photos.max())
    px_per_in = fig.dpi
    max_px = side_in * px_per_in / math.sqrt(n) * 0.45
    named = set(people[:labels]) | ({person} if person is not None else set())
    for u, r in zip(people, rel, strict=True):
        d_px = max(14.0, max_px * (0.45 + 0.55 * r))
        x, y = pos[u]
        face = thumbnail(u) if thumbnail is not None else None
        if face is not None and face.size:
            img = _round_thumb(face, 96)
            zoom = d_px / 96 * 72 / px_per_in  # OffsetImage scales pixels by dpi / 72
            ab = AnnotationBbox(OffsetImage(img, zoom=zoom), (x, y), frameon=False, zorder=3)
            ax.add_artist(ab)
            ax.scatter([x], [y], s=(d_px * 72 / px_per_in + 3) ** 2, facecolors="none",
                       edgecolors=[colour_of[u]], linewidths=2.5, zorder=4)
        else:
            ax.scatter([x], [y], s=(d_px * 72 / px_per_in) ** 2, c=[colour_of[u]],
                       edgecolors="white", linewidths=1.0, zorder=3)
            ax.text(x, y, initials(names.get(u), u), ha="center", va="center", zorder=4,
                    fontsize=max(5.0, d_px * 0.3 * 72 / px_per_in), color="black")
        if u in named:
            ax.annotate(names.get(u) or f"person {u}", (x, y), zorder=5, ha="center",
                        va="top", fontsize=8, xytext=(0, -d_px * 0.5 * 72 / px_per_in - 2),
                        textcoords="offset points",
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                              "alpha": 0.75})
    xs = np.array([p[0] for p in pos.values()])
    ys = np.array([p[1] for p in pos.values()])
    pad = 0.08 * max(np.ptp(xs), np.ptp(ys), 1e-3)
    ax.set_xlim(xs.min() - pad, xs.max() + pad)
    ax.set_ylim(ys.min() - pad, ys.max() + pad)
    ax.set_aspect("equal")
    title = (f"{names.get(person) or f'person {person}'} and {n - 1} companion(s)"
             if person is not None else f"{n} most photographed people")
    ax.set_title(title)
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(target, format="png", bbox_inches="tight")
    except (OSError, ValueError) as exc:
        raise RelationsError(f"{target}: cannot write PNG ({exc})") from None
    finally:
        plt.close(fig)
    return target
