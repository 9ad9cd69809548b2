"""A real Kubernetes control plane for the live tests: etcd + kube-apiserver + kube-controller-manager
on 127.0.0.1, with RBAC, Pod Security and ValidatingAdmissionPolicy on, and a plain-HTTPS client.

The binaries come from ``make testenv`` (testenv/build.sh). Shared by the live tests
(tests/helpers/controlplane.py re-exports it) and ``make demo`` (tools/demo.py). Everything listens on free
loopback ports, lives in one work folder (certificates, data, logs, kubeconfig) and is stopped by
PID. Flags follow controller-runtime's envtest (``pkg/internal/testing/controlplane/apiserver.go``:
RBAC, ``--allow-privileged`` so Pod Security is the judge of privileged pods, a
``--service-cluster-ip-range``) plus what envtest lacks: service-account signing keys and a
controller manager, which runs the controllers the tests rely on:

- ``namespace-controller`` and ``garbage-collector-controller``: namespace deletion and owner-reference cleanup (without
  them a deleted namespace stays ``Terminating`` forever);
- ``serviceaccount-controller``: the ``default`` ServiceAccount of every namespace (pods need it);
- ``resourcequota-controller``: ``status.hard``/``status.used`` (the quota admission plugin ignores a quota
  without status);
- ``deployment-controller``, ``replicaset-controller``: Deployments create ReplicaSets create Pods, through admission;
- ``validatingadmissionpolicy-status-controller``: ``status.typeChecking`` of admission policies;
- ``clusterrole-aggregation-controller``: the rules of the aggregated built-in ClusterRoles
  (``admin``, ``edit``, ``view``), empty without it.

No scheduler and no kubelet: pods are admitted (or not) and stay Pending.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

KCM_CONTROLLERS = ("namespace-controller", "garbage-collector-controller", "serviceaccount-controller",
                   "resourcequota-controller", "deployment-controller", "replicaset-controller",
                   "validatingadmissionpolicy-status-controller", "clusterrole-aggregation-controller")
"""Canonical names (``cmd/kube-controller-manager/names/controller_names.go``)."""
START_TIMEOUT = 120.0
"""Seconds each component gets to become ready (the machine may be busy)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], timeout: float, interval: float = 0.25,
             on_timeout: Callable[[], str] | None = None) -> Any:
    """Poll ``check`` until it returns something truthy (returned) or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # noqa: BLE001 - reported on timeout
            last_error = exc
        if time.monotonic() > deadline:
            extra = on_timeout() if on_timeout else ""
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}"
                               + (f" (last error: {last_error})" if last_error else "") + extra)
        time.sleep(interval)


# ------------------------------------------------------------------------------------------------
# Certificates


@dataclass
class _Cert:
    cert: Path
    key: Path


def _write_key(key: Any, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _name(cn: str, org: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


class _CA:
    def __init__(self, folder: Path):
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        subject = _name("tenancy-live-ca")
        self.cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(minutes=5))
                     .not_valid_after(now + datetime.timedelta(days=1))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                  content_commitment=False, key_encipherment=False,
                                                  data_encipherment=False, key_agreement=False, encipher_only=False,
                                                  decipher_only=False), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.path = folder / "ca.crt"
        self.path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, name: str, cn: str, org: str | None = None, server: bool = False) -> _Cert:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        b = (x509.CertificateBuilder().subject_name(_name(cn, org)).issuer_name(self.cert.subject)
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
        if server:
            b = b.add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.DNSName("kubernetes"), x509.DNSName("kubernetes.default"),
                x509.DNSName("kubernetes.default.svc"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address("10.0.0.1"))]), critical=False)
            b = b.add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        else:
            b = b.add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        cert = b.sign(self.key, hashes.SHA256())
        out = _Cert(self.folder / f"{name}.crt", self.folder / f"{name}.key")
        out.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(key, out.key)
        return out


def kubeconfig(server: str, ca: Path, cert: _Cert, user: str = "admin") -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Config", "current-context": "live",
        "clusters": [{"name": "live", "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [{"name": user, "user": {"client-certificate": str(cert.cert), "client-key": str(cert.key)}}],
        "contexts": [{"name": "live", "context": {"cluster": "live", "user": user}}],
    }


# ------------------------------------------------------------------------------------------------
# Plain HTTPS client


class ApiError(Exception):
    def __init__(self, status: int, body: Any, method: str, path: str):
        self.status, self.body = status, body
        message = body.get("message") if isinstance(body, dict) else str(body)
        super().__init__(f"{method} {path}: HTTP {status}: {message}")

    @property
    def message(self) -> str:
        return str(self.body.get("message", "")) if isinstance(self.body, dict) else str(self.body)


_DISCOVERY: dict[str, dict[tuple[str, str], tuple[str, bool]]] = {}


class Kube:
    """A minimal Kubernetes REST client (requests + client certificate), optionally impersonating
    a user and groups (``Impersonate-User``/``Impersonate-Group``: the API server then authorizes
    and admits the request as that identity)."""

    def __init__(self, server: str, ca: Path, cert: _Cert, user: str | None = None,
                 groups: Iterable[str] = ()):
        self.server, self.ca, self.cert = server, ca, cert
        self.session = requests.Session()
        # No proxies, and no REQUESTS_CA_BUNDLE overriding the cluster's CA (requests lets the
        # environment win over session.verify).
        self.session.trust_env = False
        self.session.verify = str(ca)
        self.session.cert = (str(cert.cert), str(cert.key))
        self.user, self.groups = user, tuple(groups)
        if user:
            self.session.headers["Impersonate-User"] = user
        if len(self.groups) > 1:
            raise ValueError("this client impersonates at most one group")
        if self.groups:
            self.session.headers["Impersonate-Group"] = self.groups[0]

    def as_user(self, user: str, *groups: str) -> Kube:
        return Kube(self.server, self.ca, self.cert, user, groups)

    def request(self, method: str, path: str, body: Any = None, params: Mapping[str, str] | None = None,
                content_type: str = "application/json", ok: Iterable[int] = (200, 201, 202)) -> Any:
        data = None
        if body is not None:
            data = body if isinstance(body, (str, bytes)) else json.dumps(body)
        r = self.session.request(method, self.server + path, data=data, params=params,
                                 headers={"Content-Type": content_type}, timeout=60, verify=str(self.ca))
        try:
            out = r.json()
        except ValueError:
            out = r.text
        if r.status_code not in tuple(ok):
            raise ApiError(r.status_code, out, method, path)
        return out

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any, dry_run: bool = False, **kw: Any) -> Any:
        return self.request("POST", path, body, params={"dryRun": "All"} if dry_run else None, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, ok=(200, 202, 404), **kw)

    # --- discovery and server-side apply ---

    def _resources(self) -> dict[tuple[str, str], tuple[str, bool]]:
        """(apiVersion, kind) -> (URL prefix of the collection's group/version, namespaced)."""
        if self.server in _DISCOVERY:
            return _DISCOVERY[self.server]
        out: dict[tuple[str, str], tuple[str, bool]] = {}
        versions = [("v1", "/api/v1")]
        for g in self.get("/apis")["groups"]:
            for v in g["versions"]:
                versions.append((v["groupVersion"], f"/apis/{v['groupVersion']}"))
        for gv, prefix in versions:
            for res in self.get(prefix)["resources"]:
                if "/" not in res["name"]:
                    out.setdefault((gv, res["kind"]), (f"{prefix}|{res['name']}", res["namespaced"]))
        _DISCOVERY[self.server] = out
        return out

    def path_of(self, obj: Mapping[str, Any], named: bool = True) -> str:
        key = (obj["apiVersion"], obj["kind"])
        try:
            where, namespaced = self._resources()[key]
        except KeyError:
            raise KeyError(f"the API server does not serve {key}") from None
        prefix, plural = where.split("|")
        meta = obj.get("metadata") or {}
        ns = f"/namespaces/{meta['namespace']}" if namespaced else ""
        return f"{prefix}{ns}/{plural}" + (f"/{meta['name']}" if named else "")

    def apply(self, obj: Mapping[str, Any], manager: str = "tenancy-live-tests", dry_run: bool = False) -> Any:
        """Server-side apply (``PATCH`` with ``application/apply-patch+yaml``), as Pulumi's
        provider and ``kubectl apply --server-side`` do."""
        params = {"fieldManager": manager, "force": "true"}
        if dry_run:
            params["dryRun"] = "All"
        return self.request("PATCH", self.path_of(obj), json.dumps(obj), params=params,
                            content_type="application/apply-patch+yaml")

    def delete_obj(self, obj: Mapping[str, Any]) -> Any:
        return self.delete(self.path_of(obj))

    def exists(self, obj: Mapping[str, Any]) -> bool:
        return bool(self.request("GET", self.path_of(obj), ok=(200, 404)).get("kind") == obj["kind"])

    # --- authorization ---

    def can(self, user: str, groups: Iterable[str], verb: str, resource: str, group: str = "",
            namespace: str | None = None, subresource: str = "", name: str = "") -> bool:
        """A SubjectAccessReview: may ``user`` (in ``groups``) do ``verb`` on the resource?"""
        attrs: dict[str, str] = {"verb": verb, "group": group, "resource": resource}
        if subresource:
            attrs["subresource"] = subresource
        if namespace:
            attrs["namespace"] = namespace
        if name:
            attrs["name"] = name
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                  "spec": {"user": user, "groups": [*groups, "system:authenticated"], "resourceAttributes": attrs}}
        out = self.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", review)
        return bool(out["status"].get("allowed"))


