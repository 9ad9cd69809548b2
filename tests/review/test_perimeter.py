"""The review sees the perimeter, the people and the exposure (issue 21): change pairs on a real
render, each loosening and its reverse, classified by `tenancy diff` (JSON with the exact value,
markdown, `--fail-on-loosened`), plus neutral changes that report no isolation change."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tenancy import cli
from tenancy.review.diff import diff_renders, load_render, markdown
from tenancy.review.perimeter import perimeter_of
from tests.helpers import review

STRANGER = "arn:aws:iam::999988887777:role/contractor"
STRANGER_ALPHA = "arn:aws:iam::999988887777:role/contractor-alpha"
Spec = dict[str, Any]


def _cluster(spec: Spec) -> dict[str, Any]:
    return spec.setdefault("cluster", {})


def _tenant(spec: Spec, name: str) -> dict[str, Any]:
    return next(t for t in spec["tenants"] if t["name"] == name)


def public_api(s: Spec) -> None:
    _cluster(s)["endpointPublicAccessCidrs"] = ["203.0.113.0/24"]


def wider_api_cidrs(s: Spec) -> None:
    _cluster(s)["apiAccessCidrs"] = ["10.32.0.0/12"]


def standard_mode(s: Spec) -> None:
    _cluster(s)["networkPolicyEnforcingMode"] = "standard"


def foreign_admin(s: Spec) -> None:
    _cluster(s)["clusterAdmins"] = [*_cluster(s).get("clusterAdmins", []), STRANGER]


def foreign_tenant_admin(s: Spec) -> None:
    _tenant(s, "alpha")["admins"] = [*_tenant(s, "alpha").get("admins", []), STRANGER_ALPHA]


def exposure(s: Spec) -> None:
    # (a loadBalancers grant is refused by the spec since issue 23: nothing opens a path to it)
    _tenant(s, "beta").setdefault("quota", {}).update({"nodePorts": 2})


def api_access(s: Spec) -> None:
    _tenant(s, "alpha")["kubernetesApiAccess"] = True


def psa_pinned(s: Spec) -> None:
    s.setdefault("workloads", {})["podSecurityVersion"] = "v1.30"


def base_spec() -> Spec:
    s = review.base_spec()
    _cluster(s)["apiAccessCidrs"] = ["10.40.0.0/20"]
    return s


CASES: list[tuple[Callable[[Spec], None], str, Callable[[dict[str, Any]], bool]]] = [
    (public_api, "api", lambda c: c["value"] == ["203.0.113.0/24"]),
    (wider_api_cidrs, "api", lambda c: c["value"] == "10.32.0.0/12"),
    (standard_mode, "policy-agent", lambda c: c["value"] == {"from": "strict", "to": "standard"}),
    (foreign_admin, "people", lambda c: c["value"]["principal"] == STRANGER and c["value"]["grant"] == "cluster-admin"
     and c["value"]["newAccount"] is True and "not seen before" in c["detail"]),
    (foreign_tenant_admin, "people", lambda c: c["value"]["grant"] == "alpha:admins" and c["tenant"] == "alpha"
     and c["value"]["principal"] == STRANGER_ALPHA and c["value"]["newAccount"] is True),
    (exposure, "exposure", lambda c: c["tenant"] == "beta" and c["value"] == {"nodePorts": 2}),
    (psa_pinned, "admission", lambda c: "enforce-version" in c["detail"] and "latest → v1.30" in c["detail"]),
    (api_access, "network", lambda c: "alpha can now open connections to platform:api" in c["detail"]
     and "tcp/443" in c["detail"]),
]


def _diff(tmp_path: Path, base: Spec, head: Spec, tag: str) -> dict[str, Any]:
    b = review.write(tmp_path, f"{tag}-base", review.resources(base))
    h = review.write(tmp_path, f"{tag}-head", review.resources(head))
    return diff_renders(load_render(b), load_render(h))


@pytest.mark.parametrize(("change", "layer", "names_value"), CASES, ids=[c[0].__name__ for c in CASES])
def test_each_loosening_and_its_reverse(tmp_path: Path, change: Any, layer: str, names_value: Any) -> None:
    base = base_spec()
    head = copy.deepcopy(base)
    change(head)
    d = _diff(tmp_path, base, head, "fwd")
    mine = [c for c in d["isolation"] if c["layer"] == layer]
    assert mine and all(c["change"] == "loosened" for c in mine), d["isolation"]
    assert any(names_value(c) for c in mine), mine
    # the value appears in the markdown too, and --fail-on-loosened fails
    md = markdown(d)
    assert any(c["detail"].split(" (")[0] in md for c in mine)
    assert cli.main(["diff", str(tmp_path / "fwd-base"), str(tmp_path / "fwd-head"), "--fail-on-loosened"]) == 3
    back = _diff(tmp_path, head, base, "back")
    rev = [c for c in back["isolation"] if c["layer"] == layer]
    assert rev and all(c["change"] == "tightened" for c in rev), back["isolation"]
    assert cli.main(["diff", str(tmp_path / "back-base"), str(tmp_path / "back-head"), "--fail-on-loosened"]) == 0


def test_the_whole_merge_request_of_the_issue_is_loud(tmp_path: Path) -> None:
    """Every change of the issue's one merge request at once: all six are loosenings, none missed."""
    base = base_spec()
    head = copy.deepcopy(base)
    for change, _, _ in CASES:
        change(head)
    d = _diff(tmp_path, base, head, "all")
    layers = {c["layer"] for c in d["isolation"] if c["change"] == "loosened"}
    assert {"api", "policy-agent", "people", "exposure", "network"} <= layers
    assert d["summary"]["loosened"] >= 7
    md = markdown(d)
    assert "public to 203.0.113.0/24" in md and STRANGER in md and "network policy enforcement standard" in md


