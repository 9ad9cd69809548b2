"""Saved queries judged on sample records in the platform's formats, by an independent evaluator of
the Logs Insights subset they use (tests/helpers/logs_insights.py), against hand-written expected
results; each query's pure twin must agree with the evaluator; dashboards read only the tenant's
namespaces."""

from __future__ import annotations

import json
import random
import re
from typing import Any

import pytest

from tenancy.plan import network as netplan
from tenancy.plan import observability as plan
from tenancy.spec import PlatformSpec
from tests.fixtures.specs import spec_with, tenant
from tests.helpers import logs_insights as li

SPEC = PlatformSpec.model_validate(spec_with())  # alpha slot 0, beta slot 1, gamma slot 2; 10.40.0.0/16, /21 blocks
ALPHA_POD, BETA_POD, GAMMA_POD = "10.40.16.25", "10.40.24.9", "10.40.33.7"
SYSTEM_NODE, PUBLIC_LB, INTERNET = "10.40.8.10", "10.40.1.5", "93.184.216.34"


# --------------------------------------------------------------------------------------------
# Audit log: audit.k8s.io/v1 Event objects, as EKS writes them to kube-apiserver-audit-* streams


def audit_event(user: str, verb: str, resource: str, namespace: str | None, code: int) -> dict[str, Any]:
    ref: dict[str, Any] = {"resource": resource, "apiVersion": "v1", "name": "x"}
    if namespace is not None:
        ref["namespace"] = namespace
    return {
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": "8b8e7c4e",
        "stage": "ResponseComplete", "requestURI": f"/api/v1/{resource}", "verb": verb,
        "user": {"username": user, "groups": ["system:authenticated"]}, "sourceIPs": ["10.40.16.4"],
        "userAgent": "kubectl/v1.33.0", "objectRef": ref, "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": "2026-12-06T07:00:00.000000Z", "stageTimestamp": "2026-12-06T07:00:00.010000Z",
    }


AUDIT = [
    ("kube-apiserver-audit-0a1b", audit_event("alice", "get", "pods", "alpha", 200)),
    ("kube-apiserver-audit-0a1b", audit_event("alice", "get", "pods", "alpha", 200)),
    ("kube-apiserver-audit-9f9f", audit_event("mallory", "delete", "secrets", "alpha", 403)),
    ("kube-apiserver-audit-0a1b", audit_event("bob", "list", "configmaps", "beta", 200)),
    ("kube-apiserver-audit-0a1b", audit_event("root", "list", "nodes", None, 200)),  # cluster-scoped
    ("authenticator-0a1b", audit_event("alice", "get", "pods", "alpha", 200)),  # not an audit stream
]


def audit_events() -> list[dict[str, Any]]:
    return [{"@logStream": s, "@message": json.dumps(e)} for s, e in AUDIT]


def test_who_accessed_my_namespace_finds_exactly_the_tenants_events() -> None:
    rows = li.run(plan.audit_query(["alpha"]), audit_events())
    got = {(r["user.username"], r["verb"], r["objectRef.resource"], r["objectRef.namespace"],
            r["responseStatus.code"]): r["requests"] for r in rows}
    assert got == {("alice", "get", "pods", "alpha", 200): 2, ("mallory", "delete", "secrets", "alpha", 403): 1}
    assert rows[0]["requests"] == 2  # sorted, most requests first
    beta = li.run(plan.audit_query(["beta"]), audit_events())
    assert [(r["user.username"], r["requests"]) for r in beta] == [("bob", 1)]


def test_the_audit_twin_agrees_with_the_evaluator() -> None:
    for ns in (["alpha"], ["beta"], ["gamma"], ["alpha", "beta"]):
        q = li.run(plan.audit_query(ns).split("\n| stats")[0], audit_events())
        twin = [e for e in audit_events() if plan.audit_matches(e["@logStream"], json.loads(e["@message"]), ns)]
        assert len(q) == len(twin), ns


# --------------------------------------------------------------------------------------------
# Flow logs: records in the platform's custom format (the ${field} list of FLOW_LOG_FORMAT)

FORMAT_FIELDS = re.findall(r"\$\{([a-z-]+)\}", netplan.FLOW_LOG_FORMAT)


def flow_record(src: str, dst: str, dport: int = 8080, action: str = "ACCEPT", nbytes: int = 840) -> dict[str, str]:
    values = {
        "version": "5", "account-id": "111122223333", "interface-id": "eni-0a1b2c3d", "srcaddr": src, "dstaddr": dst,
        "srcport": "40000", "dstport": str(dport), "protocol": "6", "packets": "10", "bytes": str(nbytes),
        "start": "1733468400", "end": "1733468460", "action": action, "log-status": "OK", "vpc-id": "vpc-0a1b",
        "subnet-id": "subnet-0a1b", "instance-id": "i-0a1b", "tcp-flags": "2", "type": "IPv4",
        "pkt-srcaddr": src, "pkt-dstaddr": dst, "az-id": "euw1-az1", "flow-direction": "ingress", "traffic-path": "-",
    }
    assert set(values) == set(FORMAT_FIELDS), "the sample does not cover the configured format"
    return {"@logStream": "eni-0a1b2c3d-all", "@message": " ".join(values[f] for f in FORMAT_FIELDS)}


