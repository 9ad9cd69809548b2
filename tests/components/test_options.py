"""Every option of the spec, in combination with realistic tenants, renders — and what it
renders is valid: Kubernetes objects against the API schema of the platform's own Kubernetes
version, tenant attribution complete, no shared resource tagged for a tenant.

Guards the general case: the layers' own tests fix most options at their defaults.
"""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from tenancy.render import RenderResult, render_spec
from tenancy.review import operability
from tests.fixtures.specs import ALPHA, BETA, DELTA, GAMMA, spec_with, tenant
from tests.helpers import crds

FOUR = [ALPHA, BETA, GAMMA, DELTA]
VARIANTS: dict[str, dict[str, Any]] = {
    "two-zones": {"availabilityZones": 2},
    "six-zones": {"availabilityZones": 6, "kubernetesVersion": "1.31"},
    "pod-identity-and-bucket-options": {"identity": {"mode": "podIdentity", "accessPoints": True, "accessLogging": True,
                                                     "noncurrentVersionExpirationDays": 30, "bucketKey": False}},
    "istio-and-ingress": {"workloads": {"mesh": "istio", "istio": {"preinstalled": True, "cni": True},
                                        "ingressControllerNamespace": "ingress"}},
    "nacls-single-nat-s3-flow-logs": {"network": {"tenantNetworkAcls": True, "natGateways": "single",
                                                  "flowLogs": {"destination": "s3", "retentionDays": 30}}},
    "public-endpoint-arm-system-nodes": {"cluster": {
        "endpointPublicAccessCidrs": ["203.0.113.0/24"], "deletionProtection": True,
        "clusterAdmins": ["arn:aws:iam::111122223333:role/admin"],
        "systemNodes": {"instanceTypes": ["m6g.large"], "amiType": "AL2023_ARM_64_STANDARD",
                        "minSize": 2, "maxSize": 3, "desiredSize": 2}}},
    "oldest-kubernetes": {"kubernetesVersion": "1.30"},
    "other-private-range-small-blocks": {"vpcCidr": "172.20.0.0/18", "tenantBlockPrefix": 23},
    "standard-mode-own-service-range-platform-namespaces": {
        "cluster": {"networkPolicyEnforcingMode": "standard", "serviceCidr": "192.168.128.0/20"},
        "workloads": {"platformNamespaces": ["monitoring", "cert-manager"], "ingressControllerNamespace": "ingress"}},
    "istio-revision": {"workloads": {"mesh": "istio",
                                     "istio": {"preinstalled": True, "cni": True, "revision": "1-24"}}},
    "observability-metrics-backup-pod-identity": {  # issue 27
        "observability": {"metrics": {"enabled": True}, "backup": {"enabled": True}},
        "identity": {"mode": "podIdentity"}},
    "no-storage-api-access-groups-extended": {
        "workloads": {"storage": "none"},
        "cluster": {"apiAccessCidrs": ["192.168.10.0/24"], "apiAccessSecurityGroupIds": ["sg-0123456789abcdef0"],
                    "upgradePolicy": "EXTENDED"}},
}
SPECIAL_TENANTS = [
    tenant("bottle", 5, nodes={"amiType": "BOTTLEROCKET_x86_64", "capacityType": "SPOT", "diskSizeGib": 100},
           serviceAccounts=["x"], internetEgress=True, quota={"loadBalancers": 0, "nodePorts": 0},
           kubernetesApiAccess=True),
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


_RENDERS: dict[str, RenderResult] = {}


def _render(label: str, spec: dict[str, Any]) -> RenderResult:
    if label not in _RENDERS:
        _RENDERS[label] = render_spec(spec)
    return _RENDERS[label]


@pytest.mark.parametrize(("label", "spec"), _specs(), ids=[k for k, _ in _specs()])
def test_every_option_renders_valid_objects(label: str, spec: dict[str, Any]) -> None:
    result = _render(label, spec)
    version = f"{result.spec.kubernetes_version}.0"
    objs = [o for group in result.manifests.values() for o in group]
    assert any(o["kind"] == "ValidatingAdmissionPolicy" for o in objs)
    for o in objs:
        if o["apiVersion"].startswith(("security.istio.io", "networking.istio.io")):
            continue  # no schema ships for Istio's CRDs
        if crds.known(o):  # ClusterNetworkPolicy, SecurityGroupPolicy: the vendored CRDs' schemas
            crds.validate(o)
            continue
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



def _prerequisite_problems(result: RenderResult) -> list[str]:
    """Each option → the add-ons, roles, rules and labels it needs, written here by hand from
    the EKS user guide and the add-ons' sources (not read back from the code that builds them)."""
    s, out = result.spec, []
    addons = {a["inputs"]["addonName"]: a for a in result.of_type("aws:eks/addon:Addon")}
    groups = [n for n in result.of_type("aws:eks/nodeGroup:NodeGroup")]
    ingress = result.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    for name in ("vpc-cni", "coredns"):
        if name not in addons:
            out.append(f"no {name} add-on")
    # every node group: a name prefix (create-before-delete replacements), labels and a taint
    for n in groups:
        i = n["inputs"]
        if "nodeGroupName" in i or not i.get("nodeGroupNamePrefix"):
            out.append(f"{n['name']}: fixed node group name")
        if not i.get("labels") or not i.get("taints"):
            out.append(f"{n['name']}: no labels/taints")
    if s.identity.mode == "podIdentity":
        agent = addons.get("eks-pod-identity-agent")
        if agent is None:
            out.append("podIdentity without the eks-pod-identity-agent add-on")
        endpoints = [e["inputs"]["serviceName"] for e in result.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")]
        if not any(e.endswith(".eks-auth") for e in endpoints):
            out.append("podIdentity without the eks-auth endpoint")
        sas = sum(len(t.service_accounts) for t in s.tenants)
        if len([a for a in result.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
                if a["tenant"] is not None]) != sas:
            out.append("a tenant service account has no Pod Identity association")
    elif "eks-pod-identity-agent" in addons:
        out.append("IRSA platform runs the Pod Identity agent")
    sc = result.of_type("kubernetes:storage.k8s.io/v1:StorageClass")
    quotas = [q["inputs"]["spec"]["hard"] for q in result.of_type("kubernetes:core/v1:ResourceQuota")
              if q["inputs"]["metadata"]["name"] == "tenancy-quota"]  # not the tier quota (pods only)
    if s.workloads.storage == "ebs":
        csi = addons.get("aws-ebs-csi-driver")
        own_role = csi is not None and (csi["inputs"].get("serviceAccountRoleArn")
                                        or csi["inputs"].get("podIdentityAssociations"))
        if not own_role:
            out.append("storage ebs without the CSI add-on and its own role")
        if len(sc) != 1:
            out.append(f"storage ebs with {len(sc)} StorageClasses")
    else:
        if "aws-ebs-csi-driver" in addons or sc:
            out.append("storage none still installs the driver")
        if any(q["persistentvolumeclaims"] != "0" or q["requests.storage"] != "0" for q in quotas):
            out.append("storage none but tenants have PVC quota")
    lb_rules = [r for r in ingress if r["name"].endswith(("-in-lb-80", "-in-lb-443"))]
    if s.workloads.ingress_controller_namespace:
        public = str(s.address_plan.block(0))
        if sorted((r["inputs"]["cidrIpv4"], int(r["inputs"]["fromPort"])) for r in lb_rules) != [(public, 80),
                                                                                                  (public, 443)]:
            out.append("ingress controller without load balancer rules 80/443 from the public subnets")
    elif lb_rules:
        out.append("load balancer rules without an ingress controller")
    [cluster] = result.of_type("eks:index:Cluster")
    cp_sg = cluster["inputs"]["clusterSecurityGroup"]
    api = {r["inputs"].get("cidrIpv4") or r["inputs"].get("referencedSecurityGroupId") for r in ingress
           if r["inputs"]["securityGroupId"] == cp_sg and r["name"].split("-in-api-")[0] != r["name"]}
    wanted = set(s.cluster.api_access_cidrs if s.cluster.api_access_cidrs is not None else [s.vpc_cidr])
    wanted |= set(s.cluster.api_access_security_group_ids)
    if api != wanted:
        out.append(f"API access rules {sorted(api)} != {sorted(wanted)}")
    if cluster["inputs"].get("upgradePolicy") != {"supportType": s.cluster.upgrade_policy}:
        out.append("upgrade policy not explicit")
    return out


@pytest.mark.parametrize(("label", "spec"), _specs(), ids=[k for k, _ in _specs()])
def test_every_option_has_its_prerequisites(label: str, spec: dict[str, Any]) -> None:
    result = _render(label, spec)
    assert _prerequisite_problems(result) == []
    # and the render's own operability report agrees: nothing missing
    assert [f.name for f in operability.missing(operability.evaluate(result.spec, result.resources))] == []


def test_prerequisite_check_catches_a_missing_addon() -> None:
    """Negative control for the matrix check: the same render without the Pod Identity agent,
    the CSI driver and the load balancer rules."""
    label, spec = next((k, v) for k, v in _specs() if k == "pod-identity-and-bucket-options")
    result = _render(label, spec)
    broken = RenderResult(result.project, result.stack, result.spec, [
        r for r in result.resources
        if r["inputs"].get("addonName") not in ("eks-pod-identity-agent", "aws-ebs-csi-driver")],
        result.stack_outputs)
    problems = _prerequisite_problems(broken)
    assert "podIdentity without the eks-pod-identity-agent add-on" in problems
    assert "storage ebs without the CSI add-on and its own role" in problems
