"""The recording mock monitor keeps what the stock one drops, and runs never leak."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pytest

from tenancy.render.engine import RenderError, run_under_mocks, tenant_of


def _program() -> None:
    comp = pulumi.ComponentResource("tenancy:index:Tenant", "alpha")
    vpc = aws.ec2.Vpc("v", cidr_block="10.0.0.0/16", opts=pulumi.ResourceOptions(parent=comp, protect=True))
    aws.ec2.Subnet("s", vpc_id=vpc.id, cidr_block="10.0.0.0/24",
                   opts=pulumi.ResourceOptions(parent=comp, retain_on_delete=True, deleted_with=vpc))
    comp.register_outputs({})
    pulumi.export("vpc", vpc.id)


def test_parent_protect_retain_deleted_with_and_dependencies_are_recorded() -> None:
    regs, outputs = run_under_mocks(_program)
    by_name = {r.name: r for r in regs}
    vpc, subnet, comp = by_name["v"], by_name["s"], by_name["alpha"]
    assert vpc.protect and not vpc.retain_on_delete and vpc.parent == comp.urn
    assert subnet.retain_on_delete and subnet.deleted_with == vpc.urn
    assert vpc.urn in subnet.dependencies
    assert subnet.inputs["vpcId"] == vpc.id and vpc.id.startswith("vpc-")
    assert outputs == {"vpc": vpc.id}
    assert tenant_of(regs)[subnet.urn] == "alpha"


def test_runs_do_not_leak_into_each_other() -> None:
    first, _ = run_under_mocks(_program)
    second, _ = run_under_mocks(_program)
    assert [(r.urn, r.inputs) for r in first] == [(r.urn, r.inputs) for r in second]


def test_duplicate_urns_are_refused_like_the_real_engine() -> None:
    def dup() -> None:
        aws.ec2.Vpc("same", cidr_block="10.0.0.0/16")
        aws.ec2.Vpc("same", cidr_block="10.1.0.0/16")

    with pytest.raises(RenderError):
        run_under_mocks(dup)


def test_a_failing_program_is_a_render_error() -> None:
    def bad() -> None:
        raise ValueError("boom")

    with pytest.raises(RenderError, match="boom"):
        run_under_mocks(bad)


def test_render_runtime_applies_while_the_program_runs_and_restores_the_process_settings() -> None:
    import gc

    from pulumi.runtime import resource as pulumi_resource

    from tenancy.render.engine import RENDER_GC_THRESHOLD

    seen: list[tuple[tuple[int, int, int], object]] = []

    def program() -> None:
        seen.append((gc.get_threshold(), pulumi_resource._get_stack_trace))
        _program()

    before, walk = gc.get_threshold(), pulumi_resource._get_stack_trace
    run_under_mocks(program)
    assert seen[0][0] == RENDER_GC_THRESHOLD and seen[0][1] is not walk
    assert gc.get_threshold() == before and pulumi_resource._get_stack_trace is walk
    # a failing program restores them too
    with pytest.raises(RenderError):
        run_under_mocks(lambda: (_ for _ in ()).throw(ValueError("boom")))
    assert gc.get_threshold() == before and pulumi_resource._get_stack_trace is walk
    # automatic collection turned off by the caller stays off
    gc.set_threshold(0)
    try:
        seen.clear()
        run_under_mocks(program)
        assert seen[0][0][0] == 0
    finally:
        gc.set_threshold(*before)


def test_quiet_gc_never_lowers_the_thresholds_and_restores_them() -> None:
    import gc

    from tenancy.render.engine import RENDER_GC_THRESHOLD, quiet_gc

    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        with quiet_gc():
            assert gc.get_threshold() == RENDER_GC_THRESHOLD
        assert gc.get_threshold() == (700, 10, 10)
        gc.set_threshold(50_000, 5, 500)
        with quiet_gc():
            assert gc.get_threshold() == (50_000, 50, 500)
        assert gc.get_threshold() == (50_000, 5, 500)
    finally:
        gc.set_threshold(*before)
