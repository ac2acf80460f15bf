"""A cloud with a known history of KMS calls, for the checks of exercise 06."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from . import fresh


@dataclass
class AuditScenario:
    cloudtrail: object
    key_a: str
    key_b: str
    decrypted_a: set = field(default_factory=set)
    decrypted_b: set = field(default_factory=set)
    refused: list = field(default_factory=list)
    windows: dict = field(default_factory=dict)


def audit_scenario(seed: int = 60, days: int = 40) -> AuditScenario:
    """Users who decrypt, are refused, encrypt and read, over ``days`` simulated days (60+ events)."""
    rng = random.Random(seed)
    cloud, kms = fresh(seed=seed)
    iam = cloud.client("iam")
    acct = cloud.account_id
    names = ["alice", "bob", "carol", "dave", "erin"]
    arns = {n: f"arn:aws:iam::{acct}:user/{n}" for n in names}
    for n in names:
        iam.create_user(UserName=n)
    key_a = kms.create_key(Description="A")["KeyMetadata"]["Arn"]
    key_b = kms.create_key(Description="B")["KeyMetadata"]["Arn"]
    # alice and bob may use A; carol may use B; dave only encrypt A; erin nothing.
    for who, key, ops in (("alice", key_a, ["Decrypt", "Encrypt"]), ("bob", key_a, ["Decrypt"]),
                          ("carol", key_b, ["Decrypt", "Encrypt"]), ("dave", key_a, ["Encrypt"])):
        kms.create_grant(KeyId=key, GranteePrincipal=arns[who], Operations=ops)
    blob_a = kms.encrypt(KeyId=key_a, Plaintext=b"a")["CiphertextBlob"]
    blob_b = kms.encrypt(KeyId=key_b, Plaintext=b"b")["CiphertextBlob"]
    clients = {n: cloud.client("kms", region_name="us-east-1", principal=arns[n]) for n in names}
    s = AuditScenario(cloud.client("cloudtrail", region_name="us-east-1"), key_a, key_b)
    decrypts: list[tuple[dt.datetime, str]] = []
    for _ in range(days):
        for _ in range(rng.randint(1, 3)):
            who = rng.choice(names)
            key, blob = rng.choice([(key_a, blob_a), (key_b, blob_b)])
            action = rng.choice(["Decrypt", "Decrypt", "Encrypt", "DescribeKey"])
            try:
                if action == "Decrypt":
                    clients[who].decrypt(CiphertextBlob=blob)
                    (s.decrypted_a if key == key_a else s.decrypted_b).add(arns[who])
                    decrypts.append((cloud.clock.now(), arns[who]))
                elif action == "Encrypt":
                    clients[who].encrypt(KeyId=key, Plaintext=b"x")
                else:
                    clients[who].describe_key(KeyId=key)
            except Exception as exc:
                code = exc.response["Error"]["Code"]
                if code == "AccessDeniedException":
                    s.refused.append((arns[who], action))
            cloud.clock.advance(hours=rng.randint(1, 5))
        cloud.clock.advance(days=1)
    # One refusal that is not about permissions: a disabled key.
    kms.disable_key(KeyId=key_b)
    try:
        clients["carol"].decrypt(CiphertextBlob=blob_b)
    except Exception:
        pass
    # Routine reads by an auditor, more than a page of them: the newest page holds nothing else.
    for _ in range(60):
        kms.describe_key(KeyId=key_a)
    start = min(t for t, _ in decrypts) if decrypts else cloud.clock.now()
    for lo, hi in ((0, 10), (5, 25), (20, days + 1)):
        a, b = start + dt.timedelta(days=lo), start + dt.timedelta(days=hi)
        counts: dict[str, int] = {}
        for t, who in decrypts:
            if a <= t <= b:
                counts[who] = counts.get(who, 0) + 1
        s.windows[(a, b)] = counts
    return s
