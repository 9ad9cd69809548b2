"""Fleet files for tests."""

from __future__ import annotations

import copy
from typing import Any


def fleet_doc(tenants: list[dict[str, Any]] | None = None, *, cells: list[dict[str, Any]] | None = None,
              **extra: Any) -> dict[str, Any]:
    """A valid fleet: three cells in two accounts, small node-group quotas so capacity matters. One
    NAT gateway per cell: two cells with one per zone would take 6 Elastic IPs in eu-west-1, over
    the default quota of 5 (tests/fleet/test_region_quotas.py)."""
    doc: dict[str, Any] = {
        "name": "acme",
        "defaults": {"kubernetesVersion": "1.33", "availabilityZones": 3, "region": "eu-west-1",
                     "network": {"natGateways": "single"}},
        "cells": copy.deepcopy(cells if cells is not None else [
            {"name": "eu-1", "account": "111122223333", "vpcCidr": "10.80.0.0/16", "nodeGroupQuota": 6},
            {"name": "eu-2", "account": "111122223333", "vpcCidr": "10.81.0.0/16", "nodeGroupQuota": 6},
            {"name": "us-1", "region": "us-east-1", "account": "444455556666", "vpcCidr": "10.82.0.0/16",
             "nodeGroupQuota": 6},
        ]),
        "tenants": copy.deepcopy(tenants or []),
    }
    doc.update(copy.deepcopy(extra))
    return {"fleet": doc}


def tenants(n: int, prefix: str = "t", **body: Any) -> list[dict[str, Any]]:
    return [{"name": f"{prefix}{i}", **copy.deepcopy(body)} for i in range(n)]
