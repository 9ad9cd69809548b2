"""tenancy.testing (the public unit-testing module) and the components under other people's mocks,
above all those of Pulumi's unit-testing guide (new_resource echoes the inputs, call returns {})."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest

from tenancy import Network, Platform, load_platform
from tenancy.components.bundle import TenantBundle, TenantBundleArgs
from tenancy.render.engine import RenderError, run_under_mocks
from tenancy.spec import TenantSpec
from tenancy.testing import Mocks, render_program, run
from tests.fixtures.specs import small_spec, spec_with, tenant

ROOT = Path(__file__).resolve().parents[1]
ZONES = {"zoneNames": ["eu-west-1a", "eu-west-1b", "eu-west-1c"]}


class GuideMocks(pulumi.runtime.Mocks):
    """Verbatim the mocks of https://www.pulumi.com/docs/iac/guides/testing/unit/ (Python)."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        return [args.name + "_id", args.inputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


@pytest.fixture
def guide_runtime() -> Iterator[None]:
    """Pulumi's guide set-up: set_mocks at test start, config by set_all_config; torn down after."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    pulumi.runtime.set_all_config({"aws:region": "eu-west-1", "aws:allowedAccountIds": '["111122223333"]'})
    pulumi.runtime.set_mocks(GuideMocks(), preview=False)
    try:
        yield
    finally:
        pulumi.runtime.settings.reset_options()
        pulumi.runtime.set_all_config({})
        asyncio.set_event_loop(None)
        loop.close()


def test_network_runs_under_the_guide_mocks_with_pinned_zones(guide_runtime: None) -> None:
    spec = load_platform(spec_with(network=ZONES))
    seen: dict[str, Any] = {}

    @pulumi.runtime.test
    def check() -> pulumi.Output[Any]:
        net = Network(spec.name, spec)
        role = net.flow_log_role
        assert role is not None
        return pulumi.Output.all(net.zone_names[0], role.assume_role_policy).apply(lambda a: seen.update(z=a[0],
                                                                                                         trust=a[1]))

    check()
    assert seen["z"] == "eu-west-1a"
    # The invokes answered nothing: the account and region come from the stack's pins.
    trust = seen["trust"]
    assert '"aws:SourceAccount": "111122223333"' in trust and "arn:aws:ec2:eu-west-1:111122223333:" in trust


def _failure(data: dict[str, Any], config: dict[str, Any]) -> BaseException:
    def program() -> None:
        spec = load_platform(data)
        Platform(spec.name, spec)

    with pytest.raises(RenderError) as err:
        run_under_mocks(program, config=config, mocks=GuideMocks())
    chain: list[BaseException] = []
    exc: BaseException | None = err.value
    while exc is not None:
        chain.append(exc)
        exc = exc.__cause__
    assert not any(isinstance(e, (TypeError, AttributeError)) for e in chain), chain
    return err.value


def test_without_pins_the_error_names_what_to_set() -> None:
    err = _failure(small_spec(), {"aws:region": "eu-west-1"})
    assert re.search(r"network\.zoneNames|aws:allowedAccountIds", str(err)), err


def test_with_pins_the_platform_names_the_missing_output_not_a_type_error() -> None:
    err = _failure(spec_with(network=ZONES), {"aws:region": "eu-west-1", "aws:allowedAccountIds": ["111122223333"]})
    assert re.search(r"came back without its `\w+` output: your mocks' new_resource must return it", str(err)), err


def test_a_standalone_bundle_runs_under_the_guide_mocks(guide_runtime: None) -> None:
    names: list[str] = []

    @pulumi.runtime.test
    def check() -> pulumi.Output[Any]:
        a = TenantBundle("a", TenantBundleArgs(tenant=TenantSpec(name="a", slot=0, allow_from=["b"]),
                                               vpc_cidr="10.0.0.0/16"))
        TenantBundle("b", TenantBundleArgs(tenant=TenantSpec(name="b", slot=1), vpc_cidr="10.0.0.0/16"))
        return a.namespace_name.apply(names.append)

    check()
    assert names == ["a"]


def test_run_gives_resources_manifests_outputs_and_spec_from_any_config_namespace() -> None:
    def program() -> None:
        spec = load_platform(pulumi.Config("acme").require_object("platform"))  # the user's own namespace
        platform = Platform(spec.name, spec)
        pulumi.export("cluster", platform.outputs()["clusterName"])

    result = run(program, config={"acme:platform": small_spec(), "aws:region": "eu-west-1"})
    assert result.spec.name == "acme"
    assert result.stack_outputs["cluster"] == "acme"
    assert result.find("kubernetes:core/v1:Namespace", "alpha")["tenant"] == "alpha"
    assert {m["kind"] for m in result.manifests["alpha"]} >= {"Namespace", "NetworkPolicy", "ResourceQuota"}
    with pytest.raises(KeyError, match="registered: "):
        result.find("kubernetes:core/v1:Namespace", "nobody")


def test_keys_without_namespace_belong_to_the_project() -> None:
    def program() -> None:
        pulumi.export("x", pulumi.Config().require("greeting"))

    assert run(program, config={"greeting": "hi"}, project="demo").stack_outputs == {"x": "hi"}


def test_runs_do_not_leak_into_each_other() -> None:
    one = run(lambda: TenantBundle("a", TenantBundleArgs(tenant=TenantSpec(name="a", slot=0), vpc_cidr="10.0.0.0/16")))
    two = run(lambda: TenantBundle("b", TenantBundleArgs(tenant=TenantSpec(name="b", slot=0), vpc_cidr="10.0.0.0/16")))
    assert {r["tenant"] for r in one.resources} == {"a"} and {r["tenant"] for r in two.resources} == {"b"}
    with pytest.raises(LookupError, match="built no tenancy Platform"):
        _ = one.spec


def test_a_stack_reference_without_outputs_says_how_to_give_them() -> None:
    def program() -> None:
        pulumi.export("x", pulumi.StackReference("org/platform/dev").get_output("clusterName"))

    with pytest.raises(RenderError, match=r"Mocks\(stack_references="):
        run(program)
    result = run(program, mocks=Mocks(stack_references={"org/platform/dev": {"clusterName": "acme"}}))
    assert result.stack_outputs == {"x": "acme"}


def test_render_program_reads_the_program_folder_and_its_stack_file(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: shop\nruntime: python\n")
    (tmp_path / "helpers.py").write_text("TENANT = 'shop'\n")
    (tmp_path / "__main__.py").write_text(
        "import pulumi\nfrom helpers import TENANT\nfrom tenancy import Platform, load_platform\n"
        "spec = load_platform(pulumi.Config().require_object('platform'))\nPlatform(spec.name, spec)\n"
        "pulumi.export('tenant', TENANT)\n")
    import yaml

    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(
        {"config": {"aws:region": "eu-west-1", "platform": spec_with([tenant("shop", 0)])}}))
    result = render_program(tmp_path, tmp_path / "Pulumi.dev.yaml")
    assert (result.project, result.stack) == ("shop", "dev")
    assert result.stack_outputs["tenant"] == "shop" and [t.name for t in result.spec.tenants] == ["shop"]
    import sys

    assert "helpers" not in sys.modules  # the program's own modules are unloaded afterwards
