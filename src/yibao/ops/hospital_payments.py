"""Paying hospitals (医保基金与定点医疗机构结算): monthly statements per facility, the quality deposit, payment
batches written as bank files, and the bank's confirmation posted back.

* A **monthly statement** (月度结算单) of a facility, for a region (the funds' region) and a month, sums the
  claim entries (`claim:<id>` references: settlements, adjustments, reversals) posted in that month, in China
  Standard Time (UTC+8), on the region's `facility_payable:<facility>` accounts: what each fund owes, per account
  year and fund, and the claims concerned. An adjustment to an earlier month's claim lands in the month it is
  posted. It is made once per (region, facility, month), and only for a month that has ended, so no entry can
  still fall into it.
* The **quality deposit** (质量保证金): the region's `payments.yaml` share (dated, in force on the month's first
  day) of each account year's positive monthly total is withheld: debit `facility_payable`, credit
  `quality_deposit:<facility>`. At year end the bureau releases it (credited to the payable again, to be paid)
  or keeps part of it with a reason (credited back to the basic pooled fund).
* A **payment item** is what is to be paid on one facility-year payable account (a statement's payable part, a
  released deposit). A **batch** pays, per facility and account year, the sum of its open items of the month and
  earlier when positive and the facility has a bank account; the bank file is written by
  `yibao.ops.payment_files`. The confirmation marks each line paid (debit `facility_payable`, credit the region's
  `bank:payout` account) or failed (its items open again, to be batched anew); a line is confirmed once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from yibao.core.money import Fen, RatePpm, apply_rate
from yibao.core.scheme import Parameter
from yibao.ops import audit, ledger, registry
from yibao.ops.audit import Actor
from yibao.ops.errors import Conflict, NotFound, Rejected
from yibao.ops.ledger import Account, AccountKind, Line
from yibao.ops.store import Facility, JournalEntry, Posting, Region, utcnow
from yibao.ops.store_payments import DepositDecision, PaymentBatch, PaymentItem, PaymentLine, PaymentStatement

CHINA = timezone(timedelta(hours=8), "CST")  # months are the bureau's: China Standard Time, no daylight saving
PAYOUT = "payout"  # the sub of the region-year's bank account hospital payments are paid from
PAYMENTS_FILE = "payments.yaml"


# --- months and parameters ------------------------------------------------------------------------------------


def parse_month(month: str) -> date:
    """'2025-03' -> its first day; anything else refused (payments.bad_month)."""
    try:
        first = datetime.strptime(month, "%Y-%m").date()
    except (TypeError, ValueError):
        first = None
    if first is None or f"{first:%Y-%m}" != month:
        raise Rejected(f"a month is written YYYY-MM, e.g. 2025-03; got {month!r}", code="payments.bad_month")
    return first


def next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The month's first and following month's first moment (China Standard Time), in UTC."""
    first = parse_month(month)
    start = datetime(first.year, first.month, 1, tzinfo=CHINA)
    end_day = next_month(first)
    end = datetime(end_day.year, end_day.month, 1, tzinfo=CHINA)
    return start.astimezone(UTC), end.astimezone(UTC)


def local_today() -> date:
    return utcnow().astimezone(CHINA).date()


def _ended(month: str, today: date | None) -> None:
    if (today or local_today()) < next_month(parse_month(month)):
        raise Conflict(f"month {month} has not ended; its statement is made once it has", code="payments.month_open")


def lock_region(session: Session, region: str) -> None:
    """The region's row, locked until the transaction ends: statements, batches and year-end decisions of one
    region are made one at a time (SQLite transactions are serialised anyway)."""
    registry.region(session, region)
    session.execute(select(Region.code).where(Region.code == region).with_for_update())


