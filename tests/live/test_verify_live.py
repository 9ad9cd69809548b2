"""``tenancy verify`` against the real API server of the live environment: the render applied →
every Kubernetes check holds (exit 0); then each tampering of issue 15 on the scratch tenant
``zeta`` — a NetworkPolicy deleted, a RoleBinding to a broad ClusterRole, the namespace relabelled
to Pod Security ``privileged`` — makes verify exit 3 naming zeta, and is reverted.

Skips without the binaries (``make testenv``), fails instead under ``TENANCY_LIVE_REQUIRED``
(tests/helpers/testenv.py), like every live test."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tenancy.cli import main
from tenancy.render import render_spec, write_render
from tests.helpers import live
from tests.helpers.controlplane import ControlPlane, Kube, wait_for
from tests.live.conftest import live_spec

Rendered = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def render_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same render the session applied (live_spec, stack "live"), written as `tenancy render` does."""
    return write_render(render_spec(live_spec(), stack="live"), tmp_path_factory.mktemp("verify") / "render")


def _verify(cp: ControlPlane, render_dir: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, Any, str]:
    capsys.readouterr()
    code = main(["verify", "--render", str(render_dir), "--kubeconfig", str(cp.kubeconfig_path), "--skip-aws",
                 "--format", "json", "--out", str(out)])
    err = capsys.readouterr().err
    return code, json.loads(out.read_text()), err


def _fails(doc: Any) -> list[tuple[str, str | None, str]]:
    return sorted((c["check"], c["tenant"], c["object"]) for c in doc["checks"] if c["status"] == "fail")


