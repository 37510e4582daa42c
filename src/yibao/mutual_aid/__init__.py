"""Online mutual aid (网络互助): plans as data, membership, claims and jury, apportionment, simulator.

Xiang Hu Bao (相互宝) is the reference (its 2018–2021 rules). Everything here is pure: records in,
new records and events out, so the operations store can persist it.
"""

from yibao.mutual_aid.plan import Plan, builtin_plans, load_plan

__all__ = ["Plan", "builtin_plans", "load_plan"]