def deposit_parameter(session: Session, region: str) -> Parameter[RatePpm]:
    """The region's quality-deposit share: `quality_deposit` in `payments.yaml` of its scheme folder."""
    from yibao.schemes import scheme_path
    from yibao.schemes.loader import Node, rate_param, read_yaml

    where = scheme_path(registry.region(session, region).scheme_name)
    path = (where if where.is_dir() else where.parent) / PAYMENTS_FILE
    if not Path(path).is_file():
        raise Rejected(f"{path}: missing; the region's payment parameters (quality_deposit) are read from it",
                       code="payments.no_parameters")
    top = Node(read_yaml(path), path)
    top.only("quality_deposit")
    return rate_param(top.req("quality_deposit"), {})


def deposit_rate(session: Session, region: str, day: date) -> RatePpm:
    return deposit_parameter(session, region).at(day)


# --- monthly statements ------------------------------------------------------------------------------------------


def _facility_of(account: str) -> str:
    return account.split(":", 3)[3]


def _month_postings(session: Session, region: str, month: str) -> tuple[dict[str, dict[int, tuple[Fen, int]]], dict[str, list[tuple[int, str, Fen]]]]:
    """Per facility: {year: (owed, claims)} and its fund lines [(year, fund, amount)] for the month's claim entries."""
    start, end = month_bounds(month)
    in_month = (JournalEntry.posted_at >= start, JournalEntry.posted_at < end, JournalEntry.reference.like("claim:%"))
    payable = AccountKind.FACILITY_PAYABLE.value
    owed: dict[str, dict[int, tuple[Fen, int]]] = defaultdict(dict)
    query = (
        select(Posting.account, Posting.year, ledger.fen_sum(session, Posting.amount),
               func.count(func.distinct(JournalEntry.reference)))
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(Posting.kind == payable, Posting.region == region, *in_month)
        .group_by(Posting.account, Posting.year)
    )
    for account, year, total, claims in session.execute(query):
        owed[_facility_of(account)][int(year)] = (-int(total), int(claims))
    pay = aliased(Posting)
    query = (
        select(pay.account, Posting.year, Posting.kind, ledger.fen_sum(session, Posting.amount))
        .join(pay, pay.entry_id == Posting.entry_id)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(pay.kind == payable, pay.region == region, Posting.kind != payable, *in_month)
        .group_by(pay.account, Posting.year, Posting.kind)
    )
    funds: dict[str, list[tuple[int, str, Fen]]] = defaultdict(list)
    for account, year, kind, total in session.execute(query):
        funds[_facility_of(account)].append((int(year), str(kind), int(total)))
    return owed, funds


def settle_month(session: Session, actor: Actor, region: str, month: str, *, today: date | None = None) -> list[PaymentStatement]:
    """The month's statement of every facility with claim entries in it (made once; a repeat returns them).
    Withholds the quality deposit and makes the payment items."""
    lock_region(session, region)
    _ended(month, today)
    rate = deposit_rate(session, region, parse_month(month))
    existing = {s.facility_id: s for s in statements(session, region=region, month=month)}
    owed, funds = _month_postings(session, region, month)
    for facility_id in sorted(set(owed) - set(existing)):
        existing[facility_id] = _statement(session, actor, region, month, facility_id, rate, owed[facility_id],
                                           sorted(funds[facility_id]))
    return [existing[f] for f in sorted(existing)]


