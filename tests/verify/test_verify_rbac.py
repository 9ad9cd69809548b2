"""``tenancy verify --print-rbac`` (issue 24): every request a whole verify run makes (drift with
extras, access reviews, dry runs as each tenant's editor, node reads) is allowed by the printed
ClusterRole, judged request by request by an RBAC rule matcher; a role with any one rule taken out
leaves a request refused (negative control); impersonation is limited by name to the tenants'
dry-run editors. The live judge is tests/live/test_verify_rbac_live.py."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from tenancy.cli import main
from tenancy.render import render_spec, write_render
from tenancy.render.result import is_kubernetes_object, manifest_of
from tenancy.review.diff import Render
from tenancy.verify import verify
from tenancy.verify.rbac import group_of, parse_subject, resource_of, verifier_rbac
from tests.verify.test_verify_kube import _server_defaults
from tests.verify.test_verify_kube_pools import PolicyCluster
from tests.verify.test_verify_kube_pools import resources as pooled_resources  # noqa: F401 - fixture


def allows(rules: Sequence[Mapping[str, Any]], group: str, resource: str, verb: str, name: str = "") -> bool:
    """The RBAC authorizer's rule match (``plugin/pkg/auth/authorizer/rbac/rbac.go`` ``RuleAllows``):
    group, resource and verb match (or ``*``); resourceNames, when set, must hold the name."""
    for r in rules:
        if "nonResourceURLs" in r:
            continue
        if not ({group, "*"} & set(r["apiGroups"]) and {resource, "*"} & set(r["resources"])
                and {verb, "*"} & set(r["verbs"])):
            continue
        if r.get("resourceNames") and name not in r["resourceNames"]:
            continue
        return True
    return False


class Judged(PolicyCluster):
    """Each request verify makes, judged against ``rules`` first: refused ones are recorded."""

    def __init__(self, objs: Sequence[Mapping[str, Any]], rules: Sequence[Mapping[str, Any]]):
        super().__init__(objs)
        self.rules, self.refused, self.asked = rules, [], 0

    def _check(self, group: str, resource: str, verb: str, name: str = "") -> None:
        self.asked += 1
        if not allows(self.rules, group, resource, verb, name):
            self.refused.append((verb, group, resource, name))

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        self._check(group_of(api_version), resource_of(kind), "get", name)
        return super().get(api_version, kind, name, namespace)

    def list(self, api_version: str, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        self._check(group_of(api_version), resource_of(kind), "list")
        return super().list(api_version, kind, namespace)

    def can(self, *args: Any, **kw: Any) -> bool:
        self._check("authorization.k8s.io", "subjectaccessreviews", "create")
        return False

    def dry_run_create(self, obj: Mapping[str, Any], user: str, groups: Sequence[str]) -> tuple[bool, int, str]:
        self._check("", "users", "impersonate", user)
        for g in groups:
            self._check("", "groups", "impersonate", g)
        return super().dry_run_create(obj, user, groups)


def _objs(resources: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    objs = [_server_defaults(manifest_of(r)) for r in resources if is_kubernetes_object(r)]
    # an extra binding of a tenant's group to a ClusterRole: verify then reads that role by name
    objs += [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "odd"},
              "rules": []},
             {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "odd"},
              "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "odd"},
              "subjects": [{"kind": "Group", "name": "tenancy:beta:viewers"}]},
             {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "labels": {}}},
             # the PolicyEndpoint CRD: verify then lists PolicyEndpoints
             {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
              "metadata": {"name": "policyendpoints.networking.k8s.aws"}}]
    return objs


def _run(resources: Sequence[Mapping[str, Any]], rules: Sequence[Mapping[str, Any]]) -> Judged:
    cluster = Judged(_objs(resources), rules)
    verify(Render(Path("build/t"), "tenancy", "t", list(resources)), kube=cluster)
    return cluster


def test_every_request_of_a_run_is_allowed_and_every_rule_is_needed(
        pooled_resources: list[dict[str, Any]]) -> None:  # noqa: F811
    role, binding = verifier_rbac(pooled_resources)
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    run = _run(pooled_resources, role["rules"])
    assert run.refused == [] and run.asked > 100
    kinds = {r["resources"][0] for r in role["rules"] if "resources" in r}
    assert {"securitygrouppolicies", "priorityclasses", "storageclasses", "nodes", "clusterroles",
            "customresourcedefinitions", "policyendpoints"} <= kinds, kinds
    # negative control: each resource rule taken out leaves a request of the run refused
    for i, rule in enumerate(role["rules"]):
        if "nonResourceURLs" in rule or rule["resources"] == ["selfsubjectreviews"]:
            continue  # the client's discovery and whoami: not in this fake (the live test covers them)
        narrowed = copy.deepcopy(role["rules"])
        del narrowed[i]
        assert _run(pooled_resources, narrowed).refused, rule


def test_impersonation_is_limited_to_the_tenants_dry_run_editors(
        pooled_resources: list[dict[str, Any]]) -> None:  # noqa: F811
    role, _ = verifier_rbac(pooled_resources)
    imp = [r for r in role["rules"] if "impersonate" in r.get("verbs", [])]
    assert {r["resources"][0] for r in imp} == {"users", "groups"}
    assert all(r["resourceNames"] and "*" not in r["resourceNames"] for r in imp)
    names = {n for r in imp for n in r["resourceNames"]}
    assert names == {f"tenancy:{t}:editors" for t in ("alpha", "beta", "gamma")} | \
        {f"tenancy-verify:{t}:edit" for t in ("alpha", "beta", "gamma")}
    for who in ("system:masters", "system:nodes", "tenancy:beta:admins", "system:admin"):
        assert not allows(role["rules"], "", "groups", "impersonate", who)
        assert not allows(role["rules"], "", "users", "impersonate", who)
    # nothing written, no wildcard, nothing secret
    for r in role["rules"]:
        assert set(r["verbs"]) <= {"get", "list", "create", "impersonate"}, r
        assert "*" not in r.get("apiGroups", []) + r.get("resources", []) + r["verbs"], r
        assert "create" not in r["verbs"] or r["resources"] in (["subjectaccessreviews"], ["selfsubjectreviews"]), r
    assert not allows(role["rules"], "", "secrets", "get", "x") and not allows(role["rules"], "", "pods", "create")


def test_resource_names_follow_the_api_servers_guess() -> None:
    assert [resource_of(k) for k in ("NetworkPolicy", "Endpoints", "Ingress", "StorageClass", "Namespace")] == \
        ["networkpolicies", "endpoints", "ingresses", "storageclasses", "namespaces"]


def test_print_rbac_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.fixtures.specs import small_spec

    out_dir = write_render(render_spec(small_spec()), tmp_path / "render")
    capsys.readouterr()
    assert main(["verify", "--render", str(out_dir), "--print-rbac", "--rbac-subject", "ServiceAccount:ci/verify"]) == 0
    docs = [d for d in yaml.safe_load_all(capsys.readouterr().out) if d]
    assert [d["kind"] for d in docs] == ["ClusterRole", "ClusterRoleBinding"]
    assert docs[1]["subjects"] == [{"kind": "ServiceAccount", "name": "verify", "namespace": "ci"}]
    assert main(["verify", "--render", str(out_dir), "--print-rbac"]) == 0
    assert yaml.safe_load_all(capsys.readouterr().out).__next__()["kind"] == "ClusterRole"
    for bad in ("Team:x", "ServiceAccount:verify", "Group:"):
        assert main(["verify", "--render", str(out_dir), "--print-rbac", "--rbac-subject", bad]) == 2
        assert "--rbac-subject" in capsys.readouterr().err
    with pytest.raises(ValueError, match="Group:NAME"):
        parse_subject("nobody")


def test_a_mesh_adds_the_istio_kinds_it_renders() -> None:
    from tests.fixtures.specs import small_spec

    spec = small_spec()
    spec.setdefault("workloads", {}).update({"mesh": "istio", "istio": {"preinstalled": True, "cni": True}})
    rules = verifier_rbac(render_spec(spec).resources)[0]["rules"]
    names = {n for r in rules if r.get("apiGroups") == ["security.istio.io"] for n in r.get("resourceNames", [])}
    assert {r["resources"][0] for r in rules if r.get("apiGroups") == ["security.istio.io"]} == \
        {"authorizationpolicies", "peerauthentications"} and names
    assert not any(r.get("apiGroups") == ["security.istio.io"] for r in verifier_rbac(
        render_spec(small_spec()).resources)[0]["rules"])
