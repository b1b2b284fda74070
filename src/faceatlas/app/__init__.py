"""The application layer: one function per use case (index, enroll, identify, search,
cluster, people corrections, forget, opt-out, status, detect, verify, API keys), called by
the command line (``faceatlas.cli``) and the REST service (``faceatlas.service``) alike.

Each use case takes plain typed arguments (an open :class:`~faceatlas.library.Library`,
an engine, paths, options) and returns the JSON-able result that ``--json`` prints and the
service returns; front ends only parse input and format output. Modules import the heavy
libraries inside the functions, so that importing them stays cheap.
"""
