"""What the registry knows of a model."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

from .runtime import Backend

Task = Literal["detection", "recognition"]


@dataclass(frozen=True)
class ModelFile:
    """One file of a model and where it may be found, in order of preference."""

    filename: str
    sha256: str
    package: str | None = None  # installed package that ships the file
    package_path: str | None = None  # path of the file inside that package
    url: str | None = None  # last resort: download (streamed, verified, atomic)


@dataclass(frozen=True)
class InputSpec:
    """How a face or image is turned into the model's input tensor."""

    size: tuple[int, int]  # (width, height); (0, 0) for any size
    color: Literal["BGR", "RGB"] = "BGR"
    mean: float = 0.0
    std: float = 1.0


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: identity, task, files, licence and I/O contract."""

    name: str
    task: Task
    family: str  # decoder or pre-processing family: yunet, scrfd, arcface, sface
    file: ModelFile
    license: str
    commercial_use: bool
    input: InputSpec
    output: str  # human description of the output
    embedding_dim: int | None = None
    default_backend: Backend = "onnxruntime"
    description: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)
