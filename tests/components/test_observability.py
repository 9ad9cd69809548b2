"""Observability on the render: the metrics add-on and its identity, the monitoring endpoint, a
dashboard and saved queries per tenant (attributed to it, reading only its namespace), AWS Backup
of the cluster — with the operability findings and negative controls (options off, pieces broken)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tenancy.plan import observability as oplan
from tenancy.render import RenderResult, render_spec
from tenancy.review import operability
from tests.fixtures.specs import spec_with
from tests.helpers import iam_checks

ADDON = "aws:eks/addon:Addon"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
QUERY = "aws:cloudwatch/queryDefinition:QueryDefinition"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
ROLE = "aws:iam/role:Role"
ATTACH = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ON = {"metrics": {"enabled": True}, "backup": {"enabled": True, "schedule": "cron(30 2 ? * * *)", "retentionDays": 14}}


@pytest.fixture(scope="module")
def on() -> RenderResult:
    return render_spec(spec_with(observability=ON))


@pytest.fixture(scope="module")
def pod_identity() -> RenderResult:
    return render_spec(spec_with(observability=ON, identity={"mode": "podIdentity"},
                                 nodePools=[{"name": "shared", "slot": 9}],
                                 tenants=[{"name": "alpha", "slot": 0}, {"name": "pooled", "pool": "shared"}]))


@pytest.fixture(scope="module")
def off() -> RenderResult:
    return render_spec(spec_with())


def _finding(render: RenderResult, start: str, resources: list[dict[str, Any]] | None = None) -> operability.Finding:
    [f] = [f for f in operability.evaluate(render.spec, resources or render.resources) if f.name.startswith(start)]
    return f


def _addon(render: RenderResult) -> dict[str, Any] | None:
    return next((a for a in render.of_type(ADDON) if a["inputs"]["addonName"] == oplan.ADDON), None)


def test_metrics_addon_has_its_own_role_tolerates_everything_and_ships_no_shared_logs(on, off) -> None:
    addon = _addon(on)
    assert addon is not None and _addon(off) is None
    config = json.loads(addon["inputs"]["configurationValues"])
    assert config == {"containerLogs": {"enabled": False}, "tolerations": [{"operator": "Exists"}]}
    role_arn = addon["inputs"]["serviceAccountRoleArn"]
    [role] = [r for r in on.of_type(ROLE) if r["outputs"]["arn"] == role_arn]
    provider = on.stack_outputs["oidcProviderArn"]
    issuer = on.stack_outputs["oidcIssuer"]
    assert iam_checks.irsa_trust_problems(role["inputs"]["assumeRolePolicy"], provider_arn=provider, issuer=issuer,
                                          namespace="amazon-cloudwatch", service_account="cloudwatch-agent") == []
    assert not [a for a in on.of_type(ATTACH) if a["inputs"]["role"] == role["outputs"]["name"]]
    [inline] = [p for p in on.of_type("aws:iam/rolePolicy:RolePolicy")
                if p["inputs"]["role"] == role["outputs"]["name"]]
    doc = inline["inputs"]["policy"]
    logs = "arn:aws:logs:eu-west-1:111122223333:log-group:"
    assert iam_checks.allows(doc, "cloudwatch:PutMetricData", "*")
    assert iam_checks.allows(doc, "logs:PutLogEvents", logs + "/aws/containerinsights/acme/performance:log-stream:n1")
    for group in ("/tenancy/acme/alpha/app", "/aws/containerinsights/other/performance", "/aws/eks/acme/cluster"):
        assert not iam_checks.allows(doc, "logs:PutLogEvents", logs + group + ":log-stream:x"), group
    for read in ("logs:GetLogEvents", "logs:FilterLogEvents", "logs:StartQuery", "ssm:GetParameter"):
        assert not iam_checks.allows(doc, read, "*")
        assert not iam_checks.allows(doc, read, logs + "/tenancy/acme/alpha/app")
    for name in ("observability.metrics", "CloudWatch agent"):
        assert _finding(on, name).status == "ok", _finding(on, name).detail
        assert _finding(off, name).status == "n/a"


def test_pod_identity_and_pool_taints(pod_identity) -> None:
    addon = _addon(pod_identity)
    assert addon is not None
    assert addon["inputs"]["podIdentityAssociations"][0]["serviceAccount"] == "cloudwatch-agent"
    taints = [t for ng in pod_identity.of_type("aws:eks/nodeGroup:NodeGroup") for t in ng["inputs"].get("taints") or []]
    assert len({t["key"] for t in taints}) >= 2  # system + tenant/pool taints exist to be tolerated
    assert _finding(pod_identity, "observability.metrics").status == "ok"
    assert _finding(pod_identity, "CloudWatch agent").status == "ok"


def test_negative_control_an_agent_with_the_charts_old_narrow_tolerations_is_caught(on) -> None:
    res = copy.deepcopy(on.resources)
    addon = next(a for a in res if a["type"] == ADDON and a["inputs"]["addonName"] == oplan.ADDON)
    addon["inputs"]["configurationValues"] = json.dumps(
        {"containerLogs": {"enabled": False}, "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}]})
    f = _finding(on, "observability.metrics", res)
    assert f.status == "missing" and "does not tolerate" in f.detail
    addon["inputs"]["configurationValues"] = json.dumps({"tolerations": [{"operator": "Exists"}]})
    f = _finding(on, "observability.metrics", res)
    assert f.status == "missing" and "containerLogs" in f.detail


def test_monitoring_endpoint_only_with_metrics_and_a_missing_one_is_caught(on, off) -> None:
    def services(r: RenderResult) -> set[str]:
        return {e["inputs"]["serviceName"].rsplit(".", 1)[-1] for e in r.of_type(ENDPOINT)}
    assert {"monitoring", "logs"} <= services(on)
    assert "monitoring" not in services(off)
    res = [r for r in on.resources
           if not (r["type"] == ENDPOINT and r["inputs"]["serviceName"].endswith(".monitoring"))]
    f = _finding(on, "CloudWatch agent", res)
    assert f.status == "missing" and "monitoring" in f.detail


def test_every_tenant_has_a_dashboard_and_queries_of_its_own(on, off) -> None:
    tenants = {t.name for t in on.spec.tenants}
    boards = {d["tenant"]: d for d in on.of_type(DASHBOARD)}
    assert set(boards) == tenants and not off.of_type(DASHBOARD)
    for t, d in boards.items():
        assert oplan.dashboard_namespaces(json.loads(d["inputs"]["dashboardBody"])) == {t}
    queries: dict[str, list[str]] = {}
    for q in on.of_type(QUERY):
        queries.setdefault(q["tenant"], []).append(q["inputs"]["name"])
    assert set(queries) == tenants
    for t, names in queries.items():
        assert sorted(names) == [f"tenancy/acme/{t}/flows-from-other-tenants",
                                 f"tenancy/acme/{t}/who-accessed-my-namespace"]
    assert {q["tenant"] for q in off.of_type(QUERY)} == tenants  # saved queries are on by default


def test_backup_selects_the_cluster_with_its_own_key_and_role(on, off) -> None:
    [vault] = on.of_type("aws:backup/vault:Vault")
    assert vault["inputs"]["kmsKeyArn"]
    [plan] = on.of_type("aws:backup/plan:Plan")
    assert plan["inputs"]["rules"][0]["schedule"] == "cron(30 2 ? * * *)"
    assert plan["inputs"]["rules"][0]["lifecycle"]["deleteAfter"] == 14
    [sel] = on.of_type("aws:backup/selection:Selection")
    [cluster_arn] = sel["inputs"]["resources"]
    assert cluster_arn.endswith(":cluster/acme")
    [role] = [r for r in on.of_type(ROLE) if r["outputs"]["arn"] == sel["inputs"]["iamRoleArn"]]
    trust = json.loads(role["inputs"]["assumeRolePolicy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "backup.amazonaws.com"}]
    assert _finding(on, "observability.backup").status == "ok"
    assert _finding(off, "observability.backup").status == "n/a"
    assert not off.of_type("aws:backup/plan:Plan")
    res = copy.deepcopy(on.resources)
    next(r for r in res if r["type"] == "aws:backup/vault:Vault")["inputs"]["kmsKeyArn"] = None
    assert _finding(on, "observability.backup", res).status == "missing"
