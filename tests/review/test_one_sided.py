"""Each side of a wall on its own (issue 21): an opening on one side of a wall between two
tenants — an ingress rule admitting another tenant while its egress still blocks it, or the reverse,
on security groups and on NetworkPolicies — is a loosening in `tenancy diff` and a violation in
`tenancy check`, although no connection opens. Negative controls: the real renders (declared edges
included) have no one-sided opening, and closing the side again is a tightening."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tenancy.review import check
from tenancy.review.diff import diff_renders, load_render
from tenancy.review.facts import facts_of
from tests.helpers import review
from tests.review.test_check import _ingress_policy

Res = list[dict[str, Any]]
SG = "aws:ec2/securityGroup:SecurityGroup"


def _sg_rule(res: Res, kind: str, group_of: str, peer_of: str) -> None:
    group, peer = review.find(res, SG, group_of), review.find(res, SG, peer_of)
    res.append({"urn": f"urn:x::{kind}-{group_of}", "type": "aws:vpc/securityGroup" + (
        "IngressRule:SecurityGroupIngressRule" if kind == "ingress" else "EgressRule:SecurityGroupEgressRule"),
        "name": f"stray-{kind}", "tenant": group_of, "id": f"sgr-{kind}", "custom": True, "outputs": {},
        "inputs": {"securityGroupId": group["id"], "referencedSecurityGroupId": peer["id"], "ipProtocol": "tcp",
                   "fromPort": 5432, "toPort": 5432}})


def sg_ingress(res: Res) -> None:
    """beta's group admits alpha's on 5432; alpha's egress does not let it out."""
    _sg_rule(res, "ingress", "beta", "alpha")


def sg_egress(res: Res) -> None:
    """alpha's group lets it out towards beta's on 5432; beta's ingress does not admit it."""
    _sg_rule(res, "egress", "alpha", "beta")


def np_ingress(res: Res) -> None:
    res.append(_ingress_policy("beta", "alpha"))


CASES: list[tuple[Callable[[Res], None], str, str, str]] = [
    (sg_ingress, "securityGroupIngress", "sg-cross-tenant-declared", "beta's security groups now admit alpha"),
    (sg_egress, "securityGroupEgress", "sg-cross-tenant-declared",
     "alpha's security groups now let it out towards beta"),
    (np_ingress, "networkPolicyIngress", "np-cross-tenant-declared", "beta's NetworkPolicies now admit alpha"),
]


def _write(tmp: Path, name: str, res: Res) -> Path:
    return review.write(tmp, name, res)


@pytest.mark.parametrize(("fault", "side", "rule", "words"), CASES, ids=[c[0].__name__ for c in CASES])
def test_a_one_sided_opening_is_loosened_and_violates(tmp_path: Path, fault: Any, side: str, rule: str,
                                                      words: str) -> None:
    base = review.base()
    head = copy.deepcopy(base)
    fault(head)
    facts = facts_of(head)
    assert facts.sides[("alpha", "beta")][side], "the side is open"
    assert not facts.open("alpha", "beta"), "and yet no connection opens"
    d = diff_renders(load_render(_write(tmp_path, "b", base)), load_render(_write(tmp_path, "h", head)))
    loosened = [c for c in d["isolation"] if c["change"] == "loosened"]
    assert len(loosened) == 1 and words in loosened[0]["detail"] and "latent hole" in loosened[0]["detail"], loosened
    violations = [v for _, _, vs in check.run_checks(head) for v in vs]
    assert {v.rule for v in violations} == {rule}, violations
    # the reverse: closing the side again is a tightening
    back = diff_renders(load_render(_write(tmp_path, "h2", head)), load_render(_write(tmp_path, "b2", base)))
    assert [c["change"] for c in back["isolation"]] == ["tightened"]


@pytest.mark.parametrize("spec", ["base", "with_edge"])
def test_negative_control_real_renders_have_no_one_sided_wall(spec: str) -> None:
    res = review.base() if spec == "base" else review.with_edge()
    facts = facts_of(res)
    for pair, sides in facts.sides.items():
        opened = {k for k, v in sides.items() if v}
        assert opened in (set(), set(sides)), (pair, opened)  # all four sides, or none
    assert not [v for _, _, vs in check.run_checks(res) for v in vs]


def _nacl_spec(edge: bool) -> dict[str, Any]:
    spec = review.base_spec()
    spec.setdefault("network", {})["tenantNetworkAcls"] = True
    if not edge:
        for t in spec["tenants"]:
            t["allowFrom"] = []
    return spec