def _statement(
    session: Session, actor: Actor, region: str, month: str, facility_id: str, rate: RatePpm,
    years: dict[int, tuple[Fen, int]], fund_lines: list[tuple[int, str, Fen]],
) -> PaymentStatement:
    by_year: dict[str, dict[str, Fen]] = {}
    deposit_lines: list[Line] = []
    items: list[PaymentItem] = []
    for year, (year_owed, _claims) in sorted(years.items()):
        if sum(a for y, _, a in fund_lines if y == year) != year_owed:  # every claim entry balances: never
            raise Rejected(f"claim entries of {facility_id} in {month} do not balance", code="ledger.unbalanced")
        withheld = apply_rate(rate, year_owed) if year_owed > 0 else 0
        by_year[str(year)] = {"owed": year_owed, "withheld": withheld, "payable": year_owed - withheld}
        deposit_lines += [Line(Account(region, year, AccountKind.FACILITY_PAYABLE, facility_id), withheld),
                          Line(Account(region, year, AccountKind.QUALITY_DEPOSIT, facility_id), -withheld)]
        if year_owed - withheld:
            items.append(PaymentItem(region=region, facility_id=facility_id, year=year, month=month, kind="monthly",
                                     amount=year_owed - withheld, status="open"))
    total = sum(v["owed"] for v in by_year.values())
    withheld_total = sum(v["withheld"] for v in by_year.values())
    row = PaymentStatement(
        region=region, facility_id=facility_id, month=month, claims=sum(c for _, c in years.values()),
        lines={"lines": [{"year": y, "fund": f, "amount": a} for y, f, a in fund_lines], "years": by_year},
        owed=total, withheld=withheld_total, payable=total - withheld_total, deposit_rate_ppm=rate,
        made_at=utcnow(), made_by=actor.name,
    )
    session.add(row)
    session.flush()
    for item in items:
        item.statement_id = row.id
        session.add(item)
    ledger.post(session, actor, "quality_deposit", f"statement:{region}:{month}:{facility_id}",
                f"quality deposit withheld from {facility_id}'s statement of {month}", deposit_lines)
    audit.record(session, actor, "payments.statement", "payment_statement", row.id, None, audit.snapshot(row))
    return row


def statements(
    session: Session, *, region: str | None = None, month: str | None = None, facility_id: str | None = None,
    regions: tuple[str, ...] | None = None,
) -> list[PaymentStatement]:
    query = select(PaymentStatement).order_by(PaymentStatement.month, PaymentStatement.region, PaymentStatement.facility_id)
    if region is not None:
        query = query.where(PaymentStatement.region == region)
    if regions is not None:
        query = query.where(PaymentStatement.region.in_(list(regions)))
    if month is not None:
        query = query.where(PaymentStatement.month == month)
    if facility_id is not None:
        query = query.where(PaymentStatement.facility_id == facility_id)
    return list(session.execute(query).scalars())


def set_bank_account(session: Session, actor: Actor, facility_id: str, bank_account: str) -> Facility:
    """Register (or change) the account the funds pay a facility to; audited. Lines already sent keep theirs."""
    row = registry.facility(session, facility_id)
    before = audit.snapshot(row)
    row.bank_account = bank_account
    session.flush()
    audit.record(session, actor, "facility.bank_account", "facility", facility_id, before, audit.snapshot(row))
    return row


# --- batches --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Skipped:
    facility_id: str
    year: int
    amount: Fen
    reason: str  # no_bank_account | not_positive


@dataclass(frozen=True, slots=True)
class BatchMade:
    batch: PaymentBatch
    lines: list[PaymentLine]
    skipped: list[Skipped]


def purpose_text(month: str, year: int, kinds: set[str]) -> str:
    """The transfer's purpose (用途) in Chinese, as the bank shows it to the payee."""
    text = f"医保基金拨付 {month}月度结算"
    if "deposit_release" in kinds:
        text += f" 含{year}年度质量保证金返还"
    return text


