"""Instance types of every node group are checked against the table shipped with the package
(issue 28: `c6i.xlargee` on a dedicated tenant validated, and failed only at `pulumi up`)."""

from __future__ import annotations

import pytest

from tenancy import SpecError, load_platform
from tests.fixtures.specs import spec_with, tenant

NODES = {"minSize": 1, "maxSize": 2, "desiredSize": 1}


def test_a_typo_in_a_dedicated_tenants_instance_type_is_refused_with_the_fix() -> None:
    with pytest.raises(SpecError) as err:
        load_platform(spec_with([tenant("a", 0, nodes={**NODES, "instanceTypes": ["m6i.large", "c6i.xlargee"]})]))
    [p] = err.value.problems
    assert p.path == "tenants[0].nodes.instanceTypes[1]"
    assert "'c6i.xlargee' is not an EC2 instance type" in p.message and "did you mean 'c6i.xlarge'?" in p.message


def test_a_typo_in_the_system_nodes_is_refused() -> None:
    spec = spec_with([tenant("a", 0)], cluster={"systemNodes": {**NODES, "instanceTypes": ["m7g.larg"]}})
    with pytest.raises(SpecError) as err:
        load_platform(spec)
    assert [p.path for p in err.value.problems] == ["cluster.systemNodes.instanceTypes[0]"]


@pytest.mark.parametrize("types", [["c6i.xlarge"], ["t3.large", "m5.large"], ["m7g.large"], ["r6i.2xlarge"]])
def test_negative_control_real_types_pass(types: list[str]) -> None:
    assert load_platform(spec_with([tenant("a", 0, nodes={**NODES, "instanceTypes": types})]))
