"""The AWS Platform with ``tenancy:inCluster: tenant-stacks`` plus the tenant stacks reading its
outputs by StackReference register exactly what the monolithic Platform registers: IRSA role
annotations, tenancy-allow-s3 with the S3 ranges, the API endpoint ranges and a pooled tenant's
SecurityGroupPolicy included. Judged by the Pulumi mock engine (the registered inputs), against
the monolith's render, not against the code that builds the tenant stacks."""

from __future__ import annotations

from typing import Any

import pytest

from tenancy import program
from tenancy.render import render_spec
from tenancy.render.engine import RenderError
from tenancy.testing import Mocks, run
from tests.fixtures.specs import spec_with, tenant

REF = "acme/tenancy/prod"
DATA = spec_with(
    [tenant("alpha", 0, serviceAccounts=["app", "worker"], allowFrom=["beta"], kubernetesApiAccess=True),
     tenant("beta", 1, allowFrom=[{"tenant": "media", "ports": [{"port": 8080}]}]),
     {"name": "media", "pool": "shared-a", "serviceAccounts": ["app"], "allowFrom": ["alpha"]}],
    nodePools=[{"name": "shared-a", "slot": 4, "nodes": {"instanceTypes": ["m6i.large"]}}])
TENANTS = ["alpha", "beta", "media"]


