"""Observability in the isolation facts, ``tenancy check`` and ``tenancy diff``: read from real
renders, with faults injected into their resources (each a negative control of the rule)."""

from __future__ import annotations

import copy
import json
from typing import Any

from tenancy.review import check, diff
from tenancy.review.facts import facts_of
from tests.fixtures.specs import spec_with
from tests.helpers import review

ON = {"metrics": {"enabled": True}, "backup": {"enabled": True}}
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
QUERY = "aws:cloudwatch/queryDefinition:QueryDefinition"
ADDON = "aws:eks/addon:Addon"


def _on() -> list[dict[str, Any]]:
    return review.resources(spec_with(observability=ON))


def _violations(res: list[dict[str, Any]]) -> list[check.Violation]:
    return check.observability_scoped(res, facts_of(res))


def _obs_changes(base: list[dict[str, Any]], head: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in diff.isolation_changes(facts_of(base), facts_of(head)) if c["layer"] == "observability"]


def test_facts_name_the_agent_identity_dashboards_queries_and_backup() -> None:
    o = facts_of(_on()).document()["observability"]
    assert o["agent"]["roles"] == ["acme_cloudwatch-agent"] and o["agent"]["policies"] == []
    assert "logs:PutLogEvents" in o["agent"]["actions"] and "logs:GetLogEvents" not in o["agent"]["actions"]
    assert o["agent"]["tolerateAll"] and not o["agent"]["containerLogs"]
    assert {"logs", "monitoring"} <= set(o["endpoints"])
    assert o["dashboards"] == {"alpha": ["alpha"], "beta": ["beta"], "gamma": ["gamma"]}
    assert {t: sorted(n for q in qs for n in q["namespaces"]) for t, qs in o["queries"].items()} == \
        {"alpha": ["alpha"], "beta": ["beta"], "gamma": ["gamma"]}
    assert [len({b for q in qs for b in q["blocks"]}) for qs in o["queries"].values()] == [1, 1, 1]
    assert o["backup"]["selection"] == ["arn:aws:eks:eu-west-1:111122223333:cluster/acme"]
    assert o["backup"]["trust"] == ["backup.amazonaws.com"] and o["backup"]["encrypted"]


def test_check_passes_a_real_render_and_catches_each_fault() -> None:
    res = _on()
    assert _violations(res) == []
    bad = copy.deepcopy(res)
    d = next(r for r in bad if r["type"] == DASHBOARD and r["tenant"] == "alpha")
    body = json.loads(d["inputs"]["dashboardBody"])
    body["widgets"][0]["properties"]["metrics"].append(["ContainerInsights", "pod_cpu_utilization",
                                                        "ClusterName", "acme", "Namespace", "beta"])
    d["inputs"]["dashboardBody"] = json.dumps(body)
    q = next(r for r in bad if r["type"] == QUERY and r["tenant"] == "gamma" and "accessed" in r["inputs"]["name"])
    q["inputs"]["queryString"] = q["inputs"]["queryString"].replace('["gamma"]', '["gamma", "alpha"]')
    addon = next(r for r in bad if r["type"] == ADDON and r["inputs"]["addonName"] == "amazon-cloudwatch-observability")
    addon["inputs"]["configurationValues"] = json.dumps({"tolerations": [{"operator": "Exists"}]})
    v = _violations(bad)
    assert any(x.tenant == "alpha" and x.message.startswith("alpha's dashboard reads namespace beta (tenant beta)")
               for x in v)
    assert any(x.tenant == "gamma" and "reads namespace alpha (tenant alpha)" in x.message for x in v)
    assert any(x.tenant is None and "shared log group" in x.message for x in v)
    assert "observability-scoped" in check.RULES_BY_ID


def test_diff_reports_loosenings_and_nothing_for_an_unchanged_render() -> None:
    base = _on()
    assert _obs_changes(base, copy.deepcopy(base)) == []  # negative control
    head = copy.deepcopy(base)
    some = next(r for r in head if r["type"] == "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    extra = copy.deepcopy(some)
    extra["urn"] += "-agent-admin"
    extra["inputs"] = {"role": "acme_cloudwatch-agent", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}
    head.append(extra)
    sel = next(r for r in head if r["type"] == "aws:backup/selection:Selection")
    sel["inputs"]["resources"].append("arn:aws:ec2:eu-west-1:111122223333:volume/vol-0beta")
    q = next(r for r in head if r["type"] == QUERY and r["tenant"] == "beta" and "accessed" in r["inputs"]["name"])
    q["inputs"]["queryString"] = q["inputs"]["queryString"].replace('["beta"]', '["beta", "gamma"]')
    got = [(c["change"], c["tenant"], c["detail"]) for c in _obs_changes(base, head)]
    assert ("loosened", None, "the CloudWatch agent gains policy(s) arn:aws:iam::aws:policy/AdministratorAccess") in got
    assert ("loosened", None, "the backup selection now also covers "
            "arn:aws:ec2:eu-west-1:111122223333:volume/vol-0beta") in got
    assert ("loosened", "beta", "beta's dashboard or saved query now reads namespace gamma (tenant gamma)") in got
    back = {(c["change"], c["detail"][:41]) for c in _obs_changes(head, base)}
    assert ("tightened", "the CloudWatch agent loses policy(s) arn:") in back


def test_turning_metrics_and_backups_on_shows_the_new_identities_as_loosenings() -> None:
    got = [(c["change"], c["detail"]) for c in _obs_changes(review.resources(spec_with()), _on())]
    assert ("loosened", "the CloudWatch agent gains role(s) acme_cloudwatch-agent") in got
    assert ("loosened", "the backup role now trusts backup.amazonaws.com") in got
    assert any(d.startswith("the backup selection now also covers arn:aws:eks:") for _, d in got)
    assert all(c == "loosened" for c, _ in got)


def test_the_report_section_lists_every_tenants_queries_and_the_backup() -> None:
    from tenancy.review.observability import report_lines

    text = "\n".join(report_lines(facts_of(_on())))
    for t in ("alpha", "beta", "gamma"):
        assert f"- {t}: dashboard on {t}; `tenancy/acme/{t}/flows-from-other-tenants`" in text
        assert f"`tenancy/acme/{t}/who-accessed-my-namespace` (/aws/eks/acme/cluster)" in text
    assert "AWS Backup of `arn:aws:eks:eu-west-1:111122223333:cluster/acme`" in text
    assert "container logs off" in text
    off = "\n".join(report_lines(facts_of(review.resources(spec_with(observability={"savedQueries": False})))))
    assert "saved queries: off" in off and "metrics: off" in off and "backups: off" in off
