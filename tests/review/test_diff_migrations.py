"""`tenancy diff` reports a placement move (dedicated ↔ pool, pool → pool) as a disruptive
migration (issue 28): what is evicted, what admission refuses afterwards, what the pods need.

Over real renders. The claims about admission are judged by cel-python evaluating the HEAD
render's own placement policy against pods built from the diff's words (tests/helpers/vap.py),
not by re-reading the code that wrote them."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tenancy.review.diff import Render, diff_renders, markdown
from tenancy.spec.wire import K8S_NAMESPACE, K8S_VAP
from tests.fixtures.specs import ALPHA, BETA, GAMMA, spec_with
from tests.helpers import review
from tests.helpers.vap import Decision, admit

POOLS = [{"name": "shared", "slot": 5}, {"name": "other", "slot": 6}]
ENI = "vpc.amazonaws.com/pod-eni"


def _beta(pool: str | None, **extra: Any) -> dict[str, Any]:
    b = copy.deepcopy(BETA)
    if pool:
        b = {k: v for k, v in b.items() if k not in ("slot", "nodes")} | {"pool": pool}
    return b | extra


def _render(beta: dict[str, Any], pools: list[dict[str, Any]] = POOLS) -> list[dict[str, Any]]:
    # gamma keeps pool `other` occupied (a pool without tenants is still built: its nodes stay).
    return review.resources(spec_with([ALPHA, beta, GAMMA], nodePools=pools))


def _diff(base: list[dict[str, Any]], head: list[dict[str, Any]]) -> dict[str, Any]:
    return diff_renders(Render(Path("b"), "tenancy", "review", base), Render(Path("h"), "tenancy", "review", head))


def _only_move(d: dict[str, Any]) -> dict[str, Any]:
    assert [m["tenant"] for m in d["migrations"]] == ["beta"], d["migrations"]
    assert d["summary"]["migrations"] == 1
    return d["migrations"][0]


# --------------------------------------------------------------------------------------------
# What the diff says


def test_dedicated_to_pool_is_a_disruptive_migration_not_a_tier_change() -> None:
    d = _diff(_render(_beta(None)), _render(_beta("shared")))
    m = _only_move(d)
    assert (m["from"], m["to"]) == ("beta's own nodes", "pool shared")
    assert "beta-nodes" in m["evicted"] and "drains" in m["evicted"]
    refused = " | ".join(m["refused"])
    assert "selecting tenancy/tenant=beta" in refused and "tenancy/pool=shared" in refused
    assert "tolerating tenancy/tenant=beta:NoSchedule" in refused
    assert ENI in refused
    assert "priorityClassName tenancy-premium" in refused and "premium → standard" in refused
    assert "drops from 50 to 10" in refused  # the pooled default quota.pods
    assert m["podsNeed"] == {"nodeSelector": {"tenancy/pool": "shared"},
                             "tolerations": ["tenancy/pool=shared:NoSchedule"], "podEniRequest": True,
                             "priorityClassName": "tenancy-standard"}
    assert m["procedure"] == "docs/pools.md#moving-a-tenant-between-placements"
    md = markdown(d)
    assert "#### ⚠️ Disruptive migrations" in md and "1 disruptive migration(s)" in md
    assert md.index("Disruptive migrations") < md.index("#### Isolation changes")
    assert "beta's own nodes → pool shared" in md
    # the tier change is still an isolation fact, tied to the move
    tier = [c for c in d["isolation"] if "tier of beta" in c["detail"]]
    assert tier and "with its move" in tier[0]["detail"]


def test_explicit_tier_and_quota_are_not_reported_as_refusals() -> None:
    keep = {"tier": "premium", "quota": {"cpu": "4", "memory": "8Gi", "pods": 50}}
    m = _only_move(_diff(_render(_beta(None, **keep)), _render(_beta("shared", **keep))))
    refused = " | ".join(m["refused"])
    assert "priorityClassName" not in refused and "pods quota" not in refused
    assert m["podsNeed"]["priorityClassName"] == "tenancy-premium"


def test_pool_to_pool_evicts_nothing_at_once_and_refuses_the_old_pool() -> None:
    m = _only_move(_diff(_render(_beta("shared")), _render(_beta("other"))))
    assert (m["from"], m["to"]) == ("pool shared", "pool other")
    assert m["evicted"].startswith("nothing at once") and "pool shared" in m["evicted"]
    refused = " | ".join(m["refused"])
    assert "selecting tenancy/pool=shared" in refused and "tenancy/pool=other" in refused
    assert "tolerating tenancy/pool=shared:NoSchedule" in refused
    assert "priorityClassName" not in refused  # standard on both pools
    assert m["podsNeed"]["nodeSelector"] == {"tenancy/pool": "other"} and m["podsNeed"]["podEniRequest"]


def test_pool_to_dedicated_needs_the_tenant_selector_and_no_eni() -> None:
    head = _render(_beta(None))
    m = _only_move(_diff(_render(_beta("shared")), head))
    assert (m["from"], m["to"]) == ("pool shared", "beta's own nodes")
    assert m["evicted"].startswith("nothing at once")
    assert m["podsNeed"]["nodeSelector"] == {"tenancy/tenant": "beta"}
    assert m["podsNeed"]["tolerations"] == ["tenancy/tenant=beta:NoSchedule"]
    assert m["podsNeed"]["podEniRequest"] is False
    # issue 23: a dedicated tenant's pods may take no branch interface; the diff says so, and the
    # head's own placement policy (cel-python) agrees
    [eni] = [r for r in m["refused"] if ENI in r]
    assert eni.startswith("pods carrying the")
    need = m["podsNeed"]
    assert _decide(head, _pod(need["nodeSelector"], need["tolerations"], eni=True)).denied
    assert not _decide(head, _pod(need["nodeSelector"], need["tolerations"], eni=False)).violations


def test_leaving_a_pool_that_is_deleted_evicts_its_pods() -> None:
    only = [{"name": "solo", "slot": 5}]
    base = review.resources(spec_with([ALPHA, _beta("solo"), GAMMA], nodePools=only))
    head = review.resources(spec_with([ALPHA, _beta(None), GAMMA]))
    m = _only_move(_diff(base, head))
    assert "drains" in m["evicted"] and "solo" in m["evicted"]


@pytest.mark.parametrize("change", ["same", "tier", "nodes"])
def test_negative_controls_no_move_no_migration(change: str) -> None:
    head = {"same": _beta(None), "tier": _beta(None, tier="standard"),
            "nodes": _beta(None, nodes={"instanceTypes": ["m6i.xlarge"], "minSize": 1, "maxSize": 4,
                                        "desiredSize": 1})}[change]
    d = _diff(_render(_beta(None)), _render(head))
    assert d["migrations"] == [] and d["summary"]["migrations"] == 0
    assert "Disruptive migrations" not in markdown(d)


# --------------------------------------------------------------------------------------------
# The admission claims, judged by cel-python on the rendered policy


def _decide(res: list[dict[str, Any]], pod: dict[str, Any]) -> Decision:
    """The render's placement policy, bound as rendered, on ``pod`` created in beta's namespace."""
    policy = next(r["inputs"] for r in res if r["type"] == K8S_VAP and r["inputs"]["metadata"]["name"] ==
                  "tenancy-pod-placement")
    binding = next(r["inputs"] for r in res if r["type"] == K8S_VAP + "Binding"
                   and r["inputs"]["spec"]["policyName"] == "tenancy-pod-placement")
    ns = next(r["inputs"] for r in res if r["type"] == K8S_NAMESPACE and r["inputs"]["metadata"]["name"] == "beta")
    d = admit(policy, binding, pod, ns)
    assert d.applies, "the policy must apply to a pod in a tenant namespace"
    return d


def _pod(selector: dict[str, str], tolerations: list[str], eni: bool) -> dict[str, Any]:
    tols = []
    for t in tolerations:
        kv, _, effect = t.rpartition(":")
        key, _, value = kv.partition("=")
        tols.append({"key": key, "operator": "Equal", "value": value, "effect": effect})
    container: dict[str, Any] = {"name": "app", "image": "app:1"}
    if eni:
        container["resources"] = {"limits": {ENI: "1"}, "requests": {ENI: "1"}}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "beta"},
            "spec": {"nodeSelector": selector, "tolerations": tols, "containers": [container]}}


@pytest.mark.parametrize(("was", "now"), [(None, "shared"), ("shared", "other"), ("shared", None)])
def test_the_pods_need_what_the_diff_says_and_the_old_placement_is_refused(was: str | None, now: str | None) -> None:
    base, head = _render(_beta(was)), _render(_beta(now))
    m = _only_move(_diff(base, head))
    need = m["podsNeed"]
    ok = _decide(head, _pod(need["nodeSelector"], need["tolerations"], need["podEniRequest"]))
    assert not ok.violations, ok.violations
    # the pod the tenant ran before the change, as the old placement admitted it
    old_need = _only_move(_diff(head, base))["podsNeed"]
    before = _pod(old_need["nodeSelector"], old_need["tolerations"], old_need["podEniRequest"])
    assert not _decide(base, before).violations, "negative control: the old pod fitted the old placement"
    assert _decide(head, before).denied, "the old pod must be refused after the move"
    if need["podEniRequest"]:
        assert _decide(head, _pod(need["nodeSelector"], need["tolerations"], eni=False)).denied


@pytest.mark.parametrize(("was", "now"), [(None, "shared"), ("shared", "other"), ("shared", None)])
def test_a_pod_cannot_be_prepared_for_both_placements(was: str | None, now: str | None) -> None:
    """docs/pools.md's procedure rests on this: before the move, admission refuses a pod that also
    tolerates the new placement's taint, so manifests cannot be made ready for both ahead of time."""
    base, head = _render(_beta(was)), _render(_beta(now))
    old_need = _only_move(_diff(head, base))["podsNeed"]
    new_need = _only_move(_diff(base, head))["podsNeed"]
    both = _pod(old_need["nodeSelector"], old_need["tolerations"] + new_need["tolerations"], eni=True)
    assert _decide(base, both).denied
    # (the pod-eni request only where the old placement is a pool: dedicated pods may take no branch interface)
    assert not _decide(base, _pod(old_need["nodeSelector"], old_need["tolerations"],
                                  eni=old_need["podEniRequest"])).violations
