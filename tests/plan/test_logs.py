"""Pure tests of the log plan (no Pulumi): the spec's errors, names, routes for any tenant names,
and the IAM documents linted by parliament. Access is judged in moto (test_logs_moto.py) and the
routing by the collector binary (tests/live/test_log_router_live.py)."""

from __future__ import annotations

import fnmatch
import json

import parliament
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenancy.plan import logs
from tenancy.plan.validate import load_platform
from tenancy.spec import SpecError
from tests.fixtures.specs import spec_with, tenant
from tests.helpers import iam_checks

labels = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True)
ARN = "arn:aws:logs:eu-west-1:111122223333:log-group:"


def _spec(tenants: list[dict], **logs_spec: object):
    return load_platform(spec_with(tenants, observability={"logs": {"enabled": True, **logs_spec}}))


def _problems(data: dict) -> list[str]:
    with pytest.raises(SpecError) as exc:
        load_platform(data)
    return [str(p) for p in exc.value.problems]


def test_spec_errors_name_the_field_and_the_fix() -> None:
    [p] = _problems(spec_with([tenant("alpha", 0)], observability={"logs": {"retentionDays": 31}}))
    assert p.startswith("observability.logs.retentionDays") and "e.g. 30" in p
    [p] = _problems(spec_with([tenant("alpha", 0)], observability={"logs": {"namespace": "kube-system"}}))
    assert p.startswith("observability.logs.namespace") and "tenancy-logs" in p
    [p] = _problems(spec_with([tenant("alpha", 0)], observability={"logs": {"enabled": True, "namespace": "alpha"}}))
    assert p.startswith("observability.logs.namespace") and "tenant 'alpha'" in p
    long = "t" * 30  # fits the node group and node role names, not the reader role name
    problems = _problems(spec_with([tenant(long, 0)], name="a" * 24, observability={"logs": {"enabled": True}}))
    assert any("log reader role name" in p and "shorten the tenant name" in p for p in problems)
    # off: no reader roles, no such limit
    load_platform(spec_with([tenant(long, 0)], name="a" * 24))
    assert _spec([tenant("alpha", 0)]).observability.logs.retention_days == 90


def test_names_cannot_collide_with_other_roles_or_groups() -> None:
    assert logs.router_role_name("acme") == "acme.platform.log-router"  # 'platform' is a reserved tenant name
    assert logs.reader_role_name("acme", "alpha") == "acme.alpha@logs-reader"  # '@' is in no service account name
    assert logs.log_group_name("acme", "vpc-flow-logs") != "/tenancy/acme/vpc-flow-logs"


@given(a=labels, b=labels)
def test_no_route_reads_another_tenants_files_for_any_names(a: str, b: str) -> None:
    """For any two distinct tenant names (one a prefix of the other included): a's globs never
    match a file of b's namespace, and always match a's own."""
    if a == b:
        return
    s = _spec([tenant(a, 0), tenant(b, 1)])
    glob = logs.include_globs(s.tenant(a))
    own = f"/var/log/pods/{a}_web-0_0000-1111/app/0.log"
    other = f"/var/log/pods/{b}_web-0_0000-1111/app/0.log"
    assert any(fnmatch.fnmatchcase(own, g) for g in glob)
    assert not any(fnmatch.fnmatchcase(other, g) for g in glob)


def test_routes_are_fixed_per_tenant_and_unowned_namespaces_are_read_by_none() -> None:
    s = load_platform(spec_with([tenant("shop", 0), tenant("shop-eu", 1), {"name": "p1", "pool": "shared"}],
                                nodePools=[{"name": "shared", "slot": 2}], observability={"logs": {"enabled": True}}))
    config = logs.collector_config(s, "eu-west-1")
    routes = logs.routes(config)
    assert set(routes) == {"logs/shop", "logs/shop-eu", "logs/p1"}
    for name, (_, groups) in routes.items():
        assert groups == [logs.log_group_name("acme", name.split("/", 1)[1])]
    # the group names are literals: nothing is resolved from a record's attributes at run time
    assert all("${" not in e["log_group_name"] for e in config["exporters"].values())
    files = [g for globs, _ in routes.values() for g in globs]
    for ns in ("kube-system", "tenancy-logs", "default", "stray"):
        assert not any(fnmatch.fnmatchcase(f"/var/log/pods/{ns}_x_y/c/0.log", g) for g in files), ns


