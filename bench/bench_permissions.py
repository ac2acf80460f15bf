"""Benchmark: what permission evaluation costs on every KMS call.

    .venv/bin/python bench/bench_permissions.py            # full run (about 10 s)
    .venv/bin/python bench/bench_permissions.py --quick
    .venv/bin/python bench/bench_permissions.py --json bench/results/permissions.json

Two systems encrypt 4 KiB in interleaved rounds:

root, default policy
    the account's root user on a key with the default key policy (one statement).
IAM user, 10 + 10 statements
    an IAM user whose access comes through a 10-statement key policy (the account
    trust, eight conditional statements for other users, a Deny) plus a
    10-statement identity policy (nine statements for other actions, one that
    allows Encrypt and Decrypt on the account's keys).

Target: the IAM user's Encrypt costs at most 1.15x the root's.

The permissions engine remembers an allowed decision that no Condition can
change, until the key policy or anything in IAM changes. A third system, the
same IAM user on a cloud whose engine remembers nothing, shows what a full
evaluation of the 20 statements costs on every call.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ensure_repo_on_path, environment, interleaved, load_average, Ratio, table, us, write_results  # noqa: E402

ensure_repo_on_path()

import kms_teach  # noqa: E402

ACCT = "111122223333"
PLAINTEXT = os.urandom(4096)
ROOT, USER = "root, default policy", "IAM user, 10 + 10 statements"
FRESH = "IAM user, every call evaluated afresh"
MODES = {"full": dict(rounds=31, batch_s=0.05, warmup=50), "quick": dict(rounds=5, batch_s=0.01, warmup=5)}
TARGET = 1.15


def setup(remember: bool = True):
    cloud = kms_teach.Cloud()
    cloud.permissions.remember = remember
    iam = cloud.client("iam")
    iam.create_user(UserName="app")
    for i in range(8):
        iam.create_user(UserName=f"u{i}")
    statements = [{"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                   "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "kms:*", "Resource": "*"}]
    statements += [{"Sid": f"team{i}", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/u{i}"},
                    "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*",
                    "Condition": {"StringEquals": {"kms:EncryptionContext:team": f"t{i}"}}} for i in range(8)]
    statements += [{"Sid": "NoInsecureDeletion", "Effect": "Deny", "Principal": "*", "Action": "kms:ScheduleKeyDeletion",
                    "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]
    assert len(statements) == 10
    kms = cloud.client("kms")
    key = kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))["KeyMetadata"]["KeyId"]
    identity = [{"Sid": f"other{i}", "Effect": "Allow", "Action": [f"kms:Get{i}*", "kms:DescribeKey"], "Resource": "*"}
                for i in range(9)]
    identity += [{"Sid": "UseKeys", "Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"],
                  "Resource": f"arn:aws:kms:*:{ACCT}:key/*"}]
    assert len(identity) == 10
    iam.put_user_policy(UserName="app", PolicyName="use-keys",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": identity}))
    root_key = kms.create_key()["KeyMetadata"]["KeyId"]
    user = cloud.client("kms", principal=f"arn:aws:iam::{ACCT}:user/app")
    # The user really is allowed through the account trust plus the identity policy, and nothing else.
    decision = cloud.explain(f"arn:aws:iam::{ACCT}:user/app", "kms:Encrypt", key)
    assert decision.allowed and "identity policy allows" in decision.summary, decision.explain()
    assert len([r for r in decision.reasons if r.source == "key policy"]) == 10
    user.encrypt(KeyId=key, Plaintext=PLAINTEXT)
    return (lambda: kms.encrypt(KeyId=root_key, Plaintext=PLAINTEXT)), (lambda: user.encrypt(KeyId=key, Plaintext=PLAINTEXT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    cfg = MODES[mode]
    started = time.perf_counter()
    env = environment("boto3", "botocore", "kms-teach")
    print(f"kms_teach permissions benchmark ({mode} mode); Python {env['python']}, nproc={env['nproc']}", flush=True)
    root_call, user_call = setup()
    _, fresh_call = setup(remember=False)
    samples = interleaved({ROOT: root_call, USER: user_call, FRESH: fresh_call}, rounds=cfg["rounds"],
                          target_batch_s=cfg["batch_s"], warmup=cfg["warmup"])
    ratio = Ratio.of(samples[USER], samples[ROOT])
    fresh = Ratio.of(samples[FRESH], samples[ROOT])
    print(table(["system", "Encrypt 4 KiB us"], [[n, us(s.median)] for n, s in samples.items()]))
    ok = ratio.value <= TARGET
    print(f"\nIAM user / root time per call: {ratio}  (target <= {TARGET}x: {'PASS' if ok else 'MISS'})")
    print(f"IAM user evaluated afresh every call / root: {fresh}  ({'within' if fresh.value <= TARGET else 'above'} "
          f"{TARGET}x)")
    env["loadavg_at_end"] = load_average()
    wall = time.perf_counter() - started
    print(f"Load average at end: {env['loadavg_at_end']}. Wall time {wall:.0f} s.")
    write_results(args.json, {"benchmark": "bench/bench_permissions.py", "mode": mode, "environment": env,
                              "systems": {n: s.summary() for n, s in samples.items()},
                              "user_vs_root": ratio.to_dict(), "fresh_user_vs_root": fresh.to_dict(),
                              "target": TARGET, "pass": ok, "wall_s": round(wall, 1)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