def make_batch(session: Session, actor: Actor, region: str, month: str, *, today: date | None = None) -> BatchMade:
    """The month's statements (made if missing), then one batch paying every facility-year's open items of the
    month and earlier (failed lines' items included) whose sum is positive, to facilities with a bank account."""
    settle_month(session, actor, region, month, today=today)
    open_items = session.execute(
        select(PaymentItem).where(PaymentItem.region == region, PaymentItem.status == "open", PaymentItem.month <= month)
        .order_by(PaymentItem.facility_id, PaymentItem.year, PaymentItem.id).with_for_update()
    ).scalars().all()
    groups: dict[tuple[str, int], list[PaymentItem]] = defaultdict(list)
    for item in open_items:
        groups[(item.facility_id, item.year)].append(item)
    skipped: list[Skipped] = []
    chosen: list[tuple[Facility, int, list[PaymentItem]]] = []
    for (facility_id, year), items in sorted(groups.items()):
        amount = sum(i.amount for i in items)
        facility = registry.facility(session, facility_id)
        if amount <= 0:
            skipped.append(Skipped(facility_id, year, amount, "not_positive"))
        elif not facility.bank_account:
            skipped.append(Skipped(facility_id, year, amount, "no_bank_account"))
        else:
            chosen.append((facility, year, items))
    if not chosen:
        raise Conflict(f"nothing to pay in {region} for {month} and earlier", code="payments.nothing_to_pay")
    count = session.execute(select(func.count()).select_from(PaymentBatch).where(
        PaymentBatch.region == region, PaymentBatch.month == month)).scalar_one()
    batch = PaymentBatch(batch_id=f"PB-{region}-{month}-{int(count) + 1}", region=region, month=month, total=0,
                         made_at=utcnow(), made_by=actor.name)
    session.add(batch)
    session.flush()
    lines = []
    for number, (facility, year, items) in enumerate(chosen, start=1):
        line = PaymentLine(
            batch_id=batch.id, line_no=number, facility_id=facility.id, payee_name=facility.name,
            bank_account=facility.bank_account, year=year, amount=sum(i.amount for i in items),
            reference=f"{batch.batch_id}/{number}", purpose=purpose_text(month, year, {i.kind for i in items}),
            status="sent", reason="",
        )
        session.add(line)
        session.flush()
        for item in items:
            item.status, item.line_id = "batched", line.id
        lines.append(line)
    batch.total = sum(line.amount for line in lines)
    audit.record(session, actor, "payments.batch", "payment_batch", batch.batch_id, None, audit.snapshot(batch))
    return BatchMade(batch, lines, skipped)


