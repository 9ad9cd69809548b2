"""Trust signals: LICENSE, CHANGELOG, one version source, `tenancy --version`, a `make render`
that installs only what rendering needs; and the CLI's error polish (YAML, exit codes)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tenancy import __version__, cli
from tests.fixtures.specs import spec_with, tenant

ROOT = Path(__file__).resolve().parents[1]
APACHE_2_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"
"""sha256 of https://www.apache.org/licenses/LICENSE-2.0.txt."""


def test_license_is_the_full_apache_2_text() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert hashlib.sha256(text.encode()).hexdigest() == APACHE_2_SHA256
    assert 'license-files = ["LICENSE"]' in (ROOT / "pyproject.toml").read_text()


def test_one_version_everywhere(capsys) -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
    assert importlib.metadata.version("tenancy") == __version__
    assert 'dynamic = ["version"]' in (ROOT / "pyproject.toml").read_text()
    assert f"## [{__version__}]" in (ROOT / "CHANGELOG.md").read_text()
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"tenancy {__version__}"


def test_make_render_installs_only_the_library() -> None:
    """`make` is the project's entry point (`make test` is the test command), so it is always here."""
    plan = subprocess.run(["make", "-n", "-B", "render"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "pip install -q -e ." in plan and "tenancy render" in plan
    assert "[test" not in plan and "dev]" not in plan and "tools" not in plan


def _stack(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_usage_errors_and_invalid_configs_exit_differently(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["render"])
    assert exit_.value.code == cli.EXIT_USAGE == 64
    with pytest.raises(SystemExit) as exit_:
        cli.main(["render", "--program", str(tmp_path)])  # --program needs --config
    assert exit_.value.code == 64
    cfg = _stack(tmp_path / "Pulumi.x.yaml", yaml.safe_dump({"config": {"aws:region": "eu-west-1"}}))
    assert cli.main(["render", "--program", str(tmp_path / "nowhere"), "--config", str(cfg)]) == 64
    assert "not a directory" in capsys.readouterr().err
    bad = _stack(tmp_path / "Pulumi.bad.yaml", yaml.safe_dump({"config": {"tenancy:platform": spec_with(
        [tenant("a", 0), tenant("billing", 0)])}}))
    assert cli.main(["validate", "--config", str(bad)]) == cli.EXIT_INVALID == 2
    assert "tenants[1] (billing).slot: slot 0 is already taken" in capsys.readouterr().err


def test_yaml_errors_name_file_and_line_and_duplicate_keys_are_rejected(tmp_path: Path, capsys) -> None:
    dup = _stack(tmp_path / "Pulumi.dup.yaml", "config:\n  aws:region: eu-west-1\n  tenancy:platform:\n"
                                               "    name: a\n    vpcCidr: 10.0.0.0/16\n    name: b\n")
    assert cli.main(["validate", "--config", str(dup)]) == 2
    err = capsys.readouterr().err
    assert f"{dup}:6:5: is not valid YAML: duplicate key 'name' (first at line 4)" in err
    broken = _stack(tmp_path / "Pulumi.broken.yaml", "config:\n  aws:region: [eu-west-1\n  other: 1\n")
    assert cli.main(["validate", "--config", str(broken)]) == 2
    assert re.search(rf"{re.escape(str(broken))}:\d+:\d+: is not valid YAML", capsys.readouterr().err)


def test_an_unquoted_kubernetes_version_gets_the_hint(tmp_path: Path, capsys) -> None:
    text = yaml.safe_dump({"config": {"tenancy:platform": spec_with([tenant("a", 0)])}}).replace(
        "kubernetesVersion: '1.33'", "kubernetesVersion: 1.30")
    assert "kubernetesVersion: 1.30" in text
    assert cli.main(["validate", "--config", str(_stack(tmp_path / "Pulumi.v.yaml", text))]) == 2
    assert 'quote the version: kubernetesVersion: "1.30"' in capsys.readouterr().err


def test_the_real_command_prints_the_version() -> None:
    proc = subprocess.run([sys.executable, "-m", "tenancy.cli", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == f"tenancy {__version__}"
