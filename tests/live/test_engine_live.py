"""The real Pulumi engine deploys the in-cluster layer (tests/live/programs/inclusters: the
placement policy and every tenant bundle) to the local API server, driven through the Automation
API with a local program folder, so the built CLI, Python language host and Kubernetes provider
all run: ``up`` works, a ``preview`` right after changes nothing, adding a tenant creates only its
objects, removing one deletes what it owned outside its namespace and retains the namespace,
``destroy`` leaves the retained namespaces."""

from __future__ import annotations

import copy
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tenancy.plan import admission as placement
from tests.fixtures.specs import spec_with, tenant
from tests.helpers import live
from tests.helpers.controlplane import ControlPlane
from tests.helpers.testenv import PULUMI_BINARIES, require_binaries

pytestmark = pytest.mark.live
PROGRAM = Path(__file__).parent / "programs" / "inclusters"

# Tenants of their own (this control plane is not the admission tests'): "north" allows "south" in.
NORTH = tenant("north", 0, allowFrom=["south"], serviceAccounts=["app"])
SOUTH = tenant("south", 1)
WEST = tenant("west", 2, allowFrom=["south"])


@pytest.fixture(scope="module")
def stack(engine_control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from pulumi import automation as auto

    bin_dir = require_binaries(PULUMI_BINARIES)
    work = tmp_path_factory.mktemp("engine")
    program = work / "program"
    shutil.copytree(PROGRAM, program, ignore=shutil.ignore_patterns("__pycache__", "Pulumi.*.yaml"))
    project = yaml.safe_load((PROGRAM / "Pulumi.yaml").read_text())
    # The language host runs the program with this test's interpreter (tenancy and its SDKs installed).
    project["runtime"]["options"] = {"virtualenv": sys.prefix}
    (program / "Pulumi.yaml").write_text(yaml.safe_dump(project))
    env = live.engine_env(bin_dir, work)
    cmd = auto.PulumiCommand(root=str(bin_dir.parent))
    opts = auto.LocalWorkspaceOptions(work_dir=str(program), pulumi_home=env["PULUMI_HOME"], env_vars=env,
                                      pulumi_command=cmd)
    st = auto.create_or_select_stack(stack_name="live", work_dir=str(program), opts=opts)
    st.set_config("inclusters:kubeconfig", auto.ConfigValue(str(engine_control_plane.kubeconfig_path)))
    live.install_crds(engine_control_plane.client())  # the ClusterNetworkPolicy CRD (EKS serves it)
    yield st


def _set_tenants(stack: Any, tenants: list[dict[str, Any]]) -> None:
    from pulumi import automation as auto

    stack.set_config("tenancy:platform", auto.ConfigValue(json.dumps(spec_with(copy.deepcopy(tenants)))))


def _urns(stack: Any) -> set[str]:
    return {r["urn"] for r in stack.export_stack().deployment.get("resources", [])
            if not r["type"].startswith("pulumi:")}


def _changes(summary: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in summary.items() if k != "same" and v}




def test_engine_lifecycle(stack: Any, engine_control_plane: ControlPlane) -> None:
    kube = engine_control_plane.client()
    out: list[str] = []

    # 1. up: the placement policy and two tenants with one edge.
    _set_tenants(stack, [NORTH, SOUTH])
    up = stack.up(on_output=out.append, color="never")
    assert up.summary.result == "succeeded", "\n".join(out)
    created = _urns(stack)
    assert live.has_namespace(kube, "north") and live.has_namespace(kube, "south")
    assert live.has_network_policy(kube, "south", "tenancy-allow-to-north")
    assert live.has_network_policy(kube, "north", "tenancy-allow-from-south")
    policy = {"apiVersion": placement.API_VERSION, "kind": "ValidatingAdmissionPolicy",
              "metadata": {"name": placement.POLICY_NAME}}
    assert kube.exists(policy)
    for name in ("tenancy-tenant-north", "tenancy-tenant-south", "tenancy-edge-north-from-south",
                 "tenancy-baseline-default-deny"):  # the cluster network walls (issue 26)
        assert kube.exists({"apiVersion": "networking.k8s.aws/v1alpha1", "kind": "ClusterNetworkPolicy",
                            "metadata": {"name": name}}), name
    ns = kube.get("/api/v1/namespaces/north")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"

    # 2. preview right after: nothing to do (server-side apply round-trips every field).
    preview = stack.preview(color="never")
    assert _changes(preview.change_summary) == {}, preview.stdout
    # Negative control: the same check sees a real change (one tenant's quota) as one update.
    _set_tenants(stack, [{**NORTH, "quota": {"pods": 7}}, SOUTH])
    preview = stack.preview(color="never")
    assert _changes(preview.change_summary) == {"update": 1}, preview.stdout

    # 3. adding a tenant creates only its objects.
    _set_tenants(stack, [NORTH, SOUTH, WEST])
    up = stack.up(color="never")
    assert set(_changes(up.summary.resource_changes or {})) == {"create"}, up.stdout
    added = _urns(stack) - created
    assert added and all("west" in urn for urn in added), sorted(added)
    assert _urns(stack) >= created
    assert live.has_namespace(kube, "west") and live.has_network_policy(kube, "south", "tenancy-allow-to-west")

    # 4. removing it: what it owned in another tenant's namespace is deleted, its namespace is
    #    retained (retainOnDelete) and, with it, the fences inside (deletedWith the namespace).
    _set_tenants(stack, [NORTH, SOUTH])
    up = stack.up(color="never")
    assert set(_changes(up.summary.resource_changes or {})) == {"delete"}, up.stdout
    assert _urns(stack) == created
    assert not live.has_network_policy(kube, "south", "tenancy-allow-to-west")
    assert live.has_namespace(kube, "west") and live.has_network_policy(kube, "west", "tenancy-default-deny")

    # 5. destroy: the placement policy goes, the namespaces stay.
    destroy = stack.destroy(color="never")
    assert destroy.summary.result == "succeeded", destroy.stdout
    assert _urns(stack) == set()
    assert not kube.exists(policy)
    assert live.has_namespace(kube, "north") and live.has_namespace(kube, "south")
