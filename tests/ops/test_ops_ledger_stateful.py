"""A randomised sequence of operations keeps the ledger balanced, its receivables equal to what is still due,
and its claim postings equal to a fresh settlement (Hypothesis)."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from dataclasses import replace
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from ops_bureau import OFFICER, Bureau
from sqlalchemy import select

from yibao.core.errors import YibaoError
from yibao.core.model import InsuranceScheme
from yibao.core.scalar import settle_claims
from yibao.ops import claims, contributions, family, ledger, registry
from yibao.ops.audit import Actor
from yibao.ops.contributions import ContributionSource
from yibao.ops.ledger import AccountKind
from yibao.ops.migrate import upgrade
from yibao.ops.schemas import ClaimIn, CorrectionIn
from yibao.ops.store import ClaimRow, Contribution, Enrolment, Store, make_engine

FACILITY = Actor("h", "facility")
amounts = st.integers(min_value=0, max_value=120_000).map(lambda yuan: f"{yuan}.{yuan % 7:02d}")
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2024, 12, 31))


class LedgerMachine(RuleBasedStateMachine):
    @initialize()
    def open_store(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.engine = make_engine(f"sqlite:///{Path(self.tmp.name) / 'l.sqlite3'}")
        upgrade(self.engine)
        self.store = Store(self.engine)
        self.bureau = Bureau(self.store)
        self.persons: list[str] = []
        self.claim_ids: list[str] = []
        self.n = 0

    def teardown(self) -> None:
        if hasattr(self, "engine"):
            self.engine.dispose()
            self.tmp.cleanup()

    @rule(scheme=st.sampled_from(list(InsuranceScheme)), huiminbao=st.booleans(), pay=st.booleans())
    def enrol(self, scheme: InsuranceScheme, huiminbao: bool, pay: bool) -> None:
        wage = "80000" if scheme is InsuranceScheme.UEBMI_EMPLOYEE else None
        self.persons.append(self.bureau.person(scheme, huiminbao=huiminbao, wage=wage, pay=pay))

    def _due(self) -> list[int]:
        with self.store.transaction() as s:
            return list(s.execute(select(Contribution.id).where(Contribution.status == "due").order_by(Contribution.id)).scalars())

    @precondition(lambda self: bool(self.persons))
    @rule(data=st.data(), channel=st.sampled_from(["bank", "mobile", "counter"]), exact=st.booleans())
    def pay(self, data: st.DataObject, channel: str, exact: bool) -> None:
        due = self._due()
        if not due:
            return
        cid = data.draw(st.sampled_from(due))
        self.n += 1
        with self.store.transaction() as s:
            amount = s.get(Contribution, cid).amount  # type: ignore[union-attr]
        try:
            with self.store.transaction() as s:
                # paid on 1 December 2023: inside the residents' window for 2024 and Huiminbao's sales window
                contributions.record_payment(s, OFFICER, cid, amount if exact else amount + 1, channel, f"pay{self.n}",
                                             paid_on=date(2023, 12, 1))
        except YibaoError as exc:  # an over-payment is refused whole
            assert not exact and exc.code == "payment.amount_mismatch"

    @precondition(lambda self: bool(self.persons))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        due = self._due()
        if not due:
            return
        with self.store.transaction() as s:
            contributions.cancel(s, OFFICER, data.draw(st.sampled_from(due)), "written off")

    @rule(amount=amounts)
    def donate(self, amount: str) -> None:
        self.n += 1
        with self.store.transaction() as s:
            contributions.receive_donation(s, OFFICER, "reference-city", 2024, int(amount.replace(".", "")), "bank", f"d{self.n}")

    @precondition(lambda self: bool(self.persons))
    @rule(data=st.data(), day=days, a=amounts, b=amounts, own=amounts, level=st.sampled_from([1, 2, 3]),
          care=st.sampled_from(["inpatient", "outpatient"]))
    def submit(self, data: st.DataObject, day: date, a: str, b: str, own: str, level: int, care: str) -> None:
        self.n += 1
        pid = data.draw(st.sampled_from(self.persons))
        cid = f"C{self.n:04d}"
        with self.store.transaction() as s:
            active = registry.enrolment(s, pid, 2024).status == "active"  # type: ignore[union-attr]
        try:
            with self.store.transaction() as s:
                claims.submit(s, FACILITY, f"H{level}", ClaimIn(
                    claim_id=cid, person_id=pid, service_date=day, region="reference-city", facility_level=level,
                    care_type=care, amount_class_a=a, amount_class_b=b, amount_self_pay=own,  # type: ignore[arg-type]
                ), cid)
        except YibaoError as exc:  # cover starts when the year's contributions are paid
            assert not active and exc.code == "enrolment.inactive"
            return
        assert active
        self.claim_ids.append(cid)

    @precondition(lambda self: bool(self.claim_ids))
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        cid = data.draw(st.sampled_from(self.claim_ids))
        try:
            with self.store.transaction() as s:
                claims.reverse(s, OFFICER, cid)
        except YibaoError as exc:
            assert exc.code == "claim.not_settled"

    @precondition(lambda self: bool(self.claim_ids))
    @rule(data=st.data(), day=days, a=amounts)
    def correct(self, data: st.DataObject, day: date, a: str) -> None:
        cid = data.draw(st.sampled_from(self.claim_ids))
        try:
            with self.store.transaction() as s:
                claims.correct(s, OFFICER, cid, CorrectionIn(service_date=day, care_type="inpatient", amount_class_a=a))  # type: ignore[arg-type]
        except YibaoError as exc:
            assert exc.code == "claim.not_settled"

    @invariant()
    def balanced(self) -> None:
        if not hasattr(self, "store"):
            return
        with self.store.transaction() as s:
            assert ledger.unbalanced_entries(s) == []
            assert ledger.trial_balance(s).balanced

    @invariant()
    def receivables_are_what_is_still_due(self) -> None:
        """Each member's receivable is their own part still due (zero once paid up); each other payer's is
        its part still due; cancelled and paid contributions are owed by nobody."""
        if not hasattr(self, "store"):
            return
        member: dict[str, int] = defaultdict(int)
        payer: dict[str, int] = defaultdict(int)
        with self.store.transaction() as s:
            rows = s.execute(select(Contribution, Enrolment.person_id).join(Enrolment)).all()
            for c, pid in rows:
                owed = c.amount if c.status == "due" else 0
                if ContributionSource(c.source) in contributions.MEMBER_PAYS:
                    member[pid] += owed
                else:
                    payer[c.source] += owed
            for pid in self.persons:
                account = ledger.Account("reference-city", 2024, AccountKind.MEMBER_RECEIVABLE, pid)
                assert ledger.balance(s, account) == member[pid]
                if all(c.status == "paid" for c, who in rows if who == pid):
                    assert ledger.balance(s, account) == 0
            for source, owed in payer.items():
                assert ledger.balance(s, ledger.Account("reference-city", 2024, AccountKind.CONTRIBUTION_RECEIVABLE, source)) == owed
            kinds = {row.kind for row in ledger.trial_balance(s).rows}
            assert kinds <= {k.value for k in AccountKind}

    @invariant()
    def ledger_equals_a_fresh_settlement(self) -> None:
        if not hasattr(self, "store"):
            return
        posted: dict[str, int] = defaultdict(int)
        with self.store.transaction() as s:
            for entry, postings in ledger.entries(s, limit=100_000):
                if entry.reference.startswith("claim:"):
                    posted[entry.reference[6:]] += sum(p.amount for p in postings if p.kind != AccountKind.FACILITY_PAYABLE)
            rows = s.execute(select(ClaimRow).where(ClaimRow.status == "settled")).scalars().all()
            core = [claims.core_claim(r) for r in rows]
            persons = {r.person_id: registry.core_person(s, registry.person(s, r.person_id), r.service_date) for r in rows}
            # the individual account as operations gives it: what it holds now + what the year's claims drew from it
            held: dict[str, int] = defaultdict(int)
            for r in rows:
                held[r.person_id] += int(r.split.get("individual_account", 0))
            persons = {pid: replace(p, individual_account_balance=family.balance(s, pid) + held[pid])
                       for pid, p in persons.items()}
        fresh = settle_claims(claims.scheme_named("reference-city"), persons, core)
        expected = {cid: 0 for cid in self.claim_ids}
        expected.update({x.claim_id: sum(layer.paid for layer in x.layers) for x in fresh})
        assert {cid: posted.get(cid, 0) for cid in self.claim_ids} == expected


TestLedgerMachine = LedgerMachine.TestCase
TestLedgerMachine.settings = settings(
    max_examples=25, stateful_step_count=15, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
