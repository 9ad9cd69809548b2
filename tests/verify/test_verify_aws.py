"""tenancy verify's AWS layer against a real AWS API (moto): the whole render replayed into it
(tests/components/test_platform_replay.py's replay), verify → every check holds; then each kind of tampering
from the console — a security group rule admitting another tenant, a broad policy attached to a
workload role, a node group's taint removed — fails verify (exit 3) naming the check, the tenant
and the object, and reverting it makes verify pass again (the negative control)."""

from __future__ import annotations

from typing import Any

import pytest

from tenancy.render import RenderResult, render_spec
from tenancy.review.diff import Render
from tenancy.verify import verify
from tenancy.verify.report import FAIL
from tests.components.test_platform_replay import _replay_platform
from tests.fixtures.specs import small_spec
from tests.helpers import aws_replay
from tests.helpers.verify_aws import EnforcedCallProber, aws_client

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def render() -> RenderResult:
    return render_spec(small_spec())


def _verify(moto: Any, result: RenderResult) -> Any:
    prober = EnforcedCallProber(moto)
    report = verify(Render(_path(), result.project, result.stack, result.resources), aws=aws_client(moto),
                    prober=prober, identity={"aws": "test"})
    return report, prober


def _path() -> Any:
    from pathlib import Path

    return Path("build/test")


def _failures(report: Any) -> list[tuple[str, str | None, str]]:
    return sorted((r.check, r.tenant, r.object) for r in report.results if r.status == FAIL)


def test_verify_aws_holds_then_finds_each_tampering(moto_server: Any, render: RenderResult,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aws_replay, "HANDLERS", dict(aws_replay.HANDLERS))
    ctx = _replay_platform(moto_server, render)
    report, prober = _verify(moto_server, render)
    assert report.failures == [], "\n".join(r.line() for r in report.failures)
    checks = {r.check for r in report.results}
    assert {"drift.aws", "behaviour.s3", "behaviour.placement", "behaviour.network", "isolation"} <= checks
    # the S3 probes really ran: own prefix allowed, peers' and the root denied, for every workload role
    s3 = [r for r in report.results if r.check == "behaviour.s3"]
    assert {r.object for r in s3} == {"IAM role acme.alpha.app", "IAM role acme.beta.api", "IAM role acme.beta.worker"}
    assert prober.calls >= 3 * 3
    # the launch template each node group runs was read back from EC2 (groups, IMDS options)
    lt = {r.object: r.status for r in report.results if r.object.startswith("launch template")}
    assert lt == {f"launch template of node group acme-{t}": "pass" for t in ("alpha", "beta", "gamma")} | (
        {"launch template of node group acme_system": "pass"} if "launch template of node group acme_system" in lt
        else {})
    # moto does not serve ListAccessEntries: reported as skipped, never as passed; the S3 ranges of the
    # tenancy-allow-s3 policies need the cluster (tests/verify/test_verify_s3_ranges.py)
    assert [r.object for r in report.results if r.status == "skip" and r.check != "saved-queries"] == [
        "access entries", "tenancy-allow-s3 NetworkPolicies"]
    # no Logs Insights runner given: each tenant's saved queries are reported, skipped (issue 27)
    assert {r.status for r in report.results if r.check == "saved-queries"} == {"skip"}

    ec2, iam, eks = moto_server.client("ec2"), moto_server.client("iam"), moto_server.client("eks")
    gid = {g["GroupName"]: g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]}

    # 1. a rule on alpha's group admitting gamma's nodes (alpha declares only beta)
    perm = [{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
             "UserIdGroupPairs": [{"GroupId": gid["acme-gamma-nodes"]}]}]
    ec2.authorize_security_group_ingress(GroupId=gid["acme-alpha-nodes"], IpPermissions=perm)
    report, _ = _verify(moto_server, render)
    fails = _failures(report)
    assert ("drift.aws.extra", "alpha", "security group acme-alpha-nodes") in fails, fails
    assert ("behaviour.network", "alpha", "security groups of alpha's nodes") in fails, fails
    assert any(c == "isolation" and t == "alpha" and o.startswith("network") for c, t, o in fails), fails
    assert all(t == "alpha" for _, t, _ in fails), fails  # nothing else is blamed
    net = next(r for r in report.failures if r.check == "behaviour.network")
    assert "gamma → alpha" in net.detail and "5432" in net.detail
    ec2.revoke_security_group_ingress(GroupId=gid["acme-alpha-nodes"], IpPermissions=perm)
    assert _verify(moto_server, render)[0].failures == []

    # 2. a broad managed policy attached to alpha's workload role
    broad = "arn:aws:iam::aws:policy/AmazonS3FullAccess"
    iam.attach_role_policy(RoleName="acme.alpha.app", PolicyArn=broad)
    report, _ = _verify(moto_server, render)
    fails = _failures(report)
    assert ("drift.aws.extra", "alpha", "IAM role acme.alpha.app") in fails, fails
    assert ("behaviour.s3", "alpha", "IAM role acme.alpha.app") in fails, fails
    iso = [r for r in report.failures if r.check == "isolation"]
    assert iso and all(r.tenant == "alpha" and r.object.startswith("iam") for r in iso), [r.line() for r in iso]
    assert any("beta's prefix" in r.detail for r in iso)
    s3 = next(r for r in report.failures if r.check == "behaviour.s3")
    assert "allowed s3://" in s3.detail and "tenants/beta/" in s3.detail
    iam.detach_role_policy(RoleName="acme.alpha.app", PolicyArn=broad)
    assert _verify(moto_server, render)[0].failures == []

    # 3. beta's node group loses its taint
    # node groups are named from a prefix (replacements create first): EKS holds prefix + suffix
    [beta_ng] = [n for n in eks.list_nodegroups(clusterName="acme")["nodegroups"] if n.startswith("acme-beta-")]
    ng = eks.describe_nodegroup(clusterName="acme", nodegroupName=beta_ng)["nodegroup"]
    _set_taints(moto_server, ng, [])
    report, _ = _verify(moto_server, render)
    fails = _failures(report)
    assert ("behaviour.placement", "beta", "beta's node groups") in fails, fails
    assert ("drift.aws", "beta", "node group acme-beta") in fails, fails
    assert any(c == "isolation" and t == "beta" and o.startswith("placement") for c, t, o in fails), fails
    assert all(t == "beta" for _, t, _ in fails), fails
    _set_taints(moto_server, ng, ng["taints"])
    assert _verify(moto_server, render)[0].failures == []
    del ctx


def _set_taints(moto: Any, ng: dict[str, Any], taints: list[dict[str, Any]]) -> None:
    eks = moto.client("eks")
    current = eks.describe_nodegroup(clusterName=ng["clusterName"], nodegroupName=ng["nodegroupName"])["nodegroup"]
    remove = [t for t in current.get("taints") or [] if t not in taints]
    add = [t for t in taints if t not in (current.get("taints") or [])]
    eks.update_nodegroup_config(clusterName=ng["clusterName"], nodegroupName=ng["nodegroupName"],
                                taints={"addOrUpdateTaints": add, "removeTaints": remove})
    now = eks.describe_nodegroup(clusterName=ng["clusterName"], nodegroupName=ng["nodegroupName"])["nodegroup"]
    assert sorted(map(str, now.get("taints") or [])) == sorted(map(str, taints)), "moto did not update the taints"
