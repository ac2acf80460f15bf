"""The stock aws CLI (v1, from the `test` extra) against `kms-teach serve`, with the course's own commands.

The server runs as a subprocess (`kms-teach serve --port 0 --data TMP`) and every
command runs in bash after the very `export`/`unset` lines the server printed,
so the instructions a learner follows are what is tested. The aws CLI is a
test dependency: when it is missing this test fails; it does not skip.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

VENV_BIN = Path(sys.executable).parent

# The course's two commands, verbatim (README.md, "Use it from the aws CLI": the last two commands there).
ENCRYPT = ("aws kms encrypt --key-id alias/catrobot --plaintext fileb://battleplans.txt --output text "
           "--query CiphertextBlob | base64 --decode > not_battleplans.enc")
DECRYPT = ("aws kms decrypt --ciphertext-blob fileb://not_battleplans.enc --output text --query Plaintext "
           "| base64 --decode > decryptedplans.txt")

BATTLE_PLANS = "Attack the laser pointer at dawn.\nThen nap in the sunbeam.\n"


def _aws_executable() -> Path:
    for candidate in (VENV_BIN / "aws", shutil.which("aws")):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    pytest.fail("The aws CLI is not installed: it comes with the test extra (pip install -e '.[test]').")


class Shell:
    """Runs bash commands after the server's export lines, in a working directory."""

    def __init__(self, exports: list[str], cwd: Path, aws: Path):
        self.exports = exports
        self.cwd = cwd
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["PATH"] = f"{aws.parent}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
        # A learner's real AWS keys in the environment: the export lines must take them out of the way.
        env["AWS_ACCESS_KEY_ID"] = "AKIAREALACCOUNTKEY00"
        env["AWS_SECRET_ACCESS_KEY"] = "not-the-simulator-secret"
        env["HOME"] = str(cwd)  # no ~/.aws of the machine's user
        self.env = env

    def run(self, command: str, *, check: bool = True, before: str = "") -> subprocess.CompletedProcess:
        script = "set -o pipefail\n" + "\n".join(self.exports) + "\n" + before + command + "\n"
        out = subprocess.run(["bash", "-c", script], cwd=self.cwd, env=self.env, capture_output=True, text=True,
                             timeout=90)
        if check:
            assert out.returncode == 0, f"{command}\nstdout: {out.stdout}\nstderr: {out.stderr}"
        return out

    def json(self, command: str) -> dict:
        return json.loads(self.run(command).stdout)


@pytest.fixture(scope="module")
def shell(tmp_path_factory):
    with serve_subprocess(tmp_path_factory.mktemp("cloud"), tmp_path_factory.mktemp("work")) as started:
        yield started


