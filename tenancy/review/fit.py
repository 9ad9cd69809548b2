"""Does an update fit the EKS quota while it runs? The peak number of managed node groups.

A render holds the platform *after* an update; the quota ``Managed node groups per cluster``
(default 30, adjustable; ``nodeGroupQuota`` in the spec) must also hold *during* it:

* a node group created by the update counts from its creation;
* a node group **replaced** is created anew first and its old group deleted at the end of the
  whole update: the platform names node groups by prefix (``nodeGroupNamePrefix``,
  :func:`tenancy.spec.naming.node_group_name_prefix`), so Pulumi replaces them
  create-before-delete, and Pulumi runs every pending delete of a replacement after all other
  steps of the update (pulumi/pulumi#9979). A group with a fixed ``nodeGroupName`` in the
  new render is replaced delete-before-create instead (pulumi-terraform-bridge
  ``nameRequiresDeleteBeforeReplace``): it does not add to the peak (it takes its nodes away
  first);
* a node group deleted by the update goes at the end too: it never makes room.

So ``peak = existing + created + replaced (create-before-delete)``. Which input changes replace
a node group is :mod:`tenancy.plan.replacements` (terraform-provider-aws
``internal/service/eks/node_group.go``: ``ami_type``, ``capacity_type``, ``disk_size``,
``instance_types``, ``launch_template.id|name``, ``node_group_name[_prefix]``, ``node_role_arn``,
``remote_access``, ``subnet_ids`` are ``ForceNew``; ``labels``, ``taint``, ``scaling_config``,
``update_config``, ``launch_template.version``, ``version`` and ``release_version`` update in
place). Moving from fixed names to prefixes replaces every group at once: a platform with more
than ``quota / 2`` groups cannot take that in one update.

An update over the quota fails half-way (EKS refuses the next ``CreateNodegroup``). The fix
:func:`node_group_peak` proposes is to split it: ``pulumi up --target`` batches of replacements
that each fit (a targeted update deletes its own old groups at its end; each batch targets
the groups' dependencies the update changes too, e.g. a new launch template, which an
untargeted update would not create), then a plain ``pulumi up``; or fewer node-group changes
per merge request; or a raised quota.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tenancy.spec.wire import AWS_EKS_NODE_GROUP as NODE_GROUP

DEFAULT_NODE_GROUP_QUOTA = 30
"""EKS 'Managed node groups per cluster' default (Amazon EKS service quotas page)."""


@dataclass(frozen=True)
class NodeGroupPeak:
    """Managed node groups before, during (at the peak) and after one update."""

    quota: int
    existing: list[str]
    """URNs of the node groups before the update."""
    created: list[str]
    replaced: list[str]
    """Replaced create-before-delete: both groups exist until the end of the update."""
    replaced_in_place: list[str] = field(default_factory=list)
    """Replaced delete-before-create (a fixed ``nodeGroupName``): no extra group, an outage of its nodes."""
    deleted: list[str] = field(default_factory=list)
    changed_dependencies: dict[str, list[str]] = field(default_factory=dict)
    """Node group URN → the URNs of its dependencies this update creates, replaces or updates: a
    targeted update must target them too (an untargeted dependency is not created)."""

    @property
    def peak(self) -> int:
        return len(self.existing) + len(self.created) + len(self.replaced)

    @property
    def after(self) -> int:
        return len(self.existing) + len(self.created) - len(self.deleted)

    @property
    def fits(self) -> bool:
        return self.peak <= self.quota

    def batches(self) -> list[list[str]]:
        """Replacements to run as ``pulumi up --target`` updates before a plain ``pulumi up``, each
        fitting the quota; empty when the update fits, or when no split can (the cluster is full)."""
        room = self.quota - len(self.existing)  # a targeted batch deletes its old groups at its end
        last = max(self.quota - len(self.existing) - len(self.created), 0)  # left for the plain update
        if self.fits or room <= 0 or len(self.existing) + len(self.created) > self.quota:
            return []
        ahead = self.replaced[:len(self.replaced) - last]
        return [ahead[i:i + room] for i in range(0, len(ahead), room)]

    def targets(self) -> list[list[str]]:
        """:meth:`batches` with each group's changed dependencies (its launch template, …), each
        listed once, in the first batch that needs it: the ``--target`` lists of each update."""
        seen: set[str] = set()
        out = []
        for batch in self.batches():
            urns = []
            for g in batch:
                for u in [*self.changed_dependencies.get(g, []), g]:
                    if u not in seen:
                        seen.add(u)
                        urns.append(u)
            out.append(urns)
        return out

    def problem(self) -> str | None:
        """Why the update does not fit, with the fix; None if it does."""
        if self.fits:
            return None
        why = (f"this update needs {self.peak} managed node groups at its peak ({len(self.existing)} existing + "
               f"{len(self.created)} created + {len(self.replaced)} replaced, each new group created before its old "
               f"one is deleted at the end of the update, pulumi/pulumi#9979), over nodeGroupQuota {self.quota} "
               f"('Managed node groups per cluster'): it would fail half-way")
        batches = self.batches()
        if batches:
            first = " ".join(f"--target '{u}'" for u in self.targets()[0])
            return (f"{why}. Split it: {len(batches)} targeted update(s) of at most {len(batches[0])} replacement(s) "
                    f"each, with the dependencies they change (the JSON output's targets; the first: "
                    f"`pulumi up {first}`), then a plain `pulumi up`; or change fewer node groups per merge "
                    f"request; or raise the quota in Service "
                    f"Quotas and set nodeGroupQuota")
        return (f"{why}. No split fits: {len(self.existing) + len(self.created)} groups leave no room for a "
                f"replacement. Raise 'Managed node groups per cluster' in Service Quotas and set nodeGroupQuota, or "
                f"free groups first in an earlier update (move tenants onto a shared nodePool), and keep one group "
                f"of headroom for routine replacements (instance types, AMI type, capacity type)")

    def document(self) -> dict[str, Any]:
        return {"quota": self.quota, "before": len(self.existing), "peak": self.peak, "after": self.after,
                "created": self.created, "replaced": self.replaced, "replacedInPlace": self.replaced_in_place,
                "deleted": self.deleted, "fits": self.fits, "problem": self.problem(), "batches": self.batches(),
                "targets": self.targets()}


def node_group_peak(base: Sequence[Mapping[str, Any]], head: Sequence[Mapping[str, Any]],
                    changes: Sequence[Mapping[str, Any]], quota: int | None = None) -> NodeGroupPeak:
    """The peak of an update from render ``base`` to render ``head``, given the resource changes
    between them (:func:`tenancy.review.diff.resource_changes`)."""
    heads = {r["urn"]: r for r in head if r["type"] == NODE_GROUP}
    existing = sorted(r["urn"] for r in base if r["type"] == NODE_GROUP)
    changing = {c["urn"] for c in changes if c["action"] in ("create", "replace", "update")}
    deps = {u: [d for d in r.get("dependencies") or [] if d in changing] for u, r in heads.items()}
    by_action: dict[str, list[str]] = {"create": [], "replace": [], "dbr": [], "delete": []}
    for c in changes:
        if c["type"] != NODE_GROUP:
            continue
        action = c["action"]
        if action == "replace" and ((heads.get(c["urn"]) or {}).get("inputs") or {}).get("nodeGroupName"):
            action = "dbr"
        if action in ("delete", "retain"):
            action = "delete"
        if action in by_action:
            by_action[action].append(c["urn"])
    return NodeGroupPeak(quota if quota is not None else DEFAULT_NODE_GROUP_QUOTA, existing,
                         sorted(by_action["create"]), sorted(by_action["replace"]), sorted(by_action["dbr"]),
                         sorted(by_action["delete"]), {u: deps[u] for u in by_action["replace"] if deps.get(u)})
