"""tenancy verify's AWS checks as pure logic: an :class:`AwsState` built to mirror the render
(what a faithful deployment reads back as), then tampered with — a launch template giving a
tenant's nodes another tenant's security group, IMDSv1 re-enabled, an access entry mapping someone
to a tenant's admins, an inline policy added. (The same checks against moto's real API:
test_verify_aws.py.)"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tenancy.render import RenderResult, render_spec
from tenancy.review import facts as F
from tenancy.review import reachability as sg
from tenancy.review.diff import Render
from tenancy.verify import aws as A
from tenancy.verify import verify
from tenancy.verify.report import FAIL
from tests.fixtures.specs import small_spec


@pytest.fixture(scope="module")
def render() -> RenderResult:
    return render_spec(small_spec())


def as_rendered(resources: list[dict[str, Any]]) -> A.AwsState:
    st = A.AwsState(account=A.RENDER_ACCOUNT, access_entries={})
    for name, r in A.rendered_groups(resources).items():
        rules = []
        for x in resources:
            i = x.get("inputs") or {}
            if x["type"] in (sg.SG_INGRESS, sg.SG_EGRESS) and i.get("securityGroupId") == r["id"]:
                rule: dict[str, Any] = {"GroupId": r["id"], "IsEgress": x["type"] == sg.SG_EGRESS,
                                        "IpProtocol": str(i["ipProtocol"]), "SecurityGroupRuleId": x["urn"]}
                if rule["IpProtocol"] != "-1":
                    rule["FromPort"], rule["ToPort"] = int(i["fromPort"]), int(i["toPort"])
                if i.get("referencedSecurityGroupId"):
                    rule["ReferencedGroupInfo"] = {"GroupId": i["referencedSecurityGroupId"]}
                for k, live in (("prefixListId", "PrefixListId"), ("cidrIpv4", "CidrIpv4")):
                    if i.get(k):
                        rule[live] = i[k]
                rules.append(rule)
        st.groups[name] = {"GroupId": r["id"], "VpcId": "vpc-1", "rules": rules}
    lts = {x["id"]: x for x in resources if x["type"] == A.LAUNCH_TEMPLATE}
    for name, r in A.rendered_node_groups(resources).items():
        i = r["inputs"]
        st.node_groups[name] = {"taints": copy.deepcopy(i.get("taints") or []), "labels": dict(i.get("labels") or {}),
                                "launchTemplate": i.get("launchTemplate")}
        lt = lts.get((i.get("launchTemplate") or {}).get("id"))
        if lt:
            md = lt["inputs"].get("metadataOptions") or {}
            options = {"HttpTokens": md.get("httpTokens"), "HttpEndpoint": md.get("httpEndpoint"),
                       "HttpPutResponseHopLimit": md.get("httpPutResponseHopLimit")}
            st.launch_templates[name] = {"SecurityGroupIds": list(lt["inputs"]["vpcSecurityGroupIds"]),
                                         "MetadataOptions": options}
    for name, r in A.rendered_roles(resources).items():
        keys = {r["id"], name, r["outputs"].get("arn")}
        st.roles[name] = {
            "Arn": r["outputs"]["arn"], "trust": json.loads(r["inputs"]["assumeRolePolicy"]),
            "inline": {p["inputs"].get("name") or p["name"]: json.loads(p["inputs"]["policy"]) for p in resources
                       if p["type"] == F.IAM_ROLE_POLICY and p["inputs"]["role"] in keys},
            "attached": {a["inputs"]["policyArn"]: None for a in resources
                         if a["type"] == F.IAM_ATTACHMENT and a["inputs"]["role"] in keys}}
    for r in resources:
        if r["type"] == F.ACCESS_ENTRY:
            assert st.access_entries is not None
            st.access_entries[r["inputs"]["principalArn"]] = {"kubernetesGroups": r["inputs"].get("kubernetesGroups")
                                                              or []}
    return st


class Reader:
    def __init__(self, state: A.AwsState):
        self.state = state

    def read(self, resources: Any) -> A.AwsState:
        return self.state


def _fails(render: RenderResult, state: A.AwsState) -> list[tuple[str, str | None, str, str]]:
    report = verify(Render(Path("b"), render.project, render.stack, render.resources), aws=Reader(state))
    return sorted((r.check, r.tenant, r.object, r.detail) for r in report.results if r.status == FAIL)


def _group_id(render: RenderResult, name: str) -> str:
    return str(A.rendered_groups(render.resources)[name]["id"])


def test_as_rendered_holds(render: RenderResult) -> None:
    state = as_rendered(render.resources)
    report = verify(Render(Path("b"), render.project, render.stack, render.resources), aws=Reader(state))
    assert report.failures == []
    objects = {r.object for r in report.results}
    assert "launch template of node group acme-alpha" in objects
    assert "access entry arn:aws:iam::111122223333:role/alpha-admins" in objects


def test_nodes_given_another_tenants_group(render: RenderResult) -> None:
    state = as_rendered(render.resources)
    state.launch_templates["acme-alpha"]["SecurityGroupIds"].append(_group_id(render, "acme-gamma-nodes"))  # type: ignore[index]
    fails = _fails(render, state)
    assert ("drift.aws", "alpha", "launch template of node group acme-alpha",
            "nodes get security group acme-gamma-nodes, not in the render") in fails, fails
    # alpha's nodes now sit in gamma's group, which admits its own members: gamma reaches alpha
    assert any(c == "behaviour.network" and t == "alpha" and "gamma → alpha" in d for c, t, _, d in fails), fails
    assert any(c == "isolation" and o.startswith("network") for c, _, o, _ in fails), fails


def test_imdsv1_re_enabled(render: RenderResult) -> None:
    state = as_rendered(render.resources)
    state.launch_templates["acme-beta"]["MetadataOptions"]["HttpTokens"] = "optional"  # type: ignore[index]
    fails = _fails(render, state)
    assert [f[:3] for f in fails] == [("drift.aws", "beta", "launch template of node group acme-beta")], fails


def test_access_entry_to_a_tenants_admins(render: RenderResult) -> None:
    state = as_rendered(render.resources)
    assert state.access_entries is not None
    state.access_entries["arn:aws:iam::111122223333:role/contractor"] = {"kubernetesGroups": ["tenancy:beta:admins"]}
    fails = _fails(render, state)
    assert fails == [("drift.aws.extra", "beta", "access entry arn:aws:iam::111122223333:role/contractor",
                      "maps the principal to tenancy:beta:admins, not in the render")]


def test_inline_policy_reaching_a_peer(render: RenderResult) -> None:
    state = as_rendered(render.resources)
    role = state.roles["acme.beta.api"]
    assert role is not None
    role["inline"]["debug"] = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::any-bucket/tenants/alpha/*"}]}
    fails = _fails(render, state)
    assert ("drift.aws.extra", "beta", "IAM role acme.beta.api", "inline policy debug not in the render") in fails
    assert any(c == "isolation" and t == "beta" and "alpha's prefix" in d for c, t, _, d in fails), fails
    assert {t for _, t, _, _ in fails} == {"beta"}


def test_missing_resources(render: RenderResult) -> None:
    state = as_rendered(render.resources)
    del state.groups["acme-beta-nodes"]
    state.node_groups["acme-gamma"] = None
    state.roles["acme.alpha.app"] = None
    fails = {(c, t, o) for c, t, o, _ in _fails(render, state)}
    assert {("drift.aws", "beta", "security group acme-beta-nodes"), ("drift.aws", "gamma", "node group acme-gamma"),
            ("drift.aws", "alpha", "IAM role acme.alpha.app")} <= fails


def test_node_groups_are_found_by_their_prefix_only() -> None:
    """Node groups are rendered with a name prefix (replacements create first): the live group is
    the one whose name starts with the prefix — never another tenant's group sharing a stem."""
    from tenancy.verify.aws import live_node_group_name, node_group_key

    r = {"name": "beta-nodes", "inputs": {"nodeGroupNamePrefix": "acme-beta-"}}
    live = ["acme-beta-20261201abcdef", "acme-betamax-2026120199", "acme-beta2-20261201aa", "acme-alpha-1"]
    assert node_group_key(r) == "acme-beta"
    assert live_node_group_name(r, live) == ["acme-beta-20261201abcdef"]
    assert live_node_group_name(r, ["acme-betamax-1"]) == []  # negative control: a longer stem is not it
    fixed = {"name": "x", "inputs": {"nodeGroupName": "acme_system"}}
    assert live_node_group_name(fixed, ["acme_system", "acme_system-2"]) == ["acme_system"]
