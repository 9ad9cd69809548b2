"""CPU and memory capacity of node pools (tenancy.plan.compute): the allocatable arithmetic against
EKS's published examples, the instance table against EC2's own answer (moto's copy of
DescribeInstanceTypes, an independent source), and the refusal at its boundary."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from tenancy.plan import compute as C
from tenancy.plan.pools import branch_eni_table
from tenancy.plan.validate import load_platform
from tenancy.spec import SpecError
from tests.fixtures.specs import limits_within, spec_with, tenant


def test_kube_reserved_cpu_steps() -> None:
    # 6% of the first core, 1% of the second, 0.5% of the 3rd-4th, 0.25% above (amazon-eks-ami)
    assert [C.cpu_millicores_to_reserve(n) for n in (1, 2, 4, 8, 16, 64)] == [60, 70, 80, 90, 110, 230]


def test_kube_reserved_memory_and_max_pods() -> None:
    # m5.large: 3 interfaces × (10 - 1) + 2 = 29 pods (eni-max-pods.txt); 11 × 29 + 255 = 574 MiB
    assert C.eni_max_pods(3, 10, 2) == 29 and C.memory_mib_to_reserve(29) == 574
    assert C.eni_max_pods(15, 50, 96) == 250 and C.eni_max_pods(8, 30, 16) == 110  # the calculator's caps


def test_allocatable_of_known_types() -> None:
    large = C.node_resources("m6i.large")
    assert large is not None and (large.vcpus, large.memory_mib, large.max_pods) == (2, 8192, 29)
    assert large.allocatable_cpu_millicores == 1930 and large.allocatable_memory_mib == 8192 - 574 - 100
    xl = C.node_resources("m5.xlarge")
    assert xl is not None and xl.allocatable_cpu_millicores == 3920  # what `kubectl describe node` shows on EKS
    assert C.node_resources("no.such") is None


def test_the_table_is_ec2s_answer_for_every_listed_type() -> None:
    """Every row equals moto's copy of DescribeInstanceTypes, and covers the package's type list."""
    moto = pytest.importorskip("moto")
    raw = json.load(gzip.open(Path(moto.__file__).parent / "ec2" / "resources" / "instance_types.json.gz"))
    shipped = json.loads((Path(C.__file__).parents[1] / "data" / C.DATA_FILE).read_text())["types"]
    for name, (vcpus, memory) in shipped.items():
        assert [raw[name]["VCpuInfo"]["DefaultVCpus"], raw[name]["MemoryInfo"]["SizeInMiB"]] == [vcpus, memory], name
    missing = set(branch_eni_table().types) - set(shipped)
    assert len(missing) < 20  # types AWS lists in limits.go but moto's snapshot predates


def _pool(cpu: str, memory: str, tenants: int, max_size: int = 3, types: tuple[str, ...] = ("m6i.large",)
          ) -> dict[str, Any]:
    pooled = [{"name": f"p{i}", "pool": "shared", "quota": {"cpu": cpu, "memory": memory, "pods": 1},
               "limits": limits_within(cpu, memory)}
              for i in range(tenants)]
    return spec_with([tenant("bank", 0), *pooled], nodePools=[
        {"name": "shared", "slot": 1, "nodes": {"instanceTypes": list(types), "minSize": 1, "maxSize": max_size,
                                                "desiredSize": 1}}])


def _paths(data: dict[str, Any]) -> list[str]:
    try:
        load_platform(data)
    except SpecError as err:
        return [p.path for p in err.problems]
    return []


def test_cpu_exactly_at_allocatable_fits_and_one_millicore_more_is_refused() -> None:
    # 3 × m6i.large = 3 × 1930m = 5790m
    assert _paths(_pool("1930m", "1Gi", 3)) == []
    assert _paths(_pool("1931m", "1Gi", 3)) == ["nodePools[0].nodes.maxSize"]


def test_memory_exactly_at_allocatable_fits_and_one_mebibyte_more_is_refused() -> None:
    # 3 × (8192 - 574 - 100) = 22554 MiB
    assert _paths(_pool("100m", "7518Mi", 3)) == []
    with pytest.raises(SpecError) as err:
        load_platform(_pool("100m", "7519Mi", 3))
    (p,) = err.value.problems
    assert p.path == "nodePools[0].nodes.maxSize" and "the memory quotas of its 3 tenant(s)" in p.message
    assert "raise maxSize to 4" in p.message and "m6i.xlarge" in p.message


def test_mixed_types_count_at_the_smallest() -> None:
    assert _paths(_pool("1930m", "1Gi", 3, types=("m6i.xlarge", "m6i.large"))) == []
    assert _paths(_pool("2", "1Gi", 3, types=("m6i.xlarge", "m6i.large"))) == ["nodePools[0].nodes.maxSize"]


def test_dedicated_tenants_quotas_are_not_judged() -> None:
    # a quota above its own nodes only leaves its own pods pending: no noisy neighbour
    load_platform(spec_with([tenant("big", 0, quota={"cpu": "64", "memory": "512Gi"})]))


def test_the_report_section_shows_each_pool() -> None:
    spec = load_platform(_pool("1", "2Gi", 3))
    lines = C.report_lines(spec)
    assert lines[0] == "## CPU and memory"
    assert "| `shared` | 3 × m6i.large | 3 / 5.79 | 6.0Gi / 22.0Gi |" in lines
    assert C.report_lines(load_platform(spec_with())) == []
