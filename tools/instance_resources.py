"""Regenerate tenancy/data/instance_resources.json: vCPUs and memory per EC2 instance type.

The numbers are EC2's own (``DescribeInstanceTypes``: ``VCpuInfo.DefaultVCpus``,
``MemoryInfo.SizeInMiB``). Two inputs are accepted:

    aws ec2 describe-instance-types --output json > types.json   # per Region; merge several if needed
    python tools/instance_resources.py --describe types.json

    python tools/instance_resources.py --moto   # moto's copy of the same API answer
                                                # (moto/ec2/resources/instance_types.json.gz)

Only the types of tenancy/data/branch_eni_limits.json are kept (the package's list of instance
types), so the two tables name the same types.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "tenancy" / "data"
OUT = DATA / "instance_resources.json"
COLUMNS = ["vcpus", "memoryMiB"]


def rows(types: list[dict[str, Any]] | dict[str, dict[str, Any]]) -> dict[str, list[int]]:
    items = types.values() if isinstance(types, dict) else types
    return {t["InstanceType"]: [int(t["VCpuInfo"]["DefaultVCpus"]), int(t["MemoryInfo"]["SizeInMiB"])]
            for t in items}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--describe", type=Path, help="output of `aws ec2 describe-instance-types --output json`")
    src.add_argument("--moto", action="store_true", help="moto's instance_types.json.gz (installed package)")
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args()
    if a.moto:
        import moto

        path = Path(moto.__file__).parent / "ec2" / "resources" / "instance_types.json.gz"
        table = rows(json.load(gzip.open(path)))
        source = {"api": "ec2:DescribeInstanceTypes", "via": f"moto {moto.__version__} {path.name}"}
    else:
        table = rows(json.loads(a.describe.read_text())["InstanceTypes"])
        source = {"api": "ec2:DescribeInstanceTypes", "via": a.describe.name}
    known = json.loads((DATA / "branch_eni_limits.json").read_text())["types"]
    types = {name: table[name] for name in sorted(known) if name in table}
    body = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in types.items())
    head = f'{{"source": {json.dumps(source)},\n"columns": {json.dumps(COLUMNS)},\n"types": {{\n'
    a.out.write_text(f"{head}{body}\n}}}}\n")
    json.loads(a.out.read_text())  # well-formed
    print(f"{a.out}: {len(types)} of {len(known)} types")


if __name__ == "__main__":
    main()
