"""A real AWS API on loopback: moto's server, started on a free port and stopped by its PID.

Use the ``moto_server`` fixture (tests/conftest.py) or :class:`MotoServer` directly. Each test
should create what it needs under unique names, or call :meth:`MotoServer.reset`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REGION = "eu-west-1"
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"  # moto's root identity: anything not issued by IAM
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MotoServer:
    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        """The server's command line (without host and port); subclasses may wrap moto."""
        exe = Path(sys.executable).with_name("moto_server")
        return [str(exe)] if exe.exists() else [sys.executable, "-m", "moto.server"]

    def start(self) -> MotoServer:
        cmd = self.command()
        env = dict(os.environ, AWS_DEFAULT_REGION=REGION, MOTO_ALLOW_NONEXISTENT_REGION="true",
                   # AWS managed policies exist (attaching a mistyped one fails, as in AWS)
                   MOTO_IAM_LOAD_MANAGED_POLICIES="true")
        self.proc = subprocess.Popen(
            [*cmd, "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=Path(__file__).resolve().parents[2],
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.proc.returncode}")
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1)
                return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("moto_server did not answer within 30 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def _post(self, path: str, body: bytes = b"") -> None:
        req = urllib.request.Request(
            f"{self.url}{path}", data=body, method="POST", headers={"Content-Type": "text/plain"}
        )
        # A reset reloads AWS's managed policies (MOTO_IAM_LOAD_MANAGED_POLICIES): on a loaded
        # machine that has taken over 10 s, so allow a minute.
        urllib.request.urlopen(req, timeout=60).read()

    def reset(self) -> None:
        """Forget every resource (and switch IAM enforcement off)."""
        self.set_enforcement(False)
        self._post("/moto-api/reset")

    def set_enforcement(self, on: bool) -> None:
        """Switch moto's IAM enforcement of identity policies on or off."""
        self._post("/moto-api/reset-auth", b"0" if on else b"inf")

    def client(self, service: str, **creds: Any):
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=creds.get("aws_access_key_id", ACCESS_KEY),
            aws_secret_access_key=creds.get("aws_secret_access_key", SECRET_KEY),
            aws_session_token=creds.get("aws_session_token"),
        )

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
