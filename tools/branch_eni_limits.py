"""Regenerate tenancy/data/branch_eni_limits.json from the VPC resource controller's table.

The VPC resource controller (the EKS control-plane component that creates trunk and branch
network interfaces for security groups for pods) publishes, per EC2 instance type, whether the
type can hold a trunk interface (``IsTrunkingCompatible``) and how many branch interfaces —
that is, pods with their own security groups — one instance holds (``BranchInterface``), in
``pkg/aws/vpc/limits.go`` of github.com/aws/amazon-vpc-resource-controller-k8s. The EKS user
guide (security-groups-for-pods) points to that file as the list of supported types, and the
controller advertises ``BranchInterface`` as the node's ``vpc.amazonaws.com/pod-eni`` capacity
(``pkg/provider/branch/provider.go``, ``UpdateResourceCapacity``).

Usage (no network needed beyond a checkout or a mirror of that repository)::

    python tools/branch_eni_limits.py --git-dir PATH/TO/amazon-vpc-resource-controller-k8s [--rev HEAD]
    python tools/branch_eni_limits.py --file limits.go --commit <sha>

It writes the JSON next to the package (``--out`` to change), recording the source repository,
path, commit and the generation stamp of the Go file, so a reviewer can compare it with upstream.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

REPO = "github.com/aws/amazon-vpc-resource-controller-k8s"
PATH = "pkg/aws/vpc/limits.go"
OUT = Path(__file__).resolve().parent.parent / "tenancy" / "data" / "branch_eni_limits.json"
COLUMNS = ["interfaces", "ipv4PerInterface", "trunkingCompatible", "branchInterfaces"]

_ENTRY = re.compile(r'^\t"(?P<type>[a-z0-9][a-z0-9.-]*)": \{$')
_FIELD = re.compile(
    r"^\t\t(?P<key>Interface|IPv4PerInterface|IsTrunkingCompatible|BranchInterface):\s+(?P<value>\S+),$")
_STAMP = re.compile(r"^// This file was generated at (\S+)$", re.M)


def parse(text: str) -> dict[str, list[int]]:
    """``{instance type: [interfaces, IPv4 per interface, trunking compatible (0/1), branch interfaces]}``."""
    if "var Limits = map[string]*VPCLimits{" not in text:
        raise ValueError(f"not the resource controller's {PATH}: no `var Limits = map[string]*VPCLimits{{`")
    out: dict[str, list[int]] = {}
    current: str | None = None
    fields: dict[str, str] = {}

    def close() -> None:
        if current is None:
            return
        missing = {"Interface", "IPv4PerInterface", "IsTrunkingCompatible", "BranchInterface"} - set(fields)
        if missing:
            raise ValueError(f"{current}: fields {sorted(missing)} not found; the file's format changed")
        trunk = {"true": 1, "false": 0}[fields["IsTrunkingCompatible"]]
        out[current] = [int(fields["Interface"]), int(fields["IPv4PerInterface"]), trunk,
                        int(fields["BranchInterface"])]

    for line in text.splitlines():
        m = _ENTRY.match(line)
        if m:
            close()
            current, fields = m.group("type"), {}
            continue
        f = _FIELD.match(line)
        if f and current is not None:
            fields[f.group("key")] = f.group("value")
    close()
    if len(out) < 100:
        raise ValueError(f"only {len(out)} instance types parsed; the file's format changed")
    return out


def document(text: str, commit: str) -> dict[str, object]:
    stamp = _STAMP.search(text)
    return {
        "source": {"repository": REPO, "path": PATH, "commit": commit,
                   "generatedAt": stamp.group(1) if stamp else None,
                   "regenerate": "python tools/branch_eni_limits.py --git-dir <checkout of the repository>"},
        "columns": COLUMNS,
        "types": dict(sorted(parse(text).items())),
    }


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--git-dir", type=Path, help="a clone (or bare mirror) of the resource controller")
    src.add_argument("--file", type=Path, help="a copy of limits.go (then --commit is required)")
    ap.add_argument("--rev", default="HEAD", help="revision to read with --git-dir (default HEAD)")
    ap.add_argument("--commit", help="the commit the --file copy comes from")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    if args.git_dir is not None:
        git = ["git", f"--git-dir={args.git_dir}"] if not (args.git_dir / ".git").exists() else \
            ["git", "-C", str(args.git_dir)]
        commit = subprocess.run([*git, "rev-parse", args.rev], check=True, capture_output=True,
                                text=True).stdout.strip()
        text = subprocess.run([*git, "show", f"{commit}:{PATH}"], check=True, capture_output=True,
                              text=True).stdout
    else:
        if not args.commit:
            ap.error("--file needs --commit (the upstream commit the copy comes from)")
        commit, text = args.commit, args.file.read_text()
    doc = document(text, commit)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # one instance type per line: compact, and a regeneration diffs line by line
    types = doc.pop("types")
    assert isinstance(types, dict)
    body = json.dumps(doc, indent=1)[:-2]
    rows = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in types.items())
    args.out.write_text(body + ',\n "types": {\n' + rows + "\n }\n}\n")
    trunk = sum(v[2] for v in types.values())
    print(f"{args.out}: {len(types)} instance types ({trunk} trunking-compatible) from {REPO}@{commit[:12]}")


if __name__ == "__main__":
    main(sys.argv[1:])
