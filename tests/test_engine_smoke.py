from __future__ import annotations

import itertools
from pathlib import Path

from faceatlas import FaceEngine


def test_same_person_scores_above_impostors(engine: FaceEngine, portraits: Path) -> None:
    faces = {p.stem: engine.face(p) for p in sorted(portraits.glob("*.jpg"))}
    sim = {(a, b): faces[a].embedding.similarity(faces[b].embedding)
           for a, b in itertools.combinations(sorted(faces), 2)}
    genuine = [sim[("person_a_1", "person_a_2")], sim[("person_b_1", "person_b_2")]]
    impostor = [v for (a, b), v in sim.items() if a.split("_")[1] != b.split("_")[1]
                or a.startswith("impostor")]
    assert min(genuine) > max(impostor) + 0.2
