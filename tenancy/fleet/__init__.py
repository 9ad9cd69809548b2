"""Cells: a fleet of platforms, planned, rendered and deployed in parallel.

* :mod:`tenancy.fleet.spec` — the fleet file (cells, defaults, tenants, account quotas, rollout);
* :mod:`tenancy.fleet.placement` — the pure, stable placement planner (tenant → cell and slot);
* :mod:`tenancy.plan.capacity` — what one cell takes from its account's quotas;
* :mod:`tenancy.fleet.stacks` — reading and writing the cells' stack files, the placement report;
* :mod:`tenancy.fleet.render` — every cell rendered offline, in parallel processes;
* :mod:`tenancy.fleet.deploy` — ``preview``/``up`` through Pulumi's Automation API;
* :mod:`tenancy.cli.fleet` — ``tenancy fleet plan|render|preview|up``.
"""