FLOWS = [
    flow_record(BETA_POD, ALPHA_POD),                            # beta → alpha: the allowFrom edge
    flow_record(BETA_POD, ALPHA_POD),
    flow_record(GAMMA_POD, ALPHA_POD, 5432, "REJECT", 60),      # gamma → alpha: refused
    flow_record(ALPHA_POD, "10.40.17.3"),                        # inside alpha
    flow_record(SYSTEM_NODE, ALPHA_POD, 10250),                  # platform (kubelet)
    flow_record(PUBLIC_LB, ALPHA_POD, 443),                      # load balancer subnets
    flow_record(INTERNET, ALPHA_POD, 443),                       # outside the VPC
    flow_record("-", "-"),                                       # no packet addresses (NODATA style)
    flow_record(ALPHA_POD, BETA_POD, 9000),                      # alpha → beta
]


def test_the_parse_pattern_has_one_glob_per_configured_field() -> None:
    clause = plan.flow_parse_clause()
    assert clause.count("*") == len(FORMAT_FIELDS) == len(plan.FLOW_FIELD_NAMES)
    parsed = li.run(clause, [flow_record(BETA_POD, ALPHA_POD)])[0]
    assert (parsed["pkt_srcaddr"], parsed["pkt_dstaddr"], parsed["dstport"], parsed["action"]) == \
        (BETA_POD, ALPHA_POD, "8080", "ACCEPT")


def test_flows_from_other_tenants_finds_exactly_the_foreign_flows() -> None:
    rows = li.run(plan.flow_query(SPEC, "alpha"), FLOWS)
    got = {(r["pkt_srcaddr"], r["pkt_dstaddr"], r["dstport"], r["action"]): (r["flows"], r["bytes"]) for r in rows}
    assert got == {(BETA_POD, ALPHA_POD, "8080", "ACCEPT"): (2, 1680),
                   (GAMMA_POD, ALPHA_POD, "5432", "REJECT"): (1, 60)}
    beta = li.run(plan.flow_query(SPEC, "beta"), FLOWS)
    assert [(r["pkt_srcaddr"], r["dstport"]) for r in beta] == [(ALPHA_POD, "9000")]
    assert li.run(plan.flow_query(SPEC, "gamma"), FLOWS) == []


def test_negative_control_a_query_without_the_own_block_exclusion_counts_the_tenants_own_flows() -> None:
    own = str(plan.tenant_block(SPEC, "alpha"))
    broken = plan.flow_query(SPEC, "alpha").replace(f' and not isIpv4InSubnet(pkt_srcaddr, "{own}")', "")
    assert broken != plan.flow_query(SPEC, "alpha")
    srcs = {r["pkt_srcaddr"] for r in li.run(broken, [*FLOWS, flow_record("10.40.17.3", ALPHA_POD)])}
    assert "10.40.17.3" in srcs


def test_the_flow_twin_agrees_with_the_evaluator_on_random_records() -> None:
    rng = random.Random(27)
    pool = [ALPHA_POD, BETA_POD, GAMMA_POD, SYSTEM_NODE, PUBLIC_LB, INTERNET, "-", "10.41.0.1"]
    records = []
    for _ in range(300):
        a = rng.choice(pool) if rng.random() < 0.3 else f"10.40.{rng.randrange(0, 64)}.{rng.randrange(1, 255)}"
        b = rng.choice(pool) if rng.random() < 0.3 else f"10.40.{rng.randrange(0, 64)}.{rng.randrange(1, 255)}"
        records.append(flow_record(a, b))
    for t in ("alpha", "beta", "gamma"):
        parsed = li.run(plan.flow_parse_clause(), records)
        twin = sum(plan.flow_matches(SPEC, t, r) for r in parsed)
        judged = li.run(plan.flow_query(SPEC, t).split("\n| stats")[0], records)
        assert len(judged) == twin, t
        assert 0 < twin < len(records), t  # the sample exercises both outcomes


def test_a_pooled_tenant_queries_its_pools_block() -> None:
    spec = PlatformSpec.model_validate(spec_with(
        [tenant("a", 0), tenant("p1", 0, pool="shared"), tenant("p2", 0, pool="shared")],
        nodePools=[{"name": "shared", "slot": 5}]) | {"tenants": [
            {"name": "a", "slot": 0}, {"name": "p1", "pool": "shared"}, {"name": "p2", "pool": "shared"}]})
    assert plan.tenant_block(spec, "p1") == spec.address_plan.tenant_block(5)
    assert str(spec.address_plan.tenant_block(5)) in plan.flow_query(spec, "p2")


def test_the_evaluator_refuses_what_it_does_not_know() -> None:
    with pytest.raises(ValueError):
        li.run("filter isIpv6InSubnet(a, \"::/0\")", [])
    with pytest.raises(ValueError):
        li.run("dedup a", [])


# --------------------------------------------------------------------------------------------
# Dashboards, saved query list


def test_a_dashboard_reads_only_its_namespaces() -> None:
    body = plan.dashboard_body("acme", "eu-west-1", ["alpha"])
    assert plan.dashboard_namespaces(body) == {"alpha"}
    for w in body["widgets"]:
        for m in w["properties"]["metrics"]:
            assert m[:2] == [plan.METRIC_NAMESPACE, w["properties"]["title"]]
            assert dict(zip(m[2::2], m[3::2], strict=True)) == {"ClusterName": "acme", "Namespace": "alpha"}


def test_saved_queries_follow_the_flow_log_destination_and_the_switch() -> None:
    assert [q["kind"] for q in plan.saved_queries(SPEC, "alpha")] == ["audit", "flows"]
    s3 = PlatformSpec.model_validate(spec_with(network={"flowLogs": {"destination": "s3"}}))
    assert [q["kind"] for q in plan.saved_queries(s3, "alpha")] == ["audit"]
    off = PlatformSpec.model_validate(spec_with(observability={"savedQueries": False}))
    assert plan.saved_queries(off, "alpha") == []
