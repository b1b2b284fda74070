"""One library, several processes (docs/architecture.md, "Coordination between
processes"): real subprocesses run the CLI or library code on copies of the sample
library while this process erases, opts out and corrects. A subprocess that must be caught
mid-work pauses at a named point (it touches ``<flag>`` and waits for ``<go>``), so every
interleaving tested is the one meant, not a lucky timing."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from privacy_helpers import copy_library, face_data, needles, traces

from faceatlas.cluster.catalog import cluster_catalog
from faceatlas.library import Library
from faceatlas.library.locks import LibraryBusyError
from faceatlas.library.portability import export_library, import_library
from faceatlas.library.vectors import index_file
from faceatlas.privacy.erasure import execute
from faceatlas.privacy.forget import plan_forget_person
from faceatlas.privacy.optout import plan_optout
from faceatlas.store import SQLiteStore

SRC = str(Path(__file__).resolve().parents[1] / "src")
ENV = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}

#: Indexes argv[2] into the library argv[1] in this process (workers=0), pausing after
#: the first photo is committed; prints the summary as JSON.
PAUSED_INDEX = """
import json, sys, time
from pathlib import Path
from faceatlas.library import Indexer, Library
lib, folder, flag, go = sys.argv[1:5]
def progress(results, total, desc):
    for i, res in enumerate(results):
        yield res
        if i == 0:
            Path(flag).touch()
            while not Path(go).exists():
                time.sleep(0.02)
with Library.open(lib) as opened:
    summary = Indexer(opened, workers=0, progress=progress).run([folder])
print(json.dumps(summary.to_dict()))
"""

#: Clusters the library argv[1], pausing once between the computation and the write;
#: prints how many times the clustering was computed.
PAUSED_CLUSTER = """
import json, sys, time
from pathlib import Path
from faceatlas.cluster import catalog
from faceatlas.library import Library
lib, flag, go = sys.argv[1:4]
real, calls = catalog.cluster_faces, []
def paused(*args, **kwargs):
    result = real(*args, **kwargs)
    calls.append(1)
    if len(calls) == 1:
        Path(flag).touch()
        while not Path(go).exists():
            time.sleep(0.02)
    return result
catalog.cluster_faces = paused
with Library.open(lib) as opened:
    run = catalog.cluster_catalog(opened.store)
print(json.dumps({"computed": len(calls), "changed": run.changed}))
"""


def _start(script: str, *args: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(flag: Path, proc: subprocess.Popen[str], timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not flag.exists():
        if proc.poll() is not None:
            raise AssertionError(f"subprocess ended early: {proc.communicate()}")
        assert time.monotonic() < end, "subprocess never reached its pause"
        time.sleep(0.02)


def _finish(proc: subprocess.Popen[str], timeout: float = 60.0) -> dict[str, object]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return dict(json.loads(out.strip().splitlines()[-1]))


def _photos(portraits: Path, folder: Path, names: list[str], seed: int = 0) -> list[Path]:
    """One new photo per name: that portrait, resized, on a plain background (new bytes,
    so new vectors, of a known person)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, name in enumerate(names):
        src = Image.open(portraits / f"{name}.jpg").convert("RGB")
        h = rng.randrange(250, 300)
        src = src.resize((int(src.width * h / src.height), h))
        canvas = Image.new("RGB", (src.width + 80, 360),
                           tuple(rng.randrange(40, 220) for _ in range(3)))
        canvas.paste(src, (rng.randrange(0, 80), rng.randrange(0, 360 - h)))
        path = folder / f"{i:02d}_{name}.jpg"
        canvas.save(path, "JPEG", quality=90)
        out.append(path)
    return out


def _index_matches_catalog(lib: Path) -> None:
    with Library.open(lib, create=False) as opened:
        store = opened.store
        assert store.check() == []
        for model in store.embedding_models():
            ids = store.face_ids(model)
            assert np.unique(ids).size == ids.size
            index = opened.vectors.get(model)
            assert index is not None and np.array_equal(index.ids(), ids)
            assert not opened.vectors.checks[model].rebuilt  # the file saved was right


