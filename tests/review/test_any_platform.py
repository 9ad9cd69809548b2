"""Any valid platform, not only our fixtures (tests/fixtures/random_platforms.py draws them across
the feature space; hypothesis shrinks a failure to a small one and prints it).

* its rendered NetworkPolicies, judged by network-config-analyzer with one pod in every tenant
  namespace, connect exactly what the spec declares: a tenant's own namespaces, and each
  ``allowFrom`` edge in its direction (every port, or only some for an edge with ``ports``);
  the expected map is derived here from the spec, not from the renderer;
* its render passes every guardrail of ``tenancy check`` (the product never renders what its own
  review refuses), and so does each revision of a walk of merge requests
  (tests/fixtures/random_platforms.step), each of which is also accepted by the lifecycle rules
  of ``tenancy validate --previous``, fits the node-group quota at the update's peak, shows in
  ``tenancy diff`` as what it is, never as a loosening of another tenant, and replaces or deletes
  nothing of another tenant.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenancy.plan.validate import load_platform
from tenancy.render import render_spec
from tenancy.review.check import failed, markdown, run_checks, update_fits
from tenancy.review.diff import Render, diff_renders
from tenancy.spec.lifecycle import lifecycle_record, transition_problems
from tests.fixtures.random_platforms import peer_of, platform, step
from tests.helpers.nca import Nca, SampleCluster

pytestmark = pytest.mark.slow

SWEEP = int(os.environ.get("TENANCY_ANY_PLATFORMS", "0"))
SETTINGS = settings(max_examples=SWEEP or 6, deadline=None, derandomize=not SWEEP, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
"""Each example renders a whole platform (about a second): the suite draws the same 6 each run
(``derandomize``). A wider sweep draws new ones: ``TENANCY_ANY_PLATFORMS=200 pytest
tests/review/test_any_platform.py`` (a failure prints the spec, shrunk, and how to replay it)."""


def _owners(spec: dict[str, Any]) -> dict[str, str]:
    """namespace -> tenant, for the tenants whose namespaces the platform's render holds (a team
    stack's tenant's in-cluster objects are its team's)."""
    return {ns: t["name"] for t in spec["tenants"] if not t.get("teamStack")
            for ns in [t["name"], *t.get("namespaces", [])]}


def _expected(spec: dict[str, Any], src: str, dst: str) -> str | None:
    """What nca should report from tenant ``src`` to tenant ``dst``: "all" (every port), "some"
    (an edge with ``ports``) or None."""
    if src == dst:
        return "all"
    edges = {peer_of(e): e for e in next(t for t in spec["tenants"] if t["name"] == dst).get("allowFrom", [])}
    if src not in edges:
        return None
    return "some" if isinstance(edges[src], dict) and edges[src].get("ports") else "all"


def _wrong_pairs(spec: dict[str, Any], policies: list[dict[str, Any]], workdir: Path) -> list[Any]:
    """Every pair of tenant namespaces where nca's map differs from :func:`_expected`."""
    owners = _owners(spec)
    layout: dict[str, list[tuple[str, dict[str, str]]]] = {ns: [("web", {"app": "web"})] for ns in owners}
    cluster = SampleCluster.build(layout)
    for ns in cluster.namespaces:  # the labels the platform's Namespace objects carry (docs/bundle.md)
        ns["metadata"]["labels"]["tenancy/tenant"] = owners[ns["metadata"]["name"]]
    nca = Nca(workdir, cluster)
    conn = nca.connectivity(nca.policies(policies, "rendered"))
    wrong = []
    for src in owners:
        for dst in owners:
            if src == dst:
                continue
            want, got = _expected(spec, owners[src], owners[dst]), conn.get(f"{src}/web", f"{dst}/web")
            seen = None if got is None else "all" if got == "All connections" else "some"
            if seen != want:
                wrong.append((src, dst, want, got))
    return wrong


def _network_policies(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for objs in render_spec(spec, stack="any").manifests.values() for m in objs
            if m["kind"] == "NetworkPolicy"]


@SETTINGS
@given(rng=st.randoms(use_true_random=False))
def test_any_platform_connects_exactly_what_its_spec_declares(rng: random.Random,
                                                              tmp_path_factory: pytest.TempPathFactory) -> None:
    spec = platform(rng)
    if _owners(spec):
        assert not _wrong_pairs(spec, _network_policies(spec), tmp_path_factory.mktemp("nca"))


