"""``tenancy check`` (and so the policy pack) knows each fence of issue 23: real renders pass, and
each rule fires when its fence is taken out of the render (negative controls)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tenancy.plan import admission
from tenancy.render import render_spec
from tenancy.review.check import RULES_BY_ID, run_checks
from tests.fixtures.specs import spec_with
from tests.helpers import pools as P

RULES = ("fair-share-quotas", "pool-disruption-budgets", "no-unreachable-load-balancers", "max-pods-with-trunk")
QUOTA = "kubernetes:core/v1:ResourceQuota"
NS = "kubernetes:core/v1:Namespace"
LR = "kubernetes:core/v1:LimitRange"
NG = "aws:eks/nodeGroup:NodeGroup"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"


@pytest.fixture(scope="module")
def pooled() -> list[dict[str, Any]]:
    return render_spec(P.pooled_spec()).resources


@pytest.fixture(scope="module")
def plain() -> list[dict[str, Any]]:
    return render_spec(spec_with()).resources


def violations(resources: list[dict[str, Any]], rule: str) -> list[Any]:
    return next(v for r, _, v in run_checks(resources) if r.id == rule)


@pytest.mark.parametrize("rule", RULES)
def test_real_renders_pass(rule: str, pooled: list[dict[str, Any]], plain: list[dict[str, Any]]) -> None:
    assert RULES_BY_ID[rule].enforcement == "mandatory"
    assert violations(pooled, rule) == []
    assert violations(plain, rule) == []


def _quota(res: list[dict[str, Any]], ns: str) -> dict[str, Any]:
    return next(r for r in res if r["type"] == QUOTA and r["inputs"]["metadata"]["namespace"] == ns
                and r["inputs"]["metadata"]["name"] == "tenancy-quota")


def _drop_eni(res: list[dict[str, Any]]) -> None:
    del _quota(res, "shop")["inputs"]["spec"]["hard"]["requests.vpc.amazonaws.com/pod-eni"]


def _dedicated_eni(res: list[dict[str, Any]]) -> None:
    _quota(res, "alpha")["inputs"]["spec"]["hard"]["requests.vpc.amazonaws.com/pod-eni"] = "5"


def _drop_secrets_count(res: list[dict[str, Any]]) -> None:
    del _quota(res, "alpha")["inputs"]["spec"]["hard"]["count/secrets"]


def _drop_disk_default(res: list[dict[str, Any]]) -> None:
    lr = next(r for r in res if r["type"] == LR and r["inputs"]["metadata"]["namespace"] == "beta")
    del lr["inputs"]["spec"]["limits"][0]["default"]["ephemeral-storage"]


def _unbind_budgets(res: list[dict[str, Any]]) -> None:
    res[:] = [r for r in res if not (r["type"] == BINDING
                                     and r["inputs"]["spec"]["policyName"] == admission.DISRUPTION_POLICY_NAME)]


def _unforced_pool(res: list[dict[str, Any]]) -> None:
    ng = next(r for r in res if r["type"] == NG and r["name"] == "acme_pool-shared-a-nodes")
    ng["inputs"]["forceUpdateVersion"] = False


def _grant_lb(res: list[dict[str, Any]]) -> None:
    ns = next(r for r in res if r["type"] == NS and r["inputs"]["metadata"]["name"] == "gamma")
    ns["inputs"]["metadata"]["labels"]["tenancy/load-balancers"] = "allowed"


def _no_max_pods(res: list[dict[str, Any]]) -> None:
    ng = next(r for r in res if r["type"] == NG and r["name"] == "alpha-nodes")
    lt = next(r for r in res if r["type"] == LT and r["id"] == ng["inputs"]["launchTemplate"]["id"])
    del lt["inputs"]["userData"]


BREAKS: list[tuple[str, Callable[[list[dict[str, Any]]], None], str, str]] = [
    ("pooled-quota-without-pod-eni", _drop_eni, "fair-share-quotas", "requests.vpc.amazonaws.com/pod-eni to "),
    ("dedicated-quota-with-pod-eni", _dedicated_eni, "fair-share-quotas", "to 0 (has '5')"),
    ("no-secret-count", _drop_secrets_count, "fair-share-quotas", "lacks count/secrets"),
    ("no-disk-default", _drop_disk_default, "fair-share-quotas", "ephemeral-storage"),
    ("budget-policy-unbound", _unbind_budgets, "pool-disruption-budgets", "PodDisruptionBudgets in namespace"),
    ("pool-not-forced", _unforced_pool, "pool-disruption-budgets", "forceUpdateVersion"),
    ("load-balancer-label", _grant_lb, "no-unreachable-load-balancers", "namespace gamma is granted"),
    ("no-max-pods", _no_max_pods, "max-pods-with-trunk", "maxPods not (at most 20)"),
]


@pytest.mark.parametrize("case", BREAKS, ids=[c[0] for c in BREAKS])
def test_negative_control_each_rule_fires_without_its_fence(case: Any, pooled: list[dict[str, Any]]) -> None:
    _, brk, rule, text = case
    res = copy.deepcopy(pooled)
    brk(res)
    found = violations(res, rule)
    assert len(found) >= 1 and any(text in v.message for v in found), [v.message for v in found]


def test_max_pods_are_not_required_without_a_trunk(plain: list[dict[str, Any]]) -> None:
    # No pooled tenant: no trunk anywhere, EKS's own maxPods stands (no user data rendered).
    assert all("userData" not in r["inputs"] for r in plain if r["type"] == LT)
    assert violations(plain, "max-pods-with-trunk") == []
