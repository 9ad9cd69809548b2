"""The EKS managed add-ons' versions: resolved per Kubernetes version, with floors.

Every managed add-on the platform installs (``vpc-cni``, ``kube-proxy``, ``coredns``,
``eks-pod-identity-agent`` in :mod:`tenancy.components.cluster`, ``aws-ebs-csi-driver`` in
:mod:`tenancy.components.storage`) gets an explicit ``addonVersion``: without one, EKS keeps the
version it installed first, so raising ``kubernetesVersion`` would move the control plane and
leave the add-ons behind.

**Resolved at deploy time, not shipped as a table.** The version is the answer of the
``aws.eks.getAddonVersion`` invoke (``DescribeAddonVersions``) for the add-on and the spec's
``kubernetesVersion`` with ``mostRecent: true`` — the newest build EKS lists as compatible with
that version, in the stack's Region and partition. Why not a pinned table: ``eksbuild`` numbers
change every few weeks, differ between partitions, and a stale or wrong pin fails the deploy;
EKS's own answer cannot name a build it does not have. The price is that a deploy may pick up a
newer *build* of the same add-on for the same Kubernetes version; the version each deploy chose is
recorded in the stack outputs (``addonVersions``) and so shows in ``pulumi preview`` and
``pulumi stack output``. A render (mock engine) answers the invoke with a placeholder naming the
Kubernetes version (:func:`render_placeholder`), so ``tenancy diff`` shows an upgrade as the
add-ons following the cluster.

**Floors** (:data:`FLOORS`): what tenancy itself needs of an add-on, checked on the resolved
version at deploy time (:func:`floor_problem`): the VPC CNI at v1.21.1 or newer, the first with
the ``ClusterNetworkPolicy`` support tenancy's admin-tier policies rely on (EKS user guide,
cni-network-policy-configure.html: "VPC CNI v1.21.1+").
"""

from __future__ import annotations

import re

VPC_CNI = "vpc-cni"
COREDNS = "coredns"
KUBE_PROXY = "kube-proxy"
POD_IDENTITY_AGENT = "eks-pod-identity-agent"
EBS_CSI_DRIVER = "aws-ebs-csi-driver"

FLOORS: dict[str, tuple[int, int, int]] = {VPC_CNI: (1, 21, 1)}
"""Lowest add-on version tenancy accepts, per add-on (none: any build EKS offers)."""

_SEMVER = re.compile(r"^v(\d+)\.(\d+)\.(\d+)")


def render_placeholder(addon: str, kubernetes_version: str) -> str:
    """What a render answers for ``getAddonVersion``: no build number is invented."""
    return f"<most recent {addon} for Kubernetes {kubernetes_version}, resolved at deploy>"


def parse(version: str) -> tuple[int, int, int] | None:
    """``v1.21.1-eksbuild.3`` -> (1, 21, 1); None for anything else (a render's placeholder)."""
    m = _SEMVER.match(version)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def floor_problem(addon: str, version: str, kubernetes_version: str) -> str | None:
    """Why the resolved ``version`` of ``addon`` is too old for tenancy, or None."""
    floor = FLOORS.get(addon)
    got = parse(version)
    if floor is None or got is None or got >= floor:
        return None
    want = "v" + ".".join(map(str, floor))
    return (f"the newest {addon} EKS offers for Kubernetes {kubernetes_version} is {version}, older than {want}, "
            f"which tenancy needs (cluster network policies, EKS user guide cni-network-policy-configure); raise "
            f"kubernetesVersion, or check `aws eks describe-addon-versions --addon-name {addon} "
            f"--kubernetes-version {kubernetes_version}` in this Region")


def checked(addon: str, kubernetes_version: str):  # type: ignore[no-untyped-def]
    """An ``apply`` callback: the resolved version, or a ValueError naming the floor and the fix."""
    def check(version: str) -> str:
        problem = floor_problem(addon, version, kubernetes_version)
        if problem is not None:
            raise ValueError(problem)
        return version
    return check
