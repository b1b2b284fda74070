"""Evaluation: LFW protocol, verification metrics, plots and generic pairs files."""
