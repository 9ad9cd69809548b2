"""Every option of the spec, in combination with realistic tenants, renders — and what it
renders is valid: Kubernetes objects against the API schema of the platform's own Kubernetes
version, tenant attribution complete, no shared resource tagged for a tenant.

Guards the general case: the layers' own tests fix most options at their defaults.
"""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from tenancy.render import render_spec
from tests.fixtures.specs import ALPHA, BETA, DELTA, GAMMA, spec_with, tenant

FOUR = [ALPHA, BETA, GAMMA, DELTA]
VARIANTS: dict[str, dict[str, Any]] = {
    "two-zones": {"availabilityZones": 2},
    "six-zones": {"availabilityZones": 6, "kubernetesVersion": "1.31"},
    "pod-identity-and-bucket-options": {"identity": {"mode": "podIdentity", "accessPoints": True, "accessLogging": True,
                                                     "noncurrentVersionExpirationDays": 30, "bucketKey": False}},
    "istio-and-ingress": {"workloads": {"mesh": "istio", "ingressControllerNamespace": "ingress"}},
    "nacls-single-nat-s3-flow-logs": {"network": {"tenantNetworkAcls": True, "natGateways": "single",
                                                  "flowLogs": {"destination": "s3", "retentionDays": 30}}},
    "public-endpoint-arm-system-nodes": {"cluster": {
        "endpointPublicAccessCidrs": ["203.0.113.0/24"], "deletionProtection": True,
        "clusterAdmins": ["arn:aws:iam::111122223333:role/admin"],
        "systemNodes": {"instanceTypes": ["m6g.large"], "amiType": "AL2023_ARM_64_STANDARD",
                        "minSize": 2, "maxSize": 3, "desiredSize": 2}}},
    "oldest-kubernetes": {"kubernetesVersion": "1.30"},
    "other-private-range-small-blocks": {"vpcCidr": "172.20.0.0/18", "tenantBlockPrefix": 23},
}
SPECIAL_TENANTS = [
    tenant("bottle", 5, nodes={"amiType": "BOTTLEROCKET_x86_64", "capacityType": "SPOT", "diskSizeGib": 100},
           serviceAccounts=["x"], internetEgress=True, quota={"loadBalancers": 1, "nodePorts": 0}),
    tenant("last-slot", 29, allowFrom=["bottle"], limits={"maxPerContainer": {"cpu": "4", "memory": "8Gi"}}),
]

SRE = "arn:aws:iam::111122223333:role/sre"
LIFECYCLE_TENANTS = [  # off-boarding, adoption, a team-stack tenant, a principal in several tenants
    tenant("leaving", 0, offboarding=True, serviceAccounts=["app"], viewers=[SRE]),
    tenant("old", 3, adopt=True, viewers=[SRE], allowFrom=["team"]),
    tenant("team", 4, teamStack=True, editors=[SRE], allowFrom=["old"]),
]


def _specs() -> list[tuple[str, dict[str, Any]]]:
    out = [(k, spec_with(FOUR, **v)) for k, v in VARIANTS.items()]
    out.append(("odd-tenants", spec_with(SPECIAL_TENANTS)))
    out.append(("no-tenants", spec_with([])))
    out.append(("lifecycle-team-shared", spec_with(LIFECYCLE_TENANTS, retiredTenants=[{"name": "old", "slot": 1}])))
    return out


@pytest.mark.parametrize(("label", "spec"), _specs(), ids=[k for k, _ in _specs()])
def test_every_option_renders_valid_objects(label: str, spec: dict[str, Any]) -> None:
    result = render_spec(spec)
    version = f"{result.spec.kubernetes_version}.0"
    objs = [o for group in result.manifests.values() for o in group]
    assert any(o["kind"] == "ValidatingAdmissionPolicy" for o in objs)
    for o in objs:
        if o["apiVersion"].startswith(("security.istio.io", "networking.istio.io")):
            continue  # no schema ships for Istio's CRDs
        kubernetes_validate.validate(o, version, strict=True)
    names = {t.name for t in result.spec.tenants}
    for t in names:
        assert any(r["type"] == "tenancy:index:Tenant" and r["name"] == t for r in result.for_tenant(t))
    for r in result.for_tenant(None):
        assert (r["inputs"].get("tags") or {}).get("tenancy/tenant") is None, r["name"]
    for r in result.resources:
        # objects we create carry the label (a Patch only amends Kubernetes' own default ServiceAccount)
        if r["tenant"] and r["type"].startswith("kubernetes:") and r["custom"] and not r["type"].endswith("Patch"):
            labels = (r["inputs"].get("metadata") or {}).get("labels") or {}
            assert labels.get("tenancy/tenant") in names, r["name"]
