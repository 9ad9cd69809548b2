"""`tenancy render` / `tenancy validate`: outputs and exit codes, as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tenancy import cli
from tests.fixtures.specs import small_spec, spec_with, tenant

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path = ROOT, seed: str = "0") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONHASHSEED=seed)
    return subprocess.run([sys.executable, "-m", "tenancy.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def stack_file(path: Path, platform: dict) -> Path:
    path.write_text(yaml.safe_dump({"config": {"aws:region": "eu-west-1", "tenancy:platform": platform}}))
    return path


def test_render_the_dev_stack(tmp_path: Path) -> None:
    out = tmp_path / "dev"
    proc = run("render", "--stack", "dev", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert (out / "resources.json").is_file() and (out / "report.md").is_file() and (out / "manifests").is_dir()
    assert "rendered stack 'dev'" in proc.stdout


def test_renders_are_identical_across_processes(tmp_path: Path) -> None:
    cfg = stack_file(tmp_path / "Pulumi.x.yaml", small_spec())
    a, b = tmp_path / "a", tmp_path / "b"
    assert run("render", "--config", str(cfg), "--out", str(a), seed="1").returncode == 0
    assert run("render", "--config", str(cfg), "--out", str(b), seed="2").returncode == 0
    assert (a / "resources.json").read_bytes() == (b / "resources.json").read_bytes()
    assert (a / "report.md").read_bytes() == (b / "report.md").read_bytes()


@pytest.mark.parametrize(
    ("platform", "field"),
    [
        (spec_with([tenant("a", 0), tenant("b", 0)]), "tenants[1] (b).slot"),
        (spec_with([tenant("a", 0, allowFrom=["ghost"])]), "tenants[0] (a).allowFrom[0]"),
        (spec_with([tenant(f"t{i}", i) for i in range(30)]), "tenants"),
        (spec_with(vpcCidr="10.0.0.0/22"), "vpcCidr"),
    ],
)
def test_invalid_config_exits_2_naming_the_field(tmp_path: Path, platform: dict, field: str, capsys) -> None:
    cfg = stack_file(tmp_path / "Pulumi.bad.yaml", platform)
    out = tmp_path / "out"
    assert cli.main(["render", "--config", str(cfg), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"  - {field}: " in err
    assert "Traceback" not in err
    assert not out.exists()


def test_invalid_config_exits_2_from_the_real_command(tmp_path: Path) -> None:
    cfg = stack_file(tmp_path / "Pulumi.bad.yaml", spec_with([tenant("a", 0, quota={"cpu": "lots"})]))
    proc = run("render", "--config", str(cfg), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "tenants[0] (a).quota.cpu" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_a_stack_file_without_platform_is_invalid(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "Pulumi.x.yaml"
    cfg.write_text("config:\n  aws:region: eu-west-1\n")
    assert cli.main(["validate", "--config", str(cfg)]) == 2
    assert "tenancy:platform" in capsys.readouterr().err


def test_other_failures_exit_1_and_write_nothing(tmp_path: Path, monkeypatch, capsys) -> None:
    cfg = stack_file(tmp_path / "Pulumi.x.yaml", small_spec())

    def broken(*args, **kwargs):
        raise RuntimeError("engine exploded")

    import tenancy.render as render

    monkeypatch.setattr(render, "render_spec", broken)
    assert cli.main(["render", "--config", str(cfg), "--out", str(tmp_path / "out")]) == 1
    assert "engine exploded" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_missing_file_exits_1(tmp_path: Path, capsys) -> None:
    assert cli.main(["render", "--config", str(tmp_path / "nope.yaml")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_validate_accepts_both_example_stacks() -> None:
    for stack in ("dev", "prod"):
        assert cli.main(["validate", "--stack", stack, "--stacks-dir", str(ROOT / "stacks")]) == 0


def test_manifests_are_identical_across_processes(tmp_path: Path) -> None:
    cfg = stack_file(tmp_path / "Pulumi.x.yaml", small_spec())
    a, b = tmp_path / "a", tmp_path / "b"
    assert run("render", "--config", str(cfg), "--out", str(a), seed="1").returncode == 0
    assert run("render", "--config", str(cfg), "--out", str(b), seed="2").returncode == 0
    for f in sorted((a / "manifests").iterdir()):
        assert f.read_bytes() == (b / "manifests" / f.name).read_bytes(), f.name


def test_render_program_of_this_repository_equals_render_stack(tmp_path: Path) -> None:
    """`--program .` runs stacks/ (Pulumi.yaml's main) with any-namespace config: the same render."""
    prog, stack = tmp_path / "prog", tmp_path / "stack"
    assert run("render", "--program", ".", "--config", "stacks/Pulumi.dev.yaml", "--out", str(prog)).returncode == 0
    assert run("render", "--stack", "dev", "--out", str(stack)).returncode == 0
    files = sorted(p.relative_to(stack) for p in stack.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(prog) for p in prog.rglob("*") if p.is_file())
    for f in files:
        assert (prog / f).read_bytes() == (stack / f).read_bytes(), f


def test_validate_previous_refuses_a_skipped_minor_and_warns_past_end_of_support(tmp_path: Path, capsys,
                                                                                 monkeypatch) -> None:
    """The user's view of the upgrade guard: `tenancy render` records 1.33, `tenancy validate
    --previous` refuses 1.35 (exit 2, the next step named) and takes 1.34; on 2026-12-06 a spec on
    1.33 with upgradePolicy STANDARD is valid but warned (EKS upgraded it on 2026-07-29)."""
    import datetime as dt

    class Today(dt.date):
        @classmethod
        def today(cls) -> dt.date:  # type: ignore[override]
            return dt.date(2026, 12, 6)

    monkeypatch.setattr(dt, "date", Today)
    out = tmp_path / "out"
    assert cli.main(["render", "--quiet", "--config", str(stack_file(tmp_path / "a.yaml", small_spec())),
                     "--out", str(out)]) == 0
    assert "standard support ended on 2026-07-29" in capsys.readouterr().err  # small_spec is on 1.33
    skip = stack_file(tmp_path / "b.yaml", spec_with(kubernetesVersion="1.35"))
    assert cli.main(["validate", "--config", str(skip), "--previous", str(out)]) == 2
    err = capsys.readouterr().err
    assert "kubernetesVersion: 1.33 -> 1.35 skips 1 minor version(s)" in err and 'set kubernetesVersion: "1.34"' in err
    step = stack_file(tmp_path / "c.yaml", spec_with(kubernetesVersion="1.34"))
    assert cli.main(["validate", "--config", str(step), "--previous", str(out)]) == 0
    assert "warning:" in capsys.readouterr().err  # 1.34's standard support ended 2026-12-02: warned, still valid
    latest = stack_file(tmp_path / "d.yaml", spec_with(kubernetesVersion="1.35"))
    assert cli.main(["validate", "--config", str(latest)]) == 0
    assert "warning:" not in capsys.readouterr().err  # control
