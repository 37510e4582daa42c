"""The demo store of the people's pages, made by `yibao demo` next to the lab's output, and how to serve it."""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.console import Console
from rich.table import Table

from yibao.cli.console import terminal

PERSONS = 200


def prepare_pages_demo(folder: Path, persons: int = PERSONS, console: Console | None = None) -> Path:
    """A fresh SQLite demo store in `folder` (replacing one made before); prints how to serve it and the logins."""
    from yibao.ops.migrate import upgrade
    from yibao.ops.store import Store, make_engine
    from yibao.web.demo_store import prepare

    console = console or terminal()
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    database = folder.resolve() / "yibao.sqlite3"
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    with console.status(f"preparing the pages' demo store ({persons} persons)"):
        site = prepare(Store(engine), folder.resolve(), persons=persons)
    engine.dispose()
    table = Table(title="Demo logins (password for all: " + site.password + ")", title_justify="left")
    table.add_column("page")
    table.add_column("user")
    for role, user, page in (
        ("member (or the identity number " + site.member_ric + ")", "zhangwei", "/m/"),
        ("hospital cashier, 东城区人民医院", "desk-e2", "/counter/"),
        ("bureau officer, east district", "officer-east", "/bureau/"),
        ("auditor", "auditor", "/bureau/audit"),
        ("mutual-aid platform operator", "platform", "/platform/"),
        ("serious-illness insurer (its layer's figures)", "insurer-si", "/insurer/"),
        ("Huiminbao insurer (its layer's figures)", "insurer-hmb", "/insurer/"),
        ("everyone, no login", "—", "/public/mutual-aid/"),
    ):
        table.add_row(f"{page}  {role}", user)
    console.print(
        f"\nThe people's pages: a demo store of {site.persons} persons in two districts at {database}\n"
        f"Serve it (the sandbox payment channel on):\n"
        f"  YIBAO_DATABASE_URL=sqlite:///{database} YIBAO_DATA_DIR={folder.resolve()} YIBAO_PAYMENT_SANDBOX=1 yibao serve\n"
        f"then open http://127.0.0.1:8000/ (中文; English by the switch in the header).",
        soft_wrap=True,
    )
    console.print(table)
    return database
