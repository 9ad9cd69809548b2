"""A pooled tenant's bundle under Pulumi's mocks: the SecurityGroupPolicy is registered with the
security group ids as handed over (an Output from the network layer), inside the tenant's
namespace, deleted with it; the registered inputs are exactly the plan's manifests; the tier
PriorityClasses component registers the plan's objects."""

from __future__ import annotations

import json
from typing import Any

import pulumi_kubernetes as k8s
import pytest

from tenancy.components.bundle import TenantBundle, TenantBundleArgs
from tenancy.components.tiers import TierPriorityClasses, TierPriorityClassesArgs
from tenancy.plan import kubernetes as pk
from tenancy.plan.validate import load_platform
from tenancy.render.result import manifest_of
from tests.fixtures.specs import spec_with
from tests.helpers.recording_mocks import Recording, Registered, run

SPEC = load_platform(spec_with(
    [{"name": "media", "pool": "shared-a", "serviceAccounts": ["app"], "internetEgress": True}],
    nodePools=[{"name": "shared-a", "slot": 4, "nodes": {"instanceTypes": ["m6i.large"]}}]))
MEDIA = SPEC.tenants[0]
SG_IDS = ["sg-0media00000000000", "sg-0tenantnodes0000"]


def _program() -> dict[str, Any]:
    provider = k8s.Provider("any-cluster", kubeconfig="{}")
    # An Output from another resource, as TenantNetwork.pod_security_group_ids is.
    source = k8s.core.v1.ConfigMap("sg-source", data={"ids": ",".join(SG_IDS)})
    ids = source.data.apply(lambda d: d["ids"].split(","))
    bundle = TenantBundle("media", TenantBundleArgs(tenant=MEDIA, vpc_cidr=SPEC.vpc_cidr, provider=provider,
                                                    pod_security_group_ids=ids))
    tiers = TierPriorityClasses("tiers", TierPriorityClassesArgs(provider=provider))
    return {"bundle": bundle, "tiers": tiers}


@pytest.fixture(scope="module")
def recorded() -> tuple[Recording, dict[str, Any]]:
    return run(_program)


def _k8s(rec: Recording) -> list[Registered]:
    return [r for r in rec.resources if r.type.startswith("kubernetes:") and r.custom and r.name != "sg-source"]


def test_registered_inputs_are_exactly_the_plans_manifests(recorded: tuple[Recording, dict[str, Any]]) -> None:
    rec, _ = recorded
    got = {(m["kind"], m["metadata"]["name"]): m for m in (manifest_of({"inputs": r.inputs}) for r in _k8s(rec))}
    want = {(m["kind"], m["metadata"]["name"]): m for m in
            pk.tenant_manifests(MEDIA, SPEC.workloads, SPEC.vpc_cidr, pod_security_group_ids=SG_IDS)
            + pk.priority_classes()}
    assert sorted(got) == sorted(want)
    for key, m in want.items():
        assert json.dumps(got[key], sort_keys=True) == json.dumps(m, sort_keys=True), key


def test_security_group_policy_lives_and_dies_with_the_namespace(recorded: tuple[Recording, dict[str, Any]]) -> None:
    rec, _ = recorded
    sgp = rec.by_name(f"media/{pk.SGP_NAME}")
    assert sgp.type == "kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy"
    ns = rec.by_name("media", "kubernetes:core/v1:Namespace")
    assert sgp.deleted_with == ns.urn and ns.urn in sgp.dependencies and ns.retain_on_delete
    assert sgp.inputs["spec"]["securityGroups"]["groupIds"] == SG_IDS


def test_priority_classes_are_typed(recorded: tuple[Recording, dict[str, Any]]) -> None:
    rec, _ = recorded
    pcs = rec.of_type("kubernetes:scheduling.k8s.io/v1:PriorityClass")
    assert sorted(r.inputs["metadata"]["name"] for r in pcs) == ["tenancy-premium", "tenancy-standard"]
