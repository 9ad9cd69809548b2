"""Switching an existing platform to tenant stacks (docs/scaling.md, "Switching an existing
platform"), through the real engine against the local API server: the monolithic in-cluster stack
(tests/live/programs/inclusters) stops registering the bundles — the namespaces are retained and
their children skipped (deletedWith), so nothing is deleted in the cluster — then the tenant stacks
with ``adopt`` take the same objects over in place: every object keeps its UID (not deleted and
re-created), and a preview of each tenant stack afterwards is clean."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tenancy.fleet.tenants import TenantStacks
from tests.fixtures.specs import spec_with, tenant
from tests.helpers.controlplane import ControlPlane, Kube
from tests.live.test_engine_live import stack  # noqa: F401 - the monolithic in-cluster stack (fixture)
from tests.live.test_tenant_stacks_live import stacks  # noqa: F401 - the tenant stacks' runner (fixture)

pytestmark = pytest.mark.live

SA = tenant("swa", 26, allowFrom=["swb"], serviceAccounts=["app"])
SB = tenant("swb", 27)
OBJECTS = [("v1", "Namespace", None, "swa"), ("v1", "Namespace", None, "swb"),
           ("networking.k8s.io/v1", "NetworkPolicy", "swa", "tenancy-default-deny"),
           ("networking.k8s.io/v1", "NetworkPolicy", "swa", "tenancy-allow-from-swb"),
           ("networking.k8s.io/v1", "NetworkPolicy", "swb", "tenancy-allow-to-swa"),
           ("v1", "ResourceQuota", "swa", "tenancy-quota"), ("v1", "ServiceAccount", "swa", "app")]


def _uids(kube: Kube) -> dict[tuple[Any, ...], str]:
    out = {}
    for api, kind, ns, name in OBJECTS:
        meta: dict[str, Any] = {"name": name, **({"namespace": ns} if ns else {})}
        obj = {"apiVersion": api, "kind": kind, "metadata": meta}
        out[(kind, ns, name)] = kube.get(kube.path_of(obj))["metadata"]["uid"] if kube.exists(obj) else ""
    return out


def test_switch_moves_the_objects_without_deleting_them(stack: Any, stacks: TenantStacks,  # noqa: F811
                                                        engine_control_plane: ControlPlane) -> None:
    from pulumi import automation as auto

    kube = engine_control_plane.client()
    data = spec_with(copy.deepcopy([SA, SB]))
    stack.set_config("tenancy:platform", auto.ConfigValue(json.dumps(data)))
    assert stack.up(color="never").summary.result == "succeeded"
    before = _uids(kube)
    assert all(before.values()), before

    # 1. The monolith stops registering the bundles: only deletes in its state, none in the cluster.
    stack.set_config("inclusters:bundles", auto.ConfigValue("false"))
    up = stack.up(color="never")
    changes = {k: v for k, v in (up.summary.resource_changes or {}).items() if k != "same" and v}
    assert set(changes) == {"delete"}, changes
    assert _uids(kube) == before

    # 2. The tenant stacks adopt them in place (the runner's own platform stack is not used: the
    #    monolith keeps the placement policy, as the AWS Platform does).
    stacks.write_spec(data)
    # adopt (upsertExistingObjects) is what pulumi-kubernetes >= 4.29 needs to create over existing
    # objects; the testenv's provider (4.25) upserts with server-side apply even without it, so no
    # negative control of the flag here (its config is checked in tests/components/test_platform_tenant_stacks.py).
    stacks.config["tenancy:adopt"] = "true"
    for name in ("swa", "swb"):
        result = stacks.open(f"tenant-{name}", [name]).up(color="never")
        assert result.summary.result == "succeeded"
    assert _uids(kube) == before  # same objects: updated in place, never deleted and re-created
    for name in ("swa", "swb"):
        preview = stacks.open(f"tenant-{name}", [name]).preview(color="never")
        assert {k: v for k, v in preview.change_summary.items() if k != "same" and v} == {}, preview.stdout

    # Clean up what this test owns (the namespaces are retained by design).
    for name in ("swa", "swb"):
        assert stacks.open(f"tenant-{name}", [name]).destroy(color="never").summary.result == "succeeded"
    stack.set_config("inclusters:bundles", auto.ConfigValue("true"))
    assert stack.destroy(color="never").summary.result == "succeeded"
