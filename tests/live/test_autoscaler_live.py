"""The cluster-autoscaler's rendered objects on the real API server (issue 22): they are accepted
(server-side apply, with the real schema), its Deployment is admitted by Pod Security
``restricted`` (enforced on a scratch namespace), and the real RBAC authorizer gives its
ServiceAccount what it needs — and no fence, no secret, nothing in another namespace's leases or
ConfigMaps. Negative control: a ServiceAccount outside the bindings gets none of it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tenancy.plan import autoscaler as plan
from tests.helpers import live
from tests.helpers.controlplane import Kube
from tests.helpers.rbac import ESCALATION_VERBS, FENCES, WRITE_VERBS

pytestmark = pytest.mark.live
Rendered = dict[str, list[dict[str, Any]]]
SA_USER = f"system:serviceaccount:{plan.NAMESPACE}:{plan.NAME}"
SA_GROUPS = ["system:serviceaccounts", f"system:serviceaccounts:{plan.NAMESPACE}"]


def _mine(applied: Rendered) -> list[dict[str, Any]]:
    return [o for o in applied["platform"] if o["metadata"]["name"].startswith(plan.NAME)]


def test_the_autoscalers_objects_are_served(kube: Kube, applied: Rendered) -> None:
    objs = _mine(applied)
    assert {o["kind"] for o in objs} == {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
                                         "ConfigMap", "Deployment"}
    for o in objs:
        served = kube.get(kube.path_of(o))
        assert served["metadata"]["name"] == o["metadata"]["name"]
    cm = kube.get(f"/api/v1/namespaces/kube-system/configmaps/{plan.PRIORITY_EXPANDER_CONFIGMAP}")
    assert "'.*'" in cm["data"]["priorities"]


def test_its_pod_is_admitted_by_pod_security_restricted(kube: Kube, applied: Rendered) -> None:
    """kube-system enforces no Pod Security level; a scratch namespace enforcing ``restricted``
    admits the Deployment's pod template (dry run), and refuses it once it asks for root
    (negative control)."""
    ns = "autoscaler-psa"
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {
        "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest"}}})
    [d] = [o for o in _mine(applied) if o["kind"] == "Deployment"]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ca", "namespace": ns},
           "spec": copy.deepcopy(d["spec"]["template"]["spec"])}
    pod["spec"]["serviceAccountName"] = "default"
    pod["spec"].pop("priorityClassName")  # system-cluster-critical is limited to kube-system by quota
    ok = live.admission(kube, pod)
    assert ok.admitted, ok.message
    bad = copy.deepcopy(pod)
    bad["spec"]["securityContext"].update(runAsNonRoot=False, runAsUser=0)
    bad["spec"]["containers"][0]["securityContext"].update(runAsNonRoot=False)
    refused = live.admission(kube, bad)
    assert not refused.admitted and refused.by_pod_security, refused.message


def test_rbac_gives_it_what_it_needs(kube: Kube, applied: Rendered) -> None:
    tenant = live.tenants_of(applied)[0]
    needs = [
        ("update", "", "nodes", None, "", ""), ("list", "", "pods", None, "", ""),
        ("create", "", "pods", tenant, "eviction", ""), ("watch", "policy", "poddisruptionbudgets", None, "", ""),
        ("create", "", "events", tenant, "", ""), ("list", "storage.k8s.io", "csinodes", None, "", ""),
        ("create", "coordination.k8s.io", "leases", plan.NAMESPACE, "", ""),
        ("update", "coordination.k8s.io", "leases", plan.NAMESPACE, "", plan.NAME),
        ("update", "", "configmaps", plan.NAMESPACE, "", plan.STATUS_CONFIGMAP),
        ("get", "", "configmaps", plan.NAMESPACE, "", plan.PRIORITY_EXPANDER_CONFIGMAP),
    ]
    missing = [c for c in needs if not kube.can(SA_USER, SA_GROUPS, c[0], c[2], c[1], c[3], c[4], c[5])]
    assert missing == []
    # Negative control: another ServiceAccount of kube-system gets none of it.
    other = "system:serviceaccount:kube-system:not-the-autoscaler"
    assert not any(kube.can(other, SA_GROUPS, c[0], c[2], c[1], c[3], c[4], c[5]) for c in needs)


def test_rbac_gives_it_no_fence_secret_or_foreign_object(kube: Kube, applied: Rendered) -> None:
    tenant = live.tenants_of(applied)[0]
    breaches = []
    for group, resource in FENCES:
        res, _, sub = resource.partition("/")
        for verb in (*WRITE_VERBS, *ESCALATION_VERBS):
            for ns in (tenant, plan.NAMESPACE, None):
                if kube.can(SA_USER, SA_GROUPS, verb, res, group, ns, sub):
                    breaches.append(f"{verb} {group or 'core'}/{resource} in {ns or 'the cluster'}")
    for verb in ("get", "list", "watch"):
        for ns in (tenant, plan.NAMESPACE, None):
            if kube.can(SA_USER, SA_GROUPS, verb, "secrets", "", ns):
                breaches.append(f"{verb} secrets in {ns or 'the cluster'}")
    for verb, res, group, ns, name in [
            ("create", "leases", "coordination.k8s.io", tenant, ""),
            ("update", "leases", "coordination.k8s.io", plan.NAMESPACE, "kube-controller-manager"),
            ("update", "configmaps", "", plan.NAMESPACE, "coredns"),
            ("update", "configmaps", "", tenant, plan.STATUS_CONFIGMAP),
            ("create", "pods", "", tenant, ""), ("delete", "nodes", "", None, ""),
            ("create", "deployments", "apps", tenant, "")]:
        if kube.can(SA_USER, SA_GROUPS, verb, res, group, ns, "", name):
            breaches.append(f"{verb} {res} {name} in {ns or 'the cluster'}")
    assert breaches == []
