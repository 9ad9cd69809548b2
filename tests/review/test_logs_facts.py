"""Log isolation in the review: facts, ``tenancy check`` (rule ``log-walls``) and ``tenancy diff``
(layer ``logs``) over a real render with ``observability.logs``, each fault injected into the
rendered resources (never into the code that wrote them)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tenancy.review import check
from tenancy.review.diff import diff_renders, load_render
from tenancy.review.facts import facts_of
from tests.fixtures.specs import ALPHA, BETA, GAMMA, spec_with
from tests.helpers import review

Res = list[dict[str, Any]]
POLICY = "aws:iam/rolePolicy:RolePolicy"
CM = "kubernetes:core/v1:ConfigMap"


def spec() -> dict[str, Any]:
    return spec_with([ALPHA, BETA, GAMMA], observability={"logs": {"enabled": True}})


def _res() -> Res:
    return review.resources(spec())


def _config(res: Res) -> tuple[dict[str, Any], dict[str, Any]]:
    cm = next(r for r in res if r["type"] == CM and "config.yaml" in (r["inputs"].get("data") or {}))
    return cm, json.loads(cm["inputs"]["data"]["config.yaml"])


def _save(cm: dict[str, Any], cfg: dict[str, Any]) -> None:
    cm["inputs"]["data"]["config.yaml"] = json.dumps(cfg)


def _policy(res: Res, role: str) -> tuple[dict[str, Any], str]:
    p = next(r for r in res if r["type"] == POLICY and r["inputs"]["role"] == role)
    return p, p["inputs"]["policy"]


def test_a_real_render_passes_and_its_facts_say_who_reads_and_where_logs_go() -> None:
    res = _res()
    f = facts_of(res)
    doc = f.document()["logs"]
    assert {(r["namespace"], r["group"]) for r in doc["routes"]} == {
        (t, f"/tenancy/acme/{t}/containers") for t in ("alpha", "beta", "gamma")}
    readers = {(a["role"], a["group"]) for a in doc["access"] if a["access"] == "read"}
    assert readers == {(f"acme.{t}@logs-reader", f"/tenancy/acme/{t}/containers") for t in ("alpha", "beta", "gamma")}
    writes = {a["group"] for a in doc["access"] if a["role"] == "acme.platform.log-router"}
    assert writes == {f"/tenancy/acme/{t}/containers" for t in ("alpha", "beta", "gamma")}
    assert not [v for r, _, v in check.run_checks(res) if v]
    # without observability.logs the facts document has no logs section (earlier renders unchanged)
    assert "logs" not in facts_of(review.base()).document()


def _glob_everything(res: Res) -> None:
    cm, cfg = _config(res)
    cfg["receivers"]["filelog/alpha"]["include"] = ["/var/log/pods/*/*/*.log"]
    _save(cm, cfg)


def _route_to_another_group(res: Res) -> None:
    cm, cfg = _config(res)
    cfg["exporters"]["awscloudwatchlogs/alpha"]["log_group_name"] = "/tenancy/acme/beta/containers"
    _save(cm, cfg)


def _wider_router(res: Res) -> None:
    p, doc = _policy(res, "acme.platform.log-router")
    p["inputs"]["policy"] = doc.replace("/*/containers", "/*")


def _wider_reader(res: Res) -> None:
    p, doc = _policy(res, "acme.alpha@logs-reader")
    p["inputs"]["policy"] = doc.replace("/tenancy/acme/alpha/containers", "/tenancy/acme/*")


def _unencrypted_group(res: Res) -> None:
    g = next(r for r in res if r["type"] == "aws:cloudwatch/logGroup:LogGroup"
             and r["inputs"]["name"] == "/tenancy/acme/gamma/containers")
    del g["inputs"]["kmsKeyId"]


FAULTS: dict[str, tuple[Callable[[Res], None], str | None, str]] = {
    "glob over every namespace": (_glob_everything, "alpha", "namespace beta are routed to tenant alpha's"),
    "route to another tenant's group": (_route_to_another_group, "beta", "tenant alpha's namespace alpha"),
    "router writes the flow logs": (_wider_router, None, "/tenancy/acme/vpc-flow-logs, a group of no tenant"),
    "reader reads another tenant": (_wider_reader, "alpha", "can read log group /tenancy/acme/beta/containers"),
    "group without KMS": (_unencrypted_group, "gamma", "lacks a KMS key"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_check_refuses_each_fault_and_diff_reports_it(fault: str, tmp_path: Path) -> None:
    inject, tenant, words = FAULTS[fault]
    res = _res()
    inject(res)
    got = {r.id: v for r, _, v in check.run_checks(res) if v}
    assert set(got) == {"log-walls"}, got
    assert any(v.tenant == tenant and words in v.message for v in got["log-walls"]), got["log-walls"]
    if fault == "group without KMS":
        return  # not an access change: check's business, not diff's
    base = load_render(review.write(tmp_path, "base", _res()))
    head = load_render(review.write(tmp_path, "head", res))
    changes = [c for c in diff_renders(base, head)["isolation"] if c["layer"] == "logs"]
    assert changes and all(c["change"] == "loosened" for c in changes), changes
    # and back: the same change read the other way is a tightening
    back = [c for c in diff_renders(head, base)["isolation"] if c["layer"] == "logs"]
    assert back and all(c["change"] == "tightened" for c in back)


def test_enabling_logs_is_no_isolation_change(tmp_path: Path) -> None:
    base = load_render(review.write(tmp_path, "base", review.base()))
    head = load_render(review.write(tmp_path, "head", _res()))
    assert [c for c in diff_renders(base, head)["isolation"] if c["layer"] == "logs"] == []
