"""Moving a library between machines: ``export`` to one tar file, ``import`` from it.

An archive holds:

* ``manifest.json`` (first member): format, faceatlas version, catalog schema version,
  embedding models (dimension, count), row counts, and the size and SHA-256 of every
  other member;
* ``catalog.sqlite``: a consistent snapshot taken with SQLite's backup API while the
  library may be in use (never a file copy of a live WAL database), vacuumed so that no
  free page carries deleted content;
* ``receipts/erasure-*.json``: the library's erasure receipts.

Vector indexes are not exported: import rebuilds them from the catalog. Import checks
everything before touching the target (member list, sizes, checksums, schema version,
SQLite integrity, counts), refuses a non-empty target unless ``force`` (the replaced
library is restored if the import fails), rewrites path prefixes (``remaps``) and counts
the photos whose files are not found on this machine (their records are kept).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import FaceAtlasError
from ..files import sha256_file
from ..store import CATALOG_FILE, open_store
from ..store.schema import SCHEMA_VERSION
from .core import Library
from .locks import LOCK_FILES, exclusive_library
from .rebuild import rebuild_indexes

ARCHIVE_FORMAT = "faceatlas-library"
ARCHIVE_VERSION = 1
MANIFEST = "manifest.json"
_MEMBER = re.compile(r"^(catalog\.sqlite|receipts/erasure-[A-Za-z0-9._-]+\.json)$")


class ArchiveError(FaceAtlasError):
    """An export archive is missing, corrupt, incomplete or of another format."""

    exit_code = 9


def _catalog_facts(path: Path) -> dict[str, Any]:
    """Schema version, row counts and models of an archived catalog file, read-only."""
    from ..store import CatalogError
    from ..store.sqlite import catalog_file_facts

    try:
        return catalog_file_facts(path)
    except CatalogError as exc:
        raise ArchiveError(f"the archived {exc}") from None


# -- export ----------------------------------------------------------------------------
def export_library(library: Library, out: str | os.PathLike[str]) -> dict[str, Any]:
    """Write ``library`` to the tar file ``out`` (atomically); returns the manifest."""
    dest = Path(out)
    if dest.exists():
        raise FaceAtlasError(f"{dest}: already exists; choose another file or delete it")
    if not dest.parent.is_dir():
        raise FaceAtlasError(f"{dest.parent}: no such folder")
    receipts = sorted((library.root / "receipts").glob("erasure-*.json"))
    with tempfile.TemporaryDirectory(prefix=".faceatlas-export.", dir=dest.parent) as tmp:
        snap = Path(tmp) / CATALOG_FILE
        library.store.snapshot(snap)
        files = {CATALOG_FILE: snap, **{f"receipts/{p.name}": p for p in receipts}}
        manifest = {"format": ARCHIVE_FORMAT, "version": ARCHIVE_VERSION,
                    "faceatlas": __version__,
                    "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    **_catalog_facts(snap),
                    "members": {name: {"size": p.stat().st_size, "sha256": sha256_file(p)}
                                for name, p in files.items()}}
        part = Path(tmp) / "archive.tar"
        try:
            with tarfile.open(part, "w") as tar:
                head = json.dumps(manifest, indent=2, sort_keys=True).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode = len(head), 0o644
                info.mtime = int(datetime.now().timestamp())
                tar.addfile(info, io.BytesIO(head))
                for name, path in files.items():
                    tar.add(path, arcname=name, recursive=False)
            with part.open("rb") as fh:
                os.fsync(fh.fileno())
            os.replace(part, dest)
        except OSError as exc:
            raise FaceAtlasError(f"{dest}: cannot write the archive ({exc})") from None
    return manifest


# -- import ----------------------------------------------------------------------------
@dataclass
class ImportResult:
    """What an import did."""

    library: str
    manifest: dict[str, Any]
    remapped: int = 0
    missing_paths: int = 0
    missing_examples: list[str] = field(default_factory=list)
    indexes: dict[str, int] = field(default_factory=dict)
    replaced: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"library": self.library, "counts": self.manifest.get("counts", {}),
                "models": self.manifest.get("models", {}),
                "exported_with": self.manifest.get("faceatlas"),
                "created_utc": self.manifest.get("created_utc"), "remapped": self.remapped,
                "missing_paths": self.missing_paths, "missing_examples": self.missing_examples,
                "vector_indexes": self.indexes, "replaced": self.replaced}


def read_archive(archive: Path, into: Path) -> dict[str, Any]:
    """Extract and verify ``archive`` into the empty folder ``into``; returns the
    manifest. Raises :class:`ArchiveError` on anything unexpected."""
    name = archive.name
    if not archive.is_file():
        raise ArchiveError(f"{archive}: no such file")
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            by_name = {m.name: m for m in members}
            if len(by_name) != len(members) or MANIFEST not in by_name:
                raise ArchiveError(f"{name}: not a faceatlas export (no single manifest.json)")
            manifest = _load_manifest(tar, by_name[MANIFEST], name)
            expected = manifest["members"]
            names = set(by_name) - {MANIFEST}
            if names != set(expected):
                extra, missing = sorted(names - set(expected)), sorted(set(expected) - names)
                raise ArchiveError(f"{name}: members differ from its manifest (unexpected: "
                                   f"{extra or 'none'}, missing: {missing or 'none'})")
            for member in sorted(names):
                if not _MEMBER.match(member) or not by_name[member].isfile():
                    raise ArchiveError(f"{name}: unexpected member {member!r}")
                _extract(tar, by_name[member], into / member, expected[member], name)
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        detail = (str(exc).splitlines() or [type(exc).__name__])[0].rstrip(":")
        raise ArchiveError(f"{name}: not a readable tar archive ({detail})") from None
    except OSError as exc:
        raise ArchiveError(f"{name}: cannot be read ({exc})") from None
    if int(manifest.get("schema_version", 0)) > SCHEMA_VERSION:
        raise ArchiveError(f"{name}: made by a newer faceatlas (catalog schema "
                           f"v{manifest['schema_version']}, this one reads up to "
                           f"v{SCHEMA_VERSION}); upgrade faceatlas")
    facts = _catalog_facts(into / CATALOG_FILE)
    counted = manifest.get("counts")
    if isinstance(counted, dict):  # an older archive counted fewer tables
        facts["counts"] = {t: n for t, n in facts["counts"].items() if t in counted}
    for key in ("schema_version", "counts", "models"):
        if facts[key] != manifest.get(key):
            raise ArchiveError(f"{name}: the catalog does not match its manifest ({key})")
    return manifest


def _load_manifest(tar: tarfile.TarFile, member: tarfile.TarInfo, name: str) -> dict[str, Any]:
    fh = tar.extractfile(member) if member.isfile() and member.size < (1 << 20) else None
    try:
        manifest = json.loads(fh.read()) if fh is not None else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != ARCHIVE_FORMAT \
            or not isinstance(manifest.get("members"), dict):
        raise ArchiveError(f"{name}: not a faceatlas export (bad manifest.json)")
    if manifest.get("version") != ARCHIVE_VERSION:
        raise ArchiveError(f"{name}: archive format v{manifest.get('version')} is not "
                           f"supported (this faceatlas reads v{ARCHIVE_VERSION})")
    return manifest


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, dest: Path,
             expected: dict[str, Any], name: str) -> None:
    src = tar.extractfile(member)
    if src is None:
        raise ArchiveError(f"{name}: member {member.name} cannot be read")
    dest.parent.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    size = 0
    with dest.open("wb") as out:
        for block in iter(lambda: src.read(1 << 20), b""):
            h.update(block)
            size += len(block)
            out.write(block)
    if size != expected.get("size") or h.hexdigest() != expected.get("sha256"):
        raise ArchiveError(f"{name}: member {member.name} is corrupt (size or SHA-256 differs "
                           "from the manifest)")


_LIBRARY_ENTRIES = (CATALOG_FILE, CATALOG_FILE + "-wal", CATALOG_FILE + "-shm", "index",
                    "receipts")


def import_library(archive: str | os.PathLike[str], target: Path, force: bool = False,
                   remaps: Sequence[tuple[str, str]] = ()) -> ImportResult:
    """Install the library of ``archive`` in the folder ``target`` (see module docs)."""
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise FaceAtlasError(f"{target}: is a file, not a library folder")
    if target.is_dir() and any(e.name not in LOCK_FILES for e in target.iterdir()) \
            and not force:
        raise FaceAtlasError(f"{target}: is not empty; import into an empty folder, or pass "
                             "--force to replace the library there")
    for old, new in remaps:
        if not old.strip("/\\") or not new.strip("/\\"):
            raise FaceAtlasError("--remap needs OLD=NEW with two non-empty path prefixes")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".faceatlas-import.", dir=target.parent) as tmp:
        staged = Path(tmp) / "new"
        staged.mkdir()
        manifest = read_archive(Path(archive), staged)
        target.mkdir(exist_ok=True)
        # nobody may have the library open while its catalog is replaced
        lock = exclusive_library(target)
        try:
            return _install(target, staged, Path(tmp), manifest, remaps)
        finally:
            lock.release()


def _install(target: Path, staged: Path, tmp: Path, manifest: dict[str, Any],
             remaps: Sequence[tuple[str, str]]) -> ImportResult:
    """Move the library in ``target`` aside, put the staged one in place, remap paths and
    rebuild the indexes; on any failure put the old library back."""
    backup = Path(tmp) / "replaced"
    backup.mkdir()
    moved = [e for e in _LIBRARY_ENTRIES if (target / e).exists()]
    for entry in moved:
        os.replace(target / entry, backup / entry)
    try:
        for entry in (CATALOG_FILE, "receipts"):
            if (staged / entry).exists():
                os.replace(staged / entry, target / entry)
        result = ImportResult(str(target), manifest, replaced=bool(moved))
        with Library(target, open_store(target)) as lib:  # the caller holds the lock
            for old, new in remaps:
                result.remapped += lib.store.rewrite_paths(old, new)
            result.indexes = rebuild_indexes(lib)
            for rec in lib.store.iter_images():
                if not os.path.exists(rec.path):
                    result.missing_paths += 1
                    if len(result.missing_examples) < 5:
                        result.missing_examples.append(rec.path)
    except BaseException:
        for entry in _LIBRARY_ENTRIES:
            path = target / entry
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        for entry in moved:
            os.replace(backup / entry, target / entry)
        raise
    return result
