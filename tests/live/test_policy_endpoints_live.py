"""``drift.policy-endpoints`` on a real API server (issue 24): a one-tenant platform applied to a
control plane of its own, the PolicyEndpoint CRD vendored from upstream
(tests/fixtures/policyendpoints/, aws/amazon-network-policy-controller-k8s v1.1.7) installed, and the
PolicyEndpoints written BY HAND here as the network policy controller derives them
(``pkg/resolvers/endpoints.go``, ``pkg/policyendpoints/manager.go``: one per policy named
``<policy>-<suffix>``, podSelector and podIsolation copied, ipBlock peers as CIDR entries with the
rule's ports, a rule without peers as 0.0.0.0/0 and ::/0, selector peers as the pods' addresses —
there are no running pods here, so none), not from the comparator under test.

Without the CRD the check is skipped with its reason; with it and no PolicyEndpoints every policy
fails; with the hand-written ones verify exits 0; a widened entry, a policy's PolicyEndpoint
deleted and one left behind for a deleted policy each exit 3 naming the tenant."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tenancy.cli import main
from tenancy.render import render_spec, write_render
from testenv import controlplane
from tests.fixtures.specs import spec_with, tenant
from tests.helpers import live
from tests.helpers.controlplane import ControlPlane, Kube

CRDS = Path(__file__).resolve().parent.parent / "fixtures" / "policyendpoints"
API = "networking.k8s.aws/v1alpha1"
DNS = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
HTTPS = [{"protocol": "TCP", "port": 443}]
ENDPOINTS = ["10.40.8.0/23", "10.40.10.0/23", "10.40.12.0/23"]  # the VPC endpoint subnets (spec_with's VPC)


def _pe(ns: str, policy: str, selector: dict[str, Any], isolation: list[str], ingress: list[dict[str, Any]],
        egress: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = {"podSelector": selector, "policyRef": {"name": policy, "namespace": ns},
                            "podIsolation": isolation}
    if ingress:
        spec["ingress"] = ingress
    if egress:
        spec["egress"] = egress
    return {"apiVersion": API, "kind": "PolicyEndpoint", "metadata": {"name": f"{policy}-x7k2p", "namespace": ns},
            "spec": spec}


BOTH = ["Ingress", "Egress"]
EXPECTED = [
    _pe("kube-system", "tenancy-kube-dns", {"matchLabels": {"k8s-app": "kube-dns"}}, BOTH,
        ingress=[{"cidr": "10.40.0.0/16", "ports": DNS}],  # the namespaceSelector peers: no pods
        egress=[{"cidr": "10.40.0.2/32", "ports": DNS}, {"cidr": "169.254.169.253/32", "ports": DNS},
                {"cidr": "172.20.0.1/32", "ports": HTTPS}] + [{"cidr": c, "ports": HTTPS} for c in ENDPOINTS]),
    _pe("kube-system", "tenancy-platform",
        {"matchExpressions": [{"key": "k8s-app", "operator": "NotIn", "values": ["kube-dns"]}]}, BOTH,
        ingress=[{"cidr": c} for c in ENDPOINTS],
        egress=[{"cidr": "0.0.0.0/0"}, {"cidr": "::/0"}]),  # `egress: [{}]`: a rule without peers
    _pe("solo", "tenancy-allow-aws-services", {}, ["Egress"], [], [{"cidr": c, "ports": HTTPS} for c in ENDPOINTS]),
    _pe("solo", "tenancy-allow-dns", {}, ["Egress"], [], []),  # kube-dns pods and Service: none here
    _pe("solo", "tenancy-allow-same-namespace", {}, BOTH, [], []),  # pods of the namespace: none
    _pe("solo", "tenancy-default-deny", {}, BOTH, [], []),
]


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    yield from live.control_plane_in(tmp_path_factory, "policy-endpoints-controlplane")


def test_policy_endpoints_against_the_policies(plane: ControlPlane, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    render = render_spec(spec_with([tenant("solo", 0)]))
    policies = [o for objs in render.manifests.values() for o in objs if o["kind"] == "NetworkPolicy"]
    assert sorted(p["metadata"]["name"] for p in policies) == sorted(p["spec"]["policyRef"]["name"]
                                                                    for p in EXPECTED)  # one each, by hand
    kube: Kube = plane.client()
    live.install_crds(kube)
    live.apply_render(kube, render.manifests)
    render_dir = write_render(render, tmp_path / "render")
    out = tmp_path / "evidence.json"

    def verify() -> tuple[int, dict[tuple[str | None, str], tuple[str, str]], str]:
        capsys.readouterr()
        code = main(["verify", "--render", str(render_dir), "--kubeconfig", str(plane.kubeconfig_path), "--skip-aws",
                     "--format", "json", "--out", str(out)])
        doc = json.loads(out.read_text())
        pe = {(c["tenant"], c["object"]): (c["status"], c["detail"]) for c in doc["checks"]
              if c["check"] == "drift.policy-endpoints"}
        return code, pe, capsys.readouterr().err

    # no CRD: skipped, with the reason
    code, pe, err = verify()
    assert code == 0, err
    assert list(pe.values())[0][0] == "skip" and "no policyendpoints.networking.k8s.aws CRD" in list(pe.values())[0][1]

    controlplane.install_crds(kube, CRDS)
    # the CRD and no PolicyEndpoints: nothing of any policy is enforced
    code, pe, err = verify()
    assert code == 3
    assert {k for k, (s, _) in pe.items() if s == "fail"} == {
        (None if p["metadata"]["namespace"] == "kube-system" else "solo",
         f"NetworkPolicy {p['metadata']['namespace']}/{p['metadata']['name']}") for p in policies}
    assert all("no PolicyEndpoint" in d for _, d in pe.values())

    for obj in EXPECTED:
        kube.apply(obj)
    code, pe, err = verify()
    assert code == 0, err
    assert {s for s, _ in pe.values()} == {"pass"} and len(pe) == len(policies)

    # 1. a stale entry: the agent lets solo's pods reach anything on 443
    [aws_services] = [o for o in EXPECTED if o["spec"]["policyRef"]["name"] == "tenancy-allow-aws-services"]
    wide = copy.deepcopy(aws_services)
    wide["spec"]["egress"].append({"cidr": "0.0.0.0/0", "ports": HTTPS})
    kube.apply(wide)
    try:
        code, pe, err = verify()
        assert code == 3
        status, detail = pe[("solo", "NetworkPolicy solo/tenancy-allow-aws-services")]
        assert status == "fail" and "0.0.0.0/0 (TCP/443) programmed, not in the policy" in detail, detail
        assert "solo" in err
        assert [k for k, (s, _) in pe.items() if s == "fail"] == [
            ("solo", "NetworkPolicy solo/tenancy-allow-aws-services")]
    finally:
        kube.apply(aws_services)

    # 2. the default deny's PolicyEndpoint gone: the agent isolates nothing by it
    [deny] = [o for o in EXPECTED if o["spec"]["policyRef"]["name"] == "tenancy-default-deny"]
    kube.delete_obj(deny)
    live.wait_for_deletion(kube, deny)
    try:
        code, pe, err = verify()
        assert code == 3
        assert pe[("solo", "NetworkPolicy solo/tenancy-default-deny")][0] == "fail"
    finally:
        kube.apply(deny)

    # 3. a PolicyEndpoint left behind by a policy that is gone
    left = _pe("solo", "tenancy-allow-from-old", {}, ["Ingress"], [{"cidr": "10.40.0.0/16"}], [])
    kube.apply(left)
    try:
        code, pe, err = verify()
        assert code == 3
        status, detail = pe[("solo", "PolicyEndpoint solo/tenancy-allow-from-old-x7k2p")]
        assert status == "fail" and "stale" in detail and "tenancy-allow-from-old" in detail
    finally:
        kube.delete_obj(left)
        live.wait_for_deletion(kube, left)

    code, pe, err = verify()
    assert code == 0, err
