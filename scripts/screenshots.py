"""The README's screenshots of the people's pages, made from the demo store in Debian's headless Chromium.

    .venv/bin/python scripts/screenshots.py [--out docs/img] [--lang zh]

Writes member-phone.png (the member's e-card at 390 px) and counter.png (the hospital counter's pre-settlement at
1280 px). Nothing is drawn by hand: the pages are the served ones, over a demo store made for the purpose.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    parser.add_argument("--lang", choices=("zh", "en"), default="zh")
    args = parser.parse_args()

    import uvicorn
    from playwright.sync_api import sync_playwright

    from yibao.http.app import create_app
    from yibao.ops import cards, contributions
    from yibao.ops.audit import Actor
    from yibao.ops.auth import ensure_secrets
    from yibao.ops.migrate import upgrade
    from yibao.ops.store import Store, make_engine
    from yibao.web.demo_store import prepare

    folder = Path(tempfile.mkdtemp(prefix="yibao-screenshots-"))
    engine = make_engine(f"sqlite:///{folder / 'yibao.sqlite3'}")
    upgrade(engine)
    store = Store(engine)
    site = prepare(store, folder, persons=40)
    app = create_app(store)
    app.state.payment_sandbox = True
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    args.out.mkdir(parents=True, exist_ok=True)

    def sign_in(page: object, user: str) -> None:
        page.goto(f"{base}/")  # type: ignore[attr-defined]
        page.fill("#f-identifier", user)  # type: ignore[attr-defined]
        page.fill("#f-password", site.password)  # type: ignore[attr-defined]
        page.click("form[action='/login'] button[type=submit]")  # type: ignore[attr-defined]

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox", "--disable-gpu"])
        phone = browser.new_context(viewport={"width": 390, "height": 844})
        phone.add_cookies([{"name": "yibao_lang", "value": args.lang, "url": base}])
        page = phone.new_page()
        sign_in(page, "zhangwei")
        page.click("#card button[type=submit]")
        page.screenshot(path=str(args.out / "member-phone.png"))
        member = Actor("zhangwei", "member")
        with store.transaction() as s:  # the member pays (as on the phone) and shows the card at the counter
            for due in contributions.of_person(s, site.member_person_id):
                if due.status == contributions.DUE:
                    contributions.record_payment(s, member, due.id, due.amount, "mobile", f"shot-{due.id}")
            token = cards.issue(s, member, ensure_secrets(s)["card_secret"], site.member_person_id).token
        desk = browser.new_context(viewport={"width": 1280, "height": 760})
        desk.add_cookies([{"name": "yibao_lang", "value": args.lang, "url": base}])
        page = desk.new_page()
        sign_in(page, "desk-e2")
        page.fill("#f-token", token)
        page.click("form[action='/counter/card'] button")
        page.select_option("#f-care_type", "inpatient")
        page.fill("#f-amount_class_a", "10000")
        page.fill("#f-amount_class_b", "2000.00")
        page.fill("#f-amount_self_pay", "500")
        page.fill("#f-diagnosis", "I21.9")
        page.click("form[action='/counter/presettle'] button")
        page.screenshot(path=str(args.out / "counter.png"))
        browser.close()
    server.should_exit = True
    engine.dispose()
    for name in ("member-phone.png", "counter.png"):
        print(args.out / name, f"{(args.out / name).stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
