"""`tenancy diff` when a tenant gains or loses an extra namespace (issue 26): the namespace is
listed (removal flagged destructive, with what it means), only that tenant changes, and no
isolation loosens towards another tenant."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from tenancy.review.diff import Render, diff_renders, markdown
from tests.fixtures.specs import spec_with
from tests.helpers import review


def _with_namespace() -> list[dict[str, Any]]:
    ts = copy.deepcopy(review.BASE_TENANTS)
    ts[0]["namespaces"] = ["alpha-batch"]  # alpha's quota (8 CPU, 16Gi) holds two shares
    return review.resources(spec_with(ts))


def _diff(base: list[dict[str, Any]], head: list[dict[str, Any]]) -> dict[str, Any]:
    return diff_renders(Render(Path("base"), "tenancy", "review", base),
                        Render(Path("head"), "tenancy", "review", head))


def test_adding_a_namespace_is_listed_and_touches_only_its_tenant() -> None:
    d = _diff(review.base(), _with_namespace())
    assert d["namespaces"] == [{"tenant": "alpha", "namespace": "alpha-batch", "change": "added",
                                "destructive": False, "detail": d["namespaces"][0]["detail"]}]
    assert d["tenants"]["changed"] == ["alpha"], d["tenants"]
    assert {r["tenant"] for r in d["resources"] if r["tenant"]} == {"alpha"}
    # beta may reach alpha's new namespace (alpha allows beta): the same tenant pair, nothing new
    assert [c for c in d["isolation"] if c["change"] == "loosened" and c["layer"] == "network"] == []
    assert d["summary"]["namespacesRemoved"] == 0


def test_removing_a_namespace_is_destructive_and_said_so() -> None:
    d = _diff(_with_namespace(), review.base())
    [n] = d["namespaces"]
    assert n["change"] == "removed" and n["destructive"] and "alpha-batch" in n["detail"]
    assert d["summary"]["namespacesRemoved"] == 1
    namespaces = {r["name"]: r for r in d["resources"] if r["type"] == "kubernetes:core/v1:Namespace"}
    assert {n: r["action"] for n, r in namespaces.items()} == {"alpha/namespace/alpha-batch": "retain",
                                                               "alpha": "update"}
    # the main namespace only stops listing the removed one (the self-service guards read the list)
    assert namespaces["alpha"]["changed"] == ["metadata.labels.namespace.tenancy/alpha",
                                              "metadata.labels.namespace.tenancy/alpha-batch"]
    # its service account leaves the role's trust: reported as IAM tightening
    assert any(c["layer"] == "iam" and "alpha-batch" in c["detail"] for c in d["isolation"]), d["isolation"]
    text = markdown(d)
    assert "removed (destructive)" in text and "`alpha-batch`" in text


def test_same_render_lists_no_namespace_change() -> None:
    assert _diff(_with_namespace(), _with_namespace())["namespaces"] == []
