"""``tenancy verify`` runs each tenant's saved queries when AWS is reachable: here through a runner
backed by the independent Logs Insights evaluator over sample audit events and flow records in the
platform's formats (no AWS), skipped without a runner, failed when a query cannot run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tenancy.review.diff import Render
from tenancy.verify.queries import saved_queries
from tenancy.verify.run import verify
from tests.fixtures.specs import spec_with
from tests.helpers import logs_insights as li
from tests.helpers import review
from tests.plan.test_observability import ALPHA_POD, BETA_POD, audit_events, flow_record


class Evaluator:
    """A QueryRunner over sample log groups (audit and flow), judged by tests/helpers/logs_insights."""

    def __init__(self, groups: dict[str, list[dict[str, Any]]]):
        self.groups = groups
        self.calls: list[tuple[tuple[str, ...], int]] = []

    def run(self, log_groups: Sequence[str], query: str, hours: int) -> list[dict[str, Any]]:
        self.calls.append((tuple(log_groups), hours))
        events = [e for g in log_groups for e in self.groups[g]]  # KeyError: a missing group
        return li.run(query, events)


def test_verify_runs_every_tenants_queries_and_reports_their_rows() -> None:
    res = review.resources(spec_with())
    runner = Evaluator({"/aws/eks/acme/cluster": audit_events(),
                        "/tenancy/acme/vpc-flow-logs": [flow_record(BETA_POD, ALPHA_POD)] * 3})
    results = saved_queries(res, runner)
    by = {(r.tenant, r.object.rsplit("/", 1)[-1]): r for r in results}
    assert {r.status for r in results} == {"pass"} and len(results) == 6
    assert by[("alpha", "who-accessed-my-namespace")].detail.startswith("2 result row(s)")  # alice, mallory
    assert by[("beta", "who-accessed-my-namespace")].detail.startswith("1 result row(s)")
    assert by[("alpha", "flows-from-other-tenants")].detail.startswith("1 result row(s)")  # 3 flows, one group
    assert by[("gamma", "flows-from-other-tenants")].detail.startswith("0 result row(s)")
    assert all(h == 24 for _, h in runner.calls)


def test_without_aws_the_queries_are_skipped_and_a_missing_group_fails() -> None:
    res = review.resources(spec_with())
    assert {r.status for r in saved_queries(res, None)} == {"skip"}
    broken = saved_queries(res, Evaluator({"/aws/eks/acme/cluster": audit_events()}))
    assert sorted((r.status, r.object.rsplit("/", 1)[-1]) for r in broken if r.status != "pass") == \
        [("fail", "flows-from-other-tenants")] * 3


def test_verify_reports_the_queries_even_with_no_client() -> None:
    res = review.resources(spec_with())
    report = verify(Render(path=None, project="tenancy", stack="review", resources=res))  # type: ignore[arg-type]
    assert sum(r.check == "saved-queries" and r.status == "skip" for r in report.results) == 6


def test_the_logs_insights_runner_on_moto(moto_server: Any) -> None:
    """The real runner's protocol (StartQuery, poll GetQueryResults, rows as dicts) against moto's
    CloudWatch Logs; moto's own query engine is not the judge of tenancy's queries (the evaluator is),
    so a plain query is run, and a missing group is refused."""
    import boto3

    from tenancy.verify.clients import AwsClient, LogsInsightsRunner
    from tests.helpers.moto_server import ACCESS_KEY, REGION, SECRET_KEY

    logs = moto_server.client("logs")
    logs.create_log_group(logGroupName="/aws/eks/acme/cluster")
    logs.create_log_stream(logGroupName="/aws/eks/acme/cluster", logStreamName="kube-apiserver-audit-1")
    import time
    # Logs Insights takes whole seconds: the runner ends its window at the current second, so the
    # events are a few seconds old (an event of this very second could fall after the window).

    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName="/aws/eks/acme/cluster", logStreamName="kube-apiserver-audit-1",
                        logEvents=[{"timestamp": now - 5000, "message": '{"verb": "get"}'},
                                   {"timestamp": now - 3000, "message": '{"verb": "list"}'}])
    session = boto3.session.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                                    region_name=REGION)
    runner = LogsInsightsRunner(AwsClient(session, endpoint_url=moto_server.url), timeout=20)
    rows = runner.run(["/aws/eks/acme/cluster"], "fields @message", 1)
    assert sorted(r["@message"] for r in rows) == ['{"verb": "get"}', '{"verb": "list"}']
    res = [r for r in review.resources(spec_with()) if r.get("tenant") == "alpha"]
    out = saved_queries(res, runner)  # the flow log group does not exist in moto
    assert any(r.status == "fail" and "flows-from-other-tenants" in r.object for r in out)
