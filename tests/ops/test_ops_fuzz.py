"""Fuzzing every operation of the OpenAPI document (Schemathesis, seeded and bounded) as admin and as a facility,
on SQLite and PostgreSQL: no answer >= 500 and every answer conforms to the document (error bodies included)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.specs.openapi.checks import response_schema_conformance
from test_ops_api import Api

from yibao.ops.store import Store

EXAMPLES = 6  # per operation, role and database: ~70 operations x 6 = ~420 requests a run


@pytest.mark.slow
@pytest.mark.parametrize("role", ["admin", "facility"])
def test_fuzzing_finds_no_server_error_and_no_schema_violation(store: Store, role: str) -> None:
    api = Api(store)
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    auth = {"Authorization": f"Bearer {api.tokens[role]}"}
    problems: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 60

    def fuzz(operation: Any) -> None:
        label = operation.label

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            try:
                response = case.call(headers=auth)
            except Exception as exc:  # the app raised through the test transport: a server error
                problems.append(f"{label}: raised {type(exc).__name__}")
                return
            if response.status_code >= 500:
                problems.append(f"{label}: {response.status_code} {response.text[:200]}")
                return
            try:
                case.validate_response(response, checks=[response_schema_conformance], headers=auth)
            except Exception as exc:
                problems.append(f"{label}: {response.status_code} does not conform: {str(exc)[:300]}")

        run()

    for operation in operations:
        fuzz(operation)
    assert problems == [], "\n".join(sorted(set(problems))[:40])
