"""Face embeddings from aligned crops with any registered recognizer."""

from .base import Recognizer
from .factory import create_recognizer
from .recognizer import OnnxRecognizer

__all__ = ["OnnxRecognizer", "Recognizer", "create_recognizer"]
