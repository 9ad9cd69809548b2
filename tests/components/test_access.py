"""One IAM principal with personas in several tenants: one access entry carrying all its groups,
owned by the platform, and aliases so the AWS entry is kept when it moves (tenancy.components.access)."""

from __future__ import annotations

from typing import Any

import pytest

from tenancy.components.access import shared_principals
from tenancy.plan.cluster import principal_key
from tenancy.plan.validate import load_platform
from tenancy.render import RenderResult, render_spec
from tenancy.render.engine import run_program
from tests.fixtures.specs import ALPHA, BETA, GAMMA, spec_with

SRE = "arn:aws:iam::111122223333:role/sre-readonly"
ENTRY = "aws:eks/accessEntry:AccessEntry"


def _with_sre(tenants: list[dict[str, Any]], holders: dict[str, str]) -> dict[str, Any]:
    out = []
    for t in tenants:
        t = dict(t)
        if t["name"] in holders:
            persona = holders[t["name"]]
            t[persona] = [*t.get(persona, []), SRE]
        out.append(t)
    return spec_with(out)


@pytest.fixture(scope="module")
def renders() -> dict[str, RenderResult]:
    return {
        "none": render_spec(spec_with([ALPHA, BETA, GAMMA])),
        "shared": render_spec(_with_sre([ALPHA, BETA, GAMMA], {"alpha": "viewers", "beta": "viewers",
                                                               "gamma": "editors"})),
    }


def _entries(result: RenderResult, arn: str) -> list[dict[str, Any]]:
    return [r for r in result.of_type(ENTRY) if r["inputs"]["principalArn"] == arn]


def test_one_entry_with_every_group_and_no_access_policy(renders) -> None:
    [entry] = _entries(renders["shared"], SRE)
    assert entry["tenant"] is None and entry["parent"].endswith("tenancy:access:SharedAccess::acme-shared-access")
    assert entry["inputs"]["kubernetesGroups"] == ["tenancy:alpha:viewers", "tenancy:beta:viewers",
                                                   "tenancy:gamma:editors"]
    assoc = renders["shared"].of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert all(a["inputs"]["principalArn"] != SRE for a in assoc)


def test_other_principals_entries_do_not_change(renders) -> None:
    before = {r["name"]: r for r in renders["none"].of_type(ENTRY)}
    after = {r["name"]: r for r in renders["shared"].of_type(ENTRY) if r["inputs"]["principalArn"] != SRE}
    assert before.keys() == after.keys()
    assert all(before[n]["inputs"] == after[n]["inputs"] and before[n]["parent"] == after[n]["parent"] for n in before)


def test_a_single_tenant_principal_stays_with_its_tenant() -> None:
    result = render_spec(_with_sre([ALPHA, BETA, GAMMA], {"beta": "viewers"}))
    [entry] = _entries(result, SRE)
    assert entry["tenant"] == "beta" and entry["inputs"]["kubernetesGroups"] == ["tenancy:beta:viewers"]
    assert not result.of_type("tenancy:access:SharedAccess")


def test_moving_entries_keep_the_aws_entry_through_aliases() -> None:
    data = _with_sre([ALPHA, BETA, GAMMA], {"alpha": "viewers", "beta": "viewers"})
    run = run_program(data)
    key = principal_key(SRE)
    [shared] = [r for r in run.registrations if r.type == ENTRY and r.inputs["principalArn"] == SRE]
    names = {(a["name"], a["parentUrn"].rsplit("::", 1)[-1], a["parentUrn"].split("::")[-2].rsplit("$", 1)[-1])
             for a in shared.aliases}
    assert names == {(f"alpha-viewers-{key}", "alpha", "tenancy:cluster:TenantAccess"),
                     (f"beta-viewers-{key}", "beta", "tenancy:cluster:TenantAccess")}
    # And back: a tenant's own entries name the shared one as an alias.
    own = [r for r in run.registrations if r.type == ENTRY and r.name.startswith("alpha-admins-")]
    assert own and own[0].aliases[0]["name"] == f"acme-shared-access-{principal_key(ALPHA['admins'][0])}"
    assert own[0].aliases[0]["parentUrn"].endswith("tenancy:access:SharedAccess::acme-shared-access")


def test_offboarding_tenants_hold_no_persona() -> None:
    data = _with_sre([ALPHA, {**BETA, "offboarding": True}, GAMMA], {"alpha": "viewers", "beta": "viewers"})
    assert shared_principals(load_platform(data)) == {}
