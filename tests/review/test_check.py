"""`tenancy check`: every guardrail rule holds on real renders (negative controls) and fails on a
render with its fault injected, naming the rule, the tenant and the resource."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tenancy.cli import main
from tenancy.review import check
from tests.fixtures.specs import ALPHA, BETA, DELTA, GAMMA, spec_with
from tests.helpers import review

Res = list[dict[str, Any]]
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LT = "aws:ec2/launchTemplate:LaunchTemplate"


def _violations(res: Res) -> dict[str, list[check.Violation]]:
    return {r.id: v for r, _, v in check.run_checks(res) if v}


@pytest.mark.parametrize("spec", [
    review.base_spec(),
    spec_with([ALPHA, BETA, GAMMA, DELTA], identity={"mode": "podIdentity", "accessPoints": True},
              workloads={"mesh": "istio", "istio": {"preinstalled": True, "cni": True},
              "ingressControllerNamespace": "ingress"},
              network={"tenantNetworkAcls": True},
              cluster={"endpointPublicAccessCidrs": ["203.0.113.0/24"]}),
], ids=["base", "options"])
def test_real_renders_pass_every_rule(spec: dict[str, Any]) -> None:
    assert _violations(review.resources(spec)) == {}


def _drop_default_deny(res: Res) -> None:
    res.remove(review.find(res, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "beta", "tenancy-default-deny"))


def _unbind_placement(res: Res) -> None:
    res.remove(review.find(res, "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"))


def _fence_write(res: Res) -> None:
    review.find(res, "kubernetes:rbac.authorization.k8s.io/v1:Role", "alpha", "tenancy-admin")["inputs"][
        "rules"].append({"apiGroups": [""], "resources": ["resourcequotas"], "verbs": ["update"]})


def _escalate(res: Res) -> None:
    """A persona that may ``escalate`` Roles (issue 26: it would lift the bound on self-service RBAC)."""
    review.find(res, "kubernetes:rbac.authorization.k8s.io/v1:Role", "alpha", "tenancy-admin")["inputs"][
        "rules"].append({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["escalate"]})


def _drop_taint(res: Res) -> None:
    review.find(res, NODE_GROUP, "gamma")["inputs"]["taints"] = []


def _widen_prefix(res: Res) -> None:
    p = review.find(res, "aws:iam/rolePolicy:RolePolicy", "beta")
    p["inputs"]["policy"] = p["inputs"]["policy"].replace("tenants/beta/*", "tenants/*")


def _trust_any_sa(res: Res) -> None:
    role = review.find(res, "aws:iam/role:Role", "alpha", "alpha.app")
    doc = json.loads(role["inputs"]["assumeRolePolicy"])
    cond = doc["Statement"][0]["Condition"]
    sub = next(k for k in cond["StringEquals"] if k.endswith(":sub"))
    cond["StringLike"] = {sub: "system:serviceaccount:*"}
    del cond["StringEquals"][sub]
    role["inputs"]["assumeRolePolicy"] = json.dumps(doc)


def _undeclared_sg(res: Res) -> None:
    a = review.find(res, "aws:ec2/securityGroup:SecurityGroup", "alpha")
    g = review.find(res, "aws:ec2/securityGroup:SecurityGroup", "gamma")
    res.append({"urn": "urn:x::rule", "type": "aws:ec2/securityGroupRule:SecurityGroupRule", "name": "injected",
                "tenant": None, "id": "sgr-x", "custom": True, "outputs": {},
                "inputs": {"type": "ingress", "securityGroupId": a["id"], "sourceSecurityGroupId": g["id"],
                           "protocol": "-1", "fromPort": 0, "toPort": 0}})
    res.append({"urn": "urn:x::rule2", "type": "aws:ec2/securityGroupRule:SecurityGroupRule", "name": "injected2",
                "tenant": None, "id": "sgr-y", "custom": True, "outputs": {},
                "inputs": {"type": "egress", "securityGroupId": g["id"], "sourceSecurityGroupId": a["id"],
                           "protocol": "-1", "fromPort": 0, "toPort": 0}})


def _one_sided_np(res: Res) -> None:
    """beta's NetworkPolicies admit alpha's namespace; alpha's egress still blocks it."""
    res.append(_ingress_policy("beta", "alpha"))


