"""The Kubernetes client of ``tenancy verify`` (the ``kubernetes`` package, kubeconfig, discovery,
impersonation, dry runs) against a small HTTP API server that serves an in-memory cluster: the
whole run over the wire holds on the render, finds a tampering, and is read-only — every request
is a GET, an access review, a SelfSubjectReview or a ``dryRun=All`` create, with the persona
impersonated. (The real API server's answers are tested in tests/live/test_verify_live.py.)"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from tenancy.cli import main
from tenancy.render import RenderResult, render_spec, write_render
from tests.fixtures.specs import small_spec
from tests.verify.test_verify_kube import FakeCluster, _cluster


def _plural(kind: str) -> str:
    k = kind.lower()
    return k[:-1] + "ies" if k.endswith("y") else k + "s"


KINDS = {"v1": [("Namespace", False), ("ResourceQuota", True), ("LimitRange", True), ("ServiceAccount", True),
                ("Pod", True), ("Service", True), ("ConfigMap", True)],
         "apps/v1": [("Deployment", True)],
         "networking.k8s.io/v1": [("NetworkPolicy", True)],
         "rbac.authorization.k8s.io/v1": [("Role", True), ("RoleBinding", True), ("ClusterRole", False),
                                          ("ClusterRoleBinding", False)],
         "storage.k8s.io/v1": [("StorageClass", False)],
         "scheduling.k8s.io/v1": [("PriorityClass", False)],
         "vpcresources.k8s.aws/v1beta1": [("SecurityGroupPolicy", True)],
         "networking.k8s.aws/v1alpha1": [("ClusterNetworkPolicy", False)],
         "admissionregistration.k8s.io/v1": [("ValidatingAdmissionPolicy", False),
                                             ("ValidatingAdmissionPolicyBinding", False)]}


class Api(BaseHTTPRequestHandler):
    cluster: FakeCluster
    log: list[tuple[str, str, dict[str, list[str]], dict[str, str]]]

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self, path: str) -> tuple[str, str, str | None, str | None] | None:
        parts = path.strip("/").split("/")
        if parts[0] == "api":
            gv, rest = "v1", parts[2:]
        else:
            gv, rest = "/".join(parts[1:3]), parts[3:]
        ns = None
        if rest[:1] == ["namespaces"] and len(rest) >= 3:
            ns, rest = rest[1], rest[2:]
        for kind, _ in KINDS.get(gv, []):
            if rest and rest[0] == _plural(kind):
                return gv, kind, ns, rest[1] if len(rest) > 1 else None
        return None

    def do_GET(self) -> None:  # noqa: N802
        url = urlparse(self.path)
        self.log.append(("GET", url.path, parse_qs(url.query), {k.lower(): v for k, v in self.headers.items()}))
        if url.path == "/version":
            return self._send(200, {"major": "1", "minor": "33"})
        if url.path == "/apis":
            return self._send(200, {"groups": [{"versions": [{"groupVersion": gv}]} for gv in KINDS if gv != "v1"]})
        for gv, kinds in KINDS.items():
            if url.path == ("/api/v1" if gv == "v1" else f"/apis/{gv}"):
                return self._send(200, {"resources": [{"name": _plural(k), "kind": k, "namespaced": n}
                                                      for k, n in kinds]})
        route = self._route(url.path)
        if route is None:
            return self._send(404, {"kind": "Status", "message": "not found"})
        gv, kind, ns, name = route
        if name is None:
            return self._send(200, {"items": self.cluster.list(gv, kind, ns)})
        obj = self.cluster.get(gv, kind, name, ns)
        return self._send(200, obj) if obj else self._send(404, {"kind": "Status", "message": f"{name} not found"})

    def do_POST(self) -> None:  # noqa: N802
        url = urlparse(self.path)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.log.append(("POST", url.path, parse_qs(url.query), {k.lower(): v for k, v in self.headers.items()}))
        if url.path.endswith("/subjectaccessreviews"):
            return self._send(201, {**body, "status": {"allowed": False}})
        if url.path.endswith("/selfsubjectreviews"):
            return self._send(201, {**body, "status": {"userInfo": {"username": "auditor", "groups": ["ops"]}}})
        ok, code, msg = self.cluster.dry_run_create(body, self.headers["Impersonate-User"],
                                                    [self.headers["Impersonate-Group"]])
        return self._send(201, body) if ok else self._send(code, {"kind": "Status", "message": msg})


@pytest.fixture(scope="module")
def render() -> RenderResult:
    return render_spec(small_spec())


@pytest.fixture
def api(render: RenderResult, tmp_path: Path) -> Iterator[tuple[type[Api], Path]]:
    handler = type("Handler", (Api,), {"cluster": _cluster(render), "log": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    cfg = tmp_path / "kubeconfig"
    cfg.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "t",
        "clusters": [{"name": "t", "cluster": {"server": f"http://127.0.0.1:{server.server_address[1]}"}}],
        "users": [{"name": "t", "user": {"token": "secret-token"}}],
        "contexts": [{"name": "t", "context": {"cluster": "t", "user": "t"}}]}))
    try:
        yield handler, cfg
    finally:
        server.shutdown()
        server.server_close()


def test_over_the_wire_read_only_and_impersonating(api: tuple[type[Api], Path], render: RenderResult,
                                                   tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    handler, cfg = api
    out_dir = write_render(render, tmp_path / "render")
    report = tmp_path / "evidence.md"
    code = main(["verify", "--render", str(out_dir), "--kubeconfig", str(cfg), "--skip-aws", "--out", str(report)])
    err = capsys.readouterr().err
    assert code == 0, err
    text = report.read_text()
    assert "Identity (kubernetes): `auditor (groups: ops)`" in text and "all checks hold" in text
    # read-only: GETs, reviews, and dry-run creates only, each dry run as a tenant persona
    assert {m for m, *_ in handler.log} == {"GET", "POST"}
    posts = [(p, q, h) for m, p, q, h in handler.log if m == "POST"]
    dry = [(p, q, h) for p, q, h in posts if not p.endswith(("subjectaccessreviews", "selfsubjectreviews"))]
    assert dry and all(q.get("dryRun") == ["All"] for _, q, _ in dry)
    assert all(h["impersonate-group"].startswith("tenancy:") and h["impersonate-user"].startswith("tenancy-verify:")
               for _, _, h in dry)
    assert all(h.get("authorization") == "Bearer secret-token" for *_, h in handler.log)
    sars = [p for p, _, _ in posts if p.endswith("subjectaccessreviews")]
    assert len(sars) > 3 * 3 * 20  # every persona of every tenant, fences and peers

    # a tampering seen over the wire: exit 3, the failure names the check, tenant and object
    handler.cluster.objs = {k: v for k, v in handler.cluster.objs.items()
                            if not (k[1] == "NetworkPolicy" and k[2] == "beta" and k[3] == "tenancy-default-deny")}
    code = main(["verify", "--render", str(out_dir), "--kubeconfig", str(cfg), "--skip-aws", "--format", "json",
                 "--out", str(tmp_path / "e.json")])
    err = capsys.readouterr().err
    assert code == 3
    assert "FAIL [drift.kubernetes] tenant beta: NetworkPolicy beta/tenancy-default-deny: missing" in err
    doc = json.loads((tmp_path / "e.json").read_text())
    assert doc["summary"]["fail"] == 1 and doc["time"].endswith("Z") and doc["identity"]["kubernetes"]


def test_bad_input_exits_2(tmp_path: Path, render: RenderResult) -> None:
    out_dir = write_render(render, tmp_path / "render")
    assert main(["verify", "--render", str(tmp_path / "nothing"), "--skip-aws"]) == 2
    assert main(["verify", "--render", str(out_dir), "--kubeconfig", str(tmp_path / "missing"), "--skip-aws"]) == 2
    assert main(["verify", "--render", str(out_dir), "--skip-aws", "--skip-kubernetes"]) == 2
    bad = tmp_path / "bad-kubeconfig"
    bad.write_text("not: a kubeconfig\n")
    assert main(["verify", "--render", str(out_dir), "--kubeconfig", str(bad), "--skip-aws"]) == 2
