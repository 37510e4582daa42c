"""`yibao users create|list|reset-password|disable`: the operations service's accounts from the command line.

Acts on the store directly as `cli:<login name>` (an administrator's act, audited); the store must exist
(`yibao db upgrade`). Passwords are prompted for (hidden, twice) or generated with `--generate` and shown once;
they must pass the strength rule (yibao.ops.passwords).
"""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from yibao.cli.console import terminal
from yibao.cli.ops import DatabaseUrl
from yibao.cli.options import store_session

if TYPE_CHECKING:

    from yibao.ops.audit import Actor

users_app = typer.Typer(help="User accounts of the operations service.", no_args_is_help=True)
Generate = Annotated[bool, typer.Option("--generate", help="a random strong password, shown once, instead of a prompt")]


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")



def _actor() -> Actor:
    from yibao.ops.audit import Actor

    return Actor(f"cli:{getpass.getuser()}", "admin")


def _password(generate: bool) -> str:
    if generate:
        import secrets

        return secrets.token_urlsafe(12)
    value: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    return value


@users_app.command("create")
def create(
    username: Annotated[str, typer.Argument(help="the login name")],
    role: Annotated[str, typer.Option(help="member, facility, officer, insurer, auditor, platform or admin")],
    person_id: Annotated[str | None, typer.Option(help="a member's person")] = None,
    facility_id: Annotated[str | None, typer.Option(help="a facility user's facility")] = None,
    region: Annotated[list[str] | None, typer.Option(help="an officer's region; repeatable")] = None,
    layer: Annotated[str | None, typer.Option(help="the layer an insurer underwrites")] = None,
    generate: Generate = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a user."""
    from pydantic import ValidationError

    from yibao.core.errors import YibaoError
    from yibao.ops.auth import add_user
    from yibao.ops.schemas import UserIn

    password = _password(generate)
    try:
        data = UserIn(username=username, password=password, role=role, person_id=person_id, facility_id=facility_id,
                      regions=list(region or ()), layer=layer)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        code = "auth.weak_password" if where == "password" else "request.invalid"
        raise YibaoError(f"{where}: {first['msg']}", code=code) from None
    with store_session(database_url) as session:
        add_user(session, _actor(), data)
    _done(f"user [bold]{username}[/] ({role}) created", password if generate else None)


@users_app.command("list")
def list_users(
    role: Annotated[str | None, typer.Option(help="only this role")] = None,
    prefix: Annotated[str | None, typer.Option(help="user names beginning with this")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="at most this many")] = 200,
    database_url: DatabaseUrl = None,
) -> None:
    """List users by name."""
    from yibao.ops.users import list_users as query

    with store_session(database_url) as session:
        found = query(session, role=role, prefix=prefix, limit=limit)
        table = Table(title=f"{len(found.rows)} of {found.total} users")
        for column in ("user", "role", "scope", "status"):
            table.add_column(column, overflow="fold")
        for row in found.rows:
            scope = row.person_id or row.facility_id or row.regions.replace(",", ", ") or row.layer or ""
            status = "active" if row.disabled_at is None else f"disabled {row.disabled_at:%Y-%m-%d %H:%M}"
            table.add_row(row.username, row.role, scope, status)
    terminal().print(table)


@users_app.command("reset-password")
def reset_password(
    username: Annotated[str, typer.Argument(help="the login name")],
    generate: Generate = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Set a user's password (their sessions end)."""
    from yibao.ops.users import reset_password as reset
    from yibao.ops.users import user

    with store_session(database_url) as session:
        user(session, username)  # an unknown user is refused before any prompt
    password = _password(generate)
    with store_session(database_url) as session:
        reset(session, _actor(), username, password)
    _done(f"password of [bold]{username}[/] reset; their sessions ended", password if generate else None)


@users_app.command("disable")
def disable(
    username: Annotated[str, typer.Argument(help="the login name")],
    database_url: DatabaseUrl = None,
) -> None:
    """Disable a user: no more logins or refreshes; their sessions end."""
    from yibao.ops.users import disable as off

    with store_session(database_url) as session:
        off(session, _actor(), username)
    _done(f"user [bold]{username}[/] disabled; their sessions ended", None)


def _done(message: str, password: str | None) -> None:
    console = terminal()
    console.print(message)
    if password is not None:
        console.print(f"password [bold]{password}[/] (shown once)", highlight=False)
