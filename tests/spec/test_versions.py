"""EKS's release calendar (tenancy.spec.versions): the supported range, the dates, and what they
mean for a spec on a given day (warnings, never a change of validity)."""

from __future__ import annotations

import datetime as dt

import pytest

from tenancy.plan import addons
from tenancy.plan.validate import load_platform
from tenancy.spec import SUPPORTED_KUBERNETES_VERSIONS, SpecError
from tenancy.spec import versions as V
from tests.fixtures.specs import spec_with

TODAY = dt.date(2026, 12, 6)


def test_range_follows_the_calendar_from_the_first_with_validating_admission_policy() -> None:
    assert SUPPORTED_KUBERNETES_VERSIONS == ("1.30", "1.31", "1.32", "1.33", "1.34", "1.35")
    assert V.LATEST == "1.35" and load_platform({"name": "x", "vpcCidr": "10.1.0.0/16"}).kubernetes_version == "1.35"
    with pytest.raises(SpecError, match=r"kubernetesVersion: .*'1\.36' is not supported.*release calendar"):
        load_platform(spec_with(kubernetesVersion="1.36"))


def test_calendar_rows_are_consistent() -> None:
    for prev, row in zip(V.CALENDAR, V.CALENDAR[1:], strict=False):
        assert V.minor(row.version) == V.minor(prev.version) + 1 and row.released > prev.released
    for row in V.CALENDAR:
        # 14 months of standard support, then 12 of extended (EKS user guide)
        months = (row.end_of_standard.year - row.released.year) * 12 + row.end_of_standard.month - row.released.month
        assert 13 <= months <= 15, row
        assert (row.end_of_extended.year, row.end_of_extended.month) == (row.end_of_standard.year + 1,
                                                                          row.end_of_standard.month), row
    assert V.release("1.34").end_of_standard == dt.date(2026, 12, 2)


def test_standard_policy_past_end_of_standard_support_warns_to_follow_eks() -> None:
    (w,) = V.support_warnings("1.33", "STANDARD", TODAY)
    assert "standard support ended on 2026-07-29" in w and 'set kubernetesVersion: "1.34"' in w
    assert "asks for a downgrade" in w and "EXTENDED" in w
    assert V.support_warnings("1.35", "STANDARD", TODAY) == []  # control
    assert V.support_warnings("1.34", "STANDARD", dt.date(2026, 12, 1)) == []  # the day before


def test_extended_policy_warns_of_its_price_then_of_the_end() -> None:
    (w,) = V.support_warnings("1.33", "EXTENDED", TODAY)
    assert "extended support since 2026-07-29" in w and "2027-07-29" in w
    (w,) = V.support_warnings("1.31", "EXTENDED", TODAY)  # extended support ended 2026-11-26
    assert "extended support ended on 2026-11-26" in w and 'kubernetesVersion: "1.32"' in w


def test_validity_does_not_depend_on_the_day() -> None:
    load_platform(spec_with(kubernetesVersion="1.30"))  # past all support today: a warning, not an error


def test_vpc_cni_floor() -> None:
    assert addons.floor_problem(addons.VPC_CNI, "v1.21.1-eksbuild.1", "1.34") is None
    assert addons.floor_problem(addons.VPC_CNI, "v1.22.0-eksbuild.2", "1.34") is None
    msg = addons.floor_problem(addons.VPC_CNI, "v1.20.4-eksbuild.1", "1.30")
    assert msg is not None and "older than v1.21.1" in msg and "describe-addon-versions" in msg
    assert addons.floor_problem(addons.COREDNS, "v1.0.0-eksbuild.1", "1.30") is None  # no floor
    assert addons.floor_problem(addons.VPC_CNI, addons.render_placeholder("vpc-cni", "1.34"), "1.34") is None
    with pytest.raises(ValueError, match="older than v1.21.1"):
        addons.checked(addons.VPC_CNI, "1.30")("v1.19.0-eksbuild.1")


def test_the_shipped_stacks_are_on_the_newest_version_with_no_support_warning() -> None:
    """The stacks users copy (stacks/, examples/) name the newest version tenancy knows, so
    `tenancy validate --stack dev` starts clean (1.34's standard support ended on 2026-12-02); a new
    calendar row fails this until they are raised with it."""
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[2]
    files = sorted([*root.glob("stacks/Pulumi.*.yaml"), *root.glob("examples/**/Pulumi.*.yaml")])
    seen = 0
    for path in files:
        config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
        for key, value in config.items():  # tenancy:platform, and a team stack's copy of the platform facts
            if not isinstance(value, dict) or "kubernetesVersion" not in value:
                continue
            seen += 1
            version = str(value["kubernetesVersion"])
            assert version == V.LATEST, f"{path.relative_to(root)} {key}: {version}, newest {V.LATEST}"
            assert V.support_warnings(version, "STANDARD", TODAY) == []
    assert seen >= 4
