"""A five-person city settled by hand, small enough to check every metric with a pencil.

| person | income (yuan) | scheme          | claims (yuan): total = basic + serious illness + OOP        | year OOP |
|--------|---------------|-----------------|-------------------------------------------------------------|----------|
| p1     | 0             | urrbmi, dibao   | c1 level 1: 100 = 60 + 0 + 40                                | 40       |
| p2     | 10,000        | urrbmi          | c2a level 1: 1,000 = 500 + 0 + 500; c2b level 2: 2,000 = 1,000 + 0 + 1,000 | 1,500 |
| p3     | 20,000        | uebmi_employee  | c3 level 2: 10,000 (A 9,000 + B 1,000) = 5,000 + 0 + 5,000    | 5,000    |
| p4     | 40,000        | uebmi_retiree   | c4 level 3: 50,001 = 30,000 + 10,000 + 10,001                 | 10,001   |
| p5     | 80,000        | urrbmi          | none                                                        | 0        |

c3's class B of 1,000 has a first-pay of 100, so its in-policy amount is 9,900; every other claim is all
class A (in-policy = total).
"""

from __future__ import annotations

from datetime import date

import polars as pl

LAYERS = ("basic", "serious_illness")


def fen(yuan: int) -> int:
    return yuan * 100


def persons() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "person_id": ["p1", "p2", "p3", "p4", "p5"],
            "birth_date": [date(1950, 5, 1), date(1980, 1, 1), date(1990, 1, 1), date(1955, 3, 1), date(2000, 7, 1)],
            "sex": ["F", "M", "F", "M", "F"],
            "region": ["reference-city"] * 5,
            "scheme": ["urrbmi", "urrbmi", "uebmi_employee", "uebmi_retiree", "urrbmi"],
            "assistance_category": ["dibao", "none", "none", "none", "none"],
            "huiminbao": [False, True, False, False, False],
            "pre_existing": [False] * 5,
            "annual_income": [fen(0), fen(10_000), fen(20_000), fen(40_000), fen(80_000)],
        }
    )


def settled(year: int = 2024) -> pl.DataFrame:
    # claim, person, level, class_a, class_b, basic, serious_illness (yuan)
    rows = [
        ("c1", "p1", 1, 100, 0, 60, 0),
        ("c2a", "p2", 1, 1_000, 0, 500, 0),
        ("c2b", "p2", 2, 2_000, 0, 1_000, 0),
        ("c3", "p3", 2, 9_000, 1_000, 5_000, 0),
        ("c4", "p4", 3, 50_001, 0, 30_000, 10_000),
    ]
    frame = pl.DataFrame(
        {
            "claim_id": [r[0] for r in rows],
            "person_id": [r[1] for r in rows],
            "service_date": [date(year, 3, 1 + i) for i in range(len(rows))],
            "region": ["reference-city"] * len(rows),
            "facility_level": pl.Series([r[2] for r in rows], dtype=pl.Int8),
            "care_type": ["inpatient"] * len(rows),
            "class_a": [fen(r[3]) for r in rows],
            "class_b": [fen(r[4]) for r in rows],
            "self_pay": [0] * len(rows),
            "special_drugs": [0] * len(rows),
            "diagnosis": ["J18"] * len(rows),
            "paid_basic": [fen(r[5]) for r in rows],
            "paid_serious_illness": [fen(r[6]) for r in rows],
        }
    )
    return frame.with_columns(
        (pl.col("class_a") + pl.col("class_b")).alias("total"),
        (pl.col("class_b") // 10).alias("preselfpay"),
        (pl.col("class_a") + pl.col("class_b") - pl.col("class_b") // 10).alias("in_policy"),
    ).with_columns((pl.col("total") - pl.col("paid_basic") - pl.col("paid_serious_illness")).alias("out_of_pocket"))
