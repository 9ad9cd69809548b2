"""The in-cluster layer through the real Pulumi engine, against tenant count (issue 25; docs/scaling.md):
``python benchmarks/engine_scaling.py --tenants 10,50,100,200`` (needs ``make testenv``).

For each tenant count it starts a local control plane (testenv/controlplane.py: etcd,
kube-apiserver, kube-controller-manager) and measures, with a file backend:

* **ssa floor**: a plain server-side apply of the same objects (placement policy, every tenant's
  bundle and edges), one request per object, in this process — what no engine can beat;
* **monolith** (``--monolith-max``, default 50): the one-stack program of the live tests
  (tests/live/programs/inclusters) through the Automation API: first ``up``, a no-op ``preview``,
  onboarding one tenant, changing one tenant (its quota), removing one; ``--skip-checkpoints``
  adds a first ``up`` with ``PULUMI_SKIP_CHECKPOINTS=true`` (on a fresh control plane);
* **stacks/K** (the recommended design): a platform stack and tenant stacks of at most K tenants
  (``--per-stack``, default 10; 1 is a stack per tenant) run by
  :func:`tenancy.fleet.tenants.deploy_tenants` with ``--parallel`` workers (default 2): first
  deploy, the runner's no-op (fingerprints only: no stack changed, none run), a ``preview`` of one
  tenant stack, onboarding one, changing one, removing one.

Each tenant has one service account and allows its predecessor in (``many_tenants``); the tenant
onboarded has no edge. Output: a Markdown table per tenant count, with ``os.getloadavg()`` taken
before and after each figure — on a shared machine the load says how much the figures are worth.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the repository root: tests.fixtures, testenv
from tenancy.fleet.tenants import TenantStacks, deploy_tenants  # noqa: E402
from tenancy.plan import tenant_stacks as ts  # noqa: E402
from tenancy.plan.validate import load_platform  # noqa: E402
from testenv.controlplane import ControlPlane, install_crds  # noqa: E402
from tests.fixtures.specs import many_tenants, tenant  # noqa: E402

PROGRAM = ROOT / "tests" / "live" / "programs" / "inclusters"
ROWS: list[tuple[int, str, str, float, str, str]] = []


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def measure(n: int, design: str, what: str, fn: Callable[[], Any], note: str = "") -> Any:
    before = load()
    started = time.monotonic()
    out = fn()
    seconds = time.monotonic() - started
    ROWS.append((n, design, what, seconds, f"{before} → {load()}", note))
    print(f"  {n:>4} {design:<9} {what:<28} {seconds:8.1f} s  load {before} → {load()}  {note}", flush=True)
    return out


def bin_dir() -> Path:
    import subprocess

    out = subprocess.run(["bash", str(ROOT / "testenv" / "build.sh"), "--find"], capture_output=True, text=True)
    if out.returncode:
        sys.exit("no testenv binaries: run `make testenv` first")
    return Path(out.stdout.strip().splitlines()[-1])


def env_for(work: Path, bins: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    (work / "state").mkdir(parents=True, exist_ok=True)
    return {"PATH": os.pathsep.join([str(bins), str(Path(sys.prefix) / "bin"), os.environ.get("PATH", "")]),
            "PULUMI_HOME": str(work / "pulumi-home"), "PULUMI_BACKEND_URL": f"file://{work / 'state'}",
            "PULUMI_CONFIG_PASSPHRASE": "bench", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_SKIP_UPDATE_CHECK": "true", "PYTHONPATH": str(ROOT), **(extra or {})}


def specs(n: int) -> dict[str, dict[str, Any]]:
    """The platform at ``n`` tenants, plus one onboarded, one changed, one removed."""
    base = many_tenants(n + 1)
    base["tenants"] = base["tenants"][:n]
    onboarded = copy.deepcopy(base)
    onboarded["tenants"].append(tenant(f"t{n:03d}", n, serviceAccounts=["app"]))
    changed = copy.deepcopy(onboarded)
    changed["tenants"][0]["quota"] = {"pods": 7}
    return {"base": base, "onboarded": onboarded, "changed": changed, "removed": copy.deepcopy(changed) | {
        "tenants": changed["tenants"][:n]}}


def floor(cp: ControlPlane, data: dict[str, Any]) -> int:
    kube = cp.client()
    spec = load_platform(data)
    objs = ts.platform_objects(spec) + [m for t in spec.tenants for m in ts.tenant_objects(spec, t)]
    for m in objs:
        kube.apply(m, manager="bench-floor")
    return len(objs)


def fresh(bins: Path, work: Path, name: str) -> ControlPlane:
    (work / name).mkdir(parents=True)
    cp = ControlPlane(bins, work / name).start()
    # The vendored CRDs the in-cluster layer uses (ClusterNetworkPolicy, SecurityGroupPolicy): EKS serves them.
    install_crds(cp.client(), ROOT / "tests" / "fixtures" / "crds", manager="bench")
    return cp


def monolith(n: int, bins: Path, work: Path, sp: dict[str, dict[str, Any]], skip_checkpoints: bool) -> None:
    from pulumi import automation as auto

    def stack(cp: ControlPlane, folder: str, extra: dict[str, str] | None = None) -> Any:
        prog = work / folder / "program"
        shutil.copytree(PROGRAM, prog, ignore=shutil.ignore_patterns("__pycache__", "Pulumi.*.yaml"))
        project = yaml.safe_load((PROGRAM / "Pulumi.yaml").read_text())
        project["runtime"]["options"] = {"virtualenv": sys.prefix}
        (prog / "Pulumi.yaml").write_text(yaml.safe_dump(project))
        env = env_for(work / folder, bins, extra)
        opts = auto.LocalWorkspaceOptions(work_dir=str(prog), pulumi_home=env["PULUMI_HOME"], env_vars=env,
                                          pulumi_command=auto.PulumiCommand(root=str(bins.parent)))
        st = auto.create_or_select_stack(stack_name="bench", work_dir=str(prog), opts=opts)
        st.set_config("inclusters:kubeconfig", auto.ConfigValue(str(cp.kubeconfig_path)))
        return st

    def use(st: Any, key: str) -> None:
        st.set_config("tenancy:platform", auto.ConfigValue(json.dumps(sp[key])))

    cp = fresh(bins, work, "cp-monolith")
    try:
        st = stack(cp, "monolith")
        use(st, "base")
        up = measure(n, "monolith", "first up", lambda: st.up(color="never"))
        count = sum(v for v in (up.summary.resource_changes or {}).values())
        ROWS[-1] = (*ROWS[-1][:5], f"{count} resources")
        measure(n, "monolith", "no-op preview", lambda: st.preview(color="never"))
        for key, what in (("onboarded", "onboard one tenant"), ("changed", "change one tenant"),
                          ("removed", "remove one tenant")):
            use(st, key)
            measure(n, "monolith", what, lambda: st.up(color="never"))
    finally:
        cp.stop()
    if skip_checkpoints:
        cp = fresh(bins, work, "cp-skip")
        try:
            st = stack(cp, "monolith-skip", {"PULUMI_SKIP_CHECKPOINTS": "true"})
            use(st, "base")
            measure(n, "monolith", "first up, skip checkpoints", lambda: st.up(color="never"))
        finally:
            cp.stop()


def stacks(n: int, bins: Path, work: Path, sp: dict[str, dict[str, Any]], parallel: int, per_stack: int) -> None:
    design = f"stacks/{per_stack}"
    cp = fresh(bins, work, f"cp-stacks-{per_stack}")
    try:
        runner = TenantStacks(work / f"stacks-{per_stack}", env=env_for(work / f"stacks-env-{per_stack}", bins),
                              kubeconfig=str(cp.kubeconfig_path), pulumi_root=bins.parent)

        def deploy(key: str) -> str:
            results = deploy_tenants(sp[key], runner, parallel=parallel, per_stack=per_stack)
            failed = [r for r in results if r.status == "failed"]
            if failed:
                raise RuntimeError(f"{key}: {failed[:3]}")
            ran = [r for r in results if r.op != "skipped"]
            return f"{len(ran)} stack(s) run, {len(results) - len(ran)} skipped"

        note = measure(n, design, "first deploy", lambda: deploy("base"))
        ROWS[-1] = (*ROWS[-1][:5], f"{note}; parallel {parallel}")
        measure(n, design, "no-op (runner)", lambda: deploy("base"))
        spec = load_platform(sp["base"])
        first = ts.stack_of(spec.tenants[0], per_stack)
        measure(n, design, "preview one tenant stack",
                lambda: runner.open(first, ts.stacks_of(spec, per_stack)[first]).preview(color="never"))
        for key, what in (("onboarded", "onboard one tenant"), ("changed", "change one tenant"),
                          ("removed", "remove one tenant")):
            note = measure(n, design, what, lambda key=key: deploy(key))  # type: ignore[misc]
            ROWS[-1] = (*ROWS[-1][:5], note)
    finally:
        cp.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tenants", default="10,50,100,200")
    ap.add_argument("--designs", default="floor,monolith,stacks")
    ap.add_argument("--monolith-max", type=int, default=50, help="skip the monolith above this count")
    ap.add_argument("--skip-checkpoints", action="store_true", help="also a monolith first up without checkpoints")
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--per-stack", default="10", help="tenants per stack, one run each (e.g. 1,10)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args()
    designs = set(args.designs.split(","))
    bins = bin_dir()
    print(f"cpus {os.cpu_count()}, load {load()} at start", flush=True)
    for n in [int(x) for x in args.tenants.split(",")]:
        work = Path(tempfile.mkdtemp(prefix=f"engine-bench-{n}-"))
        sp = specs(n)
        try:
            if "floor" in designs:
                cp = fresh(bins, work, "cp-floor")
                try:
                    count = measure(n, "ssa", "apply every object", lambda cp=cp, sp=sp: floor(cp, sp["base"]))  # type: ignore[misc]
                    ROWS[-1] = (*ROWS[-1][:5], f"{count} objects")
                finally:
                    cp.stop()
            if "monolith" in designs and n <= args.monolith_max:
                monolith(n, bins, work, sp, args.skip_checkpoints)
            if "stacks" in designs:
                for k in [int(x) for x in args.per_stack.split(",")]:
                    stacks(n, bins, work, sp, args.parallel, k)
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
    print("\n| tenants | design | operation | seconds | load 1/5/15 min before → after | note |")
    print("|---|---|---|---|---|---|")
    for n, design, what, seconds, ld, note in ROWS:
        print(f"| {n} | {design} | {what} | {seconds:.1f} | {ld} | {note} |")


if __name__ == "__main__":
    main()
