"""``tenancy verify``'s saved-query check: each tenant's Logs Insights query definitions
(:mod:`tenancy.plan.observability`) run against the live log groups when AWS is reachable, their
result counts reported as evidence (who accessed the tenant's namespace, which flows reached its
block from other tenants'); skipped without AWS. A query that cannot run (its log group missing,
a syntax the service refuses) fails: the evidence the report promises would not exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from tenancy.spec.wire import AWS_CW_QUERY_DEFINITION
from tenancy.verify.report import Result, failed, passed, skipped

CHECK = "saved-queries"
HOURS = 24


class QueryRunner(Protocol):
    def run(self, log_groups: Sequence[str], query: str, hours: int) -> list[dict[str, Any]]:
        """The result rows of ``query`` over the last ``hours`` of ``log_groups``."""
        ...


def saved_queries(resources: Sequence[Mapping[str, Any]], runner: QueryRunner | None) -> list[Result]:
    out = []
    for q in resources:
        if q.get("type") != AWS_CW_QUERY_DEFINITION:
            continue
        i = q.get("inputs") or {}
        name, groups, text = str(i.get("name")), list(i.get("logGroupNames") or []), str(i.get("queryString"))
        if runner is None:
            out.append(skipped(CHECK, q.get("tenant"), name, "needs AWS (CloudWatch Logs Insights)"))
            continue
        try:
            rows = runner.run(groups, text, HOURS)
        except Exception as exc:  # noqa: BLE001 — any refusal is reported against the query
            out.append(failed(CHECK, q.get("tenant"), name, f"could not run over {', '.join(groups)}: {exc}"))
            continue
        out.append(passed(CHECK, q.get("tenant"), name, f"{len(rows)} result row(s) over the last {HOURS} h"))
    return out