@pytest.mark.parametrize("neutral", [
    lambda s: _tenant(s, "alpha").setdefault("quota", {}).update({"cpu": "12"}),
    lambda s: _cluster(s).update({"logRetentionDays": 60}),
], ids=["cpu-quota", "log-retention"])
def test_neutral_changes_report_no_isolation_change(tmp_path: Path, neutral: Any) -> None:
    base = base_spec()
    head = copy.deepcopy(base)
    neutral(head)
    d = _diff(tmp_path, base, head, "neutral")
    assert d["resources"], "the change must change something"
    assert d["isolation"] == []


def test_the_security_summary_of_the_head() -> None:
    doc = perimeter_of(review.resources(base_spec())).document()
    assert doc["api"] == {"public": False, "publicCidrs": [], "private": sorted(doc["api"]["private"])}
    assert "10.40.0.0/20" in doc["api"]["private"]
    assert doc["policyAgent"] == "strict" and doc["secretsEncrypted"] is True
    assert all(v == {"loadBalancers": 0, "nodePorts": 0} for v in doc["exposure"].values())
    assert all(n["imdsTokens"] == "required" and n["imdsHopLimit"] == 1 and n["encrypted"]
               for n in doc["nodes"].values())
    assert json.dumps(doc)  # JSON-serialisable: it goes in `tenancy diff --format json`


def _hop_limit_2(res: list[dict[str, Any]]) -> None:
    lt = next(r for r in res if r["type"] == "aws:ec2/launchTemplate:LaunchTemplate" and r["tenant"] == "alpha")
    lt["inputs"]["metadataOptions"]["httpPutResponseHopLimit"] = 2


def _plain_volumes(res: list[dict[str, Any]]) -> None:
    lt = next(r for r in res if r["type"] == "aws:ec2/launchTemplate:LaunchTemplate" and r["tenant"] == "beta")
    for m in lt["inputs"]["blockDeviceMappings"]:
        m["ebs"]["encrypted"] = "false"


@pytest.mark.parametrize(("fault", "words"), [(_hop_limit_2, "IMDS hop limit 1 → 2"),
                                              (_plain_volumes, "EBS volumes no longer encrypted")])
def test_node_defaults_loosened_and_restored(tmp_path: Path, fault: Any, words: str) -> None:
    """IMDS and encryption (render-level: the spec does not let them be turned off, a hand edit or a
    provider change could): loosened one way, tightened back."""
    base = review.base()
    head = copy.deepcopy(base)
    fault(head)
    fwd = diff_renders(load_render(review.write(tmp_path, "b", base)), load_render(review.write(tmp_path, "h", head)))
    assert [(c["change"], c["layer"]) for c in fwd["isolation"]] == [("loosened", "nodes")]
    assert words in fwd["isolation"][0]["detail"] and fwd["isolation"][0]["value"]["template"]
    back = diff_renders(load_render(review.write(tmp_path, "h2", head)),
                        load_render(review.write(tmp_path, "b2", base)))
    assert [(c["change"], c["layer"]) for c in back["isolation"]] == [("tightened", "nodes")]


def test_the_comment_lists_the_heads_people_and_workload_identities(tmp_path: Path) -> None:
    """Read from the head's rendered objects: a role document edited to reach every tenant's
    prefix is flagged in the comment's identities block (and the JSON), the base is not."""
    base = review.base()
    head = copy.deepcopy(base)
    policy = next(r for r in head if r["type"] == "aws:iam/rolePolicy:RolePolicy" and r["tenant"] == "beta")
    doc = json.loads(policy["inputs"]["policy"])
    doc["Statement"][0]["Resource"] = doc["Statement"][0]["Resource"].replace("tenants/beta/*", "tenants/*")
    policy["inputs"]["policy"] = json.dumps(doc)
    same = diff_renders(load_render(review.write(tmp_path, "b", base)), load_render(review.write(tmp_path, "b2", base)))
    d = diff_renders(load_render(review.write(tmp_path, "b3", base)), load_render(review.write(tmp_path, "h", head)))
    people = {(p["principal"], p["persona"]): p for p in same["identities"]["people"]}
    assert any(p["tenant"] == "alpha" and p["persona"] == "admins" for p in people.values())
    roles = {w["role"]: w for w in d["identities"]["workloads"]}
    [beta] = [w for w in roles.values() if w["owner"] == "beta" and len(w["reaches"]) > 1]
    assert set(beta["reaches"]) > {"beta", "alpha"} and beta["serviceAccounts"][0].startswith("beta/")
    assert "⚠️ 1 reach another tenant's data" in markdown(d)
    assert "reach another tenant" not in markdown(same) and "<details><summary>People (" in markdown(same)
