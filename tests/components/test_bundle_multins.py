"""The bundle of a tenant with several namespaces (issue 26), as the Platform registers it: every
namespace retained on delete, every object in an extra namespace waiting for that namespace and
deleted with it, edge objects in each namespace of both tenants tied to their own namespace, and
the main namespace's resource names unchanged (no rename when a tenant gains a namespace)."""

from __future__ import annotations

from typing import Any

import pytest

from tenancy.render import render_spec
from tests.fixtures.specs import spec_with, tenant

NS = "kubernetes:core/v1:Namespace"


@pytest.fixture(scope="module")
def resources() -> list[dict[str, Any]]:
    spec = spec_with([tenant("alpha", 0, namespaces=["alpha-batch"], allowFrom=["beta"], serviceAccounts=["app"]),
                      tenant("beta", 1, namespaces=["beta-web"])])
    return render_spec(spec).resources


def _ns_of(r: dict[str, Any]) -> str | None:
    return ((r.get("inputs") or {}).get("metadata") or {}).get("namespace")


def test_every_namespace_is_retained_and_owns_its_objects(resources: list[dict[str, Any]]) -> None:
    namespaces = {r["inputs"]["metadata"]["name"]: r for r in resources if r["type"] == NS and r.get("tenant")}
    assert set(namespaces) == {"alpha", "alpha-batch", "beta", "beta-web"}
    assert all(r["retainOnDelete"] for r in namespaces.values())
    assert namespaces["alpha"]["name"] == "alpha" and namespaces["alpha-batch"]["name"] == "alpha/namespace/alpha-batch"
    for r in resources:
        ns = _ns_of(r)
        if ns in namespaces and r["type"].startswith("kubernetes:"):
            assert r["deletedWith"] == namespaces[ns]["urn"], r["name"]
            assert namespaces[ns]["urn"] in r["dependencies"], r["name"]


def test_extra_namespaces_get_the_same_objects_as_the_main_one(resources: list[dict[str, Any]]) -> None:
    def kinds(ns: str) -> set[tuple[str, str]]:
        return {(r["type"], r["inputs"]["metadata"]["name"]) for r in resources
                if _ns_of(r) == ns and r["tenant"] == "alpha" and "allow-from" not in r["name"]}
    main, extra = kinds("alpha"), kinds("alpha-batch")
    assert main == extra
    assert ("kubernetes:core/v1:ServiceAccount", "app") in extra
    names = {r["name"] for r in resources if _ns_of(r) == "alpha" and r["tenant"] == "alpha"}
    assert "alpha/tenancy-default-deny" in names  # the main namespace's names predate extra namespaces


def test_edges_cover_every_namespace_of_both_tenants(resources: list[dict[str, Any]]) -> None:
    edge = {(_ns_of(r), r["inputs"]["metadata"]["name"]) for r in resources if "/allow-from/beta/" in r["name"]}
    assert edge == {("alpha", "tenancy-allow-from-beta"), ("alpha-batch", "tenancy-allow-from-beta"),
                    ("beta", "tenancy-allow-to-alpha"), ("beta-web", "tenancy-allow-to-alpha"),
                    # the Admin-tier half: one cluster-scoped policy, whose subject is alpha's tenant label
                    # (so every namespace of alpha), its peers beta's namespaces by the same label
                    (None, "tenancy-edge-alpha-from-beta")}
