"""What the live tests ask the real API server, and how they read its answers.

- :func:`apply_render`: server-side apply a render's Kubernetes objects and wait until the server
  enforces them (admission policies loaded, quotas' status computed).
- :func:`admission`: create an object with ``dryRun=All`` as some identity and say who refused it
  (a ValidatingAdmissionPolicy by name, Pod Security, RBAC, LimitRange, ResourceQuota).
- :func:`fence_breaches`: every fence a persona could cross, by SubjectAccessReview.
"""

from __future__ import annotations

import copy
import os
import shutil
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tenancy.plan import admission as placement
from tenancy.plan import kubernetes as plan
from tenancy.spec import naming
from testenv import controlplane
from tests.helpers.controlplane import ApiError, ControlPlane, Kube, wait_for
from tests.helpers.rbac import ESCALATION_VERBS, FENCES, WRITE_VERBS
from tests.helpers.testenv import KUBE_BINARIES, ROOT, require_binaries

SERVICE_POLICY = "tenancy-service-exposure"
"""The Service exposure policy (added by the issue-9 branch)."""
ENFORCE_TIMEOUT = 90.0


# ------------------------------------------------------------------------------------------------
# Objects


def restricted(pod: dict[str, Any]) -> dict[str, Any]:
    """``pod`` made to pass Pod Security ``restricted`` (pod- and container-level securityContext),
    so that only the placement policy can refuse it. Placement fields are left untouched."""
    p = copy.deepcopy(pod)
    spec = p["spec"]
    spec["securityContext"] = {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}}
    for c in spec["containers"]:
        c["securityContext"] = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    return p


