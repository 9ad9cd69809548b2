"""The CrossGuard policy pack, tested without the Pulumi CLI: rule functions with hand-built
validation args (pulumi-policy's public constructors), and the analyzer's real dispatch path
(``_PolicyAnalyzerServicer.AnalyzeStack``, as pulumi-policy's own tests do) for enforcement
levels from config and the diagnostic format."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel, PolicyResource, PolicyResourceOptions, StackValidationArgs
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_ARRAY_VALUE, UNKNOWN_STRING_VALUE, unknown_checking_proxy

from tenancy.review import check
from tenancy.review.policy_pack import PACK_NAME, policies, resources_of
from tests.helpers import review

_OPTS = PolicyResourceOptions(False, [], False, [], None, [])  # type: ignore[arg-type]


def _policy_resources(res: list[dict[str, Any]], proxied: bool = False) -> list[PolicyResource]:
    by_urn: dict[str, PolicyResource] = {}
    for r in res:
        props = dict(r["inputs"])  # what the faults edit (a real preview sends outputs: inputs plus computed)
        props = {**props, "id": r["id"]} if r.get("id") else props
        by_urn[r["urn"]] = PolicyResource(r["type"], unknown_checking_proxy(props) if proxied else props, r["urn"],
                                          r["name"], _OPTS, None, None, [], {})
    for r in res:
        if r.get("parent") in by_urn:
            by_urn[r["urn"]].parent = by_urn[r["parent"]]
    return list(by_urn.values())


def _run(res: list[dict[str, Any]], config: dict[str, Any] | None = None, proxied: bool = False
         ) -> dict[str, list[tuple[str, str | None]]]:
    args = StackValidationArgs(_policy_resources(res, proxied), config or {})
    out: dict[str, list[tuple[str, str | None]]] = {}
    for p in policies():
        got: list[tuple[str, str | None]] = []
        p.validate(args, lambda msg, urn=None, got=got: got.append((msg, urn)))
        if got:
            out[p.name] = got
    return out


def test_one_policy_per_rule_with_levels_and_schema() -> None:
    ps = policies()
    assert [p.name for p in ps] == [r.id for r in check.RULES]
    assert all(p.enforcement_level == EnforcementLevel.MANDATORY for p in ps)
    assert all("excludeTenants" in p.config_schema.properties for p in ps)


def test_engine_view_matches_the_render() -> None:
    res = review.base()
    seen = resources_of(_policy_resources(res))
    assert {r["urn"]: r["tenant"] for r in seen} == {r["urn"]: r["tenant"] for r in res}


def test_clean_render_has_no_violations() -> None:
    assert _run(review.base()) == {}
    assert _run(review.base(), proxied=True) == {}


def test_each_fault_is_reported_on_its_resource() -> None:
    from tests.review.test_check import FAULTS

    for rule, (inject, tenant) in FAULTS.items():
        res = review.base()
        inject(res)
        got = _run(res)
        assert set(got) == {rule}, rule
        if tenant:
            assert any(msg.startswith(f"[{tenant}]") for msg, _ in got[rule]), got[rule]


def test_exclude_tenants_config() -> None:
    res = review.base()
    FAULTS_TAINT(res)
    assert "taints-match-admission" in _run(res)
    assert "taints-match-admission" not in _run(res, {"excludeTenants": ["gamma"]})


def FAULTS_TAINT(res: list[dict[str, Any]]) -> None:  # noqa: N802
    from tests.review.test_check import _drop_taint

    _drop_taint(res)


def test_unknown_values_do_not_abort_the_rules() -> None:
    res = review.base()
    for r in res:
        if r["type"] == "aws:ec2/subnet:Subnet":
            r["inputs"]["arn"] = UNKNOWN_STRING_VALUE
    FAULTS_TAINT(res)
    assert set(_run(res, proxied=True)) == {"taints-match-admission"}


def _analyzer_request(res: list[dict[str, Any]]) -> Any:
    req = proto.AnalyzeStackRequest()
    for r in res:
        s = struct_pb2.Struct()
        json_format.ParseDict(json.loads(json.dumps(r["inputs"])), s)
        req.resources.append(proto.AnalyzerResource(type=r["type"], properties=s, urn=r["urn"], name=r["name"],
                                                    parent=r.get("parent") or ""))
    return req


@pytest.mark.parametrize("level", ["mandatory", "advisory"])
def test_analyzer_dispatch_and_config_levels(level: str) -> None:
    res = review.base()
    FAULTS_TAINT(res)
    servicer = _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", policies(), EnforcementLevel.MANDATORY)
    if level == "advisory":
        cfg = proto.ConfigureAnalyzerRequest()
        cfg.policyConfig["taints-match-admission"].enforcementLevel = proto.ADVISORY
        servicer.Configure(cfg, None)
    resp = servicer.AnalyzeStack(_analyzer_request(res), None)
    diags = [d for d in resp.diagnostics if d.policyName == "taints-match-admission"]
    assert diags and all(d.policyPackName == PACK_NAME for d in diags)
    want = proto.MANDATORY if level == "mandatory" else proto.ADVISORY
    assert all(d.enforcementLevel == want for d in diags)
    assert diags[0].message.startswith(check.RULES_BY_ID["taints-match-admission"].description + "\n[gamma]")
    assert diags[0].urn.endswith("gamma-nodes")
    others = {d.policyName for d in resp.diagnostics} - {"taints-match-admission"}
    assert others <= {"sg-cross-tenant-declared"} and not others, others


# Previews with unknown values (issue 21): a value the engine does not know yet never makes a
# mandatory violation; the policy says it could not run (advisory) and runs in full at `up`.

SGP = "kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy"


def _new_platform_preview(res: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A preview of a platform not created yet: the KMS key is created in the same update."""
    for r in res:
        if r["type"] == check.EKS_COMPONENT:
            r["inputs"]["encryptionConfigKeyArn"] = UNKNOWN_STRING_VALUE
    return res


