"""Helpers of the mutual-aid operations tests: a pilot plan file and a pool of registered members."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from ops_bureau import REGION, make_ric

from yibao.mutual_aid import periods, service
from yibao.mutual_aid.membership import HealthDeclaration
from yibao.mutual_aid.plan import PLANS_DIR
from yibao.ops import registry
from yibao.ops.audit import Actor
from yibao.ops.migrate import upgrade
from yibao.ops.schemas import PersonIn, RegionIn
from yibao.ops.store import Region, Store, make_engine

PLATFORM = Actor("platform-op", "platform")
CLEAN = HealthDeclaration(no_listed_illness=True, no_current_treatment=True)
JOIN_DAY = dt.date(2020, 1, 10)  # protected from 2020-04-09 (90 days)
PILOT = "pilot-2020"


def migrated_sqlite(folder: Path) -> Iterator[Store]:
    """A store on a fresh, migrated SQLite file (for the tests that need not run on both databases)."""
    engine = make_engine(f"sqlite:///{folder / 'mutual-aid.sqlite3'}")
    upgrade(engine)
    yield Store(engine)
    engine.dispose()


def pilot_plan(folder: Path, *, min_votes: int = 3, young: str = "6.00", old: str = "3.00", case_cap: str = "1.00",
               year_cap: str = "188") -> Path:
    """The xianghubao-2020 rules with small figures a test can check by hand (a plan is data: same file shape)."""
    raw: dict[str, Any] = yaml.safe_load((PLANS_DIR / "xianghubao-2020.yaml").read_text(encoding="utf-8"))
    raw["plan"] = PILOT
    raw.pop("variants")
    raw["jury"]["min_votes"]["value"] = min_votes
    # written as YAML numbers (the plan reader takes them as exact decimals); '6.00' -> 6.0 keeps its value
    raw["cover_payouts"]["bands"][0]["amount"] = float(young)
    raw["cover_payouts"]["bands"][1]["amount"] = float(old)
    raw["apportionment"]["case_cap"]["value"] = float(case_cap)
    raw["apportionment"]["year_cap"]["value"] = float(year_cap)
    path = folder / f"{PILOT}.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


class Pool:
    """A region, a pilot plan in force from 2020-01-01, and persons joined through the service."""

    def __init__(self, store: Store, folder: Path, **plan_figures: Any) -> None:
        self.store = store
        self.data = folder / "data"
        self.seq = 0
        with store.transaction() as s:
            if s.get(Region, REGION) is None:
                registry.add_region(s, PLATFORM, RegionIn(code=REGION, name="Reference city", average_wage="100000"))
            service.launch_plan(s, PLATFORM, dt.date(2020, 1, 1),
                                definition=pilot_plan(folder, **plan_figures).read_text(encoding="utf-8"))

    def person(self, birth: dt.date = dt.date(1990, 5, 1), name: str | None = None) -> str:
        self.seq += 1
        person_id = f"MA{self.seq:04d}"
        with self.store.transaction() as s:
            registry.add_person(s, PLATFORM, PersonIn(person_id=person_id, ric=make_ric(birth, 2 * self.seq + 1),
                                                      name=name or f"成员{self.seq}号", region=REGION))
        return person_id

    def join(self, birth: dt.date = dt.date(1990, 5, 1), day: dt.date = JOIN_DAY, name: str | None = None) -> int:
        person_id = self.person(birth, name)
        with self.store.transaction() as s:
            return service.join(s, PLATFORM, PILOT, person_id, day, CLEAN, credit_score=700).id

    def approved_on_notice(self, member_id: int, illness: str = "C34.1", diagnosed: dt.date = dt.date(2020, 5, 1),
                           noticed: dt.date = dt.date(2020, 5, 5)) -> int:
        with self.store.transaction() as s:
            claim = service.file_claim(s, PLATFORM, member_id, illness, diagnosed, diagnosed + dt.timedelta(days=1))
            service.investigate(s, PLATFORM, claim.id, "Third-party investigators Ltd", "pathology report confirms", True,
                                diagnosed + dt.timedelta(days=2))
            service.review(s, PLATFORM, claim.id, True, "meets the definition", diagnosed + dt.timedelta(days=3))
            service.publish_notice(s, PLATFORM, claim.id, noticed)
            return claim.id

    def apportion(self, notice: dt.date) -> dict[str, Any]:
        with self.store.transaction() as s:
            return periods.period_view(periods.apportion(s, PLATFORM, PILOT, notice, self.data))