# ------------------------------------------------------------------------------------------------
# The control plane


@dataclass
class ControlPlane:
    bin_dir: Path
    workdir: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    server: str = ""
    ca: Path = Path()
    admin: _Cert | None = None
    kubeconfig_path: Path = Path()

    # --- lifecycle ---

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen([str(self.bin_dir / name), *args], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.workdir)
        log.close()
        self.procs[name] = proc
        (self.workdir / f"{name}.pid").write_text(str(proc.pid))
        return proc

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.workdir / f"{name}.log"
        if not path.exists():
            return ""
        text = path.read_text(errors="replace").splitlines()[-lines:]
        return f"\n--- last {len(text)} lines of {path} ---\n" + "\n".join(text)

    def _alive(self, name: str) -> None:
        code = self.procs[name].poll()
        if code is not None:
            raise RuntimeError(f"{name} exited with code {code}{self.log_tail(name)}")

    def start(self) -> ControlPlane:
        pki = self.workdir / "pki"
        pki.mkdir(parents=True, exist_ok=True)
        ca = _CA(pki)
        self.ca = ca.path
        serving = ca.issue("apiserver", "kube-apiserver", server=True)
        self.admin = ca.issue("admin", "tenancy-live-admin", "system:masters")
        kcm = ca.issue("kube-controller-manager", "system:kube-controller-manager", "system:masters")
        sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _write_key(sa_key, pki / "sa.key")
        (pki / "sa.pub").write_bytes(sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))

        # etcd
        client_port, peer_port = free_port(), free_port()
        etcd_url = f"http://127.0.0.1:{client_port}"
        self._spawn("etcd", [f"--data-dir={self.workdir / 'etcd'}", f"--listen-client-urls={etcd_url}",
                             f"--listen-peer-urls=http://127.0.0.1:{peer_port}", "--unsafe-no-fsync"])

        def etcd_ready() -> bool:
            self._alive("etcd")
            return requests.get(f"{etcd_url}/health", timeout=2).json().get("health") == "true"

        wait_for("etcd /health", etcd_ready, START_TIMEOUT, on_timeout=lambda: self.log_tail("etcd"))

        # kube-apiserver
        port = free_port()
        self.server = f"https://127.0.0.1:{port}"
        self._spawn("kube-apiserver", [
            f"--etcd-servers={etcd_url}", "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            f"--secure-port={port}", f"--tls-cert-file={serving.cert}", f"--tls-private-key-file={serving.key}",
            f"--client-ca-file={ca.path}", "--authorization-mode=RBAC", "--allow-privileged=true",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            # Default plugins stay on (NamespaceLifecycle, LimitRanger, ServiceAccount, PodSecurity,
            # ResourceQuota, ValidatingAdmissionPolicy, ...): these are the judges under test.
            "--enable-priority-and-fairness=false", "--profiling=false", "--endpoint-reconciler-type=none",
            f"--cert-dir={self.workdir / 'apiserver-certs'}",
        ])
        self.kubeconfig_path = self.workdir / "kubeconfig"
        self.kubeconfig_path.write_text(yaml.safe_dump(kubeconfig(self.server, ca.path, self.admin)))
        (self.workdir / "kcm.kubeconfig").write_text(yaml.safe_dump(
            kubeconfig(self.server, ca.path, kcm, "kube-controller-manager")))
        client = self.client()

        def apiserver_ready() -> bool:
            self._alive("kube-apiserver")
            return client.request("GET", "/readyz", ok=(200, 500, 503)) == "ok"

        wait_for("kube-apiserver /readyz", apiserver_ready, START_TIMEOUT,
                 on_timeout=lambda: self.log_tail("kube-apiserver"))

        # kube-controller-manager
        self._spawn("kube-controller-manager", [
            f"--kubeconfig={self.workdir / 'kcm.kubeconfig'}", "--leader-elect=false",
            "--bind-address=127.0.0.1", f"--secure-port={free_port()}",
            f"--controllers={','.join(KCM_CONTROLLERS)}",
            f"--service-account-private-key-file={pki / 'sa.key'}", f"--root-ca-file={ca.path}",
            "--kube-api-qps=200", "--kube-api-burst=400", "--concurrent-gc-syncs=5",
            "--namespace-sync-period=10s", "--resource-quota-sync-period=5s",
        ])

        def kcm_ready() -> bool:
            self._alive("kube-controller-manager")
            # The serviceaccount controller creates `default` in every namespace.
            return client.request("GET", "/api/v1/namespaces/default/serviceaccounts/default",
                                  ok=(200, 404)).get("kind") == "ServiceAccount"

        wait_for("kube-controller-manager (default ServiceAccount)", kcm_ready, START_TIMEOUT,
                 on_timeout=lambda: self.log_tail("kube-controller-manager"))
        return self

    def stop(self) -> None:
        """SIGTERM every component by PID (controller manager, API server, etcd), then SIGKILL
        what is still running after 15 s."""
        for name in reversed(list(self.procs)):
            proc = self.procs[name]
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
        for name in reversed(list(self.procs)):
            proc = self.procs[name]
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)

    def client(self) -> Kube:
        assert self.admin is not None
        return Kube(self.server, self.ca, self.admin)

    def logs(self) -> str:
        return "".join(self.log_tail(name) for name in self.procs)



def install_crds(kube: Kube, crds: Path, manager: str = "tenancy-live-tests", timeout: float = 90.0) -> list[str]:
    """Server-side apply every CRD of ``crds`` (``*.yaml``), wait until each is established and
    served by discovery (the client's cached discovery is dropped), and return their names."""
    names = []
    for path in sorted(crds.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        kube.apply(crd, manager=manager)
        names.append(crd["metadata"]["name"])

        def established(crd: dict[str, Any] = crd) -> bool:
            status = kube.get(kube.path_of(crd)).get("status") or {}
            return any(c["type"] == "Established" and c["status"] == "True" for c in status.get("conditions") or [])

        wait_for(f"CRD {crd['metadata']['name']} established", established, timeout)
        spec = crd["spec"]
        probe = {"apiVersion": f"{spec['group']}/{spec['versions'][0]['name']}", "kind": spec["names"]["kind"],
                 "metadata": {"name": "probe", "namespace": "default"}}

        def served(probe: dict[str, Any] = probe) -> bool:
            _DISCOVERY.pop(kube.server, None)  # new CRDs are served: forget the cached discovery
            kube.path_of(probe)
            return True

        wait_for(f"{probe['kind']} in the API server's discovery", served, timeout)
    return names