def _objects(resources: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Kubernetes objects by (type, namespace, name) -> their registered inputs."""
    out = {}
    for r in resources:
        if r["type"].startswith("kubernetes:") and r["custom"] and not r["type"].startswith("pulumi:providers"):
            meta = r["inputs"].get("metadata", {})
            key = (r["type"], meta.get("namespace", ""), meta.get("name", ""))
            assert key not in out, key
            out[key] = r["inputs"]
    return out


@pytest.fixture(scope="module")
def stacks() -> dict[str, Any]:
    whole = render_spec(DATA)
    aws = run(program.main, config={"tenancy:platform": DATA, "tenancy:inCluster": "tenant-stacks"},
              project="tenancy", stack="render")
    groups = {"alpha": ["alpha"], "rest": ["beta", "media"]}  # grouped as the runner may group them
    split = {g: run(program.tenant_stacks_main, project="tenancy-inclusters",
                    config={"tenancy:platform": DATA, "tenancy:platformStack": REF, "tenancy:tenants": names},
                    mocks=Mocks(stack_references={REF: aws.stack_outputs}))
             for g, names in groups.items()}
    return {"whole": whole, "aws": aws, "split": split}


def test_the_aws_platform_leaves_the_tenant_objects_to_the_tenant_stacks(stacks: dict[str, Any]) -> None:
    whole, aws = stacks["whole"], stacks["aws"]
    assert {r["tenant"] for r in aws.resources if r["type"].startswith("kubernetes:")} <= {None}
    # Everything else is the monolith's, unchanged (same URNs, same inputs): the AWS layer, the
    # cluster-wide objects, the network halves of the edges.
    rest = {r["urn"]: r["inputs"] for r in whole.resources
            if not (r["type"].startswith("kubernetes:") and r["tenant"])
            and not r["type"].startswith("tenancy:bundle:")}
    assert {r["urn"]: r["inputs"] for r in aws.resources} == rest
    out = aws.stack_outputs
    assert out["inCluster"] == "tenant-stacks" and out["s3CidrBlocks"] and out["kubeconfig"]
    assert out["tenants"]["media"]["podSecurityGroupIds"]
    assert set(out["tenants"]["alpha"]["roleArns"]) == {"app", "worker"}
    system = [str(n) for n in whole.spec.address_plan.system_subnets()]
    assert out["apiEndpointCidrs"] == out["awsServiceCidrs"] == system


def test_tenant_stacks_register_exactly_the_monoliths_objects(stacks: dict[str, Any]) -> None:
    whole, aws = _objects(stacks["whole"].resources), _objects(stacks["aws"].resources)
    tenant_objects = {k: v for k, v in whole.items() if k not in aws}
    split: dict[tuple[str, str, str], dict[str, Any]] = {}
    for result in stacks["split"].values():
        objs = _objects(result.resources)
        assert not set(objs) & set(split)
        split.update(objs)
    assert set(split) == set(tenant_objects)
    assert split == tenant_objects  # inputs included: role ARNs, S3 and API ranges, pod security groups
    # The values really came from the platform stack (negative control: they are not empty).
    sa = split[("kubernetes:core/v1:ServiceAccount", "alpha", "app")]
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == \
        stacks["aws"].stack_outputs["tenants"]["alpha"]["roleArns"]["app"]
    sgp = [v for k, v in split.items() if k[1] == "media" and k[0].endswith("SecurityGroupPolicy")]
    assert sgp and sgp[0]["spec"]["securityGroups"]["groupIds"] == \
        stacks["aws"].stack_outputs["tenants"]["media"]["podSecurityGroupIds"]


def test_without_the_platform_values_the_objects_differ() -> None:
    """Negative control: the tenant stacks given only a kubeconfig lack the annotations and ranges."""
    whole = _objects(render_spec(DATA).resources)
    bare = _objects(run(program.tenant_stacks_main, project="tenancy-inclusters",
                        config={"tenancy:platform": DATA, "tenancy:kubeconfig": "{}", "tenancy:tenants": ["alpha"]}
                        ).resources)
    sa = ("kubernetes:core/v1:ServiceAccount", "alpha", "app")
    assert "annotations" not in bare[sa]["metadata"] and whole[sa] != bare[sa]


def test_a_platform_deploying_the_bundles_itself_is_refused_as_platform_stack(stacks: dict[str, Any]) -> None:
    monolith_outputs = {**stacks["aws"].stack_outputs, "inCluster": "platform"}
    with pytest.raises(RenderError, match="inCluster"):
        run(program.tenant_stacks_main, project="tenancy-inclusters",
            config={"tenancy:platform": DATA, "tenancy:platformStack": REF, "tenancy:tenants": ["alpha"]},
            mocks=Mocks(stack_references={REF: monolith_outputs}))


def test_the_render_ignores_the_switch() -> None:
    """`tenancy render` (and diff/check/verify) sees one platform, whichever stacks deploy it."""
    plain = render_spec(DATA)
    switched = render_spec(DATA, config={"tenancy:inCluster": "tenant-stacks"})
    assert [(r["urn"], r["inputs"]) for r in switched.resources] == [(r["urn"], r["inputs"]) for r in plain.resources]


def test_a_bad_switch_value_is_refused() -> None:
    with pytest.raises(RenderError, match="tenancy:inCluster"):
        run(program.main, config={"tenancy:platform": DATA, "tenancy:inCluster": "tenants"}, project="tenancy")


@pytest.mark.parametrize("adopt", [False, True])
def test_adopt_makes_the_provider_update_existing_objects(stacks: dict[str, Any], adopt: bool) -> None:
    """Switching an existing platform: the objects the Platform stack forgot are still in the cluster."""
    cfg = {"tenancy:platform": DATA, "tenancy:platformStack": REF, "tenancy:tenants": ["alpha"],
           **({"tenancy:adopt": "true"} if adopt else {})}
    result = run(program.tenant_stacks_main, project="tenancy-inclusters", config=cfg,
                 mocks=Mocks(stack_references={REF: stacks["aws"].stack_outputs}))
    [provider] = [r for r in result.resources if r["type"] == "pulumi:providers:kubernetes"]
    assert (provider["inputs"].get("upsertExistingObjects") in ("true", True)) is adopt


def test_render_program_renders_a_switched_platform_whole(tmp_path: Any) -> None:
    """`tenancy render --program` of a user's program building Platform(in_cluster="tenant-stacks")."""
    from tenancy.render.program import render_program

    (tmp_path / "Pulumi.yaml").write_text("name: acme\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(
        "import pulumi\nfrom tenancy import Platform, load_platform\n"
        "spec = load_platform(pulumi.Config().require_object('platform'))\n"
        "Platform(spec.name, spec, in_cluster=pulumi.Config().get('inCluster') or 'platform')\n")
    objects = {mode: {k for k in _objects(render_program(tmp_path, {"platform": DATA, "inCluster": mode}).resources)}
               for mode in ("platform", "tenant-stacks")}
    assert objects["tenant-stacks"] == objects["platform"]
    assert ("kubernetes:core/v1:Namespace", "", "media") in objects["platform"]
    # Negative control: outside the render the switch does take the bundles out.
    switched = run(program.main, config={"tenancy:platform": DATA, "tenancy:inCluster": "tenant-stacks"})
    assert ("kubernetes:core/v1:Namespace", "", "media") not in _objects(switched.resources)
