"""The operations service: registry, enrolment, contributions, cards, claims into a double-entry ledger, HTTP API.

Services take a SQLAlchemy session and the acting user; each public mutation writes
its audit event in the same transaction. The rules come from `yibao.core` only.
"""
