"""Run network-config-analyzer (nca) on rendered policies with a sample cluster.

nca computes what a set of NetworkPolicies (and Istio AuthorizationPolicies) allows between the
pods and namespaces it is given, plus IP blocks for everything outside the cluster ("the
internet"). Three queries are used:

- ``--connectivity``: the whole allowed-connections map, one ``src => dst : conn`` line each;
- ``--permits SPEC``: exit 0 iff every connection SPEC's policies explicitly allow is allowed;
- ``--forbids SPEC``: exit 0 iff no connection SPEC's policies explicitly allow is allowed.

SPEC policies are written by hand in the tests, independent of the code under test.
"""

from __future__ import annotations

import ipaddress
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.helpers.tools import tool


def pod(namespace: str, name: str, labels: Mapping[str, str], ip: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
            "spec": {"containers": [{"name": "main", "image": "registry.example/app:1"}]},
            "status": {"podIP": ip, "hostIP": ip}}


@dataclass
class SampleCluster:
    """Namespaces (with the labels the API server adds) and sample pods."""

    namespaces: list[dict[str, Any]]
    pods: list[dict[str, Any]]

    @classmethod
    def build(cls, namespaces: Mapping[str, Sequence[tuple[str, Mapping[str, str]]]],
              tenants: Sequence[str] = ()) -> SampleCluster:
        """``tenants``: namespaces that carry ``tenancy/tenant=<name>`` as the bundle labels them."""
        ns_objs, pods = [], []
        n = 10
        for ns, members in namespaces.items():
            ns_labels = {"kubernetes.io/metadata.name": ns, **({"tenancy/tenant": ns} if ns in tenants else {})}
            ns_objs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": ns_labels}})
            for name, labels in members:
                n += 1
                pods.append(pod(ns, name, labels, f"10.40.{n // 250}.{n % 250 + 1}"))
        return cls(ns_objs, pods)


@dataclass
class Result:
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class Nca:
    """nca over one sample cluster, with files written under ``workdir``."""

    def __init__(self, workdir: Path, cluster: SampleCluster, timeout: float = 120):
        self.dir = workdir
        self.timeout = timeout
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ns_file = self._dump("namespaces.yaml", [{"apiVersion": "v1", "kind": "NamespaceList",
                                                       "items": cluster.namespaces}])
        self.pod_file = self._dump("pods.yaml", [{"apiVersion": "v1", "kind": "PodList", "items": cluster.pods}])
        self._n = 0

    def _dump(self, name: str, objs: Iterable[Mapping[str, Any]]) -> Path:
        path = self.dir / name
        path.write_text(yaml.safe_dump_all(list(objs), sort_keys=False))
        return path

    def policies(self, objs: Iterable[Mapping[str, Any]], label: str = "policies") -> Path:
        """Write the NetworkPolicies (and Istio policies) among ``objs`` to a file for nca."""
        self._n += 1
        keep = [o for o in objs if o.get("kind") in ("NetworkPolicy", "AuthorizationPolicy", "PeerAuthentication")]
        return self._dump(f"{self._n:02d}-{label}.yaml", keep)

    def _run(self, *args: str | Path) -> Result:
        cmd = [tool("nca"), *map(str, args), "--ns_list", str(self.ns_file), "--pod_list", str(self.pod_file)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=self.timeout, cwd=self.dir)
        out = proc.stdout + proc.stderr
        if re.search(r"^Error:|Traceback", out, re.M):
            raise AssertionError(f"nca failed to read its input:\n{out}")
        return Result(proc.returncode, out)

    def permits(self, spec: Path, base: Path) -> Result:
        return self._run("--permits", spec, "--base_np_list", base)

    def forbids(self, spec: Path, base: Path) -> Result:
        return self._run("--forbids", spec, "--base_np_list", base)

    def connectivity(self, base: Path, section: str | None = None) -> Connectivity:
        """The connectivity map; with Istio policies nca splits it into ``"TCP"`` and
        ``"non-TCP"`` sections: pass ``section`` to read one."""
        res = self._run("--connectivity", base, "-o", "txt_no_fw_rules")
        assert res.ok, res.output
        return Connectivity.parse(res.output, section)


_LINE = re.compile(r"^(?P<src>\S+) => (?P<dst>\S+) : (?P<conn>.+)$")


@dataclass
class Connectivity:
    """The allowed-connections map: endpoint -> endpoint -> connection description.

    Pods are ``ns/name``; anything outside the cluster is an IP range ``a.b.c.d-w.x.y.z``."""

    edges: dict[tuple[str, str], str]

    @classmethod
    def parse(cls, text: str, section: str | None = None) -> Connectivity:
        edges = {}
        current = None
        for line in text.splitlines():
            if line.strip().endswith("Connections:"):
                current = line.strip().removesuffix(" Connections:")
                continue
            m = _LINE.match(line.strip())
            if m and (section is None or current == section):
                src, dst = (e.removesuffix("[Pod]") for e in (m["src"], m["dst"]))
                edges[(src, dst)] = m["conn"].strip()
        return cls(edges)

    def get(self, src: str, dst: str) -> str | None:
        return self.edges.get((src, dst))

    def external_from(self, src: str, conn: str = "All connections") -> list[ipaddress.IPv4Network]:
        """The IP ranges ``src`` may connect to with exactly ``conn`` (default: all ports), as networks."""
        nets: list[ipaddress.IPv4Network] = []
        for (s, d), c in self.edges.items():
            if s == src and re.match(r"^\d+\.\d+\.\d+\.\d+", d) and c == conn:
                for part in d.split(","):
                    if "-" in part:
                        lo, hi = part.split("-")
                        nets += ipaddress.summarize_address_range(ipaddress.IPv4Address(lo), ipaddress.IPv4Address(hi))
                    else:
                        nets.append(ipaddress.IPv4Network(part))
        return nets

    def external_conns(self, src: str) -> set[str]:
        """Every distinct connection set ``src`` has to some IP range."""
        return {c for (s, d), c in self.edges.items() if s == src and re.match(r"^\d+\.\d+\.\d+\.\d+", d)}
