"""Live tests: the rendered in-cluster layer judged by a real API server, and deployed by the real
Pulumi engine. One control plane for the whole session (etcd + kube-apiserver +
kube-controller-manager on 127.0.0.1), started on first use and stopped by PID at the end.

Binaries: ``make testenv`` (tests/helpers/testenv.py). Without them these tests skip, saying how to
get them; with ``TENANCY_LIVE_REQUIRED=1`` (set by ``.ci/run``) they fail instead.

Under pytest-xdist (``make test`` runs ``-n 2``) each worker that runs live tests starts its own
control planes: the tests share no state across workers.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from tenancy.render import render_spec
from tests.fixtures.specs import ALPHA, BETA, GAMMA, spec_with, tenant
from tests.helpers import live
from tests.helpers.controlplane import ControlPlane, Kube

# The platform the admission/authorization tests apply: three tenants as in the render tests (gamma
# granted node ports; a loadBalancers grant is refused by the spec since issue 23), and "zeta", a
# scratch tenant whose fences the negative controls break (so breaking them never disturbs the other
# tenants' checks; it may hold 3 Secrets: tests/live/test_fair_share_live.py).
ZETA: dict[str, Any] = tenant("zeta", 3, quota={"cpu": "1", "memory": "1Gi", "pods": 2, "objects": {"secrets": 3}},
                              limits={"maxPerContainer": {"cpu": "1", "memory": "1Gi"}},  # within its quota
                              editors=["arn:aws:iam::111122223333:role/zeta-devs"],
                              # a port-scoped edge (issue 28): the API server stores its ports, endPort included
                              allowFrom=[{"tenant": "gamma", "ports": [
                                  {"port": 8443}, {"port": 9000, "endPort": 9100, "protocol": "UDP"}]}])


def live_spec() -> dict[str, Any]:
    gamma = copy.deepcopy(GAMMA)
    gamma["quota"] = {"nodePorts": 1}
    beta = copy.deepcopy(BETA)
    beta["tier"] = "standard"  # both tiers on the live platform (tests/live/test_tiers_live.py)
    return spec_with([ALPHA, beta, gamma, ZETA])


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """The control plane the admission and authorization tests apply the render to."""
    yield from live.control_plane_in(tmp_path_factory, "controlplane")


@pytest.fixture(scope="session")
def engine_control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """A second, empty control plane for the Pulumi engine tests (they own the cluster-wide
    placement policy there, and leave retained namespaces behind)."""
    yield from live.control_plane_in(tmp_path_factory, "engine-controlplane")


@pytest.fixture(scope="session")
def kube(control_plane: ControlPlane) -> Kube:
    return control_plane.client()


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    """The render's Kubernetes objects, grouped by tenant (``platform`` for shared ones)."""
    return render_spec(live_spec(), stack="live").manifests


@pytest.fixture(scope="session")
def applied(kube: Kube, rendered: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Every rendered in-cluster object server-side applied (platform first, then each tenant), with
    the admission policies enforced and the quotas' status computed before any test runs."""
    live.install_crds(kube)
    live.apply_render(kube, rendered)
    return rendered