def test_a_network_acl_opening_between_tenants_is_loosened_and_violates(tmp_path: Path) -> None:
    """With tenantNetworkAcls: an allow rule on alpha's ACL admitting gamma's block (before the VPC
    deny) opens one side of the ACL wall; no edge joins alpha and gamma."""
    base = review.resources(_nacl_spec(edge=True))
    head = copy.deepcopy(base)
    acl = next(r for r in head if r["type"] == "aws:ec2/networkAcl:NetworkAcl" and r["tenant"] == "alpha")
    head.append({"urn": "urn:x::stray-acl", "type": "aws:ec2/networkAclRule:NetworkAclRule", "name": "stray",
                 "tenant": "alpha", "id": "nacl-stray", "custom": True, "outputs": {},
                 "inputs": {"networkAclId": acl["id"], "ruleNumber": 150, "egress": False, "ruleAction": "allow",
                            "cidrBlock": "10.40.0.0/16", "protocol": "-1"}})
    assert facts_of(head).sides[("gamma", "alpha")]["networkAclIngress"]
    d = diff_renders(load_render(_write(tmp_path, "b", base)), load_render(_write(tmp_path, "h", head)))
    loosened = [c for c in d["isolation"] if c["change"] == "loosened"]
    assert any("alpha's network ACL now admits gamma" in c["detail"] for c in loosened), loosened
    rules = {v.rule for _, _, vs in check.run_checks(head) for v in vs}
    assert rules == {"nacl-cross-tenant-declared"}, rules


def test_negative_control_network_acls_of_a_real_render_open_only_declared_edges() -> None:
    for edge in (True, False):
        res = review.resources(_nacl_spec(edge))
        facts = facts_of(res)
        assert any("networkAclEgress" in s for s in facts.sides.values())
        assert not [v for _, _, vs in check.run_checks(res) for v in vs], edge


def _np(ns: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"urn": f"urn:x::np-{ns}-{name}", "type": "kubernetes:networking.k8s.io/v1:NetworkPolicy", "tenant": ns,
            "name": f"{ns}/{name}", "id": f"{ns}/{name}", "custom": True, "outputs": {},
            "inputs": {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                       "metadata": {"name": name, "namespace": ns}, "spec": spec}}


def test_an_opening_that_needs_pod_labels_is_said_to_be_the_widest_case(tmp_path: Path) -> None:
    """Sound first, then precise: the facts assume some pod of each namespace matches a selector; when
    the opening holds only for labelled pods, the review says so instead of claiming more."""
    walled = review.base()
    # the NetworkPolicy layer alone (the Admin tier would close this undeclared path: checked below)
    base = [r for r in walled if not r["type"].endswith(":ClusterNetworkPolicy")]
    head = copy.deepcopy(base)
    api = {"matchLabels": {"app": "api"}}
    ns = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "beta"}}, "podSelector": api}
    head.append(_np("alpha", "to-beta-api", {"podSelector": api, "policyTypes": ["Egress"], "egress": [{"to": [ns]}]}))
    head.append(_np("beta", "from-alpha-api", {"podSelector": api, "policyTypes": ["Ingress"], "ingress": [{"from": [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "alpha"}}, "podSelector": api}]}]}))
    facts = facts_of(head)
    assert facts.network[("alpha", "beta")]["networkPolicy"] and ("alpha", "beta") in facts.label_dependent
    d = diff_renders(load_render(_write(tmp_path, "b", base)), load_render(_write(tmp_path, "h", head)))
    np_change = [c for c in d["isolation"] if c["peer"] == "alpha" and c["tenant"] == "beta"]
    assert np_change and "only between pods with particular labels" in np_change[0]["detail"], d["isolation"]
    # with the Admin tier (issue 26) the same policies open nothing: beta's wall denies alpha
    assert facts_of([*walled, *head[len(base):]]).network[("alpha", "beta")]["networkPolicy"] == []


def test_negative_control_a_namespace_wide_edge_is_not_qualified(tmp_path: Path) -> None:
    base, head = review.base(), review.with_edge()
    assert not facts_of(head).label_dependent & {(a, b) for a in facts_of(head).tenants for b in facts_of(head).tenants}
    d = diff_renders(load_render(_write(tmp_path, "b", base)), load_render(_write(tmp_path, "h", head)))
    assert d["isolation"] and not any("particular labels" in c["detail"] for c in d["isolation"])
