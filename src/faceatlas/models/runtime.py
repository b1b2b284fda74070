"""Run an ONNX graph with onnxruntime or OpenCV DNN behind one small interface.

Which runtime is faster depends on the graph: ``bench/runtime_backends.py``
measures both on this project's models and the catalog records the winner as each
model's default. ``FACEATLAS_BACKEND=onnxruntime|opencv`` overrides it. With
onnxruntime, the CUDA execution provider is used when it is available.
"""

from __future__ import annotations

import os
from typing import Literal, Protocol

import cv2
import numpy as np
import onnx

from ..errors import ModelError

Backend = Literal["onnxruntime", "opencv"]
BACKENDS: tuple[Backend, ...] = ("onnxruntime", "opencv")


class Runner(Protocol):
    """A loaded graph: feed named float32 arrays, get its outputs in graph order."""

    backend: Backend
    input_names: list[str]
    output_names: list[str]

    def run(self, inputs: dict[str, np.ndarray]) -> list[np.ndarray]: ...


class OrtRunner:
    backend: Backend = "onnxruntime"

    def __init__(self, model: onnx.ModelProto, threads: int | None = None) -> None:
        import onnxruntime as ort

        ort.set_default_logger_severity(3)
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        # onnxruntime's pool threads busy-wait after each run by default, taking the
        # cores from the next stage (OpenCV DNN, another worker process)
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        available = ort.get_available_providers()
        providers = [p for p in ("CUDAExecutionProvider",) if p in available]
        providers.append("CPUExecutionProvider")
        try:
            self._session = ort.InferenceSession(model.SerializeToString(), opts,
                                                 providers=providers)
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelError(f"onnxruntime cannot load model '{model.graph.name}': {exc}") from None
        self.providers = self._session.get_providers()
        self.input_names = [i.name for i in self._session.get_inputs()]
        self.output_names = [o.name for o in self._session.get_outputs()]

    def run(self, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        return list(self._session.run(self.output_names, inputs))


class OpenCVRunner:
    backend: Backend = "opencv"

    def __init__(self, model: onnx.ModelProto, threads: int | None = None) -> None:
        if threads:
            cv2.setNumThreads(threads)
        try:
            self._net = cv2.dnn.readNetFromONNX(np.frombuffer(model.SerializeToString(), np.uint8))
        except cv2.error as exc:
            raise ModelError(f"OpenCV DNN cannot load model: {exc}") from None
        self.input_names = [i.name for i in model.graph.input]
        self.output_names = [o.name for o in model.graph.output]

    def run(self, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        for name, value in inputs.items():
            self._net.setInput(value, name)
        outs = self._net.forward(self.output_names)
        return [np.asarray(o) for o in outs]


def cuda_available() -> bool:
    """True when onnxruntime can run on an NVIDIA GPU here."""
    try:
        import onnxruntime as ort
    except ImportError:
        return False
    return "CUDAExecutionProvider" in ort.get_available_providers()


def choose_backend(default: Backend, requested: str | None = None) -> Backend:
    """Resolve the backend: explicit request, then ``FACEATLAS_BACKEND``, then CUDA
    (onnxruntime) when present, then the model's measured default."""
    choice = requested or os.environ.get("FACEATLAS_BACKEND") or ""
    if choice:
        if choice not in BACKENDS:
            raise ModelError(f"unknown backend '{choice}': choose one of {', '.join(BACKENDS)}")
        return choice
    if cuda_available():
        return "onnxruntime"
    return default


def load_runner(model: onnx.ModelProto, backend: Backend, threads: int | None = None) -> Runner:
    """Load a prepared graph on the given backend."""
    if backend == "onnxruntime":
        return OrtRunner(model, threads)
    return OpenCVRunner(model, threads)
