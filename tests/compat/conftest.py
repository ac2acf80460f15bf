"""The compatibility suite: real clients that nobody here wrote, unchanged, against the local cloud.

Each client runs two ways where it can: in-process (its clients made from
``cloud.session()`` / ``cloud.botocore_session()``) and over the HTTP endpoint
(``cloud.serve()``: signed requests, the wire as AWS speaks it). The fixtures here
give both, and a bash shell for the aws CLI with the endpoint's environment.

Sizes: uploads below S3's multipart threshold (8 MiB for the aws CLI and boto3's
transfer manager) are single PutObject calls. ``SINGLE_PUT_SIZES`` lists the
sizes every transfer test runs; the multipart sizes join them in
``MULTIPART_SIZES`` (S3 multipart upload, issue 15 item 1): small enough for CI,
each over the threshold by a different last part.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import kms_teach
from tests.test_aws_cli import _aws_executable

#: S3's default multipart threshold and part size in the aws CLI and boto3 (TransferConfig).
MULTIPART_THRESHOLD = 8 * 1024 * 1024
#: Sizes sent as one PutObject: empty, one byte, odd sizes, the largest below the threshold.
SINGLE_PUT_SIZES = (0, 1, 65_537, 1024 * 1024 + 3, MULTIPART_THRESHOLD - 1)
#: Sizes over the threshold (multipart uploads): a last part of a few bytes, and one of several MiB.
MULTIPART_SIZES: tuple[int, ...] = (MULTIPART_THRESHOLD + 1, 20 * 1024 * 1024 + 3, 33 * 1024 * 1024 + 4097)


def payload(size: int, seed: int = 0) -> bytes:
    """``size`` bytes that differ at every offset (a shifted or truncated copy never compares equal)."""
    block = bytes((i * 131 + seed * 17 + (i >> 8)) & 0xFF for i in range(4099))
    return (block * (size // len(block) + 1))[:size]


@pytest.fixture
def live_cloud():
    """A cloud on the wall clock (the endpoint dates signatures with it), unseeded like a learner's."""
    cloud = kms_teach.Cloud()
    yield cloud
    cloud.close()


@pytest.fixture
def endpoint(live_cloud):
    handle = live_cloud.serve()
    yield handle
    handle.stop()


@pytest.fixture
def endpoint_env(endpoint, monkeypatch, tmp_path):
    """The process environment of a learner who pasted the endpoint's export lines (and has no ~/.aws)."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    for name, value in endpoint.env.items():
        monkeypatch.setenv(name, value)
    return endpoint


class AwsCli:
    """Runs ``aws ...`` commands in bash with the endpoint's environment, from a working directory."""

    def __init__(self, endpoint, cwd: Path):
        aws = _aws_executable()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(endpoint.env)
        env["PATH"] = f"{aws.parent}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
        env["HOME"] = str(cwd)  # no ~/.aws of the machine's user
        self.env = env
        self.cwd = cwd

    def run(self, command: str, *, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        out = subprocess.run(["bash", "-c", "set -o pipefail\n" + command], cwd=self.cwd, env=self.env,
                             capture_output=True, text=True, timeout=timeout)
        if check:
            assert out.returncode == 0, f"{command}\nstdout: {out.stdout}\nstderr: {out.stderr}"
        return out


@pytest.fixture
def aws_cli(endpoint, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    return AwsCli(endpoint, work)
