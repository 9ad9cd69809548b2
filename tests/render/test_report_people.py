"""report.md's People, Workload identities and Pooled tenants sections (issue 28), and what the
report counts as the platform's.

The sections are read from the rendered objects, not the spec: each test edits the render (an
access entry's groups, a role's trust or permission document, a SecurityGroupPolicy deleted) and
the report follows the edit while the spec stays the same — the negative control that a report
re-reading the spec would fail."""

from __future__ import annotations

import copy
import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from tenancy import Platform, load_platform
from tenancy.render import RenderResult, render_spec
from tenancy.render.writer import report
from tenancy.testing import run
from tests.fixtures.specs import small_spec, spec_with
from tests.helpers.pools import pooled_spec

ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SGP = "kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy"
OTHER_ACCOUNT_ADMIN = "arn:aws:iam::444455556666:role/ops-admins"


@pytest.fixture(scope="module")
def render() -> RenderResult:
    return render_spec(spec_with(cluster={"clusterAdmins": [OTHER_ACCOUNT_ADMIN]}))


def _section(text: str, title: str) -> str:
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def _rows(section: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in section.splitlines()
            if line.startswith("| ") and not line.startswith("| principal") and not line.startswith("| role ")]


def _edited(render: RenderResult, edit: Any) -> str:
    resources = copy.deepcopy(render.resources)
    edit(resources)
    return report(RenderResult(render.project, render.stack, render.platform_spec, resources, {}), {})


def test_people_each_principal_persona_tenant_and_account(render: RenderResult) -> None:
    rows = {(r[0], r[2]): r for r in _rows(_section(report(render), "People"))}
    alpha = rows[("`arn:aws:iam::111122223333:role/alpha-admins`", "admins")]
    assert alpha[1] == "111122223333" and alpha[3] == "alpha" and "`tenancy:alpha:admins`, bound in alpha" in alpha[4]
    assert rows[("`arn:aws:iam::111122223333:role/beta-devs`", "editors")][3] == "beta"
    assert rows[("`arn:aws:iam::111122223333:role/gamma-auditors`", "viewers")][3] == "gamma"
    admin = rows[(f"`{OTHER_ACCOUNT_ADMIN}`", "cluster admin")]
    assert admin[1] == "444455556666" and admin[3] == "all tenants (platform-wide)"
    assert "AmazonEKSClusterAdminPolicy" in admin[4]
    assert "from 2 account(s): 111122223333, 444455556666" in _section(report(render), "People")
    # node roles (EC2_LINUX entries) are machines, not people
    assert not any("node" in key[0] for key in rows)


def test_people_follow_the_rendered_access_entries_not_the_spec(render: RenderResult) -> None:
    """The access entry of alpha's admins is edited to carry beta's editor group and a group no
    RoleBinding of the render binds: the report says beta for the first, and says the second is
    bound nowhere."""
    def edit(resources: list[dict[str, Any]]) -> None:
        [entry] = [r for r in resources if r["type"] == ACCESS_ENTRY
                   and r["inputs"].get("principalArn", "").endswith("role/alpha-admins")]
        entry["inputs"]["kubernetesGroups"] = ["tenancy:beta:editors", "tenancy:omega:admins"]

    rows = {(r[0], r[2]): r for r in _rows(_section(_edited(render, edit), "People"))}
    alpha = "`arn:aws:iam::111122223333:role/alpha-admins`"
    assert rows[(alpha, "editors")][3] == "beta"
    assert rows[(alpha, "admins")][3].startswith("— (no RoleBinding")
    assert "`tenancy:omega:admins`" in rows[(alpha, "admins")][4]
    # negative control: the unedited render still maps alpha's admins to alpha
    assert {(r[0], r[2], r[3]) for r in _rows(_section(report(render), "People"))} >= {(alpha, "admins", "alpha")}


def test_workload_identities_from_trust_and_documents(render: RenderResult) -> None:
    rows = {r[0]: r for r in _rows(_section(report(render), "Workload identities"))}
    api = rows["`acme.beta.api`"]
    assert api[1] == "beta" and api[2] == "`beta/api`" and api[3] == "IRSA"
    assert "/tenants/beta/*`: s3:AbortMultipartUpload, s3:DeleteObject" in api[4] and "s3:PutObject" in api[4]
    assert "(listing, prefix tenants/beta/, tenants/beta/*)`: s3:ListBucket, s3:ListBucketVersions" in api[4]
    assert "kms:" not in api[4] and api[5] == "beta"
    assert rows["`acme.alpha.app`"][2] == "`alpha/app`"
    # the platform's own workload roles (add-ons) are listed too, with their service accounts
    assert rows["`acme_vpc-cni`"][1:3] == ["platform", "`kube-system/aws-node`"]


