"""Port-scoped ``allowFrom`` edges on the AWS side, judged from what EC2 HOLDS (issue 28).

A platform where payments admits checkout on TCP 443 only and batch on UDP 5353-5360 only (and
batch admits checkout on every port, the bare-name form) is replayed into the AWS API emulator
(moto). Reachability is then decided from DescribeSecurityGroups and the launch templates by the
independent evaluator of tests/components/test_sg_judge_moto.py (written from the EC2 user guide,
sharing no code with tenancy/review), and ``tenancy verify`` runs against the same emulator.

Negative control: the edge's rules widened in EC2 to every protocol (as a console edit would)
are seen by the judge (TCP 80 opens) and fail verify (drift, behaviour.network, isolation), for
payments and checkout only; restoring the rules makes verify pass again.
"""

from __future__ import annotations

import ipaddress
import itertools
from typing import Any

import pytest

from tenancy.render import RenderResult, render_spec
from tenancy.review.diff import Render
from tenancy.verify import verify
from tenancy.verify.report import FAIL
from tests.components.test_platform_replay import _replay_platform
from tests.components.test_sg_judge_moto import Eni, _flow
from tests.fixtures.specs import spec_with, tenant
from tests.helpers import aws_replay
from tests.helpers.verify_aws import EnforcedCallProber, aws_client

pytestmark = pytest.mark.slow

SPEC = spec_with([
    tenant("payments", 0, allowFrom=[{"tenant": "checkout", "ports": [{"port": 443}]},
                                     {"tenant": "batch", "ports": [{"port": 5353, "endPort": 5360,
                                                                    "protocol": "UDP"}]}]),
    tenant("checkout", 1),
    tenant("batch", 2, allowFrom=["checkout"]),
])
PROBES = [("tcp", 443), ("tcp", 80), ("tcp", 8443), ("udp", 443), ("udp", 5353), ("udp", 5360), ("udp", 5361),
          ("tcp", 5353)]
ALLOWED = {  # written out by hand from SPEC: (source, destination) -> the probes that must pass
    ("checkout", "payments"): {("tcp", 443)},
    ("batch", "payments"): {("udp", 5353), ("udp", 5360)},
    ("checkout", "batch"): set(PROBES),
}


@pytest.fixture(scope="module")
def render() -> RenderResult:
    return render_spec(SPEC)


def _enis(moto: Any, ctx: Any, render: RenderResult) -> tuple[dict[str, dict[str, Any]], dict[str, Eni]]:
    ec2 = moto.client("ec2")
    groups = {g["GroupId"]: g for g in ec2.describe_security_groups()["SecurityGroups"]}
    subnets = ec2.describe_subnets()["Subnets"]
    enis = {}
    for name in ("payments", "checkout", "batch"):
        lt = next(r for r in render.resources if r["type"] == "aws:ec2/launchTemplate:LaunchTemplate"
                  and r.get("tenant") == name)
        data = ec2.describe_launch_template_versions(
            LaunchTemplateId=ctx.resolve(lt["id"]))["LaunchTemplateVersions"][0]["LaunchTemplateData"]
        ids = set(data.get("SecurityGroupIds") or [])
        for ni in data.get("NetworkInterfaces") or []:
            ids |= set(ni.get("Groups") or [])
        mine = sorted(s["CidrBlock"] for s in subnets
                      if {"Key": "tenancy/tenant", "Value": name} in (s.get("Tags") or []))
        assert ids and mine, name
        enis[name] = Eni(name, frozenset(ids), ipaddress.IPv4Network(mine[0]).network_address + 10)
    return groups, enis


def _judge(groups: dict[str, dict[str, Any]], enis: dict[str, Eni]) -> dict[tuple[str, str], set[tuple[str, int]]]:
    return {(x, y): {(p, n) for p, n in PROBES if _flow(groups, enis[x], enis[y], p, n)}
            for x, y in itertools.permutations(enis, 2)}


def _verify(moto: Any, result: RenderResult) -> Any:
    return verify(Render(_path(), result.project, result.stack, result.resources), aws=aws_client(moto),
                  prober=EnforcedCallProber(moto), identity={"aws": "test"})


def _path() -> Any:
    from pathlib import Path

    return Path("build/test")


def test_ec2_holds_exactly_the_declared_ports_and_verify_fails_a_widened_edge(
        moto_server: Any, render: RenderResult, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aws_replay, "HANDLERS", dict(aws_replay.HANDLERS))
    ctx = _replay_platform(moto_server, render)
    groups, enis = _enis(moto_server, ctx, render)
    reach = _judge(groups, enis)
    assert reach == {pair: ALLOWED.get(pair, set()) for pair in reach}
    assert _verify(moto_server, render).failures == []

    # negative control: payments' edge from checkout widened in EC2 to every protocol and port
    ec2 = moto_server.client("ec2")
    gid = {g["GroupName"]: g["GroupId"] for g in groups.values()}
    pay, chk = gid["acme-payments-nodes"], gid["acme-checkout-nodes"]
    wide_in = [{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": chk}]}]
    wide_out = [{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": pay}]}]
    ec2.authorize_security_group_ingress(GroupId=pay, IpPermissions=wide_in)
    ec2.authorize_security_group_egress(GroupId=chk, IpPermissions=wide_out)
    groups, _ = _enis(moto_server, ctx, render)
    widened = _judge(groups, enis)
    assert ("tcp", 80) in widened[("checkout", "payments")] and ("udp", 443) in widened[("checkout", "payments")]
    report = _verify(moto_server, render)
    fails = sorted((r.check, r.tenant, r.object) for r in report.results if r.status == FAIL)
    assert ("behaviour.network", "payments", "security groups of payments's nodes") in fails, fails
    assert ("drift.aws.extra", "payments", "security group acme-payments-nodes") in fails, fails
    iso = [r for r in report.failures if r.check == "isolation"]
    assert [(r.tenant, r.object) for r in iso] == [("payments", "network (peer checkout)")], [r.line() for r in iso]
    assert "widened" in iso[0].detail and "any/0-65535" in iso[0].detail
    # the extra egress rule is on checkout's group (drift); batch is blamed for nothing
    assert ("drift.aws.extra", "checkout", "security group acme-checkout-nodes") in fails, fails
    assert {t for _, t, _ in fails} == {"payments", "checkout"}, fails
    net = next(r for r in report.failures if r.check == "behaviour.network")
    assert "checkout → payments" in net.detail and "any/0-65535" in net.detail
    ec2.revoke_security_group_ingress(GroupId=pay, IpPermissions=wide_in)
    ec2.revoke_security_group_egress(GroupId=chk, IpPermissions=wide_out)
    assert _verify(moto_server, render).failures == []
    del ctx