def batch(session: Session, batch_id: str) -> tuple[PaymentBatch, list[PaymentLine]]:
    row = session.execute(select(PaymentBatch).where(PaymentBatch.batch_id == batch_id)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no payment batch {batch_id!r}", code="payments.batch_not_found")
    lines = session.execute(select(PaymentLine).where(PaymentLine.batch_id == row.id).order_by(PaymentLine.line_no))
    return row, list(lines.scalars())


def batches(session: Session, *, region: str | None = None, regions: tuple[str, ...] | None = None) -> list[PaymentBatch]:
    query = select(PaymentBatch).order_by(PaymentBatch.id)
    if region is not None:
        query = query.where(PaymentBatch.region == region)
    if regions is not None:
        query = query.where(PaymentBatch.region.in_(list(regions)))
    return list(session.execute(query).scalars())


def pay_line(session: Session, actor: Actor, batch_row: PaymentBatch, line: PaymentLine, status: str, reason: str) -> bool:
    """Record the bank's word on one line (paid or failed); False if the line already says so (nothing done)."""
    if line.status == status:
        return False
    if line.status != "sent":
        raise Conflict(f"line {line.line_no} of {batch_row.batch_id} was confirmed {line.status}",
                       code="payments.already_confirmed")
    items = session.execute(select(PaymentItem).where(PaymentItem.line_id == line.id)).scalars().all()
    line.status, line.reason, line.confirmed_at = status, reason, utcnow()
    if status == "paid":
        payable = Account(batch_row.region, line.year, AccountKind.FACILITY_PAYABLE, line.facility_id)
        bank = Account(batch_row.region, line.year, AccountKind.BANK, PAYOUT)
        ledger.post(session, actor, "hospital_payment", f"payment:{line.reference}",
                    f"payment to {line.facility_id}, {line.reference}", [Line(payable, line.amount), Line(bank, -line.amount)])
        for item in items:
            item.status = "paid"
    else:
        for item in items:
            item.status, item.line_id = "open", None
    session.flush()
    audit.record(session, actor, f"payments.line_{status}", "payment_line", line.reference, None, audit.snapshot(line))
    return True


# --- year end -------------------------------------------------------------------------------------------------


def deposits(session: Session, region: str, year: int) -> dict[str, Fen]:
    """Each facility's quality deposit held for the region-year (credit balance)."""
    query = (
        select(Posting.account, ledger.fen_sum(session, Posting.amount))
        .where(Posting.kind == AccountKind.QUALITY_DEPOSIT.value, Posting.region == region, Posting.year == year)
        .group_by(Posting.account)
    )
    return {_facility_of(account): -int(total) for account, total in session.execute(query) if int(total)}


def year_end(
    session: Session, actor: Actor, region: str, year: int, kept: Mapping[str, tuple[Fen, str]] | None = None,
    *, today: date | None = None,
) -> list[DepositDecision]:
    """Release each facility's deposit for the year, keeping `kept[facility] = (fen, reason)`: the kept part goes
    back to the basic pooled fund, the rest to the payable (a payment item of December, paid by the next batch).
    Deposits withheld later on the year's accounts are decided by running it again."""
    lock_region(session, region)
    if (today or local_today()) < date(year + 1, 1, 1):
        raise Conflict(f"year {year} has not ended", code="payments.year_open")
    kept = dict(kept or {})
    held = deposits(session, region, year)
    for facility_id, (amount, reason) in kept.items():
        if amount < 0 or amount > held.get(facility_id, 0):
            raise Rejected(f"{facility_id}: cannot keep {amount} fen of a deposit of {held.get(facility_id, 0)} fen",
                           code="payments.keep_exceeds")
        if amount and not reason.strip():
            raise Rejected(f"{facility_id}: keeping part of a deposit needs a reason", code="payments.reason_required")
    made = []
    for facility_id, deposit in sorted(held.items()):
        keep, reason = kept.get(facility_id, (0, ""))
        release = deposit - keep
        ledger.post(session, actor, "quality_deposit", f"deposit:{region}:{year}:{facility_id}",
                    f"quality deposit of {facility_id} for {year}: released {release}, kept {keep} fen", [
                        Line(Account(region, year, AccountKind.QUALITY_DEPOSIT, facility_id), deposit),
                        Line(Account(region, year, AccountKind.FACILITY_PAYABLE, facility_id), -release),
                        Line(Account(region, year, AccountKind.BASIC_POOLED_FUND), -keep)])
        if release:
            session.add(PaymentItem(region=region, facility_id=facility_id, year=year, month=f"{year}-12",
                                    kind="deposit_release", amount=release, status="open"))
        row = DepositDecision(region=region, year=year, facility_id=facility_id, released=release, kept=keep,
                              reason=reason, decided_at=utcnow(), decided_by=actor.name)
        session.add(row)
        session.flush()
        audit.record(session, actor, "payments.deposit", "deposit_decision", row.id, None, audit.snapshot(row))
        made.append(row)
    return made


# --- what a facility is owed, month by month -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FacilityMonth:
    region: str
    month: str
    owed: Fen  # the statement's total
    withheld: Fen  # quality deposit withheld from it
    paid: Fen  # paid so far on its items
    outstanding: Fen  # payable − paid


def facility_months(session: Session, facility_id: str) -> list[FacilityMonth]:
    """The facility's statements with what has been paid on each (the counter's view), newest first."""
    paid: dict[int, Fen] = defaultdict(int)
    query = select(PaymentItem.statement_id, ledger.fen_sum(session, PaymentItem.amount)).where(
        PaymentItem.facility_id == facility_id, PaymentItem.status == "paid", PaymentItem.statement_id.is_not(None),
    ).group_by(PaymentItem.statement_id)
    for statement_id, total in session.execute(query):
        paid[int(statement_id)] = int(total)
    return [
        FacilityMonth(s.region, s.month, s.owed, s.withheld, paid[s.id], s.payable - paid[s.id])
        for s in reversed(statements(session, facility_id=facility_id))
    ]
