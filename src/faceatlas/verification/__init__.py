"""1:1 verification: decision thresholds calibrated per model at target false-match rates."""

from .thresholds import Threshold, resolve_threshold, thresholds_for

__all__ = ["Threshold", "resolve_threshold", "thresholds_for"]
