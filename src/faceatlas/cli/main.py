"""Entry point of the ``faceatlas`` command.

Start-up stays light: the command modules import the heavy libraries (OpenCV, ONNX,
faiss, SciPy, networkx, matplotlib...) inside the commands that use them, so that
``faceatlas --help`` and a single ``verify`` do not pay for all of them
(``tests/test_cli_consistency.py`` checks it, ``bench/startup.py`` measures it)."""

from __future__ import annotations

import typer

from . import (
    anonymize,
    core,
    evaluate,
    library,
    models,
    people,
    portability,
    privacy,
    relations,
    service,
    status,
)
from .common import JsonErrorGroup, add_store_option

app = typer.Typer(name="faceatlas", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False, cls=JsonErrorGroup,
                  help="Offline face recognition: detect, verify, identify, cluster, evaluate. "
                       "Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 no face, "
                       "5 model mismatch, 6 damaged catalog or index, 7 unreadable image, "
                       "8 model unavailable, 9 bad archive, 10 bad dataset, 11 stopped "
                       "(disk full), 130 interrupted.")
app.command()(core.detect)
app.command()(core.embed)
app.command()(core.verify)
app.command("index")(library.index)
app.command("enroll")(library.enroll_cmd)
app.command("identify")(library.identify_cmd)
app.command("search")(library.search_cmd)
app.command("status")(status.status_cmd)
app.add_typer(models.app, name="models")
app.add_typer(evaluate.app, name="evaluate")
app.add_typer(relations.app, name="relations")
people.register(app)  # cluster, people
privacy.register(app)  # forget, optout
portability.register(app)  # export, import, reembed
anonymize.register(app)  # anonymize
service.register(app)  # serve, keys
# every command that opens a library also takes --store URL (PostgreSQL catalog)
add_store_option(app, {"index", "enroll", "identify", "search", "status", "cluster", "forget",
                       "optout", "export", "import", "reembed", "people", "relations",
                       "anonymize", "serve"})


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
