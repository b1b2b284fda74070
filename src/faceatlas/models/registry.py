"""The model registry: find, verify, fetch and load model files.

A model's file is looked for, in order: inside an installed package, in the user's
model folder (``$FACEATLAS_HOME/models``), then downloaded from its URL. Every file
is checked against its SHA-256 before use. Users add their own ONNX models with
:meth:`ModelRegistry.register`; those entries live in ``$FACEATLAS_HOME/models.json``.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import onnx

from .. import config
from ..errors import ModelError
from ..files import CHUNK, atomic_write, sha256_file
from .catalog import BUILTIN, FAMILIES, FAMILY_INPUTS
from .download import download
from .onnx_prepare import prepare
from .runtime import load_runner
from .spec import InputSpec, ModelFile, ModelSpec


@dataclass(frozen=True)
class Located:
    """Where a model's file was found: its path and which source supplied it."""

    path: Path
    source: str  # "package:<name>", "user", "download"


@lru_cache(maxsize=64)
def _digest(path: str, size: int, mtime: float) -> str:
    return sha256_file(Path(path))


def _verified(path: Path, sha256: str) -> bool:
    st = path.stat()
    got = _digest(str(path), st.st_size, st.st_mtime)
    if got != sha256:
        raise ModelError(
            f"checksum mismatch for {path}: expected sha256 {sha256}, got {got}; "
            "delete or replace the file"
        )
    return True