def test_router_policy_writes_only_tenant_container_groups() -> None:
    doc = logs.router_policy("aws", "eu-west-1", "111122223333", "acme")
    for t in ("alpha", "beta"):
        assert iam_checks.allows(doc, "logs:PutLogEvents", f"{ARN}/tenancy/acme/{t}/containers:log-stream:node-1")
        assert iam_checks.allows(doc, "logs:CreateLogStream", f"{ARN}/tenancy/acme/{t}/containers")
    for group in ("/tenancy/acme/vpc-flow-logs", "/aws/eks/acme/cluster", "/tenancy/other/alpha/containers"):
        assert not iam_checks.allows(doc, "logs:PutLogEvents", f"{ARN}{group}:log-stream:x"), group
        assert not iam_checks.allows(doc, "logs:CreateLogStream", f"{ARN}{group}"), group
    for action in ("logs:CreateLogGroup", "logs:GetLogEvents", "logs:FilterLogEvents", "logs:DeleteLogGroup"):
        assert not iam_checks.allows(doc, action, f"{ARN}/tenancy/acme/alpha/containers")


@given(a=labels, b=labels)
def test_reader_policy_reads_exactly_its_group_for_any_names(a: str, b: str) -> None:
    if a == b:
        return
    doc = logs.reader_policy("aws", "eu-west-1", "111122223333", "acme", a)
    for action in logs.READ_ON_GROUP:
        assert iam_checks.allows(doc, action, f"{ARN}/tenancy/acme/{a}/containers")
        assert not iam_checks.allows(doc, action, f"{ARN}/tenancy/acme/{b}/containers")
    assert not iam_checks.allows(doc, "logs:GetLogEvents", f"{ARN}/tenancy/acme/{b}/containers:log-stream:n")


def test_only_the_query_id_actions_take_resource_star() -> None:
    """GetQueryResults and StopQuery have no resource-level permissions (Service Authorization
    Reference); nothing else in either document is unscoped, and DescribeQueries (which lists
    other queries' IDs) is not granted."""
    reader = logs.reader_policy("aws", "eu-west-1", "111122223333", "acme", "alpha")
    star = [s for s in reader["Statement"] if s["Resource"] == "*"]
    assert [sorted(s["Action"]) for s in star] == [["logs:GetQueryResults", "logs:StopQuery"]]
    assert not iam_checks.allows(reader, "logs:DescribeQueries", "*")
    router = logs.router_policy("aws", "eu-west-1", "111122223333", "acme")
    assert all(s["Resource"] != "*" for s in router["Statement"])


def test_parliament_clean() -> None:
    for doc in (logs.router_policy("aws", "eu-west-1", "111122223333", "acme"),
                logs.reader_policy("aws", "eu-west-1", "111122223333", "acme", "alpha")):
        findings = [f for f in parliament.analyze_policy_string(json.dumps(doc)).findings
                    if f.issue != "RESOURCE_STAR"]  # GetQueryResults/StopQuery: see above
        assert findings == [], findings


def test_reader_trust_needs_principals() -> None:
    with pytest.raises(ValueError):
        logs.reader_trust_policy([])
    doc = logs.reader_trust_policy(["arn:aws:iam::1:role/b", "arn:aws:iam::1:role/a"])
    assert doc["Statement"][0]["Principal"] == {"AWS": ["arn:aws:iam::1:role/a", "arn:aws:iam::1:role/b"]}


def test_router_tolerates_tenant_and_pool_taints_but_not_the_system_nodes() -> None:
    keys = {t["key"] for t in logs.tolerations()}
    assert keys == {"tenancy/tenant", "tenancy/pool"}
    assert all(t["operator"] == "Exists" for t in logs.tolerations())


def test_a_tenants_extra_namespaces_route_to_its_own_group_only() -> None:
    """A tenant with several namespaces (``namespaces``): the files of each land in its group, in
    no other tenant's; the router may not run in one of them."""
    big = {**tenant("shop", 0), "namespaces": ["shop-batch"], "quota": {"cpu": "8", "memory": "16Gi", "pods": 40}}
    s = load_platform(spec_with([big, tenant("bank", 1)], observability={"logs": {"enabled": True}}))
    routes = logs.routes(logs.collector_config(s, "eu-west-1"))
    for ns, owner in (("shop", "shop"), ("shop-batch", "shop"), ("bank", "bank")):
        path = f"/var/log/pods/{ns}_web_0/c/0.log"
        hit = [name for name, (globs, _) in routes.items() if any(fnmatch.fnmatchcase(path, g) for g in globs)]
        assert hit == [f"logs/{owner}"], (ns, hit)
    [p] = _problems(spec_with([big], observability={"logs": {"enabled": True, "namespace": "shop-batch"}}))
    assert p.startswith("observability.logs.namespace") and "tenant 'shop'" in p
