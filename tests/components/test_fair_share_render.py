"""Issue 23, what the render builds: pool node groups force their updates past tenants' budgets,
every node group carrying a trunk gets kubelet maxPods from the launch template, the disruption-
budget policy exists once a tenant is pooled — and none of it without pools (negative controls)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tenancy.plan import admission
from tenancy.plan import pools as pool_plan
from tenancy.render import RenderResult, render_spec
from tests.fixtures.specs import spec_with
from tests.helpers import pools as P

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
VAP = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"


@pytest.fixture(scope="module")
def render() -> RenderResult:
    return render_spec(P.pooled_spec())


@pytest.fixture(scope="module")
def plain() -> RenderResult:
    return render_spec(spec_with())


def _launch_template(render: RenderResult, ng: dict[str, Any]) -> dict[str, Any]:
    [lt] = [r for r in render.of_type(LT) if r["id"] == ng["inputs"]["launchTemplate"]["id"]]
    return dict(lt["inputs"])


def _max_pods(lt: dict[str, Any]) -> int | None:
    if "userData" not in lt:
        return None
    text = base64.b64decode(lt["userData"]).decode()
    line = next(x for x in text.splitlines() if "maxPods:" in x or "max-pods" in x)
    return int(line.replace("=", ":").split(":")[-1])


def test_only_pool_node_groups_force_their_updates(render: RenderResult) -> None:
    forced = {ng["name"]: ng["inputs"].get("forceUpdateVersion") for ng in render.of_type(NODE_GROUP)}
    assert forced.pop("acme_pool-shared-a-nodes") is True and forced.pop("acme_pool-shared-b-nodes") is True
    assert not any(forced.values()), forced  # dedicated and system node groups keep their tenants' budgets


def test_every_node_group_carrying_a_trunk_gets_max_pods(render: RenderResult) -> None:
    table = pool_plan.branch_eni_table()
    seen = 0
    for ng in render.of_type(NODE_GROUP):
        types = ng["inputs"]["instanceTypes"]
        pooled = "_pool-" in ng["name"]  # (the system nodes carry tenancy/pool=system, but no pods with branches)
        expected = min(pool_plan.max_pods(table.types[t], trunk=True, branch_pods=pooled) for t in types)
        got = _max_pods(_launch_template(render, ng))
        assert got == expected, (ng["name"], got, expected)
        # The trunk's interface is taken off: fewer address pods than the calculator's plain number.
        if not pooled and all(table.types[t].trunking_compatible for t in types):
            assert got < min(pool_plan.max_pods(table.types[t], trunk=False) for t in types)
        seen += 1
    assert seen >= 6  # system, three dedicated tenants, two pools


def test_negative_control_without_pools_no_user_data_and_no_budget_policy(plain: RenderResult,
                                                                          render: RenderResult) -> None:
    assert all("userData" not in lt["inputs"] for lt in plain.of_type(LT))
    assert all(not ng["inputs"].get("forceUpdateVersion") for ng in plain.of_type(NODE_GROUP))
    names = {p["inputs"]["metadata"]["name"] for p in plain.of_type(VAP)}
    assert admission.DISRUPTION_POLICY_NAME not in names
    assert admission.DISRUPTION_POLICY_NAME in {p["inputs"]["metadata"]["name"] for p in render.of_type(VAP)}


def test_the_budget_policy_is_registered_as_planned(render: RenderResult) -> None:
    [p] = [p for p in render.of_type(VAP) if p["inputs"]["metadata"]["name"] == admission.DISRUPTION_POLICY_NAME]
    assert p["inputs"]["spec"] == admission.disruption_budget_policy()["spec"]
