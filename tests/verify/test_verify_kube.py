"""tenancy verify's Kubernetes checks over an in-memory cluster (a fake reader holding the
render's objects with the defaults an API server adds): drift, extras and the isolation facts
comparison, with each tampering of the issue (a NetworkPolicy deleted, a RoleBinding to a broad
ClusterRole, a namespace relabelled) failing and naming the tenant. Behaviour (access reviews,
dry-run admission) needs a real API server: tests/live/test_verify_live.py."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tenancy.render import RenderResult, render_spec
from tenancy.render.result import is_kubernetes_object, manifest_of
from tenancy.review.diff import Render
from tenancy.verify import kube as K
from tenancy.verify import verify
from tenancy.verify.report import FAIL
from tests.fixtures.specs import small_spec


def _server_defaults(obj: dict[str, Any]) -> dict[str, Any]:
    """What a real API server adds on the way in (so that defaults are not read as drift)."""
    o = copy.deepcopy(obj)
    o.setdefault("metadata", {})["uid"] = "x"
    if o["kind"] == "ValidatingAdmissionPolicy":
        mc = o["spec"].setdefault("matchConstraints", {})
        mc.setdefault("matchPolicy", "Equivalent")
        mc.setdefault("objectSelector", {})
        for rule in mc.get("resourceRules") or []:
            rule.setdefault("scope", "*")
    if o["kind"] == "NetworkPolicy":
        for key in ("ingress", "egress"):
            for rule in o["spec"].get(key) or []:
                for port in rule.get("ports") or []:
                    port.setdefault("protocol", "TCP")
    if o["kind"] == "ResourceQuota":  # quantities come back canonical
        o["spec"]["hard"] = {k: ("1Gi" if v == "1024Mi" else v) for k, v in o["spec"]["hard"].items()}
    return o


class FakeCluster:
    def __init__(self, objs: Sequence[Mapping[str, Any]]):
        self.objs: dict[tuple[str, str, str | None, str], dict[str, Any]] = {}
        for o in objs:
            self.put(dict(o))

    def put(self, o: dict[str, Any]) -> None:
        m = o["metadata"]
        self.objs[(o["apiVersion"], o["kind"], m.get("namespace"), m["name"])] = o

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        o = self.objs.get((api_version, kind, namespace, name))
        return copy.deepcopy(o) if o else None

    def list(self, api_version: str, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return [copy.deepcopy(o) for (a, k, ns, _), o in self.objs.items()
                if a == api_version and k == kind and (namespace is None or ns == namespace)]

    def can(self, *args: Any, **kw: Any) -> bool:
        return False

    def dry_run_create(self, obj: Mapping[str, Any], user: str, groups: Sequence[str]) -> tuple[bool, int, str]:
        pinned = (obj.get("spec") or {}).get("nodeSelector", {}).get("tenancy/tenant") == obj["metadata"]["namespace"]
        privileged = "privileged" in str(obj)
        greedy = "vpc.amazonaws.com/pod-eni" in str(obj)  # the placement policy's branch-interface rules
        ok = obj["kind"] == "Pod" and pinned and not privileged and not greedy
        return (True, 201, "") if ok else (False, 422, "denied request: fake")


@pytest.fixture(scope="module")
def render() -> RenderResult:
    return render_spec(small_spec())


def _cluster(render: RenderResult) -> FakeCluster:
    objs = [_server_defaults(manifest_of(r)) for r in render.resources if is_kubernetes_object(r)]
    objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "admin"},
                 "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]})
    return FakeCluster(objs)


def _run(render: RenderResult, cluster: FakeCluster) -> list[tuple[str, str | None, str]]:
    report = verify(Render(Path("build/t"), render.project, render.stack, render.resources), kube=cluster)
    return sorted((r.check, r.tenant, r.object) for r in report.results if r.status == FAIL)


def test_as_rendered_every_check_holds(render: RenderResult) -> None:
    assert _run(render, _cluster(render)) == []


def test_deleted_network_policy(render: RenderResult) -> None:
    cluster = _cluster(render)
    [key] = [k for k in cluster.objs if k[1] == "NetworkPolicy" and k[2] == "alpha" and "default-deny" in k[3]]
    del cluster.objs[key]
    fails = _run(render, cluster)
    assert ("drift.kubernetes", "alpha", f"NetworkPolicy alpha/{key[3]}") in fails, fails
    assert {t for _, t, _ in fails} == {"alpha"}
    # the default-deny alone: alpha's other policies (empty podSelector) still isolate it, so the
    # isolation facts do not loosen; with every policy gone they do
    for k in [k for k in cluster.objs if k[1] == "NetworkPolicy" and k[2] == "alpha"]:
        del cluster.objs[k]
    fails = _run(render, cluster)
    assert any(c == "isolation" and t == "alpha" and o.startswith("network") for c, t, o in fails), fails


def test_rolebinding_to_a_broad_clusterrole(render: RenderResult) -> None:
    cluster = _cluster(render)
    cluster.put({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                 "metadata": {"name": "helpdesk", "namespace": "beta"},
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
                 "subjects": [{"kind": "Group", "name": "tenancy:beta:editors"}]})
    fails = _run(render, cluster)
    assert ("drift.kubernetes.extra", "beta", "RoleBinding beta/helpdesk") in fails, fails
    assert any(c == "isolation" and t == "beta" and o.startswith("rbac") for c, t, o in fails), fails
    assert {t for _, t, _ in fails} == {"beta"}


def test_clusterrolebinding_of_a_tenant_group_elsewhere(render: RenderResult) -> None:
    cluster = _cluster(render)
    cluster.put({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                 "metadata": {"name": "oops"},
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
                 "subjects": [{"kind": "Group", "name": "tenancy:gamma:viewers"}]})
    fails = _run(render, cluster)
    assert ("drift.kubernetes.extra", "gamma", "ClusterRoleBinding oops") in fails, fails


@pytest.mark.parametrize("label,value,loosens", [
    ("pod-security.kubernetes.io/enforce", "privileged", True),   # Pod Security off
    ("tenancy/tenant", None, True),                                # the placement policy no longer selects it
    ("tenancy/tenant", "alpha", False),                            # still selected: drift only
])
def test_relabelled_namespace(render: RenderResult, label: str, value: str | None, loosens: bool) -> None:
    cluster = _cluster(render)
    ns = cluster.objs[("v1", "Namespace", None, "gamma")]
    if value is None:
        del ns["metadata"]["labels"][label]
    else:
        ns["metadata"]["labels"][label] = value
    fails = _run(render, cluster)
    assert ("drift.kubernetes", "gamma", "Namespace gamma") in fails, fails
    if value == "alpha":
        # issue 26: alpha's Admin-tier wall passes traffic between namespaces labelled alpha, so a
        # namespace relabelled alpha joins alpha's side of the walls: the facts see alpha <-> gamma open
        assert {t for _, t, _ in fails} == {"gamma", "alpha"}
        assert any(c == "isolation" and o.startswith("network") for c, _, o in fails), fails
    else:
        assert {t for _, t, _ in fails} == {"gamma"}
    iso = any(c == "isolation" and t == "gamma" and o.startswith("admission") for c, t, o in fails)
    assert iso == loosens, fails


def test_differences_compare_what_the_render_sets() -> None:
    assert K.differences({"a": {"b": [1, "1Gi"]}}, {"a": {"b": [1.0, "1024Mi"], "c": 1}, "d": 2}) == []
    assert K.differences({"a": [1, 2]}, {"a": [1]}) != []
    assert K.differences({"a": {"b": "x"}}, {"a": {"b": "y"}}) == ["..a.b: rendered 'x', live 'y'".replace("..", ".")]


def test_quota_refusals_are_not_fences(render: RenderResult) -> None:
    """A tenant at its quota: the pinned pod's refusal is a skip (not a broken platform); a
    must-refuse probe stopped only by the quota is a failure (no fence refused it)."""
    cluster = _cluster(render)
    fenced = cluster.dry_run_create

    def at_quota(obj: Mapping[str, Any], user: str, groups: Sequence[str]) -> tuple[bool, int, str]:
        ok, code, msg = fenced(obj, user, groups)
        if obj["metadata"]["namespace"] == "beta" and (ok or "privileged" in str(obj)):
            return False, 403, 'pods "x" is forbidden: exceeded quota: tenancy-quota, requested: pods=1'
        return ok, code, msg

    cluster.dry_run_create = at_quota  # type: ignore[method-assign]
    report = verify(Render(Path("build/t"), render.project, render.stack, render.resources), kube=cluster)
    beta = {(r.status, r.object.split(": ", 1)[1]) for r in report.results
            if r.check == "behaviour.admission" and r.tenant == "beta"}
    assert ("skip", "pinned restricted pod (the platform must stay usable)") in beta
    assert ("fail", "privileged pod") in beta
    assert [r.tenant for r in report.failures] == ["beta"]


LONG_REFUSAL = ('admission webhook "vpol.tenancy.io" denied the request: ValidatingAdmissionPolicy '
                "'tenancy-placement' with binding 'tenancy-placement' denied request: pods of tenant beta must "
                "select the nodes of their own tenant (nodeSelector tenancy/tenant=beta) and tolerate only "
                "their taint; this pod selects someone else's nodes: a deliberately long explanation")


def test_refusal_reasons_are_kept_whole_and_shown_cut_at_a_word(render: RenderResult) -> None:
    """The admission server's whole message is the result's detail (JSON output); the Markdown's
    "Every check" table shortens it at a word boundary, never mid-word."""
    cluster = _cluster(render)
    cluster.dry_run_create = lambda obj, user, groups: (False, 422, LONG_REFUSAL)  # type: ignore[method-assign]
    report = verify(Render(Path("build/t"), render.project, render.stack, render.resources), kube=cluster)
    refused = [r for r in report.results if r.check == "behaviour.admission" and r.status != "skip"
               and LONG_REFUSAL in r.detail]
    assert refused and all(r.detail.endswith("a deliberately long explanation") for r in refused)
    assert any(LONG_REFUSAL in c["detail"] for c in json.loads(report.json())["checks"])
    table = report.markdown().split("## Every check", 1)[1]
    shown = [line for line in table.splitlines() if "behaviour.admission" in line and "webhook" in line]
    details = {r.detail for r in refused}
    assert shown
    for line in shown:
        detail = line.rstrip(" |").rsplit("| ", 1)[1]
        assert detail.endswith(" …") and len(detail) <= 260, detail
        head = detail[:-2]
        assert any(d.startswith(head) and d[len(head)] == " " for d in details), detail  # cut between words


def test_clip_cuts_at_a_word_boundary() -> None:
    from tenancy.verify.report import clip
    assert clip("short", 10) == "short"
    assert clip("alpha beta gamma delta", 12) == "alpha beta …"
    assert clip("alpha, beta gamma", 8) == "alpha …"
    assert clip("averyveryverylongword and more", 5) == "averyveryverylongword …"
    assert clip("averyveryverylongword", 5) == "averyveryverylongword"
    # negative control: a plain slice cuts "gamma" in half, clip does not
    assert "alpha beta gamma delta"[:13] == "alpha beta ga"


# --------------------------------------------------------------------------------------------
# Cluster network walls (issue 26)


def test_a_loosened_admin_wall_is_drift_and_an_isolation_failure(render: RenderResult) -> None:
    cluster = _cluster(render)
    wall = cluster.objs[("networking.k8s.aws/v1alpha1", "ClusterNetworkPolicy", None, "tenancy-tenant-beta")]
    wall["spec"]["ingress"] = [r for r in wall["spec"]["ingress"] if r["action"] != "Deny"]
    fails = _run(render, cluster)
    assert ("drift.kubernetes", "beta", "ClusterNetworkPolicy tenancy-tenant-beta") in fails, fails
    assert ("isolation", "beta", "network") in fails, fails  # facts walls: beta no longer behind the Admin tier


def test_a_foreign_cluster_policy_is_reported(render: RenderResult) -> None:
    cluster = _cluster(render)
    cluster.put({"apiVersion": "networking.k8s.aws/v1alpha1", "kind": "ClusterNetworkPolicy",
                 "metadata": {"name": "accept-everything"},
                 "spec": {"tier": "Admin", "priority": 1, "subject": {"namespaces": {}},
                          "ingress": [{"action": "Accept", "from": [{"namespaces": {}}]}]}})
    fails = _run(render, cluster)
    assert ("drift.kubernetes.extra", None, "ClusterNetworkPolicy accept-everything") in fails, fails
    # and the facts judge it: with everything Accepted at priority 1, beta reaches alpha's namespaces on every port
    assert any(c == "isolation" for c, _, _ in fails), fails


def test_tenant_owned_policies_are_not_drift_for_self_service_tenants() -> None:
    from tests.review.test_walls import self_service_spec

    render = render_spec(self_service_spec(), stack="verify")
    cluster = _cluster(render)
    own = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
           "metadata": {"name": "admit-gamma", "namespace": "beta"},
           "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [
               {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gamma"}}}]}]}}
    cluster.put(own)
    assert _run(render, cluster) == []  # the tenant's own; the Admin tier keeps gamma out anyway
    # negative control: the same policy in a tenant without selfService is drift
    cluster.put({**own, "metadata": {"name": "admit-beta", "namespace": "gamma"}})
    assert ("drift.kubernetes.extra", "gamma", "NetworkPolicy gamma/admit-beta") in _run(render, cluster)
