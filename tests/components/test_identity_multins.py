"""Workload identity of a tenant with several namespaces (issue 26): the service account exists
in each namespace and its role is assumable from each — and from nothing else.

The rendered trust policies are evaluated here with IAM's condition semantics written from the
IAM User Guide ("Creating a condition with multiple keys or values": several values of one key
are ORed, keys and operators ANDed; ``StringEquals`` is exact, case-sensitive), not by comparing
with what tenancy/plan/iam.py writes. moto ignores trust conditions, so it only judges that IAM
accepts the documents (the roles are created in it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from tenancy.spec import naming
from tests.fixtures.specs import spec_with, tenant
from tests.helpers.aws_replay_identity import replay
from tests.helpers.identity_render import render_identity
from tests.helpers.moto_server import MotoServer

SPEC = spec_with([tenant("alpha", 0, namespaces=["alpha-batch"], serviceAccounts=["app"]),
                  tenant("beta", 1, serviceAccounts=["app"])])
SUBJECTS = [f"system:serviceaccount:{ns}:{sa}" for ns in ("alpha", "alpha-batch", "beta", "alpha-x", "default")
            for sa in ("app", "other")]


def _values(v: Any) -> list[str]:
    return [str(x) for x in (v if isinstance(v, list) else [v])]


def trusts(doc: Mapping[str, Any] | str, context: Mapping[str, str]) -> bool:
    """Does some Allow statement's every condition hold for ``context``? Only the operators a
    workload trust should use (StringEquals); any other makes the statement not apply."""
    d = json.loads(doc) if isinstance(doc, str) else doc
    for st in d["Statement"]:
        if st.get("Effect") != "Allow":
            continue
        ok = True
        for op, block in (st.get("Condition") or {}).items():
            for key, expected in block.items():
                ok = ok and op == "StringEquals" and context.get(key) in _values(expected)
        if ok:
            return True
    return False


def _roles(mode: str) -> dict[str, dict[str, Any]]:
    spec = spec_with(SPEC["tenants"], identity={"mode": mode})
    return {r["name"]: r for r in render_identity(spec).of_type("aws:iam/role:Role")}


def test_irsa_role_is_assumable_from_the_tenants_namespaces_only() -> None:
    roles = _roles("irsa")
    alpha = roles[naming.service_account_role_name("acme", "alpha", "app")]["inputs"]["assumeRolePolicy"]
    beta = roles[naming.service_account_role_name("acme", "beta", "app")]["inputs"]["assumeRolePolicy"]
    issuer = next(iter(next(iter(json.loads(alpha)["Statement"]))["Condition"]["StringEquals"])).rsplit(":", 1)[0]

    def ok(doc: str, sub: str, aud: str = "sts.amazonaws.com") -> bool:
        return trusts(doc, {f"{issuer}:sub": sub, f"{issuer}:aud": aud})

    assert {s for s in SUBJECTS if ok(alpha, s)} == {"system:serviceaccount:alpha:app",
                                                     "system:serviceaccount:alpha-batch:app"}
    assert {s for s in SUBJECTS if ok(beta, s)} == {"system:serviceaccount:beta:app"}
    assert not ok(alpha, "system:serviceaccount:alpha-batch:app", aud="other")


def test_pod_identity_has_an_association_per_namespace() -> None:
    spec = spec_with(SPEC["tenants"], identity={"mode": "podIdentity"})
    result = render_identity(spec)
    assocs = [r["inputs"] for r in result.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")]
    assert sorted((a["namespace"], a["serviceAccount"]) for a in assocs) == [
        ("alpha", "app"), ("alpha-batch", "app"), ("beta", "app")]
    role = {r["name"]: r for r in result.of_type("aws:iam/role:Role")}[
        naming.service_account_role_name("acme", "alpha", "app")]
    doc = role["inputs"]["assumeRolePolicy"]
    cluster = next(iter(k for k in json.loads(doc)["Statement"][0]["Condition"]["StringEquals"] if "eks-cluster" in k))
    value = json.loads(doc)["Statement"][0]["Condition"]["StringEquals"][cluster]
    for ns, want in (("alpha", True), ("alpha-batch", True), ("beta", False)):
        ctx = {cluster: value, "aws:RequestTag/kubernetes-namespace": ns,
               "aws:RequestTag/kubernetes-service-account": "app"}
        assert trusts(doc, ctx) is want, ns


@pytest.mark.slow
def test_iam_accepts_the_multi_namespace_trust(moto_server: MotoServer) -> None:
    resources = render_identity(SPEC).resources
    replay(moto_server, resources)  # creating the roles fails if IAM refuses a document
    iam = moto_server.client("iam")
    role = iam.get_role(RoleName=naming.service_account_role_name("acme", "alpha", "app"))["Role"]
    doc = role["AssumeRolePolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    subs = [v for k, v in doc["Statement"][0]["Condition"]["StringEquals"].items() if k.endswith(":sub")][0]
    assert sorted(subs) == ["system:serviceaccount:alpha-batch:app", "system:serviceaccount:alpha:app"]


def test_negative_control_a_trust_for_the_main_namespace_only_is_caught() -> None:
    from tenancy.plan import iam

    issuer = "oidc.eks.eu-west-1.amazonaws.com/id/ABC"
    provider = f"arn:aws:iam::111122223333:oidc-provider/{issuer}"
    main_only = iam.irsa_trust_policy(provider, issuer, "alpha", "app")
    both = iam.irsa_trust_policy(provider, issuer, ["alpha", "alpha-batch"], "app")
    ctx = {f"{issuer}:sub": "system:serviceaccount:alpha-batch:app", f"{issuer}:aud": "sts.amazonaws.com"}
    assert not trusts(main_only, ctx) and trusts(both, ctx)
    wildcard = iam.irsa_trust_policy(provider, issuer, "alpha*", "app")  # StringEquals: no wildcard matching
    assert not trusts(wildcard, ctx)
