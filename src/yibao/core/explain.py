"""Explanations: for every layer of a settled claim, the arithmetic in words a member or an auditor can read.

Rendered from the numbers kept in a Settlement, in English or Chinese, with the
domain's own terms (起付线, 封顶线, 大病保险, 医疗救助, 惠民保).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from yibao.core.money import Fen, format_rate, format_yuan, parse_yuan
from yibao.core.scalar import PartResult, Settlement
from yibao.core.scheme import Accumulation, Bands, Scheme

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


@dataclass(frozen=True)
class PartLine:
    layer_id: str
    part_id: str
    title: str
    eligible: bool
    steps: tuple[str, ...]
    paid: Fen


@dataclass(frozen=True)
class LayerLine:
    layer_id: str
    title: str
    paid: Fen
    parts: tuple[PartLine, ...]


@dataclass(frozen=True)
class Explanation:
    claim_id: str
    lang: Lang
    header: tuple[str, ...]
    layers: tuple[LayerLine, ...]
    out_of_pocket: Fen

    def text(self) -> str:
        lines = list(self.header)
        for layer in self.layers:
            lines.append(f"■ {layer.title}: {word('layer_paid', self.lang)} {yuan(layer.paid, self.lang)}")
            for part in layer.parts:
                if not part.eligible:
                    continue
                lines.append(f"  · {part.title}")
                lines.extend(f"      {step}" for step in part.steps)
        lines.append(f"{word('out_of_pocket', self.lang)}: {yuan(self.out_of_pocket, self.lang)}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {
            "claim_id": self.claim_id,
            "lang": self.lang,
            "header": list(self.header),
            "layers": [
                {
                    "layer_id": layer.layer_id,
                    "title": layer.title,
                    "paid": format_yuan(layer.paid),
                    "parts": [
                        {
                            "part_id": p.part_id,
                            "title": p.title,
                            "eligible": p.eligible,
                            "steps": list(p.steps),
                            "paid": format_yuan(p.paid),
                        }
                        for p in layer.parts
                    ],
                }
                for layer in self.layers
            ],
            "out_of_pocket": format_yuan(self.out_of_pocket),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Explanation:
        """The explanation `to_dict` stored (a claim keeps its explanation as this JSON), to be rendered again."""
        return cls(
            claim_id=str(data["claim_id"]),
            lang="zh" if data.get("lang") == "zh" else "en",
            header=tuple(data["header"]),
            layers=tuple(
                LayerLine(
                    layer_id=layer["layer_id"], title=layer["title"], paid=parse_yuan(layer["paid"]),
                    parts=tuple(
                        PartLine(layer_id=layer["layer_id"], part_id=p["part_id"], title=p["title"],
                                 eligible=bool(p["eligible"]), steps=tuple(p["steps"]), paid=parse_yuan(p["paid"]))
                        for p in layer["parts"]
                    ),
                )
                for layer in data["layers"]
            ),
            out_of_pocket=parse_yuan(data["out_of_pocket"]),
        )


def _bands_text(bands: Bands, lang: Lang) -> str:
    if len(bands) == 1:
        return f"{word('rate', lang)} {format_rate(bands[0].rate)}"
    pieces = [f"{format_rate(b.rate)} {word('from', lang)} {yuan(b.above, lang)}" for b in bands]
    return f"{word('bands', lang)}: " + "; ".join(pieces)


def _part_steps(r: PartResult, lang: Lang, term_names: dict[str, str]) -> tuple[str, ...]:
    terms = " ".join(
        f"{'+' if sign > 0 else '−'} {term_names.get(name, name)} {format_yuan(amount)}"
        for name, sign, amount in r.base_terms
    ).lstrip("+ ")
    steps = [f"{word('base', lang)} = {terms} = {yuan(r.base, lang)}"]
    if r.accumulation is Accumulation.YEAR:
        steps.append(word("cumulative", lang, before=yuan(r.cumulative_before, lang), after=yuan(r.cumulative_after, lang)))
        if r.deductible:
            steps.append(
                f"{word('deductible_year', lang)} {yuan(r.deductible, lang)}, "
                f"{word('deductible_applied', lang)} {yuan(r.deductible_applied, lang)}"
            )
    elif r.deductible:
        steps.append(
            f"{word('claim_number', lang, n=str(r.claim_number))}: {word('deductible_claim', lang)} "
            f"{yuan(r.deductible, lang)}, {word('deductible_applied', lang)} {yuan(r.deductible_applied, lang)}"
        )
    steps.append(f"{_bands_text(r.bands, lang)} → {word('calculated', lang)} {yuan(r.raw, lang)}")
    if r.claim_cap is not None:
        steps.append(f"{word('claim_cap', lang)} {yuan(r.claim_cap, lang)}")
    if r.cap is None:
        steps.append(word("no_cap", lang))
    else:
        steps.append(word("cap", lang, cap=yuan(r.cap, lang), used=yuan(r.cap_used_before, lang)))
    if r.paid < r.raw and r.paid == r.bill_left:
        steps.append(word("bill_left", lang))
    steps.append(f"{word('paid', lang)} {yuan(r.paid, lang)}")
    return tuple(steps)


def explain(settlement: Settlement, scheme: Scheme, lang: Lang = "en") -> Explanation:
    s = settlement
    header = (
        f"{word('claim', lang)} {s.claim_id} ({s.person_id}, {s.service_date}): "
        f"{word('total', lang)} {yuan(s.medfee_sumamt, lang)}",
        f"  {word('self_pay', lang)} {yuan(s.fulamt_ownpay_amt, lang)}; "
        f"{word('preselfpay', lang)} {yuan(s.preselfpay_amt, lang)}; "
        f"{word('in_policy', lang)} {yuan(s.inscp_scp_amt, lang)}; "
        f"{word('special_drugs', lang)} {yuan(s.special_drugs, lang)}",
    )
    term_names = {q: words[lang] for q, words in QUANTITY_WORDS.items()}
    term_names.update({layer.id: layer.name.get(lang) for layer in scheme.layers})
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
                _part_steps(r, lang, term_names) if r.eligible else (word("not_eligible", lang),),
                r.paid,
            )
            for r in layer_result.parts
        )
        layers.append(LayerLine(layer.id, layer.name.get(lang), layer_result.paid, parts))
    return Explanation(s.claim_id, lang, header, tuple(layers), s.psn_part_amt)