def test_forget_during_index_leaves_no_trace(base: tuple[Path, Path], lib: Path,
                                             portraits: Path, tmp_path: Path) -> None:
    photos = base[0]
    theirs = face_data(lib, [photos / "person_a_1.jpg", photos / "person_a_2.jpg",
                             photos / "group.jpg"], left_only=photos / "group.jpg")
    wanted = needles(theirs)
    assert {i for _, i in traces(lib, wanted)} == set(range(len(wanted)))  # can fail
    new = _photos(portraits, tmp_path / "new", ["impostor_1", "person_b_2", "impostor_2",
                                                "person_b_1"])
    flag, go = tmp_path / "paused", tmp_path / "go"
    proc = _start(PAUSED_INDEX, lib, tmp_path / "new", flag, go)
    try:
        _wait_for(flag, proc)  # its vector index, Person A's faces in it, is in memory
        with Library.open(lib) as opened:
            receipt = execute(opened, plan_forget_person(opened, "Person A"))
        assert receipt.removed["faces"] == 3
        assert proc.poll() is None  # the index run is still under way
    finally:
        go.touch()
    summary = _finish(proc)
    assert summary["new"] == len(new) and summary["stopped"] is None
    assert traces(lib, wanted) == []  # no byte of theirs in any library file
    _index_matches_catalog(lib)


def test_optout_during_index_is_honoured(lib: Path, portraits: Path, tmp_path: Path) -> None:
    names = ["impostor_1", "person_b_2", "impostor_2", "person_b_1", "person_b_2"]
    new = _photos(portraits, tmp_path / "new", names, seed=3)
    flag, go = tmp_path / "paused", tmp_path / "go"
    proc = _start(PAUSED_INDEX, lib, tmp_path / "new", flag, go)
    try:
        _wait_for(flag, proc)  # one photo committed, the opt-out screen loaded (empty)
        with Library.open(lib) as opened:
            execute(opened, plan_optout(opened, "Person B"))
    finally:
        go.touch()
    summary = _finish(proc)
    assert summary["new"] == len(new)
    assert summary["refused"] == 3  # every photo of theirs analysed after the opt-out
    with Library.open(lib, create=False) as opened:
        for path, name in zip(new[1:], names[1:], strict=True):
            rec = opened.store.image_by_path(str(path))
            assert rec is not None
            assert rec.face_count == (0 if name.startswith("person_b") else 1), name


