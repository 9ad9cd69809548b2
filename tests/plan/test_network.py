"""The pure network plan: rule sets, quotas, NACL numbering, flow-log policies."""

from __future__ import annotations

import json

import parliament
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenancy.plan import network as plan
from tenancy.plan.validate import load_platform
from tenancy.spec import EdgePort, SpecError
from tests.fixtures.specs import spec_with, tenant


def test_no_ingress_from_outside_on_node_groups():
    groups = [plan.tenant_rules(True, True), plan.tenant_rules(False), plan.system_rules(),
              plan.control_plane_rules(())]
    for rules in groups:
        for r in rules:
            if r.direction == "ingress":
                assert r.is_sg_reference, r
    assert [r.peer for r in plan.endpoint_rules()] == [plan.VPC]
    assert plan.shared_rules(plan.TENANT_NODES) == []


def test_api_access_rules_on_the_control_plane_only_443():
    peers = plan.api_access_peers(["10.9.0.0/24", "10.40.0.0/16"], ["sg-0123456789abcdef0"], "10.40.0.0/16")
    assert peers == ["cidr:10.9.0.0/24", plan.VPC, "sg:sg-0123456789abcdef0"]
    rules = [r for r in plan.control_plane_rules(peers) if r.key.startswith("in-api-")]
    assert [(r.peer, r.from_port, r.to_port, r.direction) for r in rules] == [
        (p, 443, 443, "ingress") for p in peers]
    assert len({r.key for r in rules}) == 3
    # unset: the VPC; empty: none
    assert plan.api_access_peers(None, [], "10.40.0.0/16") == [plan.VPC]
    assert plan.api_access_peers([], [], "10.40.0.0/16") == []
    # today's code had no rule for anyone but the nodes (D1): the default must admit the VPC
    assert any(r.peer == plan.VPC for r in plan.shared_rules(plan.CONTROL_PLANE) if r.direction == "ingress")


def test_rule_keys_unique_per_group():
    for rules in (plan.tenant_rules(True, True), plan.system_rules(), plan.control_plane_rules()):
        keys = [r.key for r in rules]
        assert len(keys) == len(set(keys))


def test_internet_egress_is_the_only_open_egress_of_a_tenant():
    closed = plan.tenant_rules(False)
    opened = plan.tenant_rules(True)
    assert plan.INTERNET not in {r.peer for r in closed}
    assert [r for r in opened if r not in closed] == [r for r in opened if r.peer == plan.INTERNET]


def test_edge_rules_point_both_ways():
    ((ing, eg),) = plan.edge_rules("alpha", "beta")
    assert (ing.direction, ing.peer) == ("ingress", "tenant:beta")
    assert (eg.direction, eg.peer) == ("egress", "tenant:alpha")


def test_rule_counts_follow_edges():
    counts = plan.rule_counts({"a": ["b", "c"], "b": ["a"], "c": []}, {"c": True})
    base_in = sum(r.direction == "ingress" for r in plan.tenant_rules(False))
    base_out = sum(r.direction == "egress" for r in plan.tenant_rules(False))
    assert counts["a"] == (base_in + 2, base_out + 1)
    assert counts["c"] == (base_in, base_out + 1 + 1)  # internet + allowed by a


@given(st.integers(0, 4093), st.integers(0, 4093))
def test_nacl_numbers_never_collide(a, b):
    """Every entry a NACL can hold has its own number: own/platform/deny/allow fixed ones, and
    for each peer slot one number per side that declared the edge."""
    if a == b:
        return
    on_a, on_b = plan.nacl_edge_rule_numbers(a, b)          # a allows b
    on_b2, on_a2 = plan.nacl_edge_rule_numbers(b, a)        # b allows a
    fixed = {plan.NACL_OWN_BLOCK, plan.NACL_PLATFORM_BLOCKS, plan.NACL_DENY_VPC, plan.NACL_ALLOW_REST}
    assert len({on_a, on_a2} | fixed) == 6 and len({on_b, on_b2} | fixed) == 6
    assert all(plan.NACL_PLATFORM_BLOCKS < n < plan.NACL_DENY_VPC for n in (on_a, on_a2, on_b, on_b2))


def test_platform_blocks_cidr():
    assert plan.platform_blocks_cidr("10.40.0.0/16", 21) == "10.40.0.0/20"


