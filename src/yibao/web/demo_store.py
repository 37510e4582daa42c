"""A demo operations store for the people's pages: two districts, their hospitals, a few hundred persons in
households, enrolled and paid up for the year (but for the demo member's own part, left to pay on the phone),
last year's claims settled one-stop, a user for every role, and a mutual-aid plan with members, a period
apportioned and disclosed, a claim on public notice and one before a member jury on which the demo member sits.

Everything goes through the services (registry, contributions, claims, mutual aid), as a bureau would do it.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.cn import ric as stdnum_ric

from yibao.core.model import CareType, InsuranceScheme
from yibao.mutual_aid import periods
from yibao.mutual_aid import service as mutual_aid
from yibao.mutual_aid.calendar import periods_between
from yibao.mutual_aid.membership import HealthDeclaration
from yibao.mutual_aid.plan import PLANS_DIR
from yibao.ops import claims, contributions, enrolment, registry
from yibao.ops.audit import Actor
from yibao.ops.auth import add_user
from yibao.ops.schemas import ClaimIn, EnrolmentIn, FacilityIn, HouseholdIn, PersonIn, RegionIn, UserIn
from yibao.ops.store import Contribution, Enrolment, Store, utcnow

DEMO_PASSWORD = "demo-pass-2024"
BUREAU = Actor("demo-setup", "admin")
PLAN_ID = "demo-mutual-aid"
REGIONS = (("east-district", "东城区", "110101"), ("west-district", "西城区", "110102"))
FACILITIES = (("E1", "东城社区卫生服务中心", 0, 1), ("E2", "东城区人民医院", 0, 2), ("W3", "西城第一医院", 1, 3))
SURNAMES = "张李王刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "华", "平")


@dataclass
class DemoSite:
    """What a person needs to try the pages: the logins (all with one password) and the records they meet."""

    password: str
    logins: dict[str, str] = field(default_factory=dict)  # what the user does -> user name
    member_person_id: str = ""
    member_ric: str = ""
    neighbour_person_id: str = ""  # in another household and region: never visible to the demo member
    facility_id: str = "E2"
    noticed_claim_id: int = 0
    jury_claim_id: int = 0
    persons: int = 0


def make_ric(area: str, birth: dt.date, seq: int) -> str:
    """A valid 18-character resident identity number (GB 11643 check digit; seq odd = male)."""
    body = f"{area}{birth:%Y%m%d}{seq % 1000:03d}"
    return body + stdnum_ric.calc_check_digit(body + "0")


def prepare(store: Store, data_dir: Path, *, persons: int = 300, seed: int = 2024, today: dt.date | None = None,
            password: str = DEMO_PASSWORD) -> DemoSite:
    """Fill an empty, migrated store with the demo (persons ≥ 12); `data_dir` keeps the mutual-aid period files."""
    today = today or utcnow().date()
    rng = random.Random(seed)
    site = DemoSite(password=password, persons=persons)
    with store.transaction() as s:
        _bureau(s)
        ids = _persons(s, rng, persons, today, site)
        _claims(s, rng, ids, today)
        _users(s, site)
    with store.transaction() as s:
        _mutual_aid(s, ids, today, data_dir, site)
    return site


def _bureau(s: Session) -> None:
    for code, name, _ in REGIONS:
        registry.add_region(s, BUREAU, RegionIn(code=code, name=name, average_wage="100000"))
    for facility_id, name, region, level in FACILITIES:
        registry.add_facility(s, BUREAU, FacilityIn(id=facility_id, name=name, region=REGIONS[region][0], level=level))


def _persons(s: Session, rng: random.Random, count: int, today: dt.date, site: DemoSite) -> list[str]:
    """Persons in households of up to three (by district); enrolled last year and this year, all paid but the
    demo member's own part of this year."""
    ids: list[str] = []
    households: dict[tuple[int, int], int] = {}
    for i in range(count):
        region = i % 2
        code, _, area = REGIONS[region]
        key = (region, i // 6)  # persons 0, 2, 4 share a household in the east, 1, 3, 5 one in the west...
        if key not in households:
            households[key] = registry.add_household(s, BUREAU, HouseholdIn(region=code)).id
        household = households[key]
        born = dt.date(1975 + i % 30, 1 + i % 12, 1 + i % 28) if i < 60 else dt.date(rng.randint(1945, 2020), rng.randint(1, 12), rng.randint(1, 28))
        name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i // len(SURNAMES) + i) % len(GIVEN)]
        person_id = f"P{i + 1:05d}"
        ric = make_ric(area, born, 2 * i + 1 if i % 2 == 0 else 2 * i + 2)
        registry.add_person(s, BUREAU, PersonIn(
            person_id=person_id, ric=ric, name=name, region=code, birth_date=None, sex=None, household_id=household,
            annual_income=str(rng.randint(20_000, 150_000)),
        ))
        huiminbao = i > 0 and rng.random() < 0.3  # the demo member: basic, serious-illness, assistance only
        for year in (today.year - 1, today.year):
            enrolment.enrol(s, BUREAU, person_id, EnrolmentIn(year=year, scheme=InsuranceScheme.URRBMI, huiminbao=huiminbao,
                                                                 wage=None))
        ids.append(person_id)
    site.member_person_id, site.neighbour_person_id = ids[0], ids[1]
    site.member_ric = registry.person(s, ids[0]).ric
    due = s.execute(
        select(Contribution, Enrolment).join(Enrolment, Contribution.enrolment_id == Enrolment.id)
        .where(Contribution.status == contributions.DUE).order_by(Contribution.id)
    ).all()
    for contribution, enrolled in due:
        if (enrolled.person_id, enrolled.year) == (ids[0], today.year) and contribution.source in contributions.MEMBER_PAYS:
            continue  # the demo member pays their own part on the phone page
        channel = "bank" if contribution.source != "individual" else rng.choice(("mobile", "counter"))
        # paid in the enrolment windows (1 December of the year before): cover from 1 January
        contributions.record_payment(s, BUREAU, contribution.id, contribution.amount, channel, f"demo-{contribution.id}",
                                     dt.date(enrolled.year - 1, 12, 1))
    return ids


def _claims(s: Session, rng: random.Random, ids: list[str], today: dt.date) -> None:
    """Last year's bills of about a third of the persons (the demo member's among them), settled one-stop."""
    year = today.year - 1
    for n, person_id in enumerate(ids):
        if n % 3 and n != 0:
            continue
        region = n % 2
        facility_id, _, _, level = FACILITIES[1] if n == 0 else next(f for f in FACILITIES if f[2] == region)
        for k in range(1 + (n % 2)):
            inpatient = n == 0 or rng.random() < 0.3
            class_a = rng.randint(200, 3000) * (10 if inpatient else 1)
            bill = ClaimIn(
                claim_id=f"{facility_id}-{year}-{n:05d}-{k}", person_id=person_id, region=REGIONS[region][0],
                service_date=dt.date(year, 3 + k * 4, 1 + n % 27), facility_level=level,
                care_type=CareType.INPATIENT if inpatient else CareType.OUTPATIENT,
                amount_class_a=f"{class_a}.00" if n else "10000.00", amount_class_b=f"{class_a // 5}.50" if n else "2000.00",
                amount_self_pay=f"{rng.randint(0, 800)}.00" if n else "500.00", diagnosis="I21.9" if inpatient else "J06.9",
            )
            claims.submit(s, Actor(f"desk-{facility_id}", "facility"), facility_id, bill, bill.claim_id)


def _users(s: Session, site: DemoSite) -> None:
    users: list[tuple[str, str, dict[str, Any]]] = [
        ("admin", "admin", {}),
        ("member", "zhangwei", {"person_id": site.member_person_id}),
        ("member", "neighbour", {"person_id": site.neighbour_person_id}),
        ("facility", "desk-e2", {"facility_id": site.facility_id}),
        ("officer", "officer-east", {"regions": [REGIONS[0][0]]}),
        ("officer", "officer-west", {"regions": [REGIONS[1][0]]}),
        ("auditor", "auditor", {}),
        ("platform", "platform", {}),
        ("insurer", "insurer-si", {"layer": "serious_illness"}),
        ("insurer", "insurer-hmb", {"layer": "huiminbao"}),
    ]
    for role, username, scope in users:
        add_user(s, BUREAU, UserIn(username=username, password=site.password, role=role, **scope))
        site.logins.setdefault(role, username)


def _plan_definition() -> str:
    """The xianghubao-2020 rules with a jury of a few members (the real one needs 1,000 votes), as plan YAML text."""
    raw: dict[str, Any] = yaml.safe_load((PLANS_DIR / "xianghubao-2020.yaml").read_text(encoding="utf-8"))
    raw["plan"] = PLAN_ID
    raw.pop("variants", None)
    raw["title"] = {"en": "Demo mutual aid (Xiang Hu Bao rules, small jury)", "zh": "演示互助计划（相互宝规则，小型评审团）"}
    raw["jury"]["min_votes"]["value"] = 3
    return yaml.safe_dump(raw, allow_unicode=True, sort_keys=False)


def _mutual_aid(s: Session, ids: list[str], today: dt.date, data_dir: Path, site: DemoSite) -> None:
    platform = Actor("platform", "platform")
    mutual_aid.launch_plan(s, platform, today - dt.timedelta(days=730), definition=_plan_definition())
    clean = HealthDeclaration(no_listed_illness=True, no_current_treatment=True)
    joined = today - dt.timedelta(days=400)
    members = [mutual_aid.join(s, platform, PLAN_ID, pid, joined, clean, credit_score=700).id for pid in ids[:12]]

    def on_notice(member_id: int, diagnosed: dt.date, illness: str) -> int:
        claim = mutual_aid.file_claim(s, platform, member_id, illness, diagnosed, diagnosed + dt.timedelta(days=1))
        mutual_aid.investigate(s, platform, claim.id, "第三方调查机构", "病理报告确认诊断", True, diagnosed + dt.timedelta(days=2))
        mutual_aid.review(s, platform, claim.id, True, "符合互助条件", diagnosed + dt.timedelta(days=3))
        mutual_aid.publish_notice(s, platform, claim.id, diagnosed + dt.timedelta(days=4))
        return claim.id

    on_notice(members[4], today - dt.timedelta(days=90), "C34.1")
    plan = mutual_aid.plan_of(mutual_aid.plan_row(s, PLAN_ID))
    first = periods_between(plan, today - dt.timedelta(days=80), today - dt.timedelta(days=20))[0]
    periods.apportion(s, platform, PLAN_ID, first.notice_date, data_dir)
    periods.publish_disclosure(s, platform, PLAN_ID, first.notice_date)
    site.noticed_claim_id = on_notice(members[6], today - dt.timedelta(days=8), "I21.0")
    site.jury_claim_id = on_notice(members[8], today - dt.timedelta(days=9), "C50.9")
    mutual_aid.dispute(s, platform, site.jury_claim_id, members[10], "诊断日期与投保时间接近，请评审", today - dt.timedelta(days=2),
                       seats=len(members) - 1, seed=7)
