"""Entry point of the ``faceatlas`` command."""

from __future__ import annotations

import typer

from . import anonymize, core, evaluate, library, models, people, portability, privacy, relations

app = typer.Typer(name="faceatlas", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False,
                  help="Offline face recognition: detect, verify, identify, cluster, evaluate.")
app.command()(core.detect)
app.command()(core.embed)
app.command()(core.verify)
app.command("index")(library.index)
app.command("enroll")(library.enroll_cmd)
app.command("identify")(library.identify_cmd)
app.command("search")(library.search_cmd)
app.add_typer(models.app, name="models")
app.add_typer(evaluate.app, name="evaluate")
app.add_typer(relations.app, name="relations")
people.register(app)  # cluster, people
privacy.register(app)  # forget, optout
portability.register(app)  # export, import, reembed
anonymize.register(app)  # anonymize


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