def test_negative_control_the_judge_sees_an_undeclared_path_and_a_missing_edge(tmp_path: Path) -> None:
    """The same judge on a render with one tenant's ingress opened to everyone and another's
    declared edge removed: both pairs are reported."""
    spec = platform(random.Random(7))
    spec["tenants"] = [{"name": "a", "slot": 0}, {"name": "b", "slot": 1, "allowFrom": ["c"]}, {"name": "c", "slot": 2}]
    policies = _network_policies(spec)
    assert not _wrong_pairs(spec, policies, tmp_path / "clean")
    opened = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": {"name": "open", "namespace": "a"},
              "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]}}
    a_egress = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": "open", "namespace": "b"},
                "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]}}
    no_edge = [p for p in policies if not (p["metadata"]["namespace"] == "b"
                                           and p["metadata"]["name"].startswith("tenancy-allow-from-"))]
    assert len(no_edge) == len(policies) - 1
    wrong = _wrong_pairs(spec, [*no_edge, opened, a_egress], tmp_path / "tampered")
    assert ("b", "a", None, "All connections") in wrong and ("c", "b", "all", None) in wrong, wrong


def _judge_step(base: Any, head: Any, spec: dict[str, Any], new: dict[str, Any], change: str, tenant: str) -> None:
    """One merge request of the walk: the transition rules accept it, the head passes every check and
    fits the node-group quota at the update's peak, and the diff shows the change as itself."""
    assert transition_problems(lifecycle_record(load_platform(spec)), load_platform(new)) == []
    results = run_checks(head.resources)
    assert not failed(results), markdown(results)
    rule, _, violations = update_fits(base.resources, head.resources, new.get("nodeGroupQuota"))
    assert not violations, violations
    d = diff_renders(Render(Path("base"), "tenancy", "any", base.resources),
                     Render(Path("head"), "tenancy", "any", head.resources))
    before = next((t for t in spec["tenants"] if t["name"] == tenant), {})
    loosened = [c for c in d["isolation"] if c["change"] == "loosened"]
    tightened = [c for c in d["isolation"] if c["change"] == "tightened" and c["tenant"] == tenant]
    assert all(c["tenant"] == tenant for c in loosened), (change, tenant, loosened)
    if change == "retire":
        assert d["tenants"]["removed"] == [tenant] and not loosened
    elif change == "onboard":
        assert d["tenants"]["added"] == [tenant]
    elif change == "upgrade":
        assert d["upgrade"] and d["upgrade"]["kubernetesVersion"]["to"] == new["kubernetesVersion"]
    elif change == "internetEgress":
        assert (tightened if before.get("internetEgress") else loosened), d["isolation"]
    elif change == "dropEdges":
        assert not loosened and (tightened or not before.get("allowFrom")), d["isolation"]
    elif change == "selfServiceRbac":
        # a team stack's tenant: its Roles are the team stack's (the platform's render shows only the
        # guard policy it registers)
        had = (before.get("selfService") or {}).get("rbac") or before.get("teamStack")
        assert had or any(c["layer"] == "rbac" for c in loosened), d["isolation"]
    elif change == "addEdge":
        assert any(c["layer"] == "network" for c in loosened), d["isolation"]
    elif change in ("offboard", "resize"):
        assert not loosened, d["isolation"]
    # nothing of another tenant is replaced or deleted by a change that did not ask for it (a
    # retired tenant's peers lose the edges that named it: deleted, never replaced; an upgrade
    # replaces no tenant's resource either: node groups update in place)
    others = [r for r in d["resources"] if r["tenant"] not in (None, tenant)
              and r["action"] in (("replace",) if change == "retire" else ("replace", "delete"))]
    assert not others, (change, others)


@SETTINGS
@given(rng=st.randoms(use_true_random=False))
def test_a_walk_of_merge_requests_each_accepted_checked_fitting_and_diffed_as_itself(rng: random.Random) -> None:
    """Day 400, in small: three merge requests in a row (tests/fixtures/random_platforms.step: edges,
    egress, self-service, two-phase off-boarding, onboarding on a never-used slot, an upgrade, a
    node-group replacement, one more namespace), each judged against the revision before it."""
    spec = platform(rng)
    base = render_spec(spec, stack="any")
    results = run_checks(base.resources)  # the first revision too passes every guardrail
    assert not failed(results), markdown(results)
    for _ in range(3):
        new, change, tenant = step(rng, spec)
        head = render_spec(new, stack="any")
        _judge_step(base, head, spec, new, change, tenant)
        spec, base = new, head
