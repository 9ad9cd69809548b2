"""The EKS Kubernetes release calendar, and what it means for a spec's ``kubernetesVersion``.

Source: the EKS user guide, "Understand the Kubernetes version lifecycle on EKS"
(https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html, its "Amazon EKS
Kubernetes release calendar"), cross-checked against endoflife.date/amazon-eks; the API answers
the same dates in ``DescribeClusterVersions`` (``ClusterVersionInformation.releaseDate``,
``endOfStandardSupportDate``, ``endOfExtendedSupportDate``), so a new row is regenerated with::

    aws eks describe-cluster-versions --query \
      'clusterVersions[].[clusterVersion,releaseDate,endOfStandardSupportDate,endOfExtendedSupportDate]'

The rules the guide states and tenancy relies on:

* a minor version has standard support for 14 months after its EKS release, then extended
  support for 12 more;
* with ``upgradePolicy.supportType: STANDARD`` EKS upgrades the control plane itself to the next
  minor at the end of standard support; with ``EXTENDED`` it does so at the end of extended
  support (to the oldest version still supported);
* a control plane moves one minor at a time, and EKS refuses the next minor while managed
  nodes are still a minor behind (EKS user guide, update-cluster.html: the nodes' minor must
  be the control plane's current one before the control plane is updated).

Pure data and functions, no Pulumi, no clock: ``today`` is always a parameter, so a spec's
validity never depends on when it is validated; the dates are reported as warnings
(:func:`support_warnings`) by ``tenancy validate`` / ``render`` and in ``report.md``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

CALENDAR_SOURCE = ("EKS user guide, kubernetes-versions.html, 'Amazon EKS Kubernetes release calendar' "
                   "(https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html), "
                   "cross-checked with endoflife.date/amazon-eks")
OLDEST_USABLE = "1.30"
"""The first version with ValidatingAdmissionPolicy GA, which placement enforcement needs."""


@dataclass(frozen=True)
class Release:
    """One row of the EKS release calendar."""

    version: str
    released: dt.date
    """EKS release (not the upstream one)."""
    end_of_standard: dt.date
    end_of_extended: dt.date


CALENDAR: tuple[Release, ...] = (
    Release("1.29", dt.date(2024, 1, 23), dt.date(2025, 3, 23), dt.date(2026, 3, 23)),
    Release("1.30", dt.date(2024, 5, 23), dt.date(2025, 7, 23), dt.date(2026, 7, 23)),
    Release("1.31", dt.date(2024, 9, 26), dt.date(2025, 11, 26), dt.date(2026, 11, 26)),
    Release("1.32", dt.date(2025, 1, 25), dt.date(2026, 3, 23), dt.date(2027, 3, 23)),
    Release("1.33", dt.date(2025, 5, 28), dt.date(2026, 7, 29), dt.date(2027, 7, 29)),
    Release("1.34", dt.date(2025, 10, 6), dt.date(2026, 12, 2), dt.date(2027, 12, 2)),
    Release("1.35", dt.date(2026, 1, 28), dt.date(2027, 3, 27), dt.date(2028, 3, 27)),
)
"""Every minor EKS has released that tenancy knows, oldest first."""

_BY_VERSION = {r.version: r for r in CALENDAR}


def minor(version: str) -> int:
    """``"1.34"`` -> 34."""
    major, _, mnr = version.partition(".")
    if major != "1" or not mnr.isdigit():
        raise ValueError(f"{version!r} is not a Kubernetes 1.x minor version")
    return int(mnr)


SUPPORTED_KUBERNETES_VERSIONS: tuple[str, ...] = tuple(
    r.version for r in CALENDAR if minor(r.version) >= minor(OLDEST_USABLE))
"""The calendar's versions from :data:`OLDEST_USABLE` on."""
LATEST = SUPPORTED_KUBERNETES_VERSIONS[-1]


def release(version: str) -> Release:
    return _BY_VERSION[version]


def next_version(version: str) -> str | None:
    """The next minor in the calendar, if EKS has released it."""
    candidate = f"1.{minor(version) + 1}"
    return candidate if candidate in _BY_VERSION else None


def auto_upgrade_date(version: str, upgrade_policy: str) -> dt.date:
    """When EKS upgrades a control plane on ``version`` by itself: the end of standard support
    with ``STANDARD``, of extended support with ``EXTENDED``."""
    r = release(version)
    return r.end_of_standard if upgrade_policy == "STANDARD" else r.end_of_extended


def support_warnings(version: str, upgrade_policy: str, today: dt.date) -> list[str]:
    """What the calendar says about a spec on ``version`` with ``upgradePolicy`` on ``today``:
    empty while the version is in the support window its policy pays for."""
    r = release(version)
    nxt = next_version(version) or "the next minor"
    when = auto_upgrade_date(version, upgrade_policy)
    if today >= when:
        support = "standard" if upgrade_policy == "STANDARD" else "extended"
        return [(f"kubernetesVersion {version}: {support} support ended on {when.isoformat()} ({CALENDAR_SOURCE}); "
                 f"with cluster.upgradePolicy {upgrade_policy} EKS upgrades the control plane to {nxt} by itself, and "
                 f"a spec still naming {version} then asks for a downgrade, which EKS refuses: set kubernetesVersion: "
                 f"\"{nxt}\" (node groups and add-ons follow)"
                 + (", or cluster.upgradePolicy: EXTENDED to stay (extended-support prices) until "
                    f"{r.end_of_extended.isoformat()}" if upgrade_policy == "STANDARD" and today < r.end_of_extended
                    else ""))]
    if upgrade_policy == "EXTENDED" and today >= r.end_of_standard:
        return [(f"kubernetesVersion {version}: in extended support since {r.end_of_standard.isoformat()} (billed at "
                 f"extended-support prices); EKS upgrades it by itself on {r.end_of_extended.isoformat()}: plan the "
                 f"upgrade to {nxt}")]
    return []


CLUSTER_NETWORK_POLICY_MINOR = 29
"""The first Kubernetes minor on which the VPC CNI enforces ``ClusterNetworkPolicy`` (EKS user guide,
cni-network-policy-configure.html: "Kubernetes 1.29+" with VPC CNI v1.21.1+; the CNI floor is
:data:`tenancy.plan.addons.FLOORS`, checked on the resolved add-on version at deploy time)."""


def cluster_network_policies_supported(version: str) -> bool:
    """Whether a cluster on ``version`` can enforce the Admin and Baseline tiers (with the CNI floor)."""
    return minor(version) >= CLUSTER_NETWORK_POLICY_MINOR