def test_verify_holds_on_the_applied_render_and_finds_each_tampering(
        control_plane: ControlPlane, kube: Kube, applied: Rendered, render_dir: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "evidence.json"
    code, doc, err = _verify(control_plane, render_dir, out, capsys)
    assert code == 0, err
    assert doc["identity"]["kubernetes"].startswith("tenancy-live-admin")
    assert doc["summary"]["fail"] == 0 and doc["summary"]["pass"] > 60
    checks = {c["check"] for c in doc["checks"] if c["status"] == "pass"}
    assert {"drift.kubernetes", "drift.kubernetes.extra", "behaviour.rbac", "behaviour.admission",
            "isolation"} <= checks
    # the operable control ran against the real admission chain: a pinned restricted pod is admitted
    assert any(c["check"] == "behaviour.admission" and "pinned restricted pod" in c["object"]
               and c["status"] == "pass" for c in doc["checks"])

    # 1. a NetworkPolicy deleted
    [deny] = [o for o in live.of_kind(applied, "zeta", "NetworkPolicy") if "default-deny" in o["metadata"]["name"]]
    kube.delete_obj(deny)
    live.wait_for_deletion(kube, deny)
    try:
        code, doc, err = _verify(control_plane, render_dir, out, capsys)
        assert code == 3
        assert ("drift.kubernetes", "zeta", f"NetworkPolicy zeta/{deny['metadata']['name']}") in _fails(doc)
        assert "zeta" in err and deny["metadata"]["name"] in err
        assert {t for _, t, _ in _fails(doc)} == {"zeta"}
    finally:
        kube.apply(deny)

    # 2. a RoleBinding of zeta's viewers to the broad ClusterRole `cluster-admin` (not `admin`:
    #    that one's rules are filled by the clusterrole-aggregation controller, which the live
    #    control plane does not run)
    rb = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
          "metadata": {"name": "verify-tamper", "namespace": "zeta"},
          "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
          "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                        "name": live.persona_group("zeta", "view")}]}
    kube.apply(rb)
    try:
        wait_for("the RoleBinding to reach the authorizer",
                 lambda: kube.can("x", [live.persona_group("zeta", "view")], "create", "pods", "", "zeta"), 30)
        code, doc, err = _verify(control_plane, render_dir, out, capsys)
        fails = _fails(doc)
        assert code == 3
        assert ("drift.kubernetes.extra", "zeta", "RoleBinding zeta/verify-tamper") in fails, fails
        assert ("behaviour.rbac", "zeta", "persona view") in fails, fails
        assert any(c == "isolation" and t == "zeta" and o.startswith("rbac") for c, t, o in fails), fails
        assert {t for _, t, _ in fails} == {"zeta"}
    finally:
        kube.delete_obj(rb)
        live.wait_for_deletion(kube, rb)

    # 3. the namespace relabelled to Pod Security `privileged`
    [ns] = live.of_kind(applied, "zeta", "Namespace")
    loose = copy.deepcopy(ns)
    loose["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "privileged"
    kube.apply(loose)
    try:
        # Pod Security reads namespace labels from an informer cache: wait until it sees the relabel.
        privileged = live.pinned_pod("zeta", "privileged")
        privileged["spec"]["containers"][0]["securityContext"] = {"privileged": True}
        wait_for("zeta's privileged relabel to reach Pod Security",
                 lambda: live.admission(kube, privileged).admitted, 30)
        code, doc, err = _verify(control_plane, render_dir, out, capsys)
        fails = _fails(doc)
        assert code == 3
        assert ("drift.kubernetes", "zeta", "Namespace zeta") in fails, fails
        assert any(c == "isolation" and t == "zeta" and o.startswith("admission") for c, t, o in fails), fails
        assert any(c == "behaviour.admission" and t == "zeta" and "privileged pod" in o for c, t, o in fails), fails
    finally:
        kube.apply(ns)

    # reverted: clean again (the authorizer's and admission's caches catch up within seconds)
    wait_for("verify to pass again", lambda: _verify(control_plane, render_dir, out, capsys)[0] == 0, 60, interval=2)


def test_verify_fails_a_live_edge_wider_than_its_ports(
        control_plane: ControlPlane, kube: Kube, applied: Rendered, render_dir: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """zeta admits gamma on TCP 8443 and UDP 9000-9100 only (live_spec). The API server holds the
    edge's ports as rendered (endPort included); the edge's two NetworkPolicies widened in the
    cluster to every port fail verify for zeta, and restoring them passes again."""
    out = tmp_path / "evidence.json"
    want = [{"protocol": "TCP", "port": 8443}, {"protocol": "UDP", "port": 9000, "endPort": 9100}]
    edge = [o for o in live.of_kind(applied, "zeta", "NetworkPolicy")
            if o["metadata"]["name"] in ("tenancy-allow-from-gamma", "tenancy-allow-to-zeta")]
    assert len(edge) == 2
    for o in edge:  # as the API server stores them
        stored = kube.get(kube.path_of(o))
        rules = stored["spec"].get("ingress") or stored["spec"].get("egress")
        assert rules[0]["ports"] == want, rules
    wide = copy.deepcopy(edge)
    for o in wide:
        for rule in o["spec"].get("ingress", []) + o["spec"].get("egress", []):
            del rule["ports"]
        kube.apply(o)
    try:
        code, doc, err = _verify(control_plane, render_dir, out, capsys)
        fails = _fails(doc)
        assert code == 3, err
        assert ("drift.kubernetes", "zeta", "NetworkPolicy zeta/tenancy-allow-from-gamma") in fails, fails
        iso = [c for c in doc["checks"] if c["status"] == "fail" and c["check"] == "isolation"]
        assert any(c["tenant"] == "zeta" and c["object"].startswith("network") for c in iso), iso
        assert {t for _, t, _ in fails} == {"zeta"}, fails
    finally:
        for o in edge:
            kube.apply(o)
    wait_for("verify to pass again", lambda: _verify(control_plane, render_dir, out, capsys)[0] == 0, 60, interval=2)


def test_verify_cannot_reach_a_stopped_api_server(render_dir: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "kubeconfig"
    cfg.write_text("apiVersion: v1\nkind: Config\ncurrent-context: x\nclusters: [{name: x, cluster: "
                   "{server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}}]\n"
                   "users: [{name: x, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: x, user: x}}]\n")
    assert main(["verify", "--render", str(render_dir), "--kubeconfig", str(cfg), "--skip-aws"]) == 1