def pinned_pod(tenant: str, name: str = "app", **spec_extra: Any) -> dict[str, Any]:
    """A pod that every fence admits in ``tenant``'s namespace."""
    spec = {"nodeSelector": {placement.TENANT_LABEL: tenant},
            "tolerations": [{"key": placement.TENANT_LABEL, "operator": "Equal", "value": tenant,
                             "effect": "NoSchedule"}],
            "containers": [{"name": "app", "image": "registry.example/app:1"}], **spec_extra}
    return restricted({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": name, "namespace": naming.namespace(tenant)}, "spec": spec})


def pooled_pod(tenant: str, pool: str, name: str = "app", **spec_extra: Any) -> dict[str, Any]:
    """A pod that every fence admits in pooled ``tenant``'s namespace: it selects and tolerates its
    pool, and carries the ``vpc.amazonaws.com/pod-eni`` request the VPC resource controller's
    webhook adds to pods its SecurityGroupPolicy matches (``HandleLinuxPod``; the live API server
    has no such webhook, so the fixture carries what it would add)."""
    spec = {"nodeSelector": {placement.POOL_LABEL: pool},
            "tolerations": [{"key": placement.POOL_LABEL, "operator": "Equal", "value": pool, "effect": "NoSchedule"}],
            "containers": [{"name": "app", "image": "registry.example/app:1", "resources": {
                "limits": {placement.POD_ENI_RESOURCE: "1"}, "requests": {placement.POD_ENI_RESOURCE: "1"}}}],
            **spec_extra}
    return restricted({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": name, "namespace": naming.namespace(tenant)}, "spec": spec})


def persona_group(tenant: str, role: str) -> str:
    """The group bound to ``tenancy-<role>`` (role: admin, edit, view)."""
    return naming.tenant_group(tenant, plan.PERSONAS[role])


def persona(kube: Kube, tenant: str, role: str) -> Kube:
    """A client impersonating a member of ``tenant``'s ``role`` group."""
    return kube.as_user(f"live-{tenant}-{role}", persona_group(tenant, role))


# ------------------------------------------------------------------------------------------------
# Admission


@dataclass
class Verdict:
    admitted: bool
    status: int
    message: str
    obj: dict[str, Any] | None = None

    def by_policy(self, name: str) -> bool:
        """Refused by the ValidatingAdmissionPolicy ``name``."""
        return not self.admitted and f"ValidatingAdmissionPolicy '{name}'" in self.message

    @property
    def by_pod_security(self) -> bool:
        return not self.admitted and "violates PodSecurity" in self.message

    @property
    def by_rbac(self) -> bool:
        return not self.admitted and self.status == 403 and " cannot " in self.message

    @property
    def by_quota(self) -> bool:
        return not self.admitted and "exceeded quota" in self.message

    def policy_message(self, name: str) -> str:
        """The policy's own message (what follows ``denied request: ``)."""
        assert self.by_policy(name), self.message
        return self.message.split("denied request: ", 1)[1]


def admission(client: Kube, obj: Mapping[str, Any], dry_run: bool = True) -> Verdict:
    """Create ``obj`` (``dryRun=All`` by default: authorization and all admission, nothing stored)."""
    try:
        out = client.post(client.path_of(obj, named=False), dict(obj), dry_run=dry_run)
        return Verdict(True, 201, "", out)
    except ApiError as exc:
        return Verdict(False, exc.status, exc.message)


def update_admission(client: Kube, obj: Mapping[str, Any]) -> Verdict:
    """Replace ``obj`` (PUT, ``dryRun=All``)."""
    try:
        out = client.request("PUT", client.path_of(obj), dict(obj), params={"dryRun": "All"})
        return Verdict(True, 200, "", out)
    except ApiError as exc:
        return Verdict(False, exc.status, exc.message)


def wait_until_policy_enforced(kube: Kube, probe: Mapping[str, Any], policy: str, enforced: bool = True,
                               timeout: float = ENFORCE_TIMEOUT) -> None:
    """The API server loads admission policies asynchronously: wait until ``probe`` is refused by
    ``policy`` (or, with ``enforced=False``, no longer refused)."""
    wait_for(f"{policy} {'enforced' if enforced else 'lifted'} on {probe['kind']} {probe['metadata']['name']}",
             lambda: admission(kube, probe).by_policy(policy) == enforced, timeout, interval=0.5)


# ------------------------------------------------------------------------------------------------
# Applying a render


def all_objects(rendered: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[Mapping[str, Any]]:
    """Platform objects first, then every Namespace (an edge's policy lives in the peer's namespace),
    then each tenant's other objects, each group in the render's apply order."""
    groups = sorted(rendered, key=lambda g: (g != "platform", g))
    objs = [obj for g in groups for obj in rendered[g]]
    return sorted(objs, key=lambda o: 0 if o in rendered.get("platform", ()) else 1 if o["kind"] == "Namespace" else 2)


def policies(rendered: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[Mapping[str, Any]]:
    return [o for o in all_objects(rendered) if o["kind"] == "ValidatingAdmissionPolicy"]


def tenants_of(rendered: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[str]:
    return sorted(g for g in rendered if g != "platform")


def of_kind(rendered: Mapping[str, Sequence[Mapping[str, Any]]], group: str, kind: str) -> list[Mapping[str, Any]]:
    return [o for o in rendered[group] if o["kind"] == kind]


CRDS = Path(__file__).resolve().parent.parent / "fixtures" / "crds"
"""Vendored CustomResourceDefinitions the render uses (each file names its source)."""


def install_crds(kube: Kube) -> list[str]:
    """Install the vendored CRDs (the SecurityGroupPolicy of the VPC resource controller) and wait
    until the API server serves them. Returns their names."""
    return controlplane.install_crds(kube, CRDS, timeout=ENFORCE_TIMEOUT)


def forget_discovery(kube: Kube) -> None:
    """Drop the client's cached discovery (new CRDs are served)."""
    from tests.helpers import controlplane

    controlplane._DISCOVERY.pop(kube.server, None)


def apply_render(kube: Kube, rendered: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
    for obj in all_objects(rendered):
        kube.apply(obj)
    tenants = tenants_of(rendered)
    for t in tenants:
        wait_until_policy_enforced(kube, unpinned_probe(t), placement.POLICY_NAME)
    if SERVICE_POLICY in {p["metadata"]["name"] for p in policies(rendered)}:
        for t in tenants:
            probe = {"apiVersion": "v1", "kind": "Service",
                     "metadata": {"name": "probe", "namespace": naming.namespace(t)},
                     "spec": {"type": "ExternalName", "externalName": "example.com"}}
            wait_until_policy_enforced(kube, probe, SERVICE_POLICY)
    for t in tenants:
        for q in of_kind(rendered, t, "ResourceQuota"):
            wait_for_quota_status(kube, q)


def unpinned_probe(tenant: str) -> dict[str, Any]:
    p = pinned_pod(tenant, "probe")
    del p["spec"]["nodeSelector"]
    return p


def role_binding(name: str, ns: str, role: Mapping[str, str], *subjects: Mapping[str, str]) -> dict[str, Any]:
    """A RoleBinding ``ns/name`` of ``role`` (``{"kind": "Role"|"ClusterRole", "name": …}``) to ``subjects``."""
    group = "rbac.authorization.k8s.io"
    return {"apiVersion": f"{group}/v1", "kind": "RoleBinding", "metadata": {"name": name, "namespace": ns},
            "roleRef": {"apiGroup": group, **role}, "subjects": [dict(s) for s in subjects]}


def wait_for_quota_status(kube: Kube, quota: Mapping[str, Any], timeout: float = ENFORCE_TIMEOUT) -> None:
    """The quota admission plugin judges by a quota's ``status.hard``, which the controller manager
    copies from ``spec.hard`` after a change, and refuses creates while a tracked resource is missing
    from ``status.used``: wait until the status holds the stored spec's values (not only its keys: a
    changed limit keeps its key, and until the copy the old value is enforced)."""

    def ready() -> bool:
        live = kube.get(kube.path_of(quota))
        hard = (live.get("spec") or {}).get("hard") or {}
        status = live.get("status") or {}
        return (set(quota["spec"]["hard"]) <= set(hard) and status.get("hard") == hard
                and set(hard) <= set(status.get("used") or {}))

    wait_for(f"status of ResourceQuota {quota['metadata']['namespace']}/{quota['metadata']['name']}", ready, timeout)


# ------------------------------------------------------------------------------------------------
# Authorization


ESCALATION_CHECKS: tuple[tuple[str, str, str, str], ...] = (
    # (verb, group, resource, name): ways to gain more than the persona's Role through RBAC itself
    ("bind", "rbac.authorization.k8s.io", "clusterroles", "cluster-admin"),
    ("bind", "rbac.authorization.k8s.io", "clusterroles", "admin"),
    ("bind", "rbac.authorization.k8s.io", "clusterroles", "edit"),
    ("escalate", "rbac.authorization.k8s.io", "roles", ""),
    ("escalate", "rbac.authorization.k8s.io", "clusterroles", ""),
    ("impersonate", "", "users", ""),
    ("impersonate", "", "groups", ""),
    ("impersonate", "", "serviceaccounts", ""),
    ("create", "", "pods/ephemeralcontainers", ""),  # not a fence per se, but checked as an update below
)
OTHER_NAMESPACE_CHECKS: tuple[tuple[str, str, str], ...] = (
    ("get", "", "pods"), ("list", "", "pods"), ("create", "", "pods"), ("delete", "", "pods"),
    ("get", "", "secrets"), ("list", "", "configmaps"), ("create", "apps", "deployments"),
    ("create", "", "services"), ("create", "", "pods/exec"), ("list", "", "events"),
)


def fence_breaches(kube: Kube, tenant: str, role: str, all_tenants: Iterable[str]) -> list[str]:
    """Everything ``tenant``'s ``role`` persona may do that crosses a fence, by SubjectAccessReview:
    writes of the fences (tests/helpers/rbac.py FENCES: network policies, quota, limits, namespaces,
    RBAC, service accounts and tokens, endpoints, admission policies) in its own namespace and
    cluster-wide, RBAC escalation (bind to powerful ClusterRoles, escalate, impersonate), and any
    access in other tenants' namespaces. Empty: fenced."""
    user, group = f"live-{tenant}-{role}", persona_group(tenant, role)
    own = naming.namespace(tenant)
    checks: list[tuple[str, str, str, str | None, str]] = []
    for g, resource in FENCES:
        res, _, sub = resource.partition("/")
        for verb in WRITE_VERBS + ESCALATION_VERBS:
            checks.append((verb, g, res, own, sub))
            checks.append((verb, g, res, None, sub))
    for verb, g, res, name in ESCALATION_CHECKS:
        r, _, sub = res.partition("/")
        if verb == "create" and sub == "ephemeralcontainers":
            continue
        checks.append((verb, g, r, own, f"{sub}|{name}"))
        checks.append((verb, g, r, None, f"{sub}|{name}"))
    for other in all_tenants:
        if other == tenant:
            continue
        for verb, g, res in OTHER_NAMESPACE_CHECKS:
            r, _, sub = res.partition("/")
            checks.append((verb, g, r, naming.namespace(other), sub))

    def run(check: tuple[str, str, str, str | None, str]) -> str | None:
        verb, g, res, ns, sub = check
        sub, _, name = sub.partition("|")
        if kube.can(user, [group], verb, res, g, ns, sub, name):
            what = f"{g or 'core'}/{res}{'/' + sub if sub else ''}{' ' + name if name else ''}"
            return f"{verb} {what} in {ns or 'the cluster scope'}"
        return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        return sorted(b for b in pool.map(run, checks) if b)


def bindings_of_tenant_groups(kube: Kube, tenants: Iterable[str]) -> list[str]:
    """Every RoleBinding/ClusterRoleBinding in the cluster that names a tenant persona group, other
    than its own ``tenancy-<role>`` Role in its own namespace."""
    groups = {persona_group(t, r): (t, r) for t in tenants for r in plan.PERSONAS}
    out: list[str] = []
    for kind, path in (("RoleBinding", "/apis/rbac.authorization.k8s.io/v1/rolebindings"),
                       ("ClusterRoleBinding", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings")):
        for b in kube.get(path)["items"]:  # list items carry no kind
            b = {**b, "kind": kind}
            for s in b.get("subjects") or []:
                if s.get("kind") == "Group" and s.get("name") in groups:
                    t, r = groups[s["name"]]
                    ok = (b["kind"] == "RoleBinding" and b["metadata"].get("namespace") == naming.namespace(t)
                          and b["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                               "name": f"{plan.ROLE_PREFIX}{r}"})
                    if not ok:
                        out.append(f"{b['kind']} {b['metadata'].get('namespace', '')}/{b['metadata']['name']} "
                                   f"binds {s['name']} to {b['roleRef']['kind']} {b['roleRef']['name']}")
    return sorted(out)


def wait_for_deletion(kube: Kube, obj: Mapping[str, Any], timeout: float = 60.0) -> None:
    wait_for(f"deletion of {obj['kind']} {obj['metadata']['name']}", lambda: not kube.exists(obj), timeout)


def now() -> float:
    return time.monotonic()


def control_plane_in(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[ControlPlane]:
    """A fixture body: a control plane (etcd, kube-apiserver, kube-controller-manager) in a temp
    folder ``name``, stopped by PID afterwards; its logs are kept when it failed to start (pytest
    keeps the last three base temp folders). Skips (fails under TENANCY_LIVE_REQUIRED) without
    the binaries."""
    bin_dir = require_binaries(KUBE_BINARIES)
    workdir = tmp_path_factory.mktemp(name)
    cp = ControlPlane(bin_dir, workdir)
    failed = True
    try:
        cp.start()
        failed = False
        yield cp
    finally:
        cp.stop()
        if not failed:
            shutil.rmtree(workdir / "etcd", ignore_errors=True)


def engine_env(bin_dir: Path, work: Path) -> dict[str, str]:
    """The environment of the real Pulumi CLI in a live test: the testenv binaries and this
    interpreter's first on PATH, its home and a file backend (``work/state``, created) in ``work``,
    no plugin downloads, no prompts, and the repository importable by the program."""
    (work / "state").mkdir(exist_ok=True)
    return {
        "PATH": os.pathsep.join([str(bin_dir), str(Path(sys.prefix) / "bin"), os.environ.get("PATH", "")]),
        "PULUMI_HOME": str(work / "pulumi-home"),
        "PULUMI_BACKEND_URL": f"file://{work / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": "live-tests",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_SKIP_CONFIRMATIONS": "true",
        "PYTHONPATH": str(ROOT),
    }


def has_namespace(kube: Kube, name: str) -> bool:
    return kube.exists({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def has_network_policy(kube: Kube, ns: str, name: str) -> bool:
    return kube.exists({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                        "metadata": {"namespace": ns, "name": name}})
