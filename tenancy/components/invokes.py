"""The AWS invokes the components use (account, region, partition, zones), made robust to mocks
that answer nothing — such as those of Pulumi's unit-testing guide, whose ``call`` returns
``{}``. Where an invoke's answer is empty, the value comes from what the stack pins
(``aws:region``, ``aws:allowedAccountIds``, ``network.zoneNames``) or the program fails with an
error naming what to set — never a ``TypeError`` deep inside an ``apply``.

Against real AWS the invokes always answer; the fallbacks change nothing there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi


class MissingValueError(ValueError):
    """An invoke answered nothing and the stack pins no value to fall back on."""


def _config_region() -> str | None:
    return pulumi.Config("aws").get("region")


def _config_accounts() -> list[str]:
    raw = pulumi.Config("aws").get("allowedAccountIds")
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        value = [raw]
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def region(parent: pulumi.Resource | None = None) -> pulumi.Output[str]:
    """The provider's region: ``aws:getRegion``, else the ``aws:region`` config."""
    import pulumi_aws as aws

    def pick(answer: str | None) -> str:
        value = answer or _config_region()
        if not value:
            raise MissingValueError("the region lookup (aws:index/getRegion) answered nothing and `aws:region` is not "
                               "set: set `aws:region` in the stack config (or answer getRegion in your mocks)")
        return value

    return aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=parent)).region.apply(pick)


def partition(parent: pulumi.Resource | None = None) -> pulumi.Output[str]:
    """The partition: ``aws:getPartition``, else derived from the region (``aws``, ``aws-cn``,
    ``aws-us-gov``)."""
    import pulumi_aws as aws

    def pick(answer: str | None) -> str:
        if answer:
            return answer
        r = _config_region() or ""
        return "aws-cn" if r.startswith("cn-") else "aws-us-gov" if r.startswith("us-gov-") else "aws"

    return aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=parent)).partition.apply(pick)


def account_id(parent: pulumi.Resource | None = None) -> pulumi.Output[str]:
    """The deploying account: ``aws:getCallerIdentity``, else the one ``aws:allowedAccountIds``."""
    import pulumi_aws as aws

    def pick(answer: str | None) -> str:
        if answer:
            return answer
        accounts = _config_accounts()
        if len(accounts) == 1:
            return accounts[0]
        raise MissingValueError("the caller identity lookup (aws:index/getCallerIdentity) answered no account id: set "
                           "`aws:allowedAccountIds: [\"<account id>\"]` in the stack config (one account), or answer "
                           "getCallerIdentity in your mocks (tenancy.testing.Mocks does)")

    return aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=parent)).account_id.apply(pick)


def zone(names: Sequence[str] | None, i: int, wanted: int) -> str:
    """The ``i``-th of the region's available zones, with a clear error when there are too few
    (or the lookup answered nothing)."""
    if not names:
        raise MissingValueError("the availability zone lookup (aws:index/getAvailabilityZones) answered nothing: pin "
                           f"the zones with network.zoneNames ({wanted} names, e.g. eu-west-1a, eu-west-1b, …) "
                           "or answer getAvailabilityZones in your mocks")
    if len(names) < wanted:
        raise MissingValueError(f"the region has {len(names)} available zone(s) but availabilityZones is {wanted}; "
                           f"lower availabilityZones or pin network.zoneNames")
    return names[i]


def missing_output(type_token: str, output: str) -> MissingValueError:
    """The error for a resource output that came back empty — only possible under mocks that
    echo the inputs back (Pulumi's unit-testing guide): the real provider always sets it."""
    return MissingValueError(f"{type_token} came back without its `{output}` output: your mocks' new_resource must "
                        f"return it in the state (tenancy.testing.Mocks does); a real deployment always sets it")


def present(value: pulumi.Output[Any], type_token: str, output: str) -> pulumi.Output[Any]:
    """``value`` (a resource output), failing with :func:`missing_output` if it resolves empty
    (known values only: during a preview unknowns pass through untouched)."""

    def check(v: Any) -> Any:
        if v is None or v == "":
            raise missing_output(type_token, output)
        return v

    return value.apply(check)


def arn_or_built(value: pulumi.Output[Any], service: str, resource: str,
                 parent: pulumi.Resource | None = None, *, regional: bool = True) -> pulumi.Output[str]:
    """A resource's ARN output, or — if it came back empty (mocks that echo the inputs) — the
    same ARN built from the partition, region and account (:func:`partition`, :func:`region`,
    :func:`account_id`) and the resource's known name: the real provider returns exactly this."""

    def pick(v: Any) -> Any:
        if v:
            return v
        parts = pulumi.Output.all(partition(parent), region(parent) if regional else "", account_id(parent))
        return parts.apply(lambda a: f"arn:{a[0]}:{service}:{a[1]}:{a[2]}:{resource}")

    return value.apply(pick)


def addon_version(parent: pulumi.Resource | None, addon: str, kubernetes_version: str) -> pulumi.Output[str]:
    """The newest build of EKS managed add-on ``addon`` for ``kubernetes_version``:
    ``aws.eks.getAddonVersion`` with ``mostRecent`` (``DescribeAddonVersions``), checked against
    tenancy's floor (:mod:`tenancy.plan.addons`). Mocks that answer nothing get the render's
    placeholder (EKS itself always answers)."""
    import pulumi_aws as aws

    from tenancy.plan import addons

    def pick(answer: str | None) -> str:
        return addons.checked(addon, kubernetes_version)(answer or addons.render_placeholder(addon, kubernetes_version))

    return aws.eks.get_addon_version_output(
        addon_name=addon, kubernetes_version=kubernetes_version, most_recent=True,
        opts=pulumi.InvokeOutputOptions(parent=parent)).version.apply(pick)
