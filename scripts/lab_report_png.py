"""Regenerate docs/img/lab-report.png: the top of the policy lab report of `make demo`, in Chromium.

    .venv/bin/python scripts/lab_report_png.py [--lang zh|en] [--people 200000] [--out docs/img/lab-report.png]

The same city as `yibao demo` (200,000 people, seed 2024, year 2024) settled under reference-city and
si-threshold-halved; the page is shot at 1200 × 1250 px with Debian's Chromium (never a downloaded one).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=["zh", "en"], default="zh")
    parser.add_argument("--people", type=int, default=200_000)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "lab-report.png")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from yibao.lab.run import run_lab
    from yibao.lab.synth import write_synthetic_city
    from yibao.schemes import load_scheme
    from yibao.tables import read_claims, read_persons

    with tempfile.TemporaryDirectory() as tmp:
        files = write_synthetic_city(args.people, 2024, 2024, Path(tmp) / "city")
        persons = read_persons(files.persons)
        claims = read_claims(files.claims, persons, load_scheme("reference-city"))
        run = run_lab("reference-city", ["si-threshold-halved"], persons, claims, Path(tmp) / "report", lang=args.lang)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium, args=["--headless=new", "--no-sandbox"])
            page = browser.new_page(viewport={"width": 1200, "height": 1250})
            page.goto(run.report.resolve().as_uri())
            page.screenshot(path=str(args.out))
            browser.close()
    print(f"{args.out} ({args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
