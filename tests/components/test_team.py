"""Team stacks: a platform stack plus a stack per team (tenancy.components.team), rendered end to end through
`tenancy render --program` with the platform render's outputs as the StackReference."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tenancy import cli
from tenancy.render import RenderResult, render_spec
from tenancy.render.engine import RenderError
from tenancy.spec import SpecError
from tenancy.testing import Mocks, render_program

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "team-stack"
PLATFORM_STACK = "acme/tenancy/dev"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("team")
    platform, team = base / "platform", base / "team"
    assert cli.main(["render", "--config", str(EXAMPLE / "platform" / "Pulumi.dev.yaml"), "--out", str(platform),
                     "--quiet"]) == 0
    assert cli.main(["render", "--program", str(EXAMPLE), "--config", str(EXAMPLE / "Pulumi.payments.yaml"),
                     "--stack-reference", f"{PLATFORM_STACK}={platform / 'outputs.json'}", "--out", str(team),
                     "--quiet"]) == 0
    return {"platform": platform, "team": team}


def _resources(out: Path) -> list[dict[str, Any]]:
    return json.loads((out / "resources.json").read_text())["resources"]  # type: ignore[no-any-return]


def test_the_platform_keeps_the_team_tenants_aws_layer_only(rendered: dict[str, Path]) -> None:
    payments = [r for r in _resources(rendered["platform"]) if r["tenant"] == "payments"]
    types = {r["type"] for r in payments}
    assert "aws:eks/nodeGroup:NodeGroup" in types and "aws:ec2/subnet:Subnet" in types
    assert "aws:eks/accessEntry:AccessEntry" in types
    assert not [t for t in types if t.startswith("kubernetes:")], "the team stack owns the tenant's namespace"
    assert "tenancy:identity:TenantIdentity" not in types
    outputs = json.loads((rendered["platform"] / "outputs.json").read_text())
    assert outputs["tenants"]["payments"]["teamStack"] is True
    assert outputs["teamStackFacts"]["name"] == "acme" and outputs["kubeconfig"]


def test_the_team_stack_builds_the_bundle_roles_and_its_edge(rendered: dict[str, Path]) -> None:
    res = _resources(rendered["team"])
    assert {r["tenant"] for r in res} == {"payments"}
    names = {(r["type"], r["name"]) for r in res}
    assert ("kubernetes:core/v1:Namespace", "payments") in names
    assert {("aws:iam/role:Role", "acme.payments.ledger"), ("aws:iam/role:Role", "acme.payments.reconciler")} <= names
    assert ("tenancy:bundle:TenantPeering", "payments/allow-from/alpha") in names
    # Every Kubernetes object goes through the provider built from the platform's kubeconfig.
    [provider] = [r for r in res if r["type"] == "pulumi:providers:kubernetes"]
    platform_out = json.loads((rendered["platform"] / "outputs.json").read_text())
    assert provider["inputs"]["kubeconfig"] == platform_out["kubeconfig"]
    assert all(r["provider"].startswith(provider["urn"]) for r in res if r["type"].startswith("kubernetes:")
               and r["custom"])
    sa = next(r for r in res if r["name"] == "payments/ledger")
    role = next(r for r in res if r["name"] == "acme.payments.ledger" and r["type"] == "aws:iam/role:Role")
    assert sa["inputs"]["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == role["outputs"]["arn"]
    trust = json.loads(role["inputs"]["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"]["Federated"] == platform_out["oidcProviderArn"]


def test_the_team_stack_builds_what_the_platform_would_have_built(rendered: dict[str, Path]) -> None:
    """The same tenant, platform-managed: identical Kubernetes objects and roles."""
    platform = yaml.safe_load((EXAMPLE / "platform" / "Pulumi.dev.yaml").read_text())["config"]["tenancy:platform"]
    team = yaml.safe_load((EXAMPLE / "Pulumi.payments.yaml").read_text())["config"]["payments-team:tenant"]
    platform = copy.deepcopy(platform)
    platform["tenants"] = [t if t["name"] != "payments" else {**t, **team, "teamStack": False}
                           for t in platform["tenants"]]
    whole: RenderResult = render_spec(platform)

    def objects(resources: list[dict[str, Any]]) -> dict[tuple[str, str], Any]:
        return {(r["type"], r["name"]): r["inputs"] for r in resources if r["tenant"] == "payments" and r["custom"]
                and (r["type"].startswith("kubernetes:") and r["type"] != "pulumi:providers:kubernetes"
                     or r["type"] in ("aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy")
                     and r["name"].startswith("acme.payments."))}  # workload roles, not the node role

    mine, theirs = objects(_resources(rendered["team"])), objects(whole.resources)
    assert mine.keys() == theirs.keys()
    assert [k for k in mine if mine[k] != theirs[k]] == []


def _platform_outputs(rendered: dict[str, Path]) -> dict[str, Any]:
    return json.loads((rendered["platform"] / "outputs.json").read_text())  # type: ignore[no-any-return]


def _team(rendered: dict[str, Path], **tenant: Any) -> RenderResult:
    cfg = yaml.safe_load((EXAMPLE / "Pulumi.payments.yaml").read_text())["config"]
    cfg["payments-team:tenant"] = {**cfg["payments-team:tenant"], **tenant}
    return render_program(EXAMPLE, config=cfg, stack="payments",
                          mocks=Mocks(stack_references={PLATFORM_STACK: _platform_outputs(rendered)}))


def test_tenancy_check_judges_what_the_team_stack_owns(rendered: dict[str, Path]) -> None:
    """The team stack passes every guardrail: the placement policy and the nodes are the platform
    stack's (judged there), and its own objects hold. Negative control: the same namespace outside a
    TeamTenant (a bundle alone) is judged for placement."""
    from tenancy.review import check
    from tenancy.review.diff import load_render

    res = load_render(rendered["team"]).resources
    assert not [v for _, _, vs in check.run_checks(res) for v in vs]
    bare = [r for r in res if r["type"] != "tenancy:team:TeamTenant"]
    assert {v.rule for _, _, vs in check.run_checks(bare) for v in vs} == {"tenant-placement-enforced"}
    # ... and the platform's stack is judged on what IT owns: not the team tenant's NetworkPolicy edges
    platform = load_render(rendered["platform"]).resources
    assert not [v for _, _, vs in check.run_checks(platform) for v in vs]


@pytest.mark.parametrize(
    ("tenant", "message"),
    [
        ({"allowFrom": ["alpah"]}, "allowFrom[0] 'alpah' is not a tenant of the platform; did you mean 'alpha'?"),
        ({"slot": 5}, "has slot 1 on the platform, not 5"),
        ({"name": "alpha", "slot": 0, "allowFrom": []}, "managed by the platform stack itself; set teamStack: true"),
        ({"name": "paymnts"}, "is not a tenant of platform 'acme' (did you mean 'payments'?)"),
        ({"quota": {"cpu": "8", "memory": "12Gi", "pods": 40}}, "quota {'cpu': '8'"),
        ({"internetEgress": True}, "internetEgress True differs from the platform's False"),
        ({"kubernetesApiAccess": True}, "kubernetesApiAccess True differs from the platform's False"),
        # self-service the platform's copy does not grant: its guard policies would not be registered
        ({"selfService": {"rbac": True}}, "selfService {'rbac': True, 'networkPolicies': False} differs from the "
                                          "platform's {'rbac': False, 'networkPolicies': False}"),
        # port-scoped edges: the platform opens the security groups, so the ports must match too
        ({"allowFrom": [{"tenant": "alpha", "ports": [{"port": 443}]}]},
         "allowFrom ['alpha: TCP 443'] differs from the platform's ['alpha'] (which opens the security groups); "
         "change both together, ports included"),
    ],
)
def test_the_team_stack_is_checked_against_the_platform(rendered: dict[str, Path], tenant: dict[str, Any],
                                                        message: str) -> None:
    with pytest.raises(RenderError) as err:
        _team(rendered, **tenant)
    assert message in str(err.value)


def test_the_team_tenant_spec_is_validated_before_anything_is_registered(rendered: dict[str, Path]) -> None:
    with pytest.raises((SpecError, RenderError)) as err:
        _team(rendered, quota={"cpu": "lots"})
    assert "quota.cpu" in str(err.value) and "Kubernetes quantity" in str(err.value)


def test_the_example_also_reads_the_platform_from_config(rendered: dict[str, Path]) -> None:
    cfg = yaml.safe_load((EXAMPLE / "Pulumi.payments.yaml").read_text())["config"]
    del cfg["payments-team:platformStack"], cfg["payments-team:platformFacts"]
    cfg["payments-team:platform"] = _platform_outputs(rendered)
    result = render_program(EXAMPLE, config=cfg, stack="payments")
    assert result.find("kubernetes:core/v1:Namespace", "payments")


def test_a_pooled_team_tenant_gets_its_pods_security_groups_from_the_platform(tmp_path: Path) -> None:
    """Shared node pools (issue 13): a pooled tenant built by a team stack gets the same
    SecurityGroupPolicy as the platform would build, with the group ids from the platform's
    ``tenants`` output; a team stack that gets the placement wrong is refused."""
    doc = yaml.safe_load((EXAMPLE / "platform" / "Pulumi.dev.yaml").read_text())
    platform_spec = doc["config"]["tenancy:platform"]
    platform_spec["nodePools"] = [{"name": "shared", "slot": 5}]
    platform_spec["tenants"].append({"name": "media", "pool": "shared", "teamStack": True})
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(doc))
    out = tmp_path / "platform"
    assert cli.main(["render", "--config", str(tmp_path / "Pulumi.dev.yaml"), "--out", str(out), "--quiet"]) == 0
    outputs = json.loads((out / "outputs.json").read_text())
    groups = outputs["tenants"]["media"]["podSecurityGroupIds"]
    assert len(groups) == 2 and outputs["teamStackFacts"]["nodePools"][0]["name"] == "shared"

    cfg = yaml.safe_load((EXAMPLE / "Pulumi.payments.yaml").read_text())["config"]
    cfg["payments-team:platformFacts"] = outputs["teamStackFacts"]
    cfg["payments-team:tenant"] = {"name": "media", "pool": "shared", "serviceAccounts": ["app"]}
    result = render_program(EXAMPLE, config=cfg, stack="media",
                            mocks=Mocks(stack_references={PLATFORM_STACK: outputs}))
    sgp = [r for r in result.resources if r["type"].endswith("SecurityGroupPolicy")
           or r["inputs"].get("kind") == "SecurityGroupPolicy"]
    assert len(sgp) == 1, [r["type"] for r in result.resources]
    assert sgp[0]["inputs"]["spec"]["securityGroups"]["groupIds"] == groups
    ns = result.find("kubernetes:core/v1:Namespace", "media")
    assert ns is not None and ns["inputs"]["metadata"]["labels"]["tenancy/pool"] == "shared"

    cfg["payments-team:tenant"] = {"name": "media", "slot": 6}
    with pytest.raises(RenderError) as err:
        render_program(EXAMPLE, config=cfg, stack="media", mocks=Mocks(stack_references={PLATFORM_STACK: outputs}))
    assert "runs on node pool 'shared' on the platform, not on dedicated nodes" in str(err.value)


def test_a_port_scoped_team_edge_matches_the_platform_and_narrows_its_policies(rendered: dict[str, Path]) -> None:
    """The platform's copy of the tenant says alpha may reach payments on TCP 443 only: the team
    stack repeating it builds the edge's NetworkPolicies on that port; other ports are refused."""
    outputs = _platform_outputs(rendered)
    edge = {"tenant": "alpha", "ports": [{"port": 443, "protocol": "TCP"}]}
    outputs["tenants"]["payments"]["allowFrom"] = [edge]
    cfg = yaml.safe_load((EXAMPLE / "Pulumi.payments.yaml").read_text())["config"]

    def team(allow: list[Any]) -> RenderResult:
        c = copy.deepcopy(cfg)
        c["payments-team:tenant"]["allowFrom"] = allow
        return render_program(EXAMPLE, config=c, stack="payments",
                              mocks=Mocks(stack_references={PLATFORM_STACK: outputs}))

    result = team([{"tenant": "alpha", "ports": [{"port": 443}]}])
    nps = {m["metadata"]["name"]: m for objs in result.manifests.values() for m in objs if m["kind"] == "NetworkPolicy"}
    assert nps["tenancy-allow-from-alpha"]["spec"]["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 443}]
    assert nps["tenancy-allow-to-payments"]["spec"]["egress"][0]["ports"] == [{"protocol": "TCP", "port": 443}]
    for other in (["alpha"], [{"tenant": "alpha", "ports": [{"port": 8443}]}]):
        with pytest.raises(RenderError) as err:
            team(other)
        assert "differs from the platform's ['alpha: TCP 443']" in str(err.value)
