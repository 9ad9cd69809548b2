"""Review: what a render means for isolation and operation, and what a change does to it. Pure; reads
render folders (``resources.json``, ``manifests/``), never a cloud.

- :mod:`.facts` — the isolation model of a render (who reaches whom, per layer; the fences);
- :mod:`.reachability` — security-group reachability (AWS's rules, both sides of each wall);
- :mod:`.operability`, :mod:`.operability_cluster`, :mod:`.operability_pools` — the flows the
  platform itself needs, and whether the walls let them through;
- :mod:`.check` — the guardrails (``tenancy check``); :mod:`.policy_pack` — the same rules as a
  CrossGuard policy pack;
- :mod:`.diff` — what a change does (``tenancy diff``).
"""
