"""Explanations: for every layer of a settled claim, the arithmetic in words a member or an auditor can read.

Rendered from the numbers kept in a Settlement, in English or Chinese, with the
domain's own terms (起付线, 封顶线, 大病保险, 医疗救助, 惠民保). A layer that pays nothing
says why (REASONS). `render_text` is the one text layout, used by the command line,
the API and the pages (from `Explanation.to_dict()`, which operations stores).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from yibao.core.money import Fen, format_rate, format_yuan
from yibao.core.scalar import CoverGap, PartResult, Settlement
from yibao.core.scheme import BEYOND_CAP, Accumulation, Bands, Scheme

Lang = Literal["en", "zh"]

WORDS: dict[str, dict[Lang, str]] = {
    "claim": {"en": "Claim", "zh": "结算单"},
    "total": {"en": "total", "zh": "医疗费总额"},
    "self_pay": {"en": "outside the catalogue (self-pay)", "zh": "全自费"},
    "preselfpay": {"en": "class B first-pay", "zh": "先行自付"},
    "in_policy": {"en": "in-policy amount", "zh": "政策范围内费用"},
    "special_drugs": {"en": "special drugs", "zh": "特药"},
    "not_eligible": {"en": "not eligible", "zh": "不符合条件"},
    "base": {"en": "base", "zh": "计算基数"},
    "deductible_claim": {"en": "deductible for this claim", "zh": "本次起付线"},
    "deductible_year": {"en": "yearly deductible", "zh": "年度起付线"},
    "deductible_applied": {"en": "deductible applied", "zh": "起付线扣除"},
    "claim_number": {"en": "claim no. {n} of the year", "zh": "本年度第{n}次"},
    "cumulative": {"en": "yearly cumulative base {before} → {after}", "zh": "年度累计基数 {before} → {after}"},
    "rate": {"en": "rate", "zh": "报销比例"},
    "bands": {"en": "bands", "zh": "分段比例"},
    "from": {"en": "from", "zh": "起"},
    "calculated": {"en": "calculated", "zh": "计算金额"},
    "claim_cap": {"en": "per-claim cap", "zh": "单次限额"},
    "cap": {"en": "yearly cap (封顶线) {cap}, used before {used}", "zh": "年度封顶线 {cap}，此前已用 {used}"},
    "no_cap": {"en": "no yearly cap", "zh": "无封顶线"},
    "bill_left": {"en": "limited to what is left of the bill", "zh": "以剩余费用为限"},
    "paid": {"en": "paid", "zh": "支付"},
    "out_of_pocket": {"en": "Out of pocket", "zh": "个人负担"},
    "layer_paid": {"en": "layer pays", "zh": "本层支付"},
    "yuan": {"en": " yuan", "zh": "元"},
    "sep": {"en": ", ", "zh": "，"},
    "list_sep": {"en": "; ", "zh": "；"},
    "why": {"en": " ({reason})", "zh": "（{reason}）"},
    "cap_person": {"en": "yearly cap: {what} {cap}, used before {used}", "zh": "年度限额：{what} {cap}，此前已用 {used}"},
    "cap_raised": {"en": "of which {what} {amount}", "zh": "其中{what} {amount}"},
    "cap_left": {"en": "{what} after this claim {left}", "zh": "结算后{what} {left}"},
    "beyond_cap": {"en": "beyond the yearly cap (封顶线以上): {amount}", "zh": "封顶线以上部分 {amount}"},
    "beyond_term": {"en": "{layer} beyond its yearly cap", "zh": "{layer}封顶线以上部分"},
}

# The person's amounts a yearly cap can come from or be raised by (yibao.core.scheme.PersonAmount).
PERSON_AMOUNT_WORDS: dict[str, dict[Lang, str]] = {
    "individual_account_balance": {"en": "individual account balance", "zh": "个人账户余额"},
    "serious_illness_cap_raise": {"en": "raise for continuous enrolment", "zh": "连续参保提高额"},
}

# Why a part or a layer paid nothing: a stable code (kept in `to_dict` for the API and pages) and its words.
REASONS: dict[str, dict[Lang, str]] = {
    "not_eligible": {"en": "not eligible", "zh": "不符合条件"},
    "nothing_left": {"en": "nothing left of the bill", "zh": "费用已由前面各层付清"},
    "no_base": {"en": "nothing in its base", "zh": "计算基数为零"},
    "below_deductible": {"en": "below the deductible (起付线)", "zh": "未超过起付线"},
    "cap_reached": {"en": "yearly cap (封顶线) reached", "zh": "已达年度封顶线"},
    "claim_cap": {"en": "per-claim cap is zero", "zh": "单次限额为零"},
    "zero_rate": {"en": "rate is 0%", "zh": "报销比例为0%"},
    "rounds_to_zero": {"en": "less than half a fen", "zh": "不足半分"},
    # a layer not in force on the claim's day (yibao.core.scalar.CoverGap): with its date or product
    "not_in_force": {"en": "not in force on this day", "zh": "服务日期不在保障期内"},
    "cover_not_started": {"en": "not covered on this day: cover starts {day}", "zh": "未在参保期内：待遇自 {day} 起"},
    "cover_ended": {"en": "not covered on this day: cover ended {day}", "zh": "未在参保期内：待遇已于 {day} 终止"},
    "no_policy": {"en": "no {product} policy held", "zh": "未持有{product}保单"},
    "policy_not_started": {"en": "{product} policy not yet in force: it starts {day}",
                           "zh": "{product}保单尚未生效：自 {day} 起保障"},
    "policy_ended": {"en": "{product} policy no longer in force: it ended {day}",
                     "zh": "{product}保单已到期：保障于 {day} 终止"},
    "no_balance": {"en": "no individual account balance left", "zh": "个人账户余额不足"},
}

QUANTITY_WORDS: dict[str, dict[Lang, str]] = {
    "class_a": {"en": "class A", "zh": "甲类"},
    "class_b": {"en": "class B", "zh": "乙类"},
    "self_pay": {"en": "self-pay", "zh": "全自费"},
    "special_drugs": {"en": "special drugs", "zh": "特药"},
    "preselfpay": {"en": "class B first-pay", "zh": "先行自付"},
    "in_policy": {"en": "in-policy", "zh": "政策范围内费用"},
    "total": {"en": "total", "zh": "医疗费总额"},
}


def word(key: str, lang: Lang, **values: str) -> str:
    return WORDS[key][lang].format(**values)


def yuan(fen: Fen, lang: Lang) -> str:
    return f"{format_yuan(fen)}{word('yuan', lang)}"


def reason_text(code: str, lang: Lang) -> str:
    return REASONS[code][lang]


def gap_text(gap: CoverGap, product_name: str, lang: Lang) -> str:
    """Why a layer was not in force on the day, in words (its date, its product's name)."""
    return REASONS[gap.code][lang].format(day="" if gap.day is None else gap.day.isoformat(), product=product_name)


def zero_reason(r: PartResult) -> str | None:
    """Why a part paid nothing (a code of REASONS), or None when it paid something."""
    if r.paid:
        return None
    if not r.in_force:
        return "not_in_force"
    if not r.eligible:
        return "not_eligible"
    if r.bill_left == 0:
        return "nothing_left"
    if r.base == 0:
        return "no_base"
    if r.raw == 0:
        reached = r.cumulative_after if r.accumulation is Accumulation.YEAR else r.base
        if r.deductible and reached <= r.deductible:
            return "below_deductible"
        if r.claim_cap == 0:
            return "claim_cap"
        if all(band.rate == 0 for band in r.bands):
            return "zero_rate"
        return "rounds_to_zero"
    if r.cap_person is not None:
        return "no_balance"  # the cap is the person's balance (an individual account), used up or none
    return "cap_reached"  # raw > 0, something left of the bill, nothing paid: the yearly cap was used up


def no_balance_at_all(r: PartResult) -> bool:
    """A part whose yearly cap is a person's balance (an individual account) that holds nothing: its arithmetic
    says nothing the layer's reason does not."""
    return r.eligible and r.cap_person is not None and r.cap == 0 and r.paid == 0


def layer_reasons(parts: tuple[PartResult, ...]) -> tuple[str, ...]:
    """Why a layer paid nothing: not eligible when no part is, else each eligible part's reason (once each)."""
    if not any(r.eligible for r in parts):
        return ("not_eligible",)
    codes = (zero_reason(r) for r in parts if r.eligible)
    return tuple(dict.fromkeys(code for code in codes if code is not None))


@dataclass(frozen=True)
class PartLine:
    layer_id: str
    part_id: str
    title: str
    eligible: bool
    steps: tuple[str, ...]
    paid: Fen
    reason: str | None = None  # a REASONS code when the part paid nothing


@dataclass(frozen=True)
class LayerLine:
    layer_id: str
    title: str
    paid: Fen
    parts: tuple[PartLine, ...]
    reasons: tuple[str, ...] = ()  # REASONS codes when the layer paid nothing
    gap: str | None = None  # the words of reasons[0] when the layer was not in force (with its date or product)


@dataclass(frozen=True)
class Explanation:
    claim_id: str
    lang: Lang
    header: tuple[str, ...]
    layers: tuple[LayerLine, ...]
    out_of_pocket: Fen

    def text(self) -> str:
        return render_text(self.to_dict())

    def to_dict(self) -> dict[str, object]:
        """The explanation as JSON-ready data (amounts as yuan text); `render_text` lays it out."""
        lang = self.lang
        return {
            "claim_id": self.claim_id,
            "lang": lang,
            "header": list(self.header),
            "layers": [
                {
                    "layer_id": layer.layer_id,
                    "title": layer.title,
                    "paid": format_yuan(layer.paid),
                    "reasons": [{"code": c, "text": layer.gap if layer.gap is not None else reason_text(c, lang)}
                                for c in layer.reasons],
                    "parts": [
                        {
                            "part_id": p.part_id,
                            "title": p.title,
                            "eligible": p.eligible,
                            "steps": list(p.steps),
                            "paid": format_yuan(p.paid),
                            "reason": None if p.reason is None else {"code": p.reason, "text": reason_text(p.reason, lang)},
                        }
                        for p in layer.parts
                    ],
                }
                for layer in self.layers
            ],
            "out_of_pocket": format_yuan(self.out_of_pocket),
        }


def render_text(data: Mapping[str, Any]) -> str:
    """The one text layout of an explanation, from `Explanation.to_dict()` (also as stored by operations).

    Amounts carry 元 / yuan; a layer that paid nothing says why.
    """
    lang: Lang = "zh" if data.get("lang") == "zh" else "en"
    unit = word("yuan", lang)
    lines = [str(line) for line in data.get("header", [])]
    for layer in data.get("layers", []):
        why = [str(r["text"]) for r in layer.get("reasons", [])]
        reason = word("why", lang, reason=word("list_sep", lang).join(why)) if why else ""
        lines.append(f"■ {layer['title']}: {word('layer_paid', lang)} {layer['paid']}{unit}{reason}")
        for part in layer.get("parts", []):
            if part.get("eligible") and part.get("steps"):
                lines.append(f"  · {part['title']}")
                lines.extend(f"      {step}" for step in part["steps"])
    lines.append(f"{word('out_of_pocket', lang)}: {data.get('out_of_pocket', '')}{unit}")
    return "\n".join(lines)


def _bands_text(bands: Bands, lang: Lang) -> str:
    if len(bands) == 1:
        return f"{word('rate', lang)} {format_rate(bands[0].rate)}"
    pieces = [f"{format_rate(b.rate)} {word('from', lang)} {yuan(b.above, lang)}" for b in bands]
    return f"{word('bands', lang)}: " + word("list_sep", lang).join(pieces)


def _part_steps(r: PartResult, lang: Lang, term_names: dict[str, str]) -> tuple[str, ...]:
    terms = " ".join(
        f"{'+' if sign > 0 else '−'} {term_names.get(name, name)} {yuan(amount, lang)}"
        for name, sign, amount in r.base_terms
    ).lstrip("+ ")
    sep = word("sep", lang)
    steps = [f"{word('base', lang)} = {terms} = {yuan(r.base, lang)}"]
    if r.accumulation is Accumulation.YEAR:
        steps.append(word("cumulative", lang, before=yuan(r.cumulative_before, lang), after=yuan(r.cumulative_after, lang)))
        if r.deductible:
            steps.append(
                f"{word('deductible_year', lang)} {yuan(r.deductible, lang)}{sep}"
                f"{word('deductible_applied', lang)} {yuan(r.deductible_applied, lang)}"
            )
    elif r.deductible:
        steps.append(
            f"{word('claim_number', lang, n=str(r.claim_number))}: {word('deductible_claim', lang)} "
            f"{yuan(r.deductible, lang)}{sep}{word('deductible_applied', lang)} {yuan(r.deductible_applied, lang)}"
        )
    steps.append(f"{_bands_text(r.bands, lang)} → {word('calculated', lang)} {yuan(r.raw, lang)}")
    if r.claim_cap is not None:
        steps.append(f"{word('claim_cap', lang)} {yuan(r.claim_cap, lang)}")
    if r.cap is None:
        steps.append(word("no_cap", lang))
    elif r.cap_person is not None:
        what = PERSON_AMOUNT_WORDS[r.cap_person][lang]
        used = min(r.cap_used_before, r.cap)  # of a balance, what earlier claims used of it
        steps.append(word("cap_person", lang, what=what, cap=yuan(r.cap, lang), used=yuan(used, lang)))
    else:
        steps.append(word("cap", lang, cap=yuan(r.cap, lang), used=yuan(r.cap_used_before, lang)))
    if r.cap is not None and r.cap_raise:
        raised = PERSON_AMOUNT_WORDS["serious_illness_cap_raise"][lang]
        steps[-1] += f"{sep}{word('cap_raised', lang, what=raised, amount=yuan(r.cap_raise, lang))}"
    if r.beyond_cap and r.cap_person is None:  # what a layer left beyond its cap (a balance: all of it, if any)
        steps.append(word("beyond_cap", lang, amount=yuan(r.beyond_cap, lang)))
    if r.paid < r.raw and r.paid == r.bill_left:
        steps.append(word("bill_left", lang))
    reason = zero_reason(r)
    why = "" if reason is None else word("why", lang, reason=reason_text(reason, lang))
    steps.append(f"{word('paid', lang)} {yuan(r.paid, lang)}{why}")
    if r.cap_person is not None and r.cap_left is not None:  # an individual account: the balance left
        what = PERSON_AMOUNT_WORDS[r.cap_person][lang]
        steps.append(word("cap_left", lang, what=what, left=yuan(r.cap_left, lang)))
    return tuple(steps)


def explain(settlement: Settlement, scheme: Scheme, lang: Lang = "en") -> Explanation:
    s = settlement
    sep = word("list_sep", lang)
    header = (
        f"{word('claim', lang)} {s.claim_id} ({s.person_id}, {s.service_date}): "
        f"{word('total', lang)} {yuan(s.medfee_sumamt, lang)}",
        f"  {word('self_pay', lang)} {yuan(s.fulamt_ownpay_amt, lang)}{sep}"
        f"{word('preselfpay', lang)} {yuan(s.preselfpay_amt, lang)}{sep}"
        f"{word('in_policy', lang)} {yuan(s.inscp_scp_amt, lang)}{sep}"
        f"{word('special_drugs', lang)} {yuan(s.special_drugs, lang)}",
    )
    term_names = {q: words[lang] for q, words in QUANTITY_WORDS.items()}
    for layer in scheme.layers:
        term_names[layer.id] = layer.name.get(lang)
        term_names[f"{layer.id}.{BEYOND_CAP}"] = word("beyond_term", lang, layer=layer.name.get(lang))
        term_names |= {f"{layer.id}.{p.id}": f"{layer.name.get(lang)} · {p.name.get(lang)}" for p in layer.parts}
    layers = []
    for layer_result in s.layers:
        layer = scheme.layer(layer_result.layer_id)
        names = {p.id: p.name.get(lang) for p in layer.parts}
        parts = tuple(
            PartLine(
                r.layer_id,
                r.part_id,
                names.get(r.part_id, r.part_id),
                r.eligible,
                () if no_balance_at_all(r)  # nothing to spend: the layer's reason says so, no arithmetic
                else _part_steps(r, lang, term_names) if r.eligible
                else (reason_text("not_in_force" if not r.in_force else "not_eligible", lang),),
                r.paid,
                zero_reason(r),
            )
            for r in layer_result.parts
        )
        if layer_result.gap is not None:
            gap = gap_text(layer_result.gap, layer.name.get(lang), lang)
            layers.append(LayerLine(layer.id, layer.name.get(lang), 0, parts, (layer_result.gap.code,), gap))
            continue
        reasons = () if layer_result.paid else layer_reasons(layer_result.parts)
        layers.append(LayerLine(layer.id, layer.name.get(lang), layer_result.paid, parts, reasons))
    return Explanation(s.claim_id, lang, header, tuple(layers), s.psn_part_amt)