class ModelRegistry:
    """Lists, locates and loads the models faceatlas can use."""

    def __init__(self, home: Path | None = None) -> None:
        self.home = home or config.home()

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def _user_file(self) -> Path:
        return self.home / "models.json"

    def specs(self) -> list[ModelSpec]:
        """Built-in models followed by the user's registered ones."""
        return list(BUILTIN) + self._user_specs()

    def get(self, name: str) -> ModelSpec:
        for spec in self.specs():
            if spec.name == name:
                return spec
        known = ", ".join(s.name for s in self.specs())
        raise ModelError(f"unknown model '{name}'; known models: {known} "
                         "(see `faceatlas models`)")

    def where(self, spec: ModelSpec) -> Located | None:
        """Where the file is available locally, without downloading; None if nowhere."""
        f = spec.file
        if f.package and f.package_path:
            found = importlib.util.find_spec(f.package)
            if found and found.submodule_search_locations:
                for root in found.submodule_search_locations:
                    candidate = Path(root) / f.package_path
                    if candidate.is_file():
                        return Located(candidate, f"package:{f.package}")
        candidate = self.models_dir / f.filename
        if candidate.is_file():
            return Located(candidate, "user")
        return None

    def locate(self, spec: ModelSpec, allow_download: bool = True) -> Located:
        """Find (or fetch) the model's file and verify its checksum."""
        found = self.where(spec)
        if found is not None:
            _verified(found.path, spec.file.sha256)
            return found
        dest = self.models_dir / spec.file.filename
        if not spec.file.url or not allow_download:
            raise ModelError(
                f"model '{spec.name}' not found: place {spec.file.filename} "
                f"(sha256 {spec.file.sha256}) in {self.models_dir}"
            )
        download(spec.file.url, dest, spec.file.sha256)
        return Located(dest, "download")

    def load(self, spec: ModelSpec) -> onnx.ModelProto:
        """Locate, verify and load the model's graph, repaired for any runtime."""
        path = self.locate(spec).path
        return _load_prepared(str(path), spec.file.sha256, spec.task == "detection")

    def register(self, name: str, path: Path, task: str, family: str, license: str,
                 commercial_use: bool, input_size: tuple[int, int] | None = None,
                 color: str | None = None, mean: float | None = None,
                 std: float | None = None) -> ModelSpec:
        """Register a user's ONNX model: an ArcFace-style recognizer (``arcface``,
        ``sface`` families) or an SCRFD / YuNet detector.

        Input size, colour order, mean and std default to the family's
        (:data:`~faceatlas.models.catalog.FAMILY_INPUTS`). The file is checked to load
        in onnxruntime, hashed, and copied atomically into the model folder; the entry is
        saved in ``$FACEATLAS_HOME/models.json``.
        """
        if any(s.name == name for s in BUILTIN):
            raise ModelError(f"'{name}' is a built-in model name; choose another name")
        if task not in FAMILIES:
            raise ModelError(f"task must be 'detection' or 'recognition', not '{task}'")
        if family not in FAMILIES[task]:
            raise ModelError(f"unknown {task} family '{family}'; choose one of "
                             f"{', '.join(FAMILIES[task])}")
        base = FAMILY_INPUTS[family]
        inp = InputSpec(size=input_size or base.size,
                        color=color or base.color,  # type: ignore[arg-type]
                        mean=base.mean if mean is None else mean,
                        std=base.std if std is None else std)
        if inp.color not in ("RGB", "BGR"):
            raise ModelError(f"colour order must be RGB or BGR, not '{inp.color}'")
        if inp.std == 0:
            raise ModelError("std must not be 0")
        if not path.is_file():
            raise ModelError(f"{path}: no such model file")
        try:
            graph = onnx.load(str(path))
        except Exception as exc:  # onnx raises DecodeError and others
            raise ModelError(f"{path}: not a readable ONNX model ({exc})") from None
        load_runner(prepare(graph, dynamic_spatial=task == "detection"), "onnxruntime")
        dim = None
        if task == "recognition":
            out = graph.graph.output[0].type.tensor_type.shape.dim
            dim = int(out[-1].dim_value) if out and out[-1].dim_value else None
        sha = sha256_file(path)
        filename = f"{name}.onnx"
        with atomic_write(self.models_dir / filename) as out, Path(path).open("rb") as src:
            shutil.copyfileobj(src, out, CHUNK)
        spec = ModelSpec(
            name=name, task=task, family=family,  # type: ignore[arg-type]
            file=ModelFile(filename=filename, sha256=sha),
            license=license, commercial_use=commercial_use, input=inp,
            output=f"{dim}-d embedding" if dim else "detections",
            embedding_dim=dim, default_backend="onnxruntime",
            description=f"registered from {path.name}",
        )
        entries = [s for s in self._raw_user() if s.get("name") != name]
        entries.append(spec.to_dict())
        self.home.mkdir(parents=True, exist_ok=True)
        tmp = self._user_file.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(entries, indent=2))
        tmp.replace(self._user_file)
        return spec

    def _raw_user(self) -> list[dict[str, object]]:
        if not self._user_file.is_file():
            return []
        try:
            data = json.loads(self._user_file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ModelError(
                f"{self._user_file} is not valid JSON ({exc}); fix or delete it") from None
        except OSError as exc:
            raise ModelError(f"{self._user_file} cannot be read ({exc})") from None
        if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
            raise ModelError(f"{self._user_file} is not a list of model entries (as "
                             "`faceatlas models register` writes it); fix or delete it")
        return data

    def _user_specs(self) -> list[ModelSpec]:
        specs = []
        fields = {f.name for f in dataclasses.fields(ModelSpec)}
        for i, raw in enumerate(self._raw_user()):
            try:
                d = dict(raw)
                d["file"] = ModelFile(**d["file"])  # type: ignore[arg-type]
                inp = dict(d["input"])  # type: ignore[call-overload]
                inp["size"] = tuple(int(v) for v in inp["size"])
                d["input"] = InputSpec(**inp)
                spec = ModelSpec(**{k: v for k, v in d.items() if k in fields})  # type: ignore[arg-type]
            except (KeyError, TypeError, ValueError) as exc:
                what = f"'{raw['name']}'" if isinstance(raw.get("name"), str) else f"#{i + 1}"
                raise ModelError(f"{self._user_file}: model entry {what} is malformed "
                                 f"({type(exc).__name__}: {exc}); fix or delete it, then "
                                 "register the model again") from None
            if not isinstance(spec.name, str) or spec.task not in FAMILIES:
                raise ModelError(f"{self._user_file}: model entry #{i + 1} has no valid "
                                 "name or task; fix or delete it")
            specs.append(spec)
        return specs


@lru_cache(maxsize=8)
def _load_prepared(path: str, sha256: str, detector: bool) -> onnx.ModelProto:
    try:
        return prepare(onnx.load(path), dynamic_spatial=detector)
    except Exception as exc:  # protobuf and onnx raise untyped errors
        raise ModelError(f"{path}: cannot be loaded as an ONNX model ({exc})") from None
