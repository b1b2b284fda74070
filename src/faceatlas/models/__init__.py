"""Model registry, model files and the runtimes that execute them."""

from .registry import Located, ModelRegistry
from .runtime import Backend, Runner, choose_backend, load_runner
from .spec import InputSpec, ModelFile, ModelSpec

__all__ = ["Backend", "InputSpec", "Located", "ModelFile", "ModelRegistry", "ModelSpec",
           "Runner", "choose_backend", "load_runner"]
