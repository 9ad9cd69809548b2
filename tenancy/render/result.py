"""What a render produced: every registered resource and every Kubernetes object."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenancy.render.engine import Registration, quiet_gc, run_program, tenant_of
from tenancy.spec import PlatformSpec
from tenancy.spec.stackfile import load_stack_file, stack_name

PLATFORM_GROUP = "platform"
"""The manifests group (file) for Kubernetes objects that belong to no tenant."""


@dataclass
class RenderResult:
    project: str
    stack: str
    platform_spec: PlatformSpec | None
    """The spec of the :class:`~tenancy.Platform` the program built, or None (a program that
    builds only standalone components, e.g. a team stack)."""
    resources: list[dict[str, Any]]
    """Every registered resource, sorted by URN: urn, type, name, id, parent, tenant, custom,
    inputs, outputs, dependencies, protect, retainOnDelete, deletedWith, ignoreChanges, provider."""
    stack_outputs: dict[str, Any]

    @property
    def spec(self) -> PlatformSpec:
        """The platform's spec; raises if the program built no :class:`~tenancy.Platform`."""
        if self.platform_spec is None:
            raise LookupError(f"the program of {self.project}/{self.stack} built no tenancy Platform")
        return self.platform_spec

    def find(self, type_token: str, name: str) -> dict[str, Any]:
        """The one resource of this type and name (raises KeyError naming what exists)."""
        found = [r for r in self.resources if r["type"] == type_token and r["name"] == name]
        if len(found) != 1:
            names = sorted(r["name"] for r in self.of_type(type_token))
            raise KeyError(f"{len(found)} {type_token} named {name!r}; registered: {names}")
        return found[0]

    def of_type(self, type_token: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == type_token]

    def for_tenant(self, tenant: str | None) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["tenant"] == tenant]

    def by_urn(self) -> dict[str, dict[str, Any]]:
        return {r["urn"]: r for r in self.resources}

    @property
    def manifests(self) -> dict[str, list[dict[str, Any]]]:
        """Kubernetes objects as the API server would receive them, grouped by owning tenant
        (``"platform"`` for shared objects), each group in apply order."""
        groups: dict[str, list[dict[str, Any]]] = {}
        for r in self.resources:
            if is_kubernetes_object(r):
                groups.setdefault(r["tenant"] or PLATFORM_GROUP, []).append(manifest_of(r))
        return {g: sorted(objs, key=_apply_order) for g, objs in sorted(groups.items())}

    def document(self) -> dict[str, Any]:
        return {"project": self.project, "stack": self.stack, "resources": self.resources}


def is_kubernetes_object(resource: Mapping[str, Any]) -> bool:
    return resource["type"].startswith("kubernetes:") and resource["custom"]


def _integral(value: Any) -> Any:
    """Pulumi's wire format (protobuf Struct) has only doubles: every registered number comes
    back as a float (``port: 53.0``). Kubernetes numbers are integers almost everywhere, and
    tools reading the manifests reject ``53.0`` as a port (nca does), so whole floats become ints."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


_FIRST_KEYS = ("apiVersion", "kind", "metadata", "name", "namespace")
"""Keys written first, in this order, wherever they appear; every other key follows sorted."""


def canonical(value: Any) -> Any:
    """One canonical key order for a Kubernetes object, at every depth: ``apiVersion``, ``kind``,
    ``metadata``, ``name``, ``namespace`` first, then the other keys sorted. The order a mapping
    arrives in (the engine's wire format does not keep it: it varies with the hash seed) never
    reaches a manifest file. Lists keep their order (it is meaningful in Kubernetes)."""
    if isinstance(value, dict):
        first = [k for k in _FIRST_KEYS if k in value]
        rest = sorted(k for k in value if k not in _FIRST_KEYS)
        return {k: canonical(value[k]) for k in (*first, *rest)}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def manifest_of(resource: Mapping[str, Any]) -> dict[str, Any]:
    inputs = _integral(resource["inputs"])
    obj: dict[str, Any] = canonical({k: v for k, v in inputs.items() if not k.startswith("__")})
    return obj


_KIND_ORDER = {k: i for i, k in enumerate([
    "Namespace", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ClusterRole",
    "ClusterRoleBinding", "ResourceQuota", "LimitRange", "ServiceAccount", "Role", "RoleBinding", "NetworkPolicy",
])}


def _apply_order(obj: Mapping[str, Any]) -> tuple[int, str, str, str]:
    meta = obj.get("metadata") or {}
    return (_KIND_ORDER.get(str(obj.get("kind")), len(_KIND_ORDER)), str(obj.get("kind")),
            str(meta.get("namespace", "")), str(meta.get("name", "")))


def _plain(value: Any) -> Any:
    """JSON-safe, deterministic: unknowns and secrets flattened, dict keys sorted on dump."""
    return json.loads(json.dumps(value, default=str))


def _to_dict(r: Registration, tenant: str | None) -> dict[str, Any]:
    return {
        "urn": r.urn, "type": r.type, "name": r.name, "id": r.id, "parent": r.parent, "tenant": tenant,
        "custom": r.custom, "inputs": _plain(r.inputs), "outputs": _plain(r.outputs),
        "dependencies": r.dependencies, "protect": r.protect, "retainOnDelete": r.retain_on_delete,
        "deletedWith": r.deleted_with, "ignoreChanges": r.ignore_changes, "provider": r.provider,
    }


def render_spec(
    platform: Mapping[str, Any],
    *,
    project: str = "tenancy",
    stack: str = "render",
    config: Mapping[str, Any] | None = None,
    on_resource: Callable[[], None] | None = None,
) -> RenderResult:
    """Validate the ``tenancy:platform`` object and render it. Raises SpecError on bad input
    (before anything is registered) and RenderError if the program fails."""
    run = run_program(platform, project=project, stack=stack, config=config, on_resource=on_resource)
    return result_of(run.registrations, run.stack_outputs, project=project, stack=stack, spec=run.spec)


def result_of(registrations: list[Registration], stack_outputs: Mapping[str, Any], *, project: str, stack: str,
              spec: PlatformSpec | None) -> RenderResult:
    """A :class:`RenderResult` from what :func:`~tenancy.render.engine.run_under_mocks` recorded."""
    tenants = tenant_of(registrations)
    with quiet_gc():  # thousands of small dicts on top of the whole run's records
        resources = [_to_dict(r, tenants[r.urn]) for r in registrations]
    return RenderResult(project=project, stack=stack, platform_spec=spec, resources=resources,
                        stack_outputs=_plain(dict(stack_outputs)))


def render_stack_file(path: Path, *, stack: str | None = None, project: str = "tenancy",
                      on_resource: Callable[[], None] | None = None) -> RenderResult:
    """Render a ``Pulumi.<stack>.yaml`` file (or a bare platform YAML file) (the stack name defaults to the file's)."""
    platform, config = load_stack_file(path)
    if stack is None:
        stack = stack_name(path)
    return render_spec(platform, project=project, stack=stack, config=config, on_resource=on_resource)
