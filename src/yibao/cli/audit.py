"""`yibao audit ...`: audits of the registry and of claims. Each audit command module registers itself here."""

from __future__ import annotations

import typer

audit_app = typer.Typer(help="Audits: claim anomaly screening (and the Twin check).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    from yibao.cli import audit_claims

    audit_claims.register(audit_app)
    app.add_typer(audit_app, name="audit")
