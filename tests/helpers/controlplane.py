"""The live tests' control plane: moved to testenv/controlplane.py so that ``make demo``
(tools/demo.py) starts the same one without importing from tests/. Re-exported here."""

from testenv.controlplane import (  # noqa: F401 - re-exported
    _DISCOVERY,
    KCM_CONTROLLERS,
    START_TIMEOUT,
    ApiError,
    ControlPlane,
    Kube,
    free_port,
    kubeconfig,
    wait_for,
)
