"""The log router's routing judged by its REAL binary: an OpenTelemetry Collector built from Go
modules (testenv/otelcol/build.sh: the filelog receiver and the file exporter) runs the routing
configuration tenancy renders for the DaemonSet (:func:`tenancy.plan.logs.collector_config`) over
container log files laid out as the kubelet writes them
(``/var/log/pods/<namespace>_<pod>_<uid>/<container>/0.log``, CRI lines), and each tenant's records
must land in its own destination only.

The one change to the configuration: each tenant's ``awscloudwatchlogs`` exporter becomes a file
exporter writing to a file named after the exporter's log group (the CloudWatch exporter's Go module
is not served by the module proxy this project builds from). Receivers and pipelines — the
routing — are byte-for-byte what the DaemonSet runs.

Binary: ``TENANCY_OTELCOL_BIN`` or ``testenv/otelcol/build.sh --find``; skipped without it (failed
with ``TENANCY_LIVE_REQUIRED=1``).
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tenancy.plan import logs
from tenancy.plan.validate import load_platform
from tests.helpers.testenv import require_otelcol

REGION = "eu-west-1"
# "shop" and "shop-eu": one name is a prefix of the other (the glob must not confuse them);
# "bank" has two pods and a container restart (1.log); "kube-system" and "stray" belong to nobody.
TENANTS = ("shop", "shop-eu", "bank")
UNOWNED = ("kube-system", "stray")


def spec() -> Any:
    return load_platform({
        "name": "acme", "vpcCidr": "10.40.0.0/16",
        "observability": {"logs": {"enabled": True}},
        "tenants": [{"name": n, "slot": i} for i, n in enumerate(TENANTS)],
    })


def write_pod_logs(pods: Path) -> dict[str, set[str]]:
    """Kubelet-layout log files of every namespace; returns namespace → the messages written."""
    written: dict[str, set[str]] = {}
    for ns in (*TENANTS, *UNOWNED):
        for p in range(2 if ns == "bank" else 1):
            for c, restarts in (("app", 2 if ns == "bank" else 1), ("sidecar", 1)):
                d = pods / f"{ns}_web-{p}_0000000{p}-aaaa-bbbb-cccc-dddddddddddd" / c
                d.mkdir(parents=True, exist_ok=True)
                for r in range(restarts):
                    lines = []
                    for i in range(3):
                        msg = f"marker {ns}/web-{p}/{c}/{r}/{i}"
                        written.setdefault(ns, set()).add(msg)
                        stream = "stderr" if i == 1 else "stdout"
                        if i == 2:  # a partial line (P) continued by its final part (F)
                            half = len(msg) // 2
                            lines.append(f"2026-12-06T08:00:0{i}.000000001Z {stream} P {msg[:half]}")
                            lines.append(f"2026-12-06T08:00:0{i}.000000002Z {stream} F {msg[half:]}")
                        else:
                            lines.append(f"2026-12-06T08:00:0{i}.000000001Z {stream} F {msg}")
                    (d / f"{r}.log").write_text("\n".join(lines) + "\n")
    return written


def with_file_exporters(config: Mapping[str, Any], out: Path) -> tuple[dict[str, Any], dict[str, Path]]:
    """``config`` with each awscloudwatchlogs exporter replaced by a file exporter (same pipelines,
    same receivers); returns it and log group → file."""
    cfg = copy.deepcopy(dict(config))
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    exporters: dict[str, Any] = {}
    renames: dict[str, str] = {}
    for name, e in cfg["exporters"].items():
        assert name.startswith(f"{logs.EXPORTER}/"), name
        group = e["log_group_name"]
        files[group] = out / (group.strip("/").replace("/", "__") + ".jsonl")
        new = "file/" + name.split("/", 1)[1]
        renames[name] = new
        exporters[new] = {"path": str(files[group]), "flush_interval": "100ms"}
    cfg["exporters"] = exporters
    for p in cfg["service"]["pipelines"].values():
        p["exporters"] = [renames[e] for e in p["exporters"]]
    cfg["service"]["telemetry"] = {"metrics": {"level": "none"}, "logs": {"level": "warn"}}
    return cfg, files


def records(path: Path) -> list[tuple[str, str]]:
    """(k8s.namespace.name, body) of every log record the file exporter wrote."""
    out: list[tuple[str, str]] = []
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        for rl in json.loads(line).get("resourceLogs", []):
            attrs = {a["key"]: a["value"].get("stringValue") for a in rl.get("resource", {}).get("attributes", [])}
            for sl in rl.get("scopeLogs", []):
                for r in sl.get("logRecords", []):
                    out.append((attrs.get("k8s.namespace.name") or "", r.get("body", {}).get("stringValue", "")))
    return out


def run_collector(binary: Path, cfg: Mapping[str, Any], files: Mapping[str, Path], tmp: Path,
                  expected: int) -> dict[str, list[tuple[str, str]]]:
    """Run the collector until ``expected`` records were written (or 60 s), stop it by PID."""
    conf = tmp / "config.json"  # JSON is YAML: the file provider reads it as is
    conf.write_text(json.dumps(cfg))
    log = (tmp / "collector.log").open("w")
    proc = subprocess.Popen([str(binary), f"--config=file:{conf}"], stdout=log, stderr=subprocess.STDOUT,
                            env=dict(os.environ, NODE_NAME="node-1"))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"collector exited {proc.returncode}: {(tmp / 'collector.log').read_text()}")
            if sum(len(records(f)) for f in files.values()) >= expected:
                time.sleep(0.5)  # anything misrouted would have come with the rest
                break
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
    return {g: records(f) for g, f in files.items()}


def misrouted(got: Mapping[str, list[tuple[str, str]]], written: Mapping[str, set[str]],
              routed: Mapping[str, str]) -> list[str]:
    """Problems: a record in a group that is not its namespace's tenant's, a tenant's message
    missing from its group. ``routed``: namespace → the group it must land in."""
    problems = []
    for group, recs in got.items():
        for ns, body in recs:
            owner = body.split(" ", 1)[1].split("/", 1)[0] if body.startswith("marker ") else "?"
            if routed.get(owner) != group:
                problems.append(f"{body!r} (namespace {owner}) is in {group}")
            if ns != owner:
                problems.append(f"{body!r} carries k8s.namespace.name={ns!r}")
    for ns, group in routed.items():
        bodies = {b for _, b in got.get(group, [])}
        problems += [f"{m!r} never reached {group}" for m in sorted(written[ns] - bodies)]
    return problems


@pytest.fixture(scope="module")
def binary() -> Path:
    return require_otelcol()


def test_each_tenants_logs_land_only_in_its_group(binary: Path, tmp_path: Path) -> None:
    s = spec()
    written = write_pod_logs(tmp_path / "pods")
    cfg, files = with_file_exporters(logs.collector_config(s, REGION, pods_dir=str(tmp_path / "pods")),
                                     tmp_path / "out")
    routed = {ns: logs.log_group_name("acme", t.name) for t in s.tenants for ns in logs.tenant_namespaces(t)}
    expected = sum(len(written[ns]) for ns in routed)
    got = run_collector(binary, cfg, files, tmp_path, expected)
    assert misrouted(got, written, routed) == []
    assert sorted(len(v) for v in got.values()) == sorted(len(written[n]) for n in TENANTS)
    # the unowned namespaces' messages are nowhere (no receiver reads their files)
    everything = {b for recs in got.values() for _, b in recs}
    assert not any(b.startswith(("marker kube-system/", "marker stray/")) for b in everything)
    # partial CRI lines were joined (the container parser ran): the P/F halves form one record
    assert "marker bank/web-1/app/1/2" in {b for _, b in got[logs.log_group_name("acme", "bank")]}


def test_negative_control_a_removed_route_leaks_into_no_other_group(binary: Path, tmp_path: Path) -> None:
    """Tenant shop's route removed: its logs reach no destination (no fallback), the others' are
    unchanged — and the checker above reports shop's messages as missing."""
    s = spec()
    written = write_pod_logs(tmp_path / "pods")
    cfg = logs.collector_config(s, REGION, pods_dir=str(tmp_path / "pods"))
    del cfg["receivers"][logs.receiver_id("shop")], cfg["exporters"][logs.exporter_id("shop")]
    del cfg["service"]["pipelines"][logs.pipeline_id("shop")]
    cfg, files = with_file_exporters(cfg, tmp_path / "out")
    routed = {t: logs.log_group_name("acme", t) for t in ("shop-eu", "bank")}
    got = run_collector(binary, cfg, files, tmp_path, sum(len(written[t]) for t in routed))
    assert misrouted(got, written, routed) == []
    assert not any(b.startswith("marker shop/") for recs in got.values() for _, b in recs)
    problems = misrouted(got, written, {**routed, "shop": logs.log_group_name("acme", "shop")})
    assert problems and all("never reached /tenancy/acme/shop/containers" in p for p in problems)


def test_negative_control_a_widened_glob_is_caught(binary: Path, tmp_path: Path) -> None:
    """The judge is not blind: a route for shop that globs ``shop*`` (not ``shop_*``) sends
    shop-eu's logs into shop's group, and the check reports each of them."""
    s = spec()
    written = write_pod_logs(tmp_path / "pods")
    cfg = logs.collector_config(s, REGION, pods_dir=str(tmp_path / "pods"))
    cfg["receivers"][logs.receiver_id("shop")]["include"] = [f"{tmp_path / 'pods'}/shop*/*/*.log"]
    cfg, files = with_file_exporters(cfg, tmp_path / "out")
    routed = {t: logs.log_group_name("acme", t) for t in TENANTS}
    got = run_collector(binary, cfg, files, tmp_path, sum(len(written[t]) for t in TENANTS) + len(written["shop-eu"]))
    problems = misrouted(got, written, routed)
    leaked = [p for p in problems if "(namespace shop-eu) is in /tenancy/acme/shop/containers" in p]
    assert len(leaked) == len(written["shop-eu"])