def _pooled() -> list[dict[str, Any]]:
    spec = review.base_spec()
    spec["nodePools"] = [{"name": "shared", "slot": 10}]
    spec["tenants"].append({"name": "delta", "pool": "shared"})
    return review.resources(spec)


def _new_pooled_tenant_preview(res: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A preview adding a pooled tenant: its security group, hence the SGP's groupIds, is created in the
    same update."""
    for r in res:
        if r["type"] == SGP and r["tenant"] == "delta":
            r["inputs"]["spec"]["securityGroups"]["groupIds"] = UNKNOWN_ARRAY
    return res


UNKNOWN_ARRAY = UNKNOWN_ARRAY_VALUE


def _diagnostics(res: list[dict[str, Any]]) -> list[Any]:
    """The analyzer's real dispatch (the engine sends an unknown as its sentinel string)."""
    servicer = _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", policies(), EnforcementLevel.MANDATORY)
    return list(servicer.AnalyzeStack(_analyzer_request(res), None).diagnostics)


@pytest.mark.parametrize(("preview", "rule"), [(_new_platform_preview, "secrets-encryption"),
                                                 (_new_pooled_tenant_preview, "pooled-pod-security-groups")])
def test_unknown_values_make_no_mandatory_violation(preview: Any, rule: str) -> None:
    res = preview(_pooled() if rule == "pooled-pod-security-groups" else review.base())
    diags = _diagnostics(res)
    assert not [d for d in diags if d.enforcementLevel == proto.MANDATORY], [d.message for d in diags]
    mine = [d for d in diags if d.policyName == rule]
    assert len(mine) == 1 and mine[0].enforcementLevel == proto.ADVISORY
    assert "can't run policy" in mine[0].message and "during preview" in mine[0].message


@pytest.mark.parametrize("rule", ["secrets-encryption", "pooled-pod-security-groups"])
def test_negative_control_known_faults_stay_mandatory_under_preview(rule: str) -> None:
    """The same rules on values that ARE known and wrong: mandatory, even with unknowns elsewhere."""
    if rule == "secrets-encryption":
        res = review.base()
        for r in res:
            if r["type"] == check.EKS_COMPONENT:
                r["inputs"]["encryptionConfigKeyArn"] = ""
        res = _new_pooled_tenant_preview(res)  # an unrelated unknown (no SGP in base: nothing changes)
    else:
        res = _pooled()
        for r in res:
            if r["type"] == SGP and r["tenant"] == "delta":
                r["inputs"]["spec"]["securityGroups"]["groupIds"] = []
        res = _new_platform_preview(res)  # an unrelated unknown
    diags = [d for d in _diagnostics(res) if d.policyName == rule]
    assert diags and all(d.enforcementLevel == proto.MANDATORY for d in diags), [d.message for d in diags]


def test_the_pooled_fixture_is_clean_when_known() -> None:
    assert {d.policyName for d in _diagnostics(_pooled())} == set()


def test_a_security_group_wider_than_a_port_scoped_edge_is_a_violation() -> None:
    from tenancy.render import render_spec
    from tests.fixtures.specs import spec_with, tenant

    res = render_spec(spec_with([tenant("a", 0, allowFrom=[{"tenant": "b", "ports": [{"port": 443}]}]),
                                 tenant("b", 1)])).resources
    assert _run(res) == {}
    for r in res:
        if r["name"] == "a-from-b-tcp-443" and r["type"].endswith("SecurityGroupIngressRule"):
            r["inputs"] = {k: v for k, v in r["inputs"].items() if k not in ("fromPort", "toPort")}
            r["inputs"]["ipProtocol"] = "-1"
    got = _run(res)
    assert set(got) == {"sg-cross-tenant-declared"}, got
    assert any("wider than the allowFrom edge's ports (tcp/443)" in msg for msg, _ in got["sg-cross-tenant-declared"])
