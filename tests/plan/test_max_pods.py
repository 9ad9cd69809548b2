"""kubelet maxPods where a trunk takes an interface (issue 23): the arithmetic of EKS's
max-pods-calculator.sh against the VPC resource controller's table, and the launch templates that
carry it (only once a pool exists)."""

from __future__ import annotations

import base64

from tenancy.plan import cluster as plan
from tenancy.plan import pools


def test_the_calculators_numbers_without_a_trunk() -> None:
    # amazon-eks-ami eni-max-pods.txt: m6i.large 29, m6i.xlarge 58, t3.medium 17.
    table = pools.branch_eni_table()
    for it, expected in (("m6i.large", 29), ("m6i.xlarge", 58), ("t3.medium", 17)):
        assert pools.max_pods(table.types[it], trunk=False) == expected, it


def test_a_trunk_takes_one_interface() -> None:
    table = pools.branch_eni_table()
    # m6i.large: 3 interfaces x 10 addresses; with a trunk 2 x 9 + 2 = 20 (not 29).
    assert pools.max_pods(table.types["m6i.large"], trunk=True) == 20
    # t3.medium cannot hold a trunk: unchanged.
    assert pools.max_pods(table.types["t3.medium"], trunk=True) == 17
    # A pool node adds its branch pods: 20 + 9 on m6i.large.
    assert pools.max_pods(table.types["m6i.large"], trunk=True, branch_pods=True) == 29
    # Capped at 110 (EKS's ceiling below 30 vCPUs).
    assert pools.max_pods(table.types["m6i.8xlarge"], trunk=True) == pools.MAX_PODS_CAP


def test_node_groups_take_the_smallest_type_and_only_with_a_trunk() -> None:
    assert pools.node_group_max_pods(["m6i.large", "m6i.xlarge"], trunk=True) == 20
    assert pools.node_group_max_pods(["m6i.large"], trunk=False) is None  # no pool: EKS's own value


def test_user_data_sets_max_pods_for_each_ami_family() -> None:
    al2023 = base64.b64decode(plan.max_pods_user_data("AL2023_x86_64_STANDARD", 20)).decode()
    assert "Content-Type: application/node.eks.aws" in al2023 and "kind: NodeConfig" in al2023
    assert "      maxPods: 20\n" in al2023
    bottlerocket = base64.b64decode(plan.max_pods_user_data("BOTTLEROCKET_x86_64", 20)).decode()
    assert bottlerocket == "[settings.kubernetes]\nmax-pods = 20\n"
