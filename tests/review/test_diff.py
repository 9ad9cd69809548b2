"""`tenancy diff` over real renders, with each isolation change injected, and negative controls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tenancy.cli import main
from tenancy.review.diff import Render, RenderInputError, diff_renders, load_render, markdown
from tests.helpers import review

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


def _diff(base: list[dict[str, Any]], head: list[dict[str, Any]]) -> dict[str, Any]:
    return diff_renders(Render(Path("base"), "tenancy", "review", base),
                        Render(Path("head"), "tenancy", "review", head))


def _iso(d: dict[str, Any], change: str, layer: str) -> list[dict[str, Any]]:
    return [c for c in d["isolation"] if c["change"] == change and c["layer"] == layer]


def test_same_render_has_no_changes() -> None:
    d = _diff(review.base(), review.base())
    assert d["resources"] == [] and d["isolation"] == []
    assert d["tenants"] == {"added": [], "removed": [], "changed": []}


def test_added_tenant_touches_nobody_else() -> None:
    d = _diff(review.base(), review.with_tenant())
    assert d["tenants"]["added"] == ["delta"] and d["tenants"]["removed"] == [] and d["tenants"]["changed"] == []
    # The one shared object a new tenant changes: the cluster-autoscaler's priority expander, which
    # names every node group (pulumi-kubernetes replaces a ConfigMap whose data changes).
    shared = [r for r in d["resources"] if r["tenant"] is None]
    assert [(r["type"], r["name"].rsplit("_", 1)[-1], r["action"]) for r in shared] == [
        ("kubernetes:core/v1:ConfigMap", "cluster-autoscaler-configmap", "replace")]
    mine = [r for r in d["resources"] if r["tenant"] is not None]
    assert mine and {r["action"] for r in mine} == {"create"}
    assert {r["tenant"] for r in mine} == {"delta"}, "resources of untouched tenants must not appear"
    # delta admits gamma (its allowFrom): the only isolation change, found from SG rules + NetworkPolicies
    assert d["isolation"] == [{"change": "loosened", "layer": "network", "tenant": "delta", "peer": "gamma",
                               "detail": d["isolation"][0]["detail"]}]
    assert "gamma can now open connections to delta" in d["isolation"][0]["detail"]
    # removing it again: deletes, and the retained namespace is reported as such
    back = _diff(review.with_tenant(), review.base())
    actions = {(r["type"].rsplit(":", 1)[-1], r["action"]) for r in back["resources"]}
    assert ("Namespace", "retain") in actions and ("NodeGroup", "delete") in actions
    assert back["tenants"]["removed"] == ["delta"]


def test_allow_from_edge_loosens_network_both_layers() -> None:
    d = _diff(review.base(), review.with_edge())
    [c] = _iso(d, "loosened", "network")
    assert (c["tenant"], c["peer"]) == ("beta", "gamma")
    assert "gamma can now open connections to beta" in c["detail"]
    assert "SG rule" in c["detail"] and "NetworkPolicy" in c["detail"]
    assert d["tenants"]["changed"] == ["beta"]
    rev = _diff(review.with_edge(), review.base())
    [t] = _iso(rev, "tightened", "network")
    assert (t["tenant"], t["peer"]) == ("beta", "gamma") and "no longer" in t["detail"]
    assert not _iso(rev, "loosened", "network")


def test_security_group_rule_alone_is_reported_as_still_closed() -> None:
    head = review.base()
    alpha = review.find(head, "aws:ec2/securityGroup:SecurityGroup", "alpha")
    gamma = review.find(head, "aws:ec2/securityGroup:SecurityGroup", "gamma")
    for typ, sg, peer in (("Ingress", gamma, alpha), ("Egress", alpha, gamma)):
        head.append({"urn": f"urn:x::{typ}", "type": f"aws:vpc/securityGroup{typ}Rule:SecurityGroup{typ}Rule",
                     "name": f"injected-{typ}", "tenant": None, "id": f"sgr-{typ}", "custom": True,
                     "inputs": {"securityGroupId": sg["id"], "referencedSecurityGroupId": peer["id"],
                                "ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432}, "outputs": {}})
    d = _diff(review.base(), head)
    [c] = _iso(d, "loosened", "network")
    assert (c["tenant"], c["peer"]) == ("gamma", "alpha")
    assert "SG rule now admit alpha → gamma (tcp/5432)" in c["detail"] and "NetworkPolicy" in c["detail"]


def _mutate(fn) -> dict[str, Any]:
    head = review.base()
    fn(head)
    return _diff(review.base(), head)


def test_widened_iam_prefix_loosens_iam() -> None:
    def widen(res: list[dict[str, Any]]) -> None:
        p = review.find(res, "aws:iam/rolePolicy:RolePolicy", "alpha")
        p["inputs"]["policy"] = p["inputs"]["policy"].replace("tenants/alpha/*", "tenants/*")

    d = _mutate(widen)
    got = {(c["tenant"], c["peer"]) for c in _iso(d, "loosened", "iam")}
    assert got == {("alpha", "beta"), ("alpha", "gamma")}
    objects = [c for c in _iso(d, "loosened", "iam") if "read and write objects under" in c["detail"]]
    assert {c["peer"] for c in objects} == {"beta", "gamma"}
    assert "beta's prefix" in next(c["detail"] for c in objects if c["peer"] == "beta")
    [r] = d["resources"]
    assert r["action"] == "update" and r["changed"] == ["policy"]


def test_trust_of_another_service_account_loosens_iam() -> None:
    def trust(res: list[dict[str, Any]]) -> None:
        role = review.find(res, "aws:iam/role:Role", "alpha", "alpha.app")
        doc = json.loads(role["inputs"]["assumeRolePolicy"])
        cond = doc["Statement"][0]["Condition"]["StringEquals"]
        key = next(k for k in cond if k.endswith(":sub"))
        cond[key] = [cond[key], "system:serviceaccount:beta:api"]
        role["inputs"]["assumeRolePolicy"] = json.dumps(doc)

    d = _mutate(trust)
    [c] = _iso(d, "loosened", "iam")
    assert (c["tenant"], c["peer"]) == ("alpha", "beta") and "system:serviceaccount:beta:api" in c["detail"]


def test_rolebinding_verb_loosens_rbac() -> None:
    def verb(res: list[dict[str, Any]]) -> None:
        role = review.find(res, "kubernetes:rbac.authorization.k8s.io/v1:Role", "beta", "tenancy-edit")
        role["inputs"]["rules"].append({"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"],
                                        "verbs": ["create"]})

    d = _mutate(verb)
    [c] = _iso(d, "loosened", "rbac")
    assert c["tenant"] == "beta" and "networking.k8s.io/networkpolicies:create" in c["detail"]
    assert "fences" in c["detail"]


def test_dropped_taint_loosens_placement_as_an_update() -> None:
    def drop(res: list[dict[str, Any]]) -> None:
        review.find(res, NODE_GROUP, "alpha")["inputs"]["taints"] = []

    d = _mutate(drop)
    [c] = _iso(d, "loosened", "placement")
    assert c["tenant"] == "alpha" and "tenancy/tenant=alpha:NO_SCHEDULE" in c["detail"]
    [r] = d["resources"]
    assert (r["action"], r["changed"]) == ("update", ["taints"])


def test_off_boarding_removes_nodes_without_loosening_placement() -> None:
    """Off-boarding's phase one deletes the tenant's node group; admission still pins its pods to
    nodes that no longer exist, so none is scheduled anywhere: a change, not a loosening. Negative
    control: the same nodes gone with the placement policy unbound, and the pods could land on any
    node: loosened."""
    spec = review.base_spec()
    spec["tenants"][0]["offboarding"] = True
    head = review.resources(spec)
    tenant = spec["tenants"][0]["name"]
    d = _diff(review.base(), head)
    assert not _iso(d, "loosened", "placement")
    [c] = _iso(d, "changed", "placement")
    assert c["tenant"] == tenant and "none can be scheduled" in c["detail"]

    for r in head:
        if r["type"].endswith("ValidatingAdmissionPolicyBinding"):
            r["inputs"]["spec"]["validationActions"] = ["Audit"]
    unpinned = _diff(review.base(), head)
    assert tenant in {c["tenant"] for c in _iso(unpinned, "loosened", "placement")}


def test_relabelled_pod_security_loosens_admission() -> None:
    def relabel(res: list[dict[str, Any]]) -> None:
        ns = review.find(res, "kubernetes:core/v1:Namespace", "gamma")
        ns["inputs"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "baseline"

    d = _mutate(relabel)
    [c] = _iso(d, "loosened", "admission")
    assert c["tenant"] == "gamma" and "restricted → baseline" in c["detail"]
    tight = _diff(_apply(relabel), review.base())
    assert [x["change"] for x in tight["isolation"]] == ["tightened"]


def _apply(fn) -> list[dict[str, Any]]:
    res = review.base()
    fn(res)
    return res


def test_unbound_admission_policy_loosens_every_tenant() -> None:
    def unbind(res: list[dict[str, Any]]) -> None:
        b = review.find(res, "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding")
        b["inputs"]["spec"]["validationActions"] = ["Audit"]

    d = _mutate(unbind)
    assert {c["tenant"] for c in _iso(d, "loosened", "admission")} == {"alpha", "beta", "gamma"}


def test_a_new_admission_policy_is_picked_up_generically() -> None:
    def add(res: list[dict[str, Any]]) -> None:
        vap = json.loads(json.dumps(review.find(res, "kubernetes:admissionregistration.k8s.io/v1:"
                                                     "ValidatingAdmissionPolicy")))
        vap["urn"] += "-2"
        vap["inputs"]["metadata"]["name"] = "tenancy-service-exposure"
        res.append(vap)

    d = _mutate(add)
    assert [c["change"] for c in _iso(d, "tightened", "admission")] == ["tightened"]
    assert [r["action"] for r in d["resources"]] == ["create"]


def test_replacing_inputs_make_replace_actions() -> None:
    def rename(res: list[dict[str, Any]]) -> None:
        g = review.find(res, NODE_GROUP, "beta")
        g["inputs"]["nodeGroupNamePrefix"] = g["inputs"]["nodeGroupNamePrefix"] + "v2-"  # a new prefix: ForceNew
        review.find(res, "aws:ec2/subnet:Subnet", "beta")["inputs"]["cidrBlock"] = "10.40.99.0/24"
        g2 = review.find(res, NODE_GROUP, "gamma")
        g2["inputs"]["scalingConfig"]["desiredSize"] = 7  # ignoreChanges: never shown

    d = _mutate(rename)
    acts = {r["type"].rsplit(":", 1)[-1]: r for r in d["resources"]}
    assert set(acts) == {"NodeGroup", "Subnet"}
    assert acts["NodeGroup"]["action"] == "replace"
    assert set(acts["NodeGroup"]["replacedBy"]) == {"nodeGroupNamePrefix"}
    assert acts["Subnet"]["action"] == "replace" and acts["Subnet"]["replacedBy"] == ["cidrBlock"]


def test_cli_formats_and_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    b = review.write(tmp_path, "base", review.base())
    h = review.write(tmp_path, "head", review.with_edge())
    assert main(["diff", str(b), str(h)]) == 0
    md = capsys.readouterr().out
    assert "| **loosened** | network | beta | gamma |" in md and "#### Resource changes" in md
    assert main(["diff", str(b), str(h), "--fail-on-loosened"]) == 3
    capsys.readouterr()
    assert main(["diff", str(h), str(b), "--fail-on-loosened", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= {"tenants", "resources", "isolation"}
    assert set(doc["tenants"]) == {"added", "removed", "changed"}
    assert all(set(r) >= {"urn", "type", "name", "tenant", "action", "changed"} for r in doc["resources"])
    assert all(set(c) == {"change", "layer", "tenant", "peer", "detail"} for c in doc["isolation"])
    # bad input: exit 2 with the fix named
    assert main(["diff", str(b), str(tmp_path / "nope")]) == 2
    assert "tenancy render" in capsys.readouterr().err
    other = review.write(tmp_path, "other", review.base(), stack="prod")
    assert main(["diff", str(b), str(other)]) == 2
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "resources.json").write_text("{")
    assert main(["diff", str(b), str(tmp_path / "broken")]) == 2


def test_load_render_rejects_non_renders(tmp_path: Path) -> None:
    (tmp_path / "resources.json").write_text(json.dumps({"resources": [{"x": 1}]}))
    with pytest.raises(RenderInputError, match="not a tenancy render"):
        load_render(tmp_path)


def test_markdown_escapes_and_truncates() -> None:
    d = _diff(review.base(), review.with_tenant())
    md = markdown(d, max_resources=3)
    assert "more" in md and md.count("| create |") + md.count("| replace |") == 3