def _ingress_policy(ns: str, peer: str) -> dict[str, Any]:
    return {"urn": f"urn:x::np-{ns}", "type": "kubernetes:networking.k8s.io/v1:NetworkPolicy", "tenant": ns,
            "name": f"{ns}/stray", "id": f"{ns}/stray", "custom": True, "outputs": {},
            "inputs": {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                       "metadata": {"name": "stray", "namespace": ns},
                       "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [
                           {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": peer}}}]}]}}}


def _nacl_opening(res: Res) -> None:
    """alpha and gamma get network ACLs; alpha's lets traffic out to the whole VPC, gamma's block included."""
    for t in ("alpha", "gamma"):  # under the tenant's component, as the platform registers them
        owner = review.find(res, "tenancy:index:Tenant", t)
        res.append({"urn": f"urn:x::acl-{t}", "type": "aws:ec2/networkAcl:NetworkAcl", "name": f"{t}-nacl",
                    "tenant": t, "id": f"acl-{t}", "custom": True, "outputs": {}, "inputs": {"subnetIds": []},
                    "parent": owner["urn"]})
    res.append({"urn": "urn:x::acl-rule", "type": "aws:ec2/networkAclRule:NetworkAclRule", "name": "stray",
                "tenant": "alpha", "id": "nacl-x", "custom": True, "outputs": {},
                "inputs": {"networkAclId": "acl-alpha", "ruleNumber": 150, "egress": True, "ruleAction": "allow",
                           "cidrBlock": "10.40.0.0/16", "protocol": "-1"}})


def _public_endpoint(res: Res) -> None:
    review.find(res, "eks:index:Cluster")["inputs"]["endpointPublicAccess"] = True


def _no_secrets_key(res: Res) -> None:
    del review.find(res, "eks:index:Cluster")["inputs"]["encryptionConfigKeyArn"]


def _plain_volume(res: Res) -> None:
    review.find(res, LT, "beta")["inputs"]["blockDeviceMappings"][0]["ebs"]["encrypted"] = "false"


def _imdsv1(res: Res) -> None:
    review.find(res, LT, "alpha")["inputs"]["metadataOptions"]["httpTokens"] = "optional"


def _sgp_without_pool(res: Res) -> None:
    """A SecurityGroupPolicy for every pod of beta, whose namespace has no pool label."""
    ns = review.find(res, "kubernetes:core/v1:Namespace", "beta")
    res.append({**ns, "urn": "urn:x::sgp", "type": "kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy",
                "name": "beta/tenancy-pod-security-groups",
                "inputs": {"apiVersion": "vpcresources.k8s.aws/v1beta1", "kind": "SecurityGroupPolicy",
                           "metadata": {"name": "tenancy-pod-security-groups", "namespace": "beta"},
                           "spec": {"podSelector": {}, "securityGroups": {"groupIds": ["sg-0beta"]}}}})


def _no_secret_count(res: Res) -> None:
    del review.find(res, "kubernetes:core/v1:ResourceQuota", "alpha", "tenancy-quota")["inputs"]["spec"]["hard"][
        "count/secrets"]


def _unforced_pool_group(res: Res) -> None:
    """A node pool's group (no tenant on it) that does not force its updates past tenants' budgets."""
    ng = json.loads(json.dumps(review.find(res, NODE_GROUP, "gamma")))
    ng.update(urn=ng["urn"].replace("gamma-nodes", "pool-spare-nodes"), name="acme_pool-spare-nodes", tenant=None,
              parent=None)  # the platform's, not gamma's (the policy pack reads the owner from the parent chain)
    ng["inputs"].update(taints=[{"key": "tenancy/pool", "value": "spare", "effect": "NO_SCHEDULE"}],
                        labels={"tenancy/pool": "spare"}, forceUpdateVersion=False)
    res.append(ng)


def _load_balancer_grant(res: Res) -> None:
    review.find(res, "kubernetes:core/v1:Namespace", "gamma")["inputs"]["metadata"]["labels"][
        "tenancy/load-balancers"] = "allowed"


def _pod_eni_without_max_pods(res: Res) -> None:
    """Trunks on (ENABLE_POD_ENI) while the launch templates keep EKS's maxPods."""
    addon = next(r for r in res if r["type"] == "aws:eks/addon:Addon" and r["inputs"]["addonName"] == "vpc-cni")
    conf = json.loads(addon["inputs"]["configurationValues"])
    conf.setdefault("env", {})["ENABLE_POD_ENI"] = "true"
    addon["inputs"]["configurationValues"] = json.dumps(conf)


def _plain_tenant_log_group(res: Res) -> None:
    """A tenant's log group without a KMS key (observability.logs; more faults: test_logs_facts.py)."""
    res.append({"urn": "urn:pulumi:review::tenancy::aws:cloudwatch/logGroup:LogGroup::plain", "type":
                "aws:cloudwatch/logGroup:LogGroup", "name": "plain", "id": "plain", "parent": None, "tenant": None,
                "custom": True, "inputs": {"name": "/tenancy/acme/alpha/containers", "retentionInDays": 30,
                                           "tags": {"tenancy/tenant": "alpha"}}, "outputs": {}, "dependencies": []})
def _query_reads_a_peer(res: Res) -> None:
    """alpha's saved audit query also reads beta's namespace (issue 27)."""
    q = next(r for r in res if r["type"] == "aws:cloudwatch/queryDefinition:QueryDefinition"
             and r["tenant"] == "alpha" and "objectRef.namespace in" in r["inputs"]["queryString"])
    q["inputs"]["queryString"] = q["inputs"]["queryString"].replace('["alpha"]', '["alpha", "beta"]')


FAULTS: dict[str, tuple[Callable[[Res], None], str | None]] = {
    "tenant-default-deny": (_drop_default_deny, "beta"),
    "tenant-placement-enforced": (_unbind_placement, "alpha"),
    "no-fence-writes": (_fence_write, "alpha"),
    "self-service-rbac-bounded": (_escalate, "alpha"),
    "taints-match-admission": (_drop_taint, "gamma"),
    "workload-role-scope": (_widen_prefix, "beta"),
    "sg-cross-tenant-declared": (_undeclared_sg, "alpha"),
    "np-cross-tenant-declared": (_one_sided_np, "beta"),
    "nacl-cross-tenant-declared": (_nacl_opening, "alpha"),
    "private-endpoint": (_public_endpoint, None),
    "secrets-encryption": (_no_secrets_key, None),
    "encrypted-volumes": (_plain_volume, "beta"),
    "imdsv2": (_imdsv1, "alpha"),
    "pooled-pod-security-groups": (_sgp_without_pool, "beta"),
    "fair-share-quotas": (_no_secret_count, "alpha"),
    "pool-disruption-budgets": (_unforced_pool_group, None),
    "no-unreachable-load-balancers": (_load_balancer_grant, "gamma"),
    "max-pods-with-trunk": (_pod_eni_without_max_pods, "alpha"),
    "log-walls": (_plain_tenant_log_group, "alpha"),
    "observability-scoped": (_query_reads_a_peer, "alpha"),
}


def test_every_rule_has_a_fault() -> None:
    assert set(FAULTS) == set(check.RULES_BY_ID)


@pytest.mark.parametrize("rule", sorted(FAULTS))
def test_each_rule_fails_on_its_fault(rule: str) -> None:
    inject, tenant = FAULTS[rule]
    res = review.base()
    inject(res)
    got = _violations(res)
    assert rule in got, f"{rule} did not fire"
    assert set(got) == {rule}, f"the fault for {rule} also tripped {set(got) - {rule}}"
    assert tenant in {v.tenant for v in got[rule]}
    assert all(v.resource and v.message for v in got[rule])


def test_trust_in_any_service_account_fails_role_scope() -> None:
    res = review.base()
    _trust_any_sa(res)
    [v] = _violations(res)["workload-role-scope"]
    assert v.tenant == "alpha" and "system:serviceaccount:*" in v.message


def test_levels_can_be_lowered() -> None:
    res = review.base()
    _imdsv1(res)
    results = check.run_checks(res, levels={"imdsv2": "advisory"})
    assert not check.failed(results)
    assert "imdsv2" not in {r.id for r, _, _ in check.run_checks(res, levels={"imdsv2": "disabled"})}


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = review.write(tmp_path, "good", review.base())
    assert main(["check", str(good)]) == 0
    assert "all guardrails hold" in capsys.readouterr().out
    res = review.base()
    _drop_taint(res)
    bad = review.write(tmp_path, "bad", res)
    assert main(["check", str(bad)]) == 3
    out = capsys.readouterr().out
    assert "`taints-match-admission` | gamma | `urn:pulumi:" in out
    assert main(["check", str(bad), "--format", "json"]) == 3
    doc = json.loads(capsys.readouterr().out)
    assert doc["passed"] is False
    assert main(["check", str(tmp_path / "missing")]) == 2


def test_fence_violation_names_the_binding() -> None:
    res = review.base()
    _fence_write(res)
    [v] = _violations(res)["no-fence-writes"]
    assert v.resource.endswith("alpha/tenancy-admins") and "core/resourcequotas:update" in v.message


def test_irsa_trust_without_audience_fails_role_scope() -> None:
    res = review.base()
    role = review.find(res, "aws:iam/role:Role", "beta", "beta.api")
    doc = json.loads(role["inputs"]["assumeRolePolicy"])
    cond = doc["Statement"][0]["Condition"]["StringEquals"]
    del cond[next(k for k in cond if k.endswith(":aud"))]
    role["inputs"]["assumeRolePolicy"] = json.dumps(doc)
    [v] = _violations(res)["workload-role-scope"]
    assert v.tenant == "beta" and "audience" in v.message