def test_photos_indexed_while_optout_is_planned_are_refused(lib: Path, portraits: Path,
                                                            tmp_path: Path) -> None:
    """Photos another process commits between an opt-out's plan (its sweep) and its
    commit were screened with the old templates: the opt-out erases them too."""
    names = ["person_b_2", "impostor_1", "person_b_1"]
    new = _photos(portraits, tmp_path / "new", names, seed=5)
    with Library.open(lib) as opened:
        plan = plan_optout(opened, "Person B")
        out = subprocess.run([sys.executable, "-m", "faceatlas.cli.main", "index",
                              str(tmp_path / "new"), "--library", str(lib), "--workers", "1",
                              "--json"], env=ENV, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["faces"] == 3  # stored: no opt-out yet
        receipt = execute(opened, plan)
        assert receipt.removed["added_while_planned"] == 2
        for path, name in zip(new, names, strict=True):
            rec = opened.store.image_by_path(str(path))
            assert rec is not None
            assert len(opened.store.faces_of_image(rec.id)) == (name == "impostor_1"), name


def test_correction_during_cluster_survives(lib: Path, tmp_path: Path) -> None:
    # which face a plain run would move (on a copy), so the correction meets the run
    trial = copy_library(lib, tmp_path / "trial")
    with Library.open(trial) as opened:
        before = {f: r.person_id for f, r in opened.store.faces(
            opened.store.face_ids(next(iter(opened.store.embedding_models())))).items()}
        cluster_catalog(opened.store)
        after = opened.store.faces(list(before))
    moved = sorted(f for f in before if after[f].person_id != before[f])
    assert moved
    face = moved[0]
    flag, go = tmp_path / "paused", tmp_path / "go"
    proc = _start(PAUSED_CLUSTER, lib, flag, go)
    try:
        _wait_for(flag, proc)  # computed on the old state, not yet written
        with Library.open(lib) as opened:
            person = opened.store.create_person("Corrected")
            opened.store.assign_faces([face], person.id, by="user", decision="assign")
    finally:
        go.touch()
    out = _finish(proc)
    with Library.open(lib, create=False) as opened:
        rec = opened.store.get_face(face)
        assert rec is not None and rec.person_id == person.id and rec.assigned_by == "user"
        assert opened.store.person_by_name("Corrected") is not None
    assert out["computed"] == 2  # the stale result was dropped and the work redone


def test_two_indexers_store_every_face_once(portraits: Path, tmp_path: Path) -> None:
    new = _photos(portraits, tmp_path / "photos", ["person_a_1", "person_b_1", "impostor_1",
                                                   "person_a_2", "person_b_2", "impostor_2"])
    lib = tmp_path / "lib"
    cmd = [sys.executable, "-m", "faceatlas.cli.main", "index", str(tmp_path / "photos"),
           "--library", str(lib), "--workers", "1", "--json"]
    procs = [subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, (out, err)
    _index_matches_catalog(lib)
    with Library.open(lib, create=False) as opened:
        stats = opened.store.stats()
        assert stats["images"] == len(new) and stats["faces"] == len(new)
        for path in new:
            rec = opened.store.image_by_path(str(path))
            assert rec is not None and len(opened.store.faces_of_image(rec.id)) == 1


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _cmdline(pid: int) -> bytes:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_index_leaves_no_worker(portraits: Path, tmp_path: Path, sig: int) -> None:
    _photos(portraits, tmp_path / "photos", ["person_a_1", "person_b_1", "impostor_1"] * 6)
    lib = tmp_path / "lib"
    proc = subprocess.Popen([sys.executable, "-m", "faceatlas.cli.main", "index",
                             str(tmp_path / "photos"), "--library", str(lib), "--workers", "2"],
                            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.monotonic() + 60
    workers: list[int] = []
    while len(workers) < 2:  # the two workers started (loading their models or working)
        assert proc.poll() is None and time.monotonic() < end
        workers = [c for c in _children(proc.pid) if b"spawn_main" in _cmdline(c)]
        time.sleep(0.05)
    children = _children(proc.pid)
    os.kill(proc.pid, sig)
    proc.wait(timeout=60)
    end = time.monotonic() + 10
    while any(_alive(c) for c in children) and time.monotonic() < end:
        time.sleep(0.05)
    assert [c for c in children if _alive(c)] == []
    if sig == signal.SIGTERM:  # stopped like Ctrl-C: what was committed is consistent
        with SQLiteStore(lib / "catalog.sqlite") as store:
            assert store.check() == []


def test_import_force_refused_while_open(lib: Path, tmp_path: Path) -> None:
    archive = tmp_path / "lib.tar.gz"
    with Library.open(lib, create=False) as opened:
        export_library(opened, archive)
    holder = _start("import sys, time\nfrom faceatlas.library import Library\n"
                    "lib = Library.open(sys.argv[1], create=False)\nprint('open', flush=True)\n"
                    "time.sleep(60)\n", lib)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(LibraryBusyError):
            import_library(archive, lib, force=True)
        assert (lib / "catalog.sqlite").is_file()
    finally:
        holder.kill()
        holder.wait()
    res = import_library(archive, lib, force=True)  # nobody has it open any more
    assert res.replaced


def test_rebuild_keeps_a_save_in_progress(lib: Path) -> None:
    """A rebuild waits for another process's save (index lock) instead of deleting its
    temporary file; files of processes that died while saving are deleted."""
    from faceatlas.library.rebuild import rebuild_indexes

    folder = lib / "index"
    stale = folder / "dead.faiss.123.tmp"
    stale.write_bytes(b"old vectors")
    holder = _start("import sys, time\nfrom pathlib import Path\n"
                    "from faceatlas.library.locks import index_lock\n"
                    "with index_lock(Path(sys.argv[1])):\n"
                    "    tmp = Path(sys.argv[1]) / 'index' / 'live.faiss.456.tmp'\n"
                    "    tmp.write_bytes(b'x')\n    print('saving', flush=True)\n"
                    "    time.sleep(1.0)\n    tmp.rename(Path(sys.argv[1]) / 'index' / 'done')\n",
                    lib)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "saving"
    with Library.open(lib) as opened:
        rebuild_indexes(opened)  # waits for the holder, then cleans
    holder.wait(timeout=30)
    assert holder.returncode == 0  # its rename found its temporary file
    assert not stale.exists() and not (folder / "done").exists()
    with Library.open(lib, create=False) as opened:
        models = list(opened.store.embedding_models())
    assert sorted(p.name for p in folder.iterdir()) == sorted(index_file(folder, m).name
                                                              for m in models)


def test_threads_share_one_store(tmp_path: Path) -> None:
    """One connection used by many threads (a server's): each transaction is whole."""
    import threading

    store = SQLiteStore(tmp_path / "catalog.sqlite")
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(40):
                person = store.create_person(f"p{t}-{i}")
                store.record_decision("rename", person_id=person.id)
                assert store.get_person(person.id) is not None
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert len(store.people()) == 240 and len(store.decisions()) == 240
    assert store.catalog_state().revision == 480
    store.close()