def test_quota_is_checked_by_the_spec():
    ts = [tenant(f"t{i}", i, allowFrom=[f"t{j}" for j in range(12) if j != i]) for i in range(12)]
    load_platform(spec_with(ts))  # 4 + 11 inbound rules: fine
    with pytest.raises(SpecError, match="securityGroupRuleQuota"):
        load_platform(spec_with(ts, network={"securityGroupRuleQuota": 10}))
    with pytest.raises(SpecError, match=r"network ACL would need 26 rules"):
        load_platform(spec_with(ts, network={"tenantNetworkAcls": True}))
    load_platform(spec_with(ts, network={"tenantNetworkAcls": True, "networkAclRuleQuota": 26}))


def test_zone_names_are_checked():
    with pytest.raises(SpecError, match="network.zoneNames: lists 2 zone"):
        load_platform(spec_with(network={"zoneNames": ["eu-west-1a", "eu-west-1b"]}))
    with pytest.raises(SpecError, match="not an availability zone"):
        load_platform(spec_with(network={"zoneNames": ["eu-west-1a", "eu-west-1b", "west"]}))
    with pytest.raises(SpecError, match="twice"):
        load_platform(spec_with(network={"zoneNames": ["eu-west-1a", "eu-west-1a", "eu-west-1b"]}))


LOG_GROUP = "arn:aws:logs:eu-west-1:111122223333:log-group:/tenancy/acme/vpc-flow-logs"


def test_flow_log_policies_are_scoped_and_lint_clean():
    role = plan.flow_logs_role_policy(LOG_GROUP)
    findings = parliament.analyze_policy_string(role).findings
    assert not [f for f in findings if f.severity in ("CRITICAL", "HIGH", "MEDIUM")], findings
    deliver, describe = json.loads(role)["Statement"]
    assert all(r.startswith(LOG_GROUP) for r in deliver["Resource"])
    # the AWS-documented flow-log role also has DescribeLogGroups (a list action: log-group:*)
    assert describe["Action"] == ["logs:DescribeLogGroups"]
    assert describe["Resource"] == ["arn:aws:logs:eu-west-1:111122223333:log-group:*"]
    trust = json.loads(plan.flow_logs_trust_policy(LOG_GROUP))["Statement"][0]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "111122223333"}
    assert trust["Condition"]["ArnLike"]["aws:SourceArn"].startswith("arn:aws:ec2:eu-west-1:111122223333:")
    bucket = plan.flow_logs_bucket_policy("arn:aws:s3:::logs", "111122223333")
    assert not [f for f in parliament.analyze_policy_string(bucket).findings if f.severity in ("CRITICAL", "HIGH")]


def test_flow_log_format_attributes_records_to_subnets():
    assert "${subnet-id}" in plan.FLOW_LOG_FORMAT and "${pkt-srcaddr}" in plan.FLOW_LOG_FORMAT
    assert plan.FLOW_LOG_AGGREGATION_SECONDS in (60, 600)


def test_endpoints():
    assert plan.interface_endpoints() == ["ecr.api", "ecr.dkr", "sts", "ec2", "logs"]
    assert plan.interface_endpoints("podIdentity")[-1] == "eks-auth"
    assert plan.endpoint_service_name("eu-west-1", "ecr.api") == "com.amazonaws.eu-west-1.ecr.api"


def test_subnet_tags():
    tags = plan.subnet_tags({"tenancy/tenant": "a"}, "acme", "tenant", "acme-a-az0")
    assert tags["kubernetes.io/cluster/acme"] == "shared" and tags["kubernetes.io/role/internal-elb"] == "1"
    assert "kubernetes.io/role/elb" not in tags
    assert plan.subnet_tags({}, "acme", "public", "x")["kubernetes.io/role/elb"] == "1"


# --------------------------------------------------------------------------------------------
# Port-scoped edges (allowFrom: [{tenant, ports}])


def _ports(*entries: dict[str, object]) -> list[EdgePort]:
    return [EdgePort.model_validate(e) for e in entries]


