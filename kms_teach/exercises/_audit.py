"""A cloud with a known history of KMS calls, for the checks of exercise 07 (the audit trail).

The seed decides everything: the people's names, who calls what and when. The self-checks use fixed
seeds; the hidden checks a random one, so no answer can know the history in advance."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from . import fresh


_FIRST_NAMES = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
                "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yasmin")


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
    # Five people with names of this scenario's own (the roles below are fixed: two readers of A, ...).
    names = [f"{first}-{rng.randrange(16**3):03x}" for first in rng.sample(_FIRST_NAMES, 5)]
    arns = {n: f"arn:aws:iam::{acct}:user/{n}" for n in names}
    for n in names:
        iam.create_user(UserName=n)
    key_a = kms.create_key(Description="A")["KeyMetadata"]["Arn"]
    key_b = kms.create_key(Description="B")["KeyMetadata"]["Arn"]
    # The first two may use A (the second only decrypt); the third may use B; the fourth only encrypt with
    # A; the fifth nothing.
    first, second, third, fourth, fifth = names
    for who, key, ops in ((first, key_a, ["Decrypt", "Encrypt"]), (second, key_a, ["Decrypt"]),
                          (third, key_b, ["Decrypt", "Encrypt"]), (fourth, key_a, ["Encrypt"])):
        kms.create_grant(KeyId=key, GranteePrincipal=arns[who], Operations=ops)
    blob_a = kms.encrypt(KeyId=key_a, Plaintext=b"a")["CiphertextBlob"]
    blob_b = kms.encrypt(KeyId=key_b, Plaintext=b"b")["CiphertextBlob"]
    clients = {n: cloud.client("kms", region_name="us-east-1", principal=arns[n]) for n in names}
    s = AuditScenario(cloud.client("cloudtrail", region_name="us-east-1"), key_a, key_b)
    decrypts: list[tuple[dt.datetime, str]] = []
    a, b = (key_a, blob_a), (key_b, blob_b)
    # Whatever the seed, the history holds what every task asks about: decryptions with both keys early,
    # in the middle and late, and refusals of Decrypt and of Encrypt on several days.
    planned = {0: [(fifth, a, "Decrypt"), (first, a, "Decrypt"), (third, b, "Decrypt")],
               days // 2: [(fourth, a, "Decrypt"), (second, a, "Decrypt")],
               days - 2: [(first, a, "Decrypt"), (fifth, b, "Encrypt")]}
    for day in range(days):
        calls = planned.get(day, []) + [(rng.choice(names), rng.choice([a, b]),
                                         rng.choice(["Decrypt", "Decrypt", "Encrypt", "DescribeKey"]))
                                        for _ in range(rng.randint(1, 3))]
        for who, (key, blob), action in calls:
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
        clients[third].decrypt(CiphertextBlob=blob_b)
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