def test_workload_identities_follow_the_rendered_documents(render: RenderResult) -> None:
    """beta's api role is edited: its trust names another service account and its document grants
    every tenant's prefix. The report shows both, and flags the reach beyond its own prefix."""
    def edit(resources: list[dict[str, Any]]) -> None:
        [role] = [r for r in resources if r["type"] == ROLE and r["inputs"].get("name") == "acme.beta.api"]
        trust = json.loads(role["inputs"]["assumeRolePolicy"])
        for cond in trust["Statement"][0]["Condition"].values():
            for k in cond:
                if k.endswith(":sub"):
                    cond[k] = ["system:serviceaccount:beta:api", "system:serviceaccount:gamma:intruder"]
        role["inputs"]["assumeRolePolicy"] = json.dumps(trust)
        [policy] = [r for r in resources if r["type"] == ROLE_POLICY and r["name"] == "acme.beta.api-tenant-data"]
        doc = json.loads(policy["inputs"]["policy"])
        doc["Statement"][0]["Resource"] = doc["Statement"][0]["Resource"].replace("tenants/beta/*", "tenants/*")
        doc["Statement"][0]["Action"] = ["s3:GetObject"]
        policy["inputs"]["policy"] = json.dumps(doc)

    api = {r[0]: r for r in _rows(_section(_edited(render, edit), "Workload identities"))}["`acme.beta.api`"]
    assert api[2] == "`beta/api`, `gamma/intruder`"
    assert "/tenants/*`: s3:GetObject" in api[4] and "s3:PutObject" not in api[4]
    assert api[5].startswith("⚠️ alpha, beta, gamma")


def test_pod_identity_associations_name_the_service_accounts() -> None:
    r = render_spec(spec_with(identity={"mode": "podIdentity"}))
    rows = {row[0]: row for row in _rows(_section(report(r), "Workload identities"))}
    assert rows["`acme.beta.worker`"][2:4] == ["`beta/worker`", "Pod Identity"]


@pytest.fixture(scope="module")
def pooled() -> RenderResult:
    return render_spec(pooled_spec())


def test_pooled_tenants_isolation_differences(pooled: RenderResult) -> None:
    text = report(pooled)
    section = _section(text, "Pooled tenants: how their isolation differs")
    assert "### Pool `shared-a` — 3 tenant(s): `idle`, `media`, `shop`" in section
    assert "### Pool `shared-b` — 2 tenant(s): `film`, `news`" in section
    assert "**Shared nodes and kernel**" in section and "run the pods of all 3 tenants" in section
    assert "`tenancy/pool=shared-a:NO_SCHEDULE`" in section
    assert "every tenant of the pool has one (3/3)" in section and "SecurityGroupPolicy" in section
    assert "A dedicated tenant (3 here)" in section
    # it comes before the people and the settings, where a reviewer reads the tenants
    assert text.index("## Pooled tenants") < text.index("## People") < text.index("## Settings that loosen")


def test_a_pooled_tenant_without_its_security_group_policy_is_flagged(pooled: RenderResult) -> None:
    def edit(resources: list[dict[str, Any]]) -> None:
        resources[:] = [r for r in resources if not (r["type"] == SGP and r["tenant"] == "shop")]

    section = _section(_edited(pooled, edit), "Pooled tenants: how their isolation differs")
    assert "⚠️ **1 tenant(s) without one**: `shop`" in section
    assert "every tenant of the pool has one (2/2)" in section  # shared-b is untouched


def test_a_platform_without_pools_has_no_pooled_section(render: RenderResult) -> None:
    assert "## Pooled tenants" not in report(render)


# --------------------------------------------------------------------------------------------
# What the report counts as the platform's


def _platform_program(extra: bool) -> Any:
    def program() -> None:
        spec = load_platform(pulumi.Config("acme").require_object("platform"))
        platform = Platform(spec.name, spec)
        if not extra:
            return
        # a library user's own per-tenant resources, at the program's root...
        for t in spec.tenants:
            k8s.core.v1.ConfigMap(f"{t.name}-settings", metadata={"name": "settings", "namespace": t.name},
                                  data={"tenant": t.name},
                                  opts=pulumi.ResourceOptions(provider=platform.cluster.provider))
        aws.s3.BucketV2("reports")
        # ...and one under the platform's tenant component
        aws.sqs.Queue("alpha-jobs", opts=pulumi.ResourceOptions(parent=platform.tenants["alpha"]))
    return program


def test_a_programs_own_resources_are_not_counted_as_the_platforms() -> None:
    config = {"acme:platform": small_spec(), "aws:region": "eu-west-1"}
    plain = report(run(_platform_program(False), config=config))
    mine = report(run(_platform_program(True), config=config))

    def shared(text: str) -> int:
        return int(text.split("Shared platform resources: ", 1)[1].split(".", 1)[0])

    def tenant_count(text: str, tenant: str) -> int:
        [row] = [line for line in text.splitlines() if line.startswith(f"| `{tenant}` |")]
        return int(row.rstrip(" |").rsplit("| ", 1)[1])

    assert shared(mine) == shared(plain)
    assert "Your program's own resources (registered outside tenancy's components, not counted as the " \
           "platform's): 4." in mine
    assert tenant_count(mine, "alpha") == tenant_count(plain, "alpha") + 1
    assert tenant_count(mine, "beta") == tenant_count(plain, "beta")
    assert "(4 of them your program's own)" in mine.splitlines()[2]
    by_type = _section(mine, "Resources by type")
    # the platform's own ConfigMaps (the cluster-autoscaler's priorities) stay the platform's
    rows = [r for r in _section(plain, "Resources by type").splitlines()
            if r.startswith("| `kubernetes:core/v1:ConfigMap`")]
    platform_cms = int(rows[0].split("|")[2]) if rows else 0
    assert f"| `kubernetes:core/v1:ConfigMap` | {platform_cms} | 0 | 3 |" in by_type
    assert "| `aws:sqs/queue:Queue` | 0 | 1 | 0 |" in by_type
    assert "your program's" not in plain  # negative control: nothing of the user's, nothing said