def test_port_scoped_edge_rules_open_exactly_the_declared_ports_on_both_sides():
    pairs = plan.edge_rules("payments", "checkout", _ports(
        {"port": 443}, {"port": 5353, "protocol": "UDP"}, {"port": 8000, "endPort": 8080},
        {"port": 9000, "protocol": "SCTP"}))
    got = [(i.protocol, i.from_port, i.to_port, i.peer, e.protocol, e.from_port, e.to_port, e.peer, i.key)
           for i, e in pairs]
    assert got == [
        ("tcp", 443, 443, "tenant:checkout", "tcp", 443, 443, "tenant:payments", "payments-from-checkout-tcp-443"),
        ("udp", 5353, 5353, "tenant:checkout", "udp", 5353, 5353, "tenant:payments",
         "payments-from-checkout-udp-5353"),
        ("tcp", 8000, 8080, "tenant:checkout", "tcp", 8000, 8080, "tenant:payments",
         "payments-from-checkout-tcp-8000-8080"),
        # SCTP: AWS takes protocol 132 and opens all its ports (no ports may be given)
        ("132", None, None, "tenant:checkout", "132", None, None, "tenant:payments",
         "payments-from-checkout-sctp-9000"),
    ]
    assert all((i.direction, e.direction) == ("ingress", "egress") for i, e in pairs)
    assert not any(plan.ALL in (i.protocol, e.protocol) for i, e in pairs)
    # an edge without ports keeps its one all-protocol pair and its key (no resource renamed)
    ((i, e),) = plan.edge_rules("payments", "checkout")
    assert (i.protocol, e.protocol, i.key) == (plan.ALL, plan.ALL, "payments-from-checkout")


def test_rule_counts_count_one_rule_per_port_entry_per_peer():
    spec = load_platform(spec_with([
        tenant("a", 0, allowFrom=[
            {"tenant": "b", "ports": [{"port": 443}, {"port": 80}, {"port": 53, "protocol": "UDP"}]}, "c"]),
        tenant("b", 1), tenant("c", 2, allowFrom=[{"tenant": "b", "ports": [{"port": 5432}]}])]))
    per = plan.edge_rule_counts(spec.tenants)
    assert per == {("a", "b"): 3, ("a", "c"): 1, ("c", "b"): 1}
    allow = {t.name: t.peers for t in spec.tenants}
    counts = plan.rule_counts(allow, {}, edge_rules_per=per)
    base_in = sum(r.direction == "ingress" for r in plan.tenant_rules(False))
    base_out = sum(r.direction == "egress" for r in plan.tenant_rules(False))
    assert counts["a"] == (base_in + 3 + 1, base_out)
    assert counts["b"] == (base_in, base_out + 3 + 1)  # egress towards a (3 ports) and c (1)
    assert counts["c"] == (base_in + 1, base_out + 1)


def test_the_spec_counts_port_entries_against_the_security_group_rule_quota():
    base_in = sum(r.direction == "ingress" for r in plan.tenant_rules(False))
    base_out = sum(r.direction == "egress" for r in plan.tenant_rules(False))

    def edges(k: int) -> dict[str, object]:  # a allows b1 and b2 on k ports each
        ports = [{"port": 1000 + n} for n in range(k)]
        allow = [{"tenant": "b1", "ports": ports}, {"tenant": "b2", "ports": ports}]
        return spec_with([tenant("a", 0, allowFrom=allow), tenant("b1", 1), tenant("b2", 2)])

    k = (60 - base_in) // 2
    load_platform(edges(k))  # a: exactly 60 inbound rules
    with pytest.raises(SpecError) as err:
        load_platform(edges(k + 1))
    (p,) = err.value.problems
    assert p.path == "tenants[0].allowFrom"
    assert f"{base_in + 2 * (k + 1)} inbound rules" in p.message and "port entry" in p.message
    # the peer's egress grows with the ports it is allowed on: one peer, many ports
    n = 60 - base_out
    one = [{"port": 1000 + m} for m in range(n + 1)]
    with pytest.raises(SpecError) as err:
        load_platform(spec_with([tenant("a", 0, allowFrom=[{"tenant": "b", "ports": one}]), tenant("b", 1)]))
    (p,) = err.value.problems
    assert p.path == "tenants[1].allowFrom" and f"{60 + 1} outbound rules" in p.message
    load_platform(spec_with([tenant("a", 0, allowFrom=[{"tenant": "b", "ports": one[:-1]}]), tenant("b", 1)]))
