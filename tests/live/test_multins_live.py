"""A tenant with several namespaces (issue 26) on a real API server: the render applied to its
own control plane; the tenant's editor works in both of its namespaces and in no other tenant's;
the placement policy refuses an unpinned pod in the EXTRA namespace as in the main one; the
quota shares are what the server enforces. Negative control: with the binding's selector
narrowed to the main namespace (as if the policy selected by name), the unpinned pod in the
extra namespace is admitted — the check can see the difference."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from tenancy.plan import admission as placement
from tenancy.render import render_spec
from tests.fixtures.specs import spec_with, tenant
from tests.helpers import live
from tests.helpers.controlplane import ControlPlane, Kube

pytestmark = pytest.mark.live

SPEC = spec_with([
    tenant("mu", 0, namespaces=["mu-batch"], quota={"cpu": "4", "memory": "8Gi", "pods": 3},
           editors=["arn:aws:iam::111122223333:role/mu-devs"]),
    tenant("nu", 1, editors=["arn:aws:iam::111122223333:role/nu-devs"]),
])


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    yield from live.control_plane_in(tmp_path_factory, "multins")


@pytest.fixture(scope="module")
def kube(plane: ControlPlane) -> Kube:
    return plane.client()


@pytest.fixture(scope="module")
def rendered(kube: Kube) -> dict[str, list[dict[str, Any]]]:
    out = render_spec(SPEC, stack="live").manifests
    live.install_crds(kube)
    live.apply_render(kube, out)
    extra = live.unpinned_probe("mu")
    extra["metadata"]["namespace"] = "mu-batch"
    live.wait_until_policy_enforced(kube, extra, placement.POLICY_NAME)
    for q in live.of_kind(out, "mu", "ResourceQuota"):
        live.wait_for_quota_status(kube, q)
    return out


def _in(obj: dict[str, Any], ns: str) -> dict[str, Any]:
    o = copy.deepcopy(obj)
    o["metadata"]["namespace"] = ns
    return o


def test_the_extra_namespace_exists_with_the_tenants_labels(kube: Kube, rendered: Any) -> None:
    ns = kube.get("/api/v1/namespaces/mu-batch")
    labels = ns["metadata"]["labels"]
    assert labels["tenancy/tenant"] == "mu"
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_editor_works_in_both_namespaces_and_in_no_other(kube: Kube, rendered: Any) -> None:
    editor = live.persona(kube, "mu", "edit")
    for ns in ("mu", "mu-batch"):
        v = live.admission(editor, _in(live.pinned_pod("mu"), ns))
        assert v.admitted, (ns, v.message)
    v = live.admission(editor, _in(live.pinned_pod("mu"), "nu"))
    assert v.by_rbac, v.message
    v = live.admission(live.persona(kube, "nu", "edit"), _in(live.pinned_pod("nu"), "mu-batch"))
    assert v.by_rbac, v.message


def test_no_persona_crosses_a_fence_in_either_namespace(kube: Kube, rendered: Any) -> None:
    for role in ("admin", "edit", "view"):
        assert live.fence_breaches(kube, "mu", role, ["mu", "nu"]) == []
        client = live.persona(kube, "mu", role)
        for ns in ("mu-batch",):
            np = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                  "metadata": {"name": "mine", "namespace": ns}, "spec": {"podSelector": {}}}
            assert live.admission(client, np).by_rbac, (role, ns)


def test_placement_refuses_an_unpinned_pod_in_the_extra_namespace(kube: Kube, rendered: Any) -> None:
    editor = live.persona(kube, "mu", "edit")
    v = live.admission(editor, _in(live.unpinned_probe("mu"), "mu-batch"))
    assert v.by_policy(placement.POLICY_NAME), v.message
    v = live.admission(editor, _in(live.pinned_pod("nu"), "mu-batch"))  # nu's nodes from mu's namespace
    assert v.by_policy(placement.POLICY_NAME), v.message


def test_quota_share_is_enforced_per_namespace(kube: Kube, rendered: Any) -> None:
    """pods: 3 split 2 + 1: the extra namespace holds one pod (created for real, then removed)."""
    editor = live.persona(kube, "mu", "edit")
    first = _in(live.pinned_pod("mu", "one"), "mu-batch")
    assert live.admission(editor, first, dry_run=False).admitted
    try:
        v = live.admission(editor, _in(live.pinned_pod("mu", "two"), "mu-batch"))
        assert v.by_quota, v.message
        assert live.admission(editor, _in(live.pinned_pod("mu", "two"), "mu")).admitted
    finally:
        kube.delete(kube.path_of(first))


def test_negative_control_binding_on_the_main_namespace_only(kube: Kube, rendered: Any) -> None:
    binding = next(o for o in rendered["platform"] if o["kind"] == "ValidatingAdmissionPolicyBinding"
                   and o["spec"]["policyName"] == placement.POLICY_NAME)
    narrowed = copy.deepcopy(binding)
    narrowed["spec"]["matchResources"]["namespaceSelector"] = {
        "matchLabels": {"kubernetes.io/metadata.name": "mu"}}
    kube.apply(narrowed)
    probe = _in(live.unpinned_probe("mu"), "mu-batch")
    try:
        live.wait_until_policy_enforced(kube, probe, placement.POLICY_NAME, enforced=False)
        assert live.admission(live.persona(kube, "mu", "edit"), probe).admitted
    finally:
        kube.apply(binding)
        live.wait_until_policy_enforced(kube, probe, placement.POLICY_NAME)
