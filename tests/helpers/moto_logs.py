"""moto's server, taught the resource each CloudWatch Logs action is authorised against.

moto's IAM enforcement evaluates identity policies for every service, but it hands
CloudWatch Logs requests to the evaluator with ``Resource: "*"`` (``moto/core/responses.py``,
``call_action``: a service without ``_determine_resource`` is judged on ``*``). A policy scoped to
one log group would then deny everything and a ``"Resource": "*"`` policy allow everything: the
judge could not tell a tenant's group from another's.

:func:`resource` gives each request the ARN AWS authorises it against, from the Service
Authorization Reference ("Actions, resources, and condition keys for Amazon CloudWatch Logs"):
``log-group`` (``arn:<partition>:logs:<region>:<account>:log-group:<name>``) for CreateLogStream,
DescribeLogStreams, FilterLogEvents, StartQuery, GetLogGroupFields; ``log-stream``
(``…:log-group:<name>:log-stream:<stream>``) for PutLogEvents and GetLogEvents; ``*`` for actions
without resource-level permissions (GetQueryResults, StopQuery, DescribeLogGroups, …). A StartQuery
over several groups is authorised against each (here: every group but the last is checked
first, then the last by moto as usual).

Run: ``python -m tests.helpers.moto_logs -H 127.0.0.1 -p PORT`` (:class:`MotoLogsServer`).
"""

from __future__ import annotations

import sys
from typing import Any

from tests.helpers.moto_server import MotoServer

GROUP_ACTIONS = frozenset({"CreateLogStream", "DescribeLogStreams", "FilterLogEvents", "StartQuery",
                           "GetLogGroupFields", "PutRetentionPolicy", "DeleteLogGroup", "DeleteLogStream",
                           "AssociateKmsKey", "DisassociateKmsKey", "TagLogGroup", "ListTagsLogGroup"})
STREAM_ACTIONS = frozenset({"PutLogEvents", "GetLogEvents"})


def resource(action: str, params: dict[str, Any], partition: str, region: str, account: str) -> list[str]:
    """The ARNs AWS authorises ``action`` against (``["*"]`` for no resource-level permissions)."""
    base = f"arn:{partition}:logs:{region}:{account}:log-group:"
    if action in GROUP_ACTIONS:
        names = params.get("logGroupNames") or [params.get("logGroupName") or params.get("logGroupIdentifier")]
        return [base + str(n) for n in names]
    if action in STREAM_ACTIONS:
        group = params.get("logGroupName") or params.get("logGroupIdentifier")
        return [f"{base}{group}:log-stream:{params.get('logStreamName')}"]
    return ["*"]


def _patch() -> None:
    import json

    from moto.logs.responses import LogsResponse

    def _determine_resource(self: Any) -> str:
        try:
            params = json.loads(self.body or "{}")
        except ValueError:
            params = {}
        arns = resource(self._get_action(), params, self.partition, self.region, self.current_account)
        for arn in arns[:-1]:  # StartQuery over several groups: each must be allowed
            self._authenticate_and_authorize_normal_action(arn)
        return arns[-1]

    LogsResponse._determine_resource = _determine_resource  # type: ignore[attr-defined]


class MotoLogsServer(MotoServer):
    """:class:`MotoServer` whose CloudWatch Logs requests are authorised per log group/stream."""

    def command(self) -> list[str]:
        return [sys.executable, "-m", "tests.helpers.moto_logs"]


if __name__ == "__main__":
    _patch()
    from moto.server import main

    main()
