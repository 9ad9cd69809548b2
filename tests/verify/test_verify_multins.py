"""tenancy verify on a tenant with several namespaces (issue 26), over the in-memory cluster of
tests/verify/test_verify_kube.py: drift is read in every namespace, and the placement probes run
in the extra namespace too. Negative controls: a default-deny deleted in the EXTRA namespace, and
a cluster that admits an unpinned pod there, each fail naming the tenant."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tenancy.render import RenderResult, render_spec
from tenancy.review.diff import Render
from tenancy.verify import kube as K
from tenancy.verify import verify
from tenancy.verify.report import FAIL, PASS
from tests.fixtures.specs import spec_with, tenant
from tests.verify.test_verify_kube import FakeCluster, _cluster

SPEC = spec_with([tenant("alpha", 0, namespaces=["alpha-batch"], allowFrom=["beta"], serviceAccounts=["app"]),
                  tenant("beta", 1)])
OWNER = {"alpha": "alpha", "alpha-batch": "alpha", "beta": "beta"}


class MultiFake(FakeCluster):
    """Admits a pod pinned to the tenant owning its namespace (any of the tenant's namespaces)."""

    leak: str | None = None

    def dry_run_create(self, obj: Mapping[str, Any], user: str, groups: Sequence[str]) -> tuple[bool, int, str]:
        ns = obj["metadata"]["namespace"]
        selector = (obj.get("spec") or {}).get("nodeSelector", {}).get("tenancy/tenant")
        if ns == self.leak and obj["kind"] == "Pod" and selector is None:
            return True, 201, ""
        ok = obj["kind"] == "Pod" and selector == OWNER.get(ns) and "privileged" not in str(obj) and \
            "vpc.amazonaws.com/pod-eni" not in str(obj)
        return (True, 201, "") if ok else (False, 422, "denied request: fake")


@pytest.fixture(scope="module")
def render() -> RenderResult:
    return render_spec(SPEC)


def _cluster_of(render: RenderResult) -> MultiFake:
    c = MultiFake([])
    c.objs = _cluster(render).objs
    return c


def _report(render: RenderResult, cluster: FakeCluster) -> Any:
    return verify(Render(Path("build/t"), render.project, render.stack, render.resources), kube=cluster)


def test_namespaces_by_tenant(render: RenderResult) -> None:
    assert K.namespaces_by_tenant(render.resources) == {"alpha": ["alpha", "alpha-batch"], "beta": ["beta"]}


def test_as_rendered_every_check_holds_and_probes_the_extra_namespace(render: RenderResult) -> None:
    report = _report(render, _cluster_of(render))
    assert [(r.check, r.tenant, r.object) for r in report.results if r.status == FAIL] == []
    extra = [r for r in report.results if "in namespace alpha-batch" in r.object]
    assert {r.status for r in extra} == {PASS} and len(extra) == 2, [(r.object, r.status) for r in extra]


def test_negative_control_default_deny_deleted_in_the_extra_namespace(render: RenderResult) -> None:
    cluster = _cluster_of(render)
    [key] = [k for k in cluster.objs if k[1] == "NetworkPolicy" and k[2] == "alpha-batch" and "default-deny" in k[3]]
    del cluster.objs[key]
    fails = [(r.check, r.tenant) for r in _report(render, cluster).results if r.status == FAIL]
    assert any(t == "alpha" for _, t in fails), fails


def test_negative_control_unpinned_pod_admitted_in_the_extra_namespace(render: RenderResult) -> None:
    cluster = _cluster_of(render)
    cluster.leak = "alpha-batch"
    fails = [(r.tenant, r.object) for r in _report(render, cluster).results if r.status == FAIL]
    assert ("alpha", "dry-run create as alpha's editor: pod without its node selector in namespace alpha-batch") \
        in fails or any("alpha-batch" in o for _, o in fails), fails
