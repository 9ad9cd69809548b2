"""The in-cluster operability checks (tenancy/review/operability_cluster.py): on every option
combination of the options matrix nothing is missing, and each check reports a render with the
needed policy, rule or label removed (negative controls)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tenancy.render import RenderResult, render_spec
from tenancy.review import operability, operability_cluster  # noqa: F401  (registers the checks)
from tests.components.test_options import _specs
from tests.fixtures.specs import spec_with, tenant

MESH = spec_with(
    [tenant("alpha", 0, kubernetesApiAccess=True), tenant("beta", 1), tenant("gamma", 2, internetEgress=True)],
    workloads={"mesh": "istio", "istio": {"preinstalled": True, "cni": True},
               "ingressControllerNamespace": "ingress-nginx"})


@pytest.fixture(scope="module")
def mesh() -> RenderResult:
    return render_spec(MESH)


def _find(r: RenderResult, resources: list[dict[str, Any]], start: str) -> operability.Finding:
    [f] = [f for f in operability.evaluate(r.spec, resources) if f.name.startswith(start)]
    return f


def _without(r: RenderResult, pred: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    out = [copy.deepcopy(x) for x in r.resources if not pred(x)]
    assert len(out) < len(r.resources), "the negative control removed nothing"
    return out


def _np(ns: str, name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda x: x["type"].endswith("NetworkPolicy") and x["inputs"]["metadata"] == {
        **x["inputs"]["metadata"], "namespace": ns, "name": name}


@pytest.mark.parametrize(("label", "spec"), _specs(), ids=[k for k, _ in _specs()])
def test_nothing_is_missing_for_any_option(label: str, spec: dict[str, Any]) -> None:
    r = render_spec(spec)
    mine = [c for c in operability.CHECKS if c.run.__module__ == "tenancy.review.operability_cluster"]
    assert len(mine) >= 11
    findings = operability.evaluate(r.spec, r.resources, mine)  # the AWS-side checks: tests/review/test_operability.py
    assert operability.missing(findings) == [], label


def test_every_in_cluster_check_is_ok_on_the_mesh_render(mesh: RenderResult) -> None:
    findings = {f.name: f for f in operability.evaluate(mesh.spec, mesh.resources)}
    for name in ("tenant pods → CoreDNS", "CoreDNS → VPC resolver", "tenants with kubernetesApiAccess",
                 "strict enforcing mode", "mesh: sidecars", "mesh: control plane", "mesh: tenant pods",
                 "ingress controller →", "internet egress excludes", "tenant namespaces wait for the Service"):
        [f] = [f for n, f in findings.items() if n.startswith(name)]
        assert f.status == "ok", (f.name, f.detail)


@pytest.mark.parametrize("start, pred, expect", [
    ("tenant pods → CoreDNS", _np("kube-system", "tenancy-kube-dns"), "blocked"),
    ("tenant pods → CoreDNS", _np("beta", "tenancy-allow-dns"), "beta"),
    ("CoreDNS → VPC resolver", _np("kube-system", "tenancy-kube-dns"), "blocked"),
    ("tenant pods → interface endpoints", _np("gamma", "tenancy-allow-aws-services"), "gamma"),
    ("tenants with kubernetesApiAccess", _np("alpha", "tenancy-allow-kubernetes-api"), "alpha"),
    ("strict enforcing mode", _np("kube-system", "tenancy-platform"), "kube-system"),
    ("strict enforcing mode", _np("istio-system", "tenancy-platform"), "istio-system"),
    ("mesh: tenant pods", _np("istio-system", "tenancy-istiod"), "blocked"),
    ("mesh: sidecars", lambda x: x["name"].endswith("-nodes-out-istiod-15012"), "blocked"),
    ("mesh: sidecars", lambda x: x["name"].endswith("system-nodes-in-istiod-15012"), "blocked"),
    ("mesh: control plane", lambda x: x["name"].endswith("in-cp-15017"), "blocked"),
    ("ingress controller →", _np("ingress-nginx", "tenancy-platform"), "blocked"),
    ("tenant namespaces wait for the Service",
     lambda x: x["type"].endswith("ValidatingAdmissionPolicy")
     and x["inputs"]["metadata"]["name"] == "tenancy-service-exposure", "no ValidatingAdmissionPolicy"),
])
def test_negative_control(mesh: RenderResult, start: str, pred: Callable[[dict[str, Any]], bool], expect: str) -> None:
    f = _find(mesh, _without(mesh, pred), start)
    assert f.status == "missing" and expect in f.detail, (f.name, f.detail)


def test_negative_control_internet_egress_into_the_service_range(mesh: RenderResult) -> None:
    res = copy.deepcopy(mesh.resources)
    for x in res:
        if _np("gamma", "tenancy-allow-internet-egress")(x):
            block = x["inputs"]["spec"]["egress"][0]["to"][0]["ipBlock"]
            block["except"] = [c for c in block["except"] if c != mesh.spec.service_cidr]
    f = _find(mesh, res, "internet egress excludes")
    assert f.status == "missing" and "gamma/tenancy-allow-internet-egress" in f.detail


def test_negative_control_non_opted_in_tenant_reaching_the_api(mesh: RenderResult) -> None:
    res = copy.deepcopy(mesh.resources)
    api = next(x for x in res if _np("alpha", "tenancy-allow-kubernetes-api")(x))
    leak = copy.deepcopy(api)
    leak["inputs"]["metadata"]["namespace"] = "beta"
    res.append(leak)
    f = _find(mesh, res, "tenants with kubernetesApiAccess")
    assert f.status == "missing" and "open" in f.detail and "beta" in f.detail


def test_negative_control_missing_injection_label(mesh: RenderResult) -> None:
    res = copy.deepcopy(mesh.resources)
    for x in res:
        if x["type"] == "kubernetes:core/v1:Namespace" and x["inputs"]["metadata"]["name"] == "beta":
            x["inputs"]["metadata"]["labels"].pop("istio-injection")
    f = _find(mesh, res, "mesh: tenant pods")
    assert f.status == "missing" and "beta" in f.detail


def test_negative_control_standard_mode_on_the_add_on(mesh: RenderResult) -> None:
    res = copy.deepcopy(mesh.resources)
    for x in res:
        if x["type"] == "aws:eks/addon:Addon" and x["inputs"]["addonName"] == "vpc-cni":
            x["inputs"]["configurationValues"] = '{"enableNetworkPolicy": "true"}'
    f = _find(mesh, res, "strict enforcing mode")
    assert f.status == "missing" and "standard" in f.detail
