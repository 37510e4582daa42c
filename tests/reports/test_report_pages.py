"""Every HTML report in zh-CN and en, in Chromium at a phone's 390 px and a desktop's 1280 px.

No horizontal page scroll at 390 px (wide tables scroll inside their card), no Chinese drawn as
missing-glyph boxes (the fonts that actually render each Chinese text, as Chromium reports them, are
CJK fonts), no console errors; a screenshot of each is kept in test-artefacts/ (git-ignored).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.lab.test_lab_report import two_scenarios

ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artefacts"
CJK = re.compile(r"[\u4e00-\u9fff]")
CJK_FONTS = ("CJK", "Source Han", "PingFang", "YaHei", "WenQuanYi", "Droid Sans Fallback")


def lab_report(folder: Path, lang: str) -> Path:
    from yibao.lab.report import write_report

    return write_report(two_scenarios(), folder, lang).html


def simulator_report(folder: Path, lang: str) -> Path:
    from yibao.mutual_aid.plan import load_plan
    from yibao.mutual_aid.simulate import STANDARD_LEVERS, Assumptions, calibrate, simulate
    from yibao.mutual_aid.simulate_report import simulation_report

    plan = load_plan("xianghubao-2020")
    calibration = calibrate(plan, Assumptions())
    results = [simulate(plan, calibration, levers=lever, months=30) for lever in STANDARD_LEVERS]
    path = folder / "report.html"
    path.write_text(simulation_report(results, Assumptions(), lang), encoding="utf-8")
    return path


pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.filterwarnings("error:Glyph .* missing from font")]

def contracts_report(folder: Path, lang: str) -> Path:
    from typer.testing import CliRunner

    from yibao.cli.main import app

    args = ["contracts", "evaluate", "--people", "20000", "--years", "100", "--no-sensitivity", "--lang", lang]
    result = CliRunner().invoke(app, [*args, "--out", str(folder)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return folder / "report.html"


def disclosure_report(folder: Path, lang: str) -> Path:
    """The public notice of a period apportioned from `mutual-aid example`'s files."""
    from typer.testing import CliRunner

    from yibao.cli.main import app

    runner = CliRunner()
    made = runner.invoke(app, ["mutual-aid", "example", "--out", str(folder), "--members", "20000", "--cases", "4"])
    assert made.exit_code == 0, made.output
    result = runner.invoke(app, [
        "mutual-aid", "apportion", "--notice-date", "2020-04-21", "--members", str(folder / "members.parquet"),
        "--cases", str(folder / "cases.csv"), "--out", str(folder / "period"), "--lang", lang,
    ], catch_exceptions=False)  # fmt: skip
    assert result.exit_code == 0, result.output
    return folder / "period" / "public" / "disclosure-2020-04-21.html"


REPORTS: dict[str, Callable[[Path, str], Path]] = {
    "lab": lab_report, "simulator": simulator_report, "contracts": contracts_report, "disclosure": disclosure_report,
}  # fmt: skip


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    return {
        (name, lang): make(tmp_path_factory.mktemp(f"{name}-{lang}"), lang)
        for name, make in REPORTS.items()
        for lang in ("zh", "en")
    }


def fonts_of(page: Any, selector: str) -> list[str]:
    """The platform fonts Chromium used for the text of the first element matching `selector`."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    return [f["familyName"] for f in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]]


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", list(REPORTS))
def test_report_reads_on_a_phone_and_a_desktop(
    rendered: dict[tuple[str, str], Path], page: Any, name: str, lang: str, width: int
) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(rendered[(name, lang)].as_uri())
    assert page.evaluate("document.documentElement.lang") == ("zh-CN" if lang == "zh" else "en")
    assert page.locator('meta[name="viewport"]').count() == 1
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px at {width} px"
    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{name}-report-{lang}-{width}.png"), full_page=True)
    if lang == "zh":
        for selector in ("header h1", "section h2", "section td"):
            text = page.locator(selector).first.inner_text()
            assert CJK.search(text), f"{selector} of the Chinese {name} report has no Chinese: {text!r}"
            fonts = fonts_of(page, selector)
            assert any(cjk in f for f in fonts for cjk in CJK_FONTS), f"{text!r} drawn with {fonts} (boxes)"
    assert not errors and not page.failed_requests
