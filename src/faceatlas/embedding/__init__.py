"""Face embeddings from aligned crops with any registered recognizer."""

from .recognizer import OnnxRecognizer

__all__ = ["OnnxRecognizer"]
