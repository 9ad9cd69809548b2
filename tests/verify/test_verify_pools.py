"""tenancy verify's AWS checks on a platform with node pools: a faithful deployment holds; a
pool node group that lost its taint, a pool's node group opened to another pool, and a pooled
tenant's pod group admitting another tenant are each reported (pure logic over an AwsState that
mirrors the render, as in test_verify_aws_checks.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenancy.render import RenderResult, render_spec
from tenancy.review.diff import Render
from tenancy.verify import aws as A
from tenancy.verify import verify
from tests.helpers import pools as P
from tests.verify.test_verify_aws_checks import Reader, _fails, _group_id, as_rendered


@pytest.fixture(scope="module")
def render() -> RenderResult:
    return render_spec(P.pooled_spec())


def test_a_faithful_pooled_deployment_holds(render: RenderResult) -> None:
    report = verify(Render(Path("b"), render.project, render.stack, render.resources),
                    aws=Reader(as_rendered(render.resources)))
    assert report.failures == []
    objects = {r.object for r in report.results}
    assert "node group acme-pool-shared-a" in objects and "security group acme-pool-shared-a-nodes" in objects
    assert "security group acme-media-nodes" in objects


def test_a_pool_node_group_without_its_taint(render: RenderResult) -> None:
    state = as_rendered(render.resources)
    state.node_groups["acme-pool-shared-b"]["taints"] = []
    fails = _fails(render, state)
    assert ("drift.aws", None, "node group acme-pool-shared-b",
            "taint tenancy/pool=shared-b:NO_SCHEDULE missing") in fails, fails


def test_a_pooled_tenants_group_admitting_another_tenant(render: RenderResult) -> None:
    state = as_rendered(render.resources)
    idle, news = _group_id(render, "acme-idle-nodes"), _group_id(render, "acme-news-nodes")
    state.groups["acme-idle-nodes"]["rules"].append({
        "GroupId": idle, "IsEgress": False, "IpProtocol": "-1", "SecurityGroupRuleId": "sgr-stray",
        "ReferencedGroupInfo": {"GroupId": news}})
    state.groups["acme-news-nodes"]["rules"].append({
        "GroupId": news, "IsEgress": True, "IpProtocol": "-1", "SecurityGroupRuleId": "sgr-stray-out",
        "ReferencedGroupInfo": {"GroupId": idle}})
    fails = _fails(render, state)
    assert any(c == "drift.aws.extra" and o == "security group acme-idle-nodes" for c, _, o, _ in fails), fails
    assert any(c == "behaviour.network" and t == "idle" and "news → idle" in d for c, t, _, d in fails), fails


def test_a_pool_group_opened_to_another_pools_nodes(render: RenderResult) -> None:
    state = as_rendered(render.resources)
    a, b = _group_id(render, "acme-pool-shared-a-nodes"), _group_id(render, "acme-pool-shared-b-nodes")
    state.groups["acme-pool-shared-a-nodes"]["rules"].append({
        "GroupId": a, "IsEgress": False, "IpProtocol": "-1", "SecurityGroupRuleId": "sgr-pools",
        "ReferencedGroupInfo": {"GroupId": b}})
    fails = _fails(render, state)
    assert any(c == "drift.aws.extra" and o == "security group acme-pool-shared-a-nodes" for c, _, o, _ in fails)
    assert A.rendered_groups(render.resources)["acme-pool-shared-a-nodes"].get("tenant") is None
