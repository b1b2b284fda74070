"""``faceatlas serve`` (the REST service) and ``faceatlas keys`` (its API keys). FastAPI
and uvicorn are imported only when ``serve`` runs (the ``server`` extra)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from .common import JsonOption, LibraryOpt, console, guarded, print_json

keys_app = typer.Typer(no_args_is_help=True, help="API keys of the REST service "
                       "(`faceatlas serve`): create, list, revoke. Keys are stored hashed.")


def serve(
    library: Path | None = LibraryOpt,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port to listen on."),
    root: list[Path] = typer.Option([], "--root", help="Folder the service may index and "
                                    "serve photos from (repeatable)."),
    max_upload_mb: float = typer.Option(20.0, "--max-upload-mb", min=0.001,
                                        help="Largest upload, in MB."),
    max_megapixels: float = typer.Option(50.0, "--max-megapixels", min=0.01,
                                         help="Largest image accepted, in megapixels "
                                         "(checked in its header, before decoding)."),
    rate_limit: int = typer.Option(0, "--rate-limit", min=0, help="Requests per key per "
                                   "minute (0: no limit)."),
    cors_origin: list[str] = typer.Option([], "--cors-origin", help="Allow browser calls "
                                          "from this origin (repeatable; off by default)."),
    workers: int | None = typer.Option(None, "--workers", min=0, help="Processes that "
                                       "decode, detect and embed uploads, one engine each "
                                       "(default: min(2, CPU count); 0: in the server)."),
) -> None:
    """Run the REST service (OpenAPI at /openapi.json, docs at /docs). Every call but
    /api/v1/health needs a key: `faceatlas keys create NAME --scope read|write|admin`."""

    def run() -> None:
        from ..extras import require

        for module in ("fastapi", "uvicorn", "multipart"):
            require(module, "serve")
        import uvicorn

        from ..service.api import create_app
        from ..service.pool import default_workers
        from ..service.state import ServiceConfig

        config = ServiceConfig(library=library, roots=list(root),
                               max_upload_bytes=int(max_upload_mb * 1024 * 1024),
                               max_pixels=int(max_megapixels * 1e6), rate_limit=rate_limit,
                               cors_origins=list(cors_origin),
                               workers=default_workers() if workers is None else workers)
        uvicorn.run(create_app(config), host=host, port=port, log_level="info")

    guarded(run)


@keys_app.command("create")
def keys_create(name: str = typer.Argument(..., help="A name for the key (who uses it)."),
                scope: str = typer.Option("read", "--scope", help="read, write or admin "
                                          "(cumulative)."),
                library: Path | None = LibraryOpt, as_json: bool = JsonOption) -> None:
    """Create a key and print it once (only its hash is kept)."""

    def run() -> None:
        from ..app.keys import create_key
        from ..library import Library

        with Library.open(library) as lib:
            out = create_key(lib.store, name, scope)
        if as_json:
            print_json(out)
            return
        console.print(f"key '{out['name']}' ({out['scope']}): {out['key']}", highlight=False)
        console.print("store it now: it is not shown again", highlight=False)

    guarded(run)


@keys_app.command("list")
def keys_list(library: Path | None = LibraryOpt, as_json: bool = JsonOption) -> None:
    """Keys: name, scope, creation, revocation (never the keys themselves)."""

    def run() -> None:
        from ..app.keys import list_keys
        from ..library import Library

        with Library.open(library, create=False) as lib:
            rows = list_keys(lib.store)
        if as_json:
            print_json(rows)
            return
        table = Table(title=f"{len(rows)} key(s)")
        for col in ("name", "scope", "prefix", "created", "revoked"):
            table.add_column(col)
        for r in rows:
            table.add_row(r["name"], r["scope"], r["prefix"] + "...", r["created_at"],
                          r["revoked_at"] or "")
        console.print(table)

    guarded(run)


@keys_app.command("revoke")
def keys_revoke(name: str = typer.Argument(..., help="Name of the key."),
                library: Path | None = LibraryOpt, as_json: bool = JsonOption) -> None:
    """Revoke a key: it is refused from now on."""

    def run() -> None:
        from ..app.keys import revoke_key
        from ..library import Library

        with Library.open(library, create=False) as lib:
            out = revoke_key(lib.store, name)
        if as_json:
            print_json(out)
        else:
            console.print(f"key '{name}' revoked", highlight=False)

    guarded(run)


def register(app: typer.Typer) -> None:
    """Add ``serve`` and ``keys`` to the main command."""
    app.command("serve")(serve)
    app.add_typer(keys_app, name="keys")
