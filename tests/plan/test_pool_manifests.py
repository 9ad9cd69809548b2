"""Pooled tenants' and tiers' manifests, judged without Pulumi: Kubernetes' OpenAPI schemas
(kubernetes-validate, strict) for the built-in kinds, the vendored SecurityGroupPolicy CRD's
schema (jsonschema) for the SGP, and the bundle's input checks. Behaviour on a real API server:
tests/live/test_pool_live.py and tests/live/test_tiers_live.py."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tenancy.plan import admission
from tenancy.plan import kubernetes as pk
from tenancy.plan.validate import load_platform
from tenancy.spec import TenantSpec
from tests.fixtures.specs import spec_with, tenant

KUBERNETES_VERSIONS = ("1.30", "1.31", "1.32", "1.33")
CRD = Path(__file__).resolve().parent.parent / "fixtures" / "crds" / "vpcresources.k8s.aws_securitygrouppolicies.yaml"
SG_IDS = ["sg-0media00000000000", "sg-0tenantnodes0000"]

SPEC = load_platform(spec_with(
    [tenant("alpha", 0), {"name": "media", "pool": "shared-a"},
     {"name": "press", "pool": "shared-b", "tier": "premium"}, tenant("beta", 1, tier="standard")],
    nodePools=[{"name": "shared-a", "slot": 4, "nodes": {"instanceTypes": ["m6i.large"]}},
               {"name": "shared-b", "slot": 5, "nodes": {"instanceTypes": ["m6i.large"]}}]))
T = {t.name: t for t in SPEC.tenants}


def manifests(t: TenantSpec) -> list[dict[str, Any]]:
    return pk.tenant_manifests(t, SPEC.workloads, SPEC.vpc_cidr,
                               pod_security_group_ids=SG_IDS if t.pooled else None)


def sgp_schema() -> dict[str, Any]:
    crd = yaml.safe_load(CRD.read_text())
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1beta1")
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


# --------------------------------------------------------------------------------------------
# Namespace labels


def test_pooled_namespace_carries_its_pool_and_tier() -> None:
    labels = manifests(T["media"])[0]["metadata"]["labels"]
    assert labels[admission.POOL_LABEL] == "shared-a" and labels[admission.TIER_LABEL] == "standard"
    assert labels[admission.TENANT_LABEL] == "media"  # every tenant-keyed rule still applies
    assert manifests(T["press"])[0]["metadata"]["labels"][admission.TIER_LABEL] == "premium"


def test_dedicated_namespace_has_a_tier_and_no_pool() -> None:
    for name, tier in (("alpha", "premium"), ("beta", "standard")):
        labels = manifests(T[name])[0]["metadata"]["labels"]
        assert admission.POOL_LABEL not in labels and labels[admission.TIER_LABEL] == tier


# --------------------------------------------------------------------------------------------
# Tiers


def test_tier_quota_admits_only_the_tenants_class() -> None:
    for t in SPEC.tenants:
        q = next(m for m in manifests(t) if m["metadata"]["name"] == pk.TIER_QUOTA)
        assert q["spec"] == {"hard": {"pods": "0"}, "scopeSelector": {"matchExpressions": [
            {"scopeName": "PriorityClass", "operator": "Exists"},
            {"scopeName": "PriorityClass", "operator": "NotIn", "values": [f"tenancy-{t.tier}"]}]}}


def test_priority_classes() -> None:
    classes = {m["metadata"]["name"]: m for m in pk.priority_classes()}
    assert set(classes) == {"tenancy-premium", "tenancy-standard"}
    for m in classes.values():
        # User-defined classes may not exceed 1e9; system-cluster-critical is 2e9.
        assert 0 < m["value"] <= 1_000_000_000 and m["globalDefault"] is False
    assert classes["tenancy-premium"]["value"] > classes["tenancy-standard"]["value"]
    assert classes["tenancy-standard"]["preemptionPolicy"] == "Never"
    assert classes["tenancy-premium"]["preemptionPolicy"] == "PreemptLowerPriority"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_built_in_kinds_validate_strictly(version: str) -> None:
    objs = [m for t in SPEC.tenants for m in manifests(t) if m["kind"] != "SecurityGroupPolicy"]
    objs += pk.priority_classes()
    assert {"Namespace", "ResourceQuota", "PriorityClass"} <= {m["kind"] for m in objs}
    for m in objs:
        kubernetes_validate.validate(m, f"{version}.0", strict=True)


def test_schema_validation_catches_a_bad_quota_scope() -> None:
    q = copy.deepcopy(pk.tier_quota(T["media"]))
    q["spec"]["scopeSelector"]["matchExpressions"][0]["scope"] = "PriorityClass"  # typo: unknown field
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(q, "1.33.0", strict=True)


# --------------------------------------------------------------------------------------------
# SecurityGroupPolicy


def test_pooled_tenants_get_one_security_group_policy_for_every_pod() -> None:
    for name in ("media", "press"):
        sgps = [m for m in manifests(T[name]) if m["kind"] == "SecurityGroupPolicy"]
        assert len(sgps) == 1
        sgp = sgps[0]
        assert sgp["apiVersion"] == "vpcresources.k8s.aws/v1beta1"
        assert sgp["metadata"]["name"] == admission.POD_SECURITY_GROUP_POLICY
        assert sgp["metadata"]["namespace"] == name
        assert sgp["spec"] == {"podSelector": {}, "securityGroups": {"groupIds": SG_IDS}}
    for name in ("alpha", "beta"):
        assert not [m for m in manifests(T[name]) if m["kind"] == "SecurityGroupPolicy"]


def test_security_group_policy_matches_the_vendored_crd_schema() -> None:
    sgp = next(m for m in manifests(T["media"]) if m["kind"] == "SecurityGroupPolicy")
    jsonschema.validate(sgp, sgp_schema())


def test_negative_control_crd_schema_refuses_a_policy_without_groups() -> None:
    sgp = copy.deepcopy(next(m for m in manifests(T["media"]) if m["kind"] == "SecurityGroupPolicy"))
    sgp["spec"]["securityGroups"]["groupIds"] = []
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(sgp, sgp_schema())


def test_pooled_tenant_without_security_groups_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match=r"tenant 'media' is pooled \(pool 'shared-a'\).*pod_security_group_ids"):
        pk.tenant_manifests(T["media"], SPEC.workloads, SPEC.vpc_cidr)
    with pytest.raises(ValueError, match="tenant 'alpha' has dedicated nodes"):
        pk.tenant_manifests(T["alpha"], SPEC.workloads, SPEC.vpc_cidr, pod_security_group_ids=SG_IDS)


def test_pooled_tenant_keeps_every_fence_of_a_dedicated_one() -> None:
    """Same quota, limits, RBAC, service accounts and NetworkPolicies as a dedicated tenant with the
    same settings: pooling adds the SGP and a label, and takes nothing away."""
    dedicated = T["media"].model_copy(update={"pool": None, "slot": 9})

    def shape(ms: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return sorted((m["kind"], m["metadata"]["name"]) for m in ms)

    pooled = shape(manifests(T["media"]))
    plain = shape(pk.tenant_manifests(dedicated, SPEC.workloads, SPEC.vpc_cidr))
    assert sorted(set(pooled) - set(plain)) == [("SecurityGroupPolicy", admission.POD_SECURITY_GROUP_POLICY)]
    assert not set(plain) - set(pooled)
