"""Registry: identity numbers, employers, enrolment, bulk import with line-numbered, all-or-nothing errors."""

from __future__ import annotations

from datetime import date

import pytest
from ops_bureau import OFFICER, REGION, Bureau, make_ric
from sqlalchemy import func, select

from yibao.core.errors import YibaoError
from yibao.core.model import AssistanceCategory, InsuranceScheme, Sex
from yibao.ops import enrolment, registry
from yibao.ops.enrolment import ImportRejected
from yibao.ops.registry import check_ric, check_uscc
from yibao.ops.schemas import EmployerIn, EnrolmentIn, PersonIn
from yibao.ops.store import AuditEvent, Contribution, PersonRow, Store


def test_ric_checksum_birth_date_and_sex() -> None:
    ric = make_ric(date(1985, 7, 14), 123)  # 123 odd: male
    assert check_ric(ric) == (ric, date(1985, 7, 14), Sex.MALE)
    assert check_ric(make_ric(date(1985, 7, 14), 124))[2] is Sex.FEMALE
    bad_check = ric[:-1] + ("0" if ric[-1] != "0" else "1")
    with pytest.raises(YibaoError) as err:
        check_ric(bad_check)
    assert err.value.code == "person.bad_ric"
    with pytest.raises(YibaoError) as err:
        check_ric(ric, birth_date=date(1985, 7, 15))
    assert err.value.code == "person.birth_date_mismatch"
    with pytest.raises(YibaoError) as err:
        check_ric(ric, sex=Sex.FEMALE)
    assert err.value.code == "person.sex_mismatch"


def test_uscc() -> None:
    assert check_uscc("91110000600037341L") == "91110000600037341L"
    with pytest.raises(YibaoError) as err:
        check_uscc("91110000600037341X")
    assert err.value.code == "employer.bad_uscc"


def test_enrolment_dues_and_activation(bureau: Bureau) -> None:
    pending = bureau.person(pay=False)
    store = bureau.store
    with store.transaction() as s:
        due = s.execute(select(Contribution.source, Contribution.amount).order_by(Contribution.id)).all()
        # 2024: 400 + 670, the subsidy split 60% central (402) / 40% local (268)
        assert [(src, amt) for src, amt in due] == [
            ("individual", 400_00), ("government_subsidy_central", 402_00), ("government_subsidy_local", 268_00)]
        assert registry.enrolment(s, pending, 2024).status == "pending"
        with pytest.raises(YibaoError) as err:
            registry.core_person(s, registry.person(s, pending), date(2024, 3, 1))
        assert err.value.code == "enrolment.inactive"
    bureau.pay_all(pending)
    with store.transaction() as s:
        assert registry.enrolment(s, pending, 2024).status == "active"


def test_employee_base_is_clamped_to_the_band(bureau: Bureau) -> None:
    # average wage 100,000: the base band is 60,000..300,000
    low = bureau.person(InsuranceScheme.UEBMI_EMPLOYEE, wage="20000", pay=False)
    high = bureau.person(InsuranceScheme.UEBMI_EMPLOYEE, wage="500000", pay=False)
    with bureau.store.transaction() as s:
        assert registry.enrolment(s, low, 2024).wage_base == 60_000_00
        assert registry.enrolment(s, high, 2024).wage_base == 300_000_00
        amounts = s.execute(
            select(Contribution.source, Contribution.amount).where(Contribution.enrolment_id == registry.enrolment(s, high, 2024).id)
        ).all()
        assert sorted(amounts) == [("employer", 18_000_00), ("individual", 6_000_00)]  # 6% and 2% of 300,000


