"""The commands of the HTTP service: ``serve`` and ``keys create|list|revoke``."""

from __future__ import annotations

import gc
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from socialcredit.api.keys import ROLES, ApiKey, KeySpecError, create_key, list_keys, revoke_key
from socialcredit.cli import DbOption, JsonOption, _db_path, _fail, _open_store, _print_json, app, err, out
from socialcredit.store.base import StoreError

keys_app = typer.Typer(help="Create, list and revoke API keys of the HTTP service.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _key_json(key: ApiKey) -> dict[str, Any]:
    return key.model_dump(mode="json")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
    source: Annotated[str | None, typer.Option("--source", help="The agency's source (agency keys).")] = None,
    purpose: Annotated[
        list[str] | None,
        typer.Option("--purpose", help="An action pattern the relying party may check, e.g. 'flight.*' (repeatable)."),
    ] = None,
    subject: Annotated[
        str | None, typer.Option("--subject", help="The subject's identity code (subject keys).")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Who holds the key (logged with decisions; default: role-id).")
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Create a key; it is printed once and only its hash is stored."""
    store = _open_store(db)
    try:
        key, record = create_key(store, role, name=name, source=source, purposes=purpose or [], subject=subject)
    except KeySpecError as exc:
        raise _fail(str(exc)) from None
    finally:
        store.close()
    if json_out:
        _print_json({"key": key, **_key_json(record)})
        return
    out.print(f"created {record.role} key [bold]{record.id}[/] ({escape(record.name)}); it is shown only once:")
    out.print(key, markup=False, highlight=False)


@keys_app.command("list")
def keys_list(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Every key (never the key itself): id, role, name, scope, created, revoked."""
    store = _open_store(db)
    try:
        found = list_keys(store)
    finally:
        store.close()
    if json_out:
        _print_json({"keys": [_key_json(k) for k in found]})
        return
    table = Table("id", "role", "name", "scope", "created", "revoked", title="API keys")
    for k in found:
        scope = k.source or k.subject or ", ".join(k.purposes) or "-"
        revoked = k.revoked_at.strftime("%Y-%m-%d %H:%M") if k.revoked_at else ""
        table.add_row(k.id, k.role, escape(k.name), escape(scope), k.created_at.strftime("%Y-%m-%d %H:%M"), revoked)
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `keys create` or `keys list`).")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Revoke a key: it stops working when the service (re)starts on the database."""
    store = _open_store(db)
    try:
        key = revoke_key(store, key_id)
    except KeySpecError as exc:
        raise _fail(str(exc)) from None
    finally:
        store.close()
    if json_out:
        _print_json(_key_json(key))
    else:
        assert key.revoked_at is not None
        out.print(f"key {key.id} ({escape(key.name)}) revoked at {key.revoked_at:%Y-%m-%d %H:%M:%S} UTC")


@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.", min=0, max=65535)] = 8000,
    workers: Annotated[
        int, typer.Option("--workers", help="Server processes; the DuckDB store allows only 1.", min=1)
    ] = 1,
) -> None:
    """Serve the HTTP API (under /api/v1, OpenAPI at /docs) over the database."""
    if workers != 1:
        raise _fail(
            f"--workers {workers}: the embedded DuckDB store can be opened by one process only; "
            "run one worker (it serves requests on a thread pool) or several services on separate database copies"
        )
    import uvicorn

    from socialcredit.api.app import create_app

    store = _open_store(db)
    try:
        application = create_app(store)
    except StoreError as exc:
        store.close()
        raise _fail(str(exc)) from None
    err.print(f"serving {escape(str(_db_path(db)))} on http://{host}:{port} (API under /api/v1, docs at /docs)")
    # answers are many small containers: collect the youngest generation less often than
    # Python's default (700 allocations), which costs a batch check up to half its time
    gc.set_threshold(10_000, 10, 10)
    uvicorn.run(application, host=host, port=port, workers=1, log_level="info", access_log=True)
