"""Select a layer's resources in a whole-platform render, by the component that owns them.

Renders hold every layer; a test about one layer must look at that layer's resources only
(e.g. the network's log group, not the cluster's), found through the parent chain rather than
by name patterns.
"""

from __future__ import annotations

from typing import Any

from tenancy.render import RenderResult


def owned_by(render: RenderResult, component_prefix: str, typ: str | None = None) -> list[dict[str, Any]]:
    """Resources with an ancestor whose type starts with ``component_prefix`` (e.g.
    ``"tenancy:network:"``), optionally of one type."""
    by_urn = render.by_urn()
    out = []
    for r in render.resources:
        if typ is not None and r["type"] != typ:
            continue
        cur = by_urn.get(r["parent"])
        while cur is not None:
            if cur["type"].startswith(component_prefix):
                out.append(r)
                break
            cur = by_urn.get(cur["parent"])
    return out