@contextlib.contextmanager
def serve_subprocess(data: Path, work: Path):
    """``kms-teach serve --port 0 --data DATA`` as a subprocess, and a :class:`Shell` in ``work`` after its
    export lines; the server is stopped with SIGTERM (and must exit 0) when the block ends."""
    aws = _aws_executable()
    proc = subprocess.Popen([sys.executable, "-m", "kms_teach", "serve", "--port", "0", "--data", str(data)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(30, proc.kill)  # a server that never says it is ready cannot hang the suite
    watchdog.start()
    try:
        exports: list[str] = []
        lines: list[str] = []
        while True:  # the server prints a handful of lines, then "... to stop."
            line = proc.stdout.readline()
            if not line:
                raise AssertionError(f"kms-teach serve did not start: {lines} {proc.stderr.read()}")
            lines.append(line)
            if line.strip().startswith(("export ", "unset ")):
                exports.append(line.strip())
            if "to stop" in line:
                break
        watchdog.cancel()
        assert any(e.startswith("export AWS_ENDPOINT_URL=http://127.0.0.1:") for e in exports), lines
        yield Shell(exports, work, aws)
    finally:
        watchdog.cancel()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover - a stuck server must not hang the suite
            proc.kill()
            proc.communicate(timeout=10)
    assert proc.returncode == 0


def test_the_aws_cli_is_the_real_one(shell):
    out = shell.run("aws --version")
    assert re.match(r"aws-cli/1\.", out.stdout + out.stderr)


def test_course_commands_encrypt_and_decrypt_a_file(shell):
    key = shell.json("aws kms create-key --description 'catrobot battle plans'")["KeyMetadata"]
    assert key["KeyState"] == "Enabled" and key["KeyManager"] == "CUSTOMER"
    assert key["Arn"].startswith("arn:aws:kms:us-east-1:111122223333:key/")
    shell.run(f"aws kms create-alias --alias-name alias/catrobot --target-key-id {key['KeyId']}")
    (shell.cwd / "battleplans.txt").write_text(BATTLE_PLANS)

    shell.run(ENCRYPT)
    sealed = (shell.cwd / "not_battleplans.enc").read_bytes()
    assert len(sealed) > len(BATTLE_PLANS) and BATTLE_PLANS.encode() not in sealed

    shell.run(DECRYPT)
    assert (shell.cwd / "decryptedplans.txt").read_text() == BATTLE_PLANS

    keys = shell.json("aws kms list-keys")["Keys"]
    assert key["KeyId"] in {k["KeyId"] for k in keys}
    described = shell.json("aws kms describe-key --key-id alias/catrobot")["KeyMetadata"]
    assert described["KeyId"] == key["KeyId"] and described["Description"] == "catrobot battle plans"
    who = shell.json("aws sts get-caller-identity")
    assert who["Arn"] == "arn:aws:iam::111122223333:root"


def test_data_keys_rotation_policy_and_deletion(shell):
    key_id = shell.run("aws kms create-key --query KeyMetadata.KeyId --output text").stdout.strip()

    data_key = shell.json(f"aws kms generate-data-key --key-id {key_id} --key-spec AES_256")
    plaintext = base64.b64decode(data_key["Plaintext"])
    assert len(plaintext) == 32 and data_key["KeyId"].endswith(key_id)
    (shell.cwd / "data_key.enc").write_bytes(base64.b64decode(data_key["CiphertextBlob"]))
    again = shell.run("aws kms decrypt --ciphertext-blob fileb://data_key.enc --output text --query Plaintext")
    assert base64.b64decode(again.stdout.strip()) == plaintext

    shell.run(f"aws kms enable-key-rotation --key-id {key_id}")
    status = shell.json(f"aws kms get-key-rotation-status --key-id {key_id}")
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 365

    policy = json.loads(shell.run(f"aws kms get-key-policy --key-id {key_id} --policy-name default "
                                  f"--output text --query Policy").stdout)
    [statement] = policy["Statement"]
    assert statement["Sid"] == "Enable IAM User Permissions"
    assert statement["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}

    deletion = shell.json(f"aws kms schedule-key-deletion --key-id {key_id} --pending-window-in-days 7")
    assert deletion["KeyState"] == "PendingDeletion" and deletion["PendingWindowInDays"] == 7
    refused = shell.run(f"aws kms encrypt --key-id {key_id} --plaintext fileb://data_key.enc", check=False)
    assert refused.returncode != 0 and "KMSInvalidStateException" in refused.stderr
    assert "pending deletion" in refused.stderr


def test_bad_credentials_are_refused_in_aws_words(shell):
    wrong_secret = shell.run("aws kms list-keys", check=False,
                             before='export AWS_ACCESS_KEY_ID="$(aws configure get aws_access_key_id)" '
                                    'AWS_SECRET_ACCESS_KEY=wrong-secret-wrong-secret-wrong-secret12\n')
    assert wrong_secret.returncode != 0
    assert "(InvalidSignatureException)" in wrong_secret.stderr
    assert "The request signature we calculated does not match the signature you provided." in wrong_secret.stderr
    unknown = shell.run("aws kms list-keys", check=False,
                        before="export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE "
                               "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
    assert unknown.returncode != 0
    assert "(UnrecognizedClientException)" in unknown.stderr
    assert "The security token included in the request is invalid." in unknown.stderr