def test_dibao_member_contribution_is_partly_paid_by_assistance(bureau: Bureau) -> None:
    with bureau.store.transaction() as s:
        registry.add_person(s, OFFICER, PersonIn(person_id="D1", ric=make_ric(date(1960, 2, 2), 11), name="D", region=REGION))
        from yibao.ops.schemas import AssistanceIn

        registry.add_assistance(s, OFFICER, "D1", AssistanceIn(category=AssistanceCategory.DIBAO, valid_from=date(2023, 1, 1)))
        enrolled = enrolment.enrol(s, OFFICER, "D1", EnrolmentIn(year=2024, scheme=InsuranceScheme.URRBMI))
        sources = s.execute(select(Contribution.source).where(Contribution.enrolment_id == enrolled.id)).scalars().all()
        due = s.execute(select(Contribution.source, Contribution.amount)
                        .where(Contribution.enrolment_id == enrolled.id).order_by(Contribution.id)).all()
        # dibao: assistance pays 70% of the 400 (280), the member owes the other 120
        assert [(src, amt) for src, amt in due] == [
            ("assistance", 280_00), ("individual", 120_00), ("government_subsidy_central", 402_00),
            ("government_subsidy_local", 268_00)]
        assert sorted(sources) == ["assistance", "government_subsidy_central", "government_subsidy_local", "individual"]


def test_employer_registration_is_validated(bureau: Bureau) -> None:
    with bureau.store.transaction() as s:
        employer = registry.add_employer(s, OFFICER, EmployerIn(uscc="91110000600037341L", name="Works", region=REGION))
        assert employer.id is not None
    with pytest.raises(YibaoError), bureau.store.transaction() as s:
        registry.add_employer(s, OFFICER, EmployerIn(uscc="91110000600037341L", name="Again", region=REGION))


def _count(store: Store) -> int:
    with store.transaction() as s:
        return int(s.execute(select(func.count()).select_from(PersonRow)).scalar_one())


def test_import_all_rows(bureau: Bureau) -> None:
    rows = [
        f"I{i},{make_ric(date(1990, 1, i + 1), 100 + i)},Name {i},{REGION},urrbmi,{'true' if i == 1 else 'false'},{'dibao' if i == 2 else 'none'}"
        for i in range(1, 4)
    ]
    text = "person_id,ric,name,region,scheme,huiminbao,assistance_category\n" + "\n".join(rows) + "\n"
    with bureau.store.transaction() as s:
        assert enrolment.import_persons(s, OFFICER, text, 2024) == 3
        assert registry.enrolment(s, "I1", 2024).scheme == "urrbmi"
        assert registry.assistance_on(s, "I2", date(2024, 6, 1)) is AssistanceCategory.DIBAO
        assert s.execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "person.created")).scalar_one() == 3
    assert _count(bureau.store) == 3


def test_import_reports_every_bad_line_and_writes_nothing(bureau: Bureau) -> None:
    good = make_ric(date(1990, 1, 1), 101)
    text = (
        "person_id,ric,name,region,birth_date,sex\n"
        f"A1,{good},Good,{REGION},1990-01-01,M\n"  # line 2: fine
        f"A2,110101199001010000,Bad checksum,{REGION},,\n"  # line 3
        f"A3,{make_ric(date(1990, 1, 2), 102)},Wrong birth,{REGION},1990-01-03,\n"  # line 4
        f"A4,{good},Duplicate,{REGION},,\n"  # line 5: same number as line 2
        f"A5,{make_ric(date(1990, 1, 5), 105)},No region,nowhere,,\n"  # line 6
    )
    with pytest.raises(ImportRejected) as err, bureau.store.transaction() as s:
        enrolment.import_persons(s, OFFICER, text, 2024, file_name="people.csv")
    lines = [e.line for e in err.value.errors]
    assert lines == [3, 4, 5, 6]
    assert "people.csv, line 4" in err.value.message
    assert [e.code for e in err.value.errors] == ["person.bad_ric", "person.birth_date_mismatch", "import.duplicate", "region.not_found"]
    assert _count(bureau.store) == 0


def test_import_missing_column() -> None:
    with pytest.raises(ImportRejected) as err:
        enrolment.import_persons(None, OFFICER, "person_id,name\nX,Y\n", 2024)  # type: ignore[arg-type]
    assert err.value.errors[0].line == 1
