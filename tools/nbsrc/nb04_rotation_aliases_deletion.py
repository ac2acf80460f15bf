"""Notebook 04: rotation and backing keys, aliases, key states and scheduled deletion.

Deterministic outputs: seeded cloud, frozen clock advanced explicitly; dates
printed in UTC.
"""

from ._cells import code, md

FILENAME = "04_rotation_aliases_deletion.ipynb"


def cells():
    return [
        md("""
            # 04 · Rotation, aliases, key states and deletion

            A KMS key lives for years. Over that time its key material is **rotated**, applications find it
            through **aliases**, it may be **disabled** and enabled again, and one day it may be **deleted**,
            which takes every piece of data encrypted under it with it. This notebook runs a key through all of
            that on a simulated clock, so years pass in a second.
        """),
        md("""
            ## Objectives

            By the end of this notebook you will be able to:

            - explain what rotation changes (the backing key) and what it keeps (key ID, ARN, policy, old backing keys);
            - show that data encrypted before a rotation still decrypts, and say which backing key it uses;
            - use an alias so that applications never hard-code a key ID, and repoint it;
            - show that aliases, like keys, belong to one Region;
            - move a key through its states, and schedule, cancel and complete its deletion (7 to 30 days).
        """),
        code("""
            from datetime import datetime, timezone

            import kms_teach
            from botocore.exceptions import ClientError

            START = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)
            cloud = kms_teach.Cloud(seed=404, clock=kms_teach.Clock(START, frozen=True))
            kms = cloud.client("kms", region_name="us-east-1")
            key = kms.create_key(Description="payroll")["KeyMetadata"]
            key_id = key["KeyId"]
            kms.create_alias(AliasName="alias/payroll", TargetKeyId=key_id)

            def when():
                return cloud.clock.now().strftime("%Y-%m-%d")

            def backing_keys():
                rotations = kms.list_key_rotations(KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
                return [r["KeyMaterialId"] for r in rotations]

            print(when(), "key created; backing keys:", len(backing_keys()))
        """),
        md("""
            ## 1. Automatic rotation

            ### Concept

            A KMS key is a logical container: an ID, an ARN, a policy, a state... and **backing keys**, the key
            material that does the cryptography. **Rotation adds a new backing key** and makes it the one used
            for new encryptions. It **keeps every old backing key**, because old ciphertexts name the backing key
            that made them. Rotation is off by default for customer managed keys; once enabled it happens every
            *rotation period* (90 to 2560 days, default 365). AWS managed keys rotate every year, always.
            In the console you turn it on in the key's *Key rotation* tab; here it is `EnableKeyRotation`.
        """),
        code("""
            kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=365)
            status = kms.get_key_rotation_status(KeyId=key_id)
            print("rotation enabled:", status["KeyRotationEnabled"], "every", status["RotationPeriodInDays"], "days")
            print("next rotation:   ", status["NextRotationDate"].astimezone(timezone.utc).strftime("%Y-%m-%d"))

            ciphertexts = {}
            for year in range(3):
                out = kms.encrypt(KeyId="alias/payroll", Plaintext=f"salaries of {2026 + year}".encode())
                ciphertexts[2026 + year] = out["CiphertextBlob"]
                cloud.clock.advance(days=365)
            print(when(), "three years later; backing keys:", len(backing_keys()))
            assert len(backing_keys()) == 4
        """),
        md("""
            Each year's ciphertext was made by the backing key that was current that year. All of them still
            decrypt, each with its own backing key, and the key's ID and ARN never changed:
        """),
        code("""
            materials = backing_keys()
            for year, blob in ciphertexts.items():
                out = kms.decrypt(CiphertextBlob=blob)
                print(year, out["Plaintext"].decode(), "-> backing key", materials.index(out["KeyMaterialId"]) + 1, "of", len(materials))
            print("same key ID after rotations:", kms.describe_key(KeyId="alias/payroll")["KeyMetadata"]["KeyId"] == key_id)
        """),
        md("""
            The **rotation timeline** draws the backing keys over simulated time, with sample ciphertexts pinned
            to the backing key that made them. With a kernel, encrypt a sample, advance the clock by a rotation
            period, and watch a new backing key appear while old samples keep decrypting.
        """),
        code("""
            from kms_teach.widgets import KeyStateMachine, RotationTimeline

            timeline = RotationTimeline(cloud, key_id)
            timeline
        """, tags=["nbval-ignore-output"]),
        md("""
            What rotation does **not** do: it does not re-encrypt old data (old ciphertexts keep using their old
            backing key), and it does not protect data if the *KMS key itself* is compromised or its policy is
            too open. You can also rotate at once with `RotateKeyOnDemand` (up to 25 times per key).

            ## 2. Aliases

            ### Concept

            An **alias** is a friendly name (`alias/payroll`) that points at one key. Applications use the alias;
            to move them to another key you repoint the alias, and no code changes. Aliases are unique per account
            and **per Region**, like keys. Names starting with `alias/aws/` are reserved for AWS managed keys.
        """),
        code("""
            new_key = kms.create_key(Description="payroll 2029")["KeyMetadata"]["KeyId"]
            kms.update_alias(AliasName="alias/payroll", TargetKeyId=new_key)
            print("alias/payroll now points at the new key:", kms.describe_key(KeyId="alias/payroll")["KeyMetadata"]["KeyId"] == new_key)
            print("old ciphertexts still decrypt (they name the old key):", kms.decrypt(CiphertextBlob=ciphertexts[2026])["Plaintext"])

            eu = cloud.client("kms", region_name="eu-west-1")
            try:
                eu.describe_key(KeyId="alias/payroll")
            except ClientError as err:
                print("alias/payroll in eu-west-1:", err.response["Error"]["Code"])
            try:
                kms.create_alias(AliasName="alias/aws/payroll", TargetKeyId=new_key)
            except ClientError as err:
                print("creating alias/aws/payroll:", err.response["Error"]["Code"])
        """),
        md("""
            ## 3. Key states

            ### Concept

            A key is `Enabled`, `Disabled` or `PendingDeletion` (plus a few special states for imported key
            material and multi-Region keys). A **disabled** key refuses every cryptographic operation with
            `DisabledException`, but keeps its backing keys: enable it and everything works again. Disabling is
            the safe way to find out who still depends on a key before deleting it.
        """),
        code("""
            old = key_id
            kms.disable_key(KeyId=old)
            print("state:", kms.describe_key(KeyId=old)["KeyMetadata"]["KeyState"])
            try:
                kms.decrypt(CiphertextBlob=ciphertexts[2027])
            except ClientError as err:
                print("decrypt with a disabled key:", err.response["Error"]["Code"])
            kms.enable_key(KeyId=old)
            print("state:", kms.describe_key(KeyId=old)["KeyMetadata"]["KeyState"], "-> decrypts again:",
                  kms.decrypt(CiphertextBlob=ciphertexts[2027])["Plaintext"])
        """),
        md("""
            ## 4. Deleting a key

            ### Concept

            Deleting a KMS key is **destructive and irreversible**: its backing keys are destroyed, and every
            ciphertext (and every data key) made under it becomes undecryptable forever. So KMS never deletes at
            once: you **schedule** deletion with a waiting period of **7 to 30 days** (default 30). During the
            wait the key is `PendingDeletion` and unusable; you can **cancel**, which leaves the key `Disabled`.
            When the period ends, KMS deletes the key. In the console: select the key, *Key actions >
            Schedule key deletion*, enter the waiting period and tick the confirmation box; here it is
            `ScheduleKeyDeletion`.
        """),
        code("""
            try:
                kms.schedule_key_deletion(KeyId=old, PendingWindowInDays=3)
            except ClientError as err:
                print("a 3-day window:", err.response["Error"]["Code"])

            out = kms.schedule_key_deletion(KeyId=old, PendingWindowInDays=7)
            print(when(), "scheduled:", out["KeyState"], "deletion on", out["DeletionDate"].astimezone(timezone.utc).strftime("%Y-%m-%d"))
            kms.cancel_key_deletion(KeyId=old)
            print(when(), "cancelled: state is now", kms.describe_key(KeyId=old)["KeyMetadata"]["KeyState"])

            kms.schedule_key_deletion(KeyId=old, PendingWindowInDays=7)
            cloud.clock.advance(days=7)
            try:
                kms.describe_key(KeyId=old)
            except ClientError as err:
                print(when(), "after the window:", err.response["Error"]["Code"])
            try:
                kms.decrypt(CiphertextBlob=ciphertexts[2026])
            except ClientError as err:
                print("the 2026 salaries:", err.response["Error"]["Code"], "- the data is gone for good")
            else:
                raise AssertionError("a deleted key must not decrypt")
        """),
        md("""
            Try the whole life cycle yourself on a fresh key with the **key state machine**: its buttons make the
            real calls, and a transition KMS refuses shows AWS's error.
        """),
        code("""
            machine = KeyStateMachine(cloud, kms.create_key(Description="try me")["KeyMetadata"]["KeyId"])
            machine
        """, tags=["nbval-ignore-output"]),
        md("""
            ## What you saw

            - Rotation adds a backing key and keeps all the old ones; old ciphertexts decrypt with the backing
              key that made them, and the key ID, ARN and policy stay the same.
            - Aliases give keys stable names, can be repointed, and exist per Region; `alias/aws/` is reserved.
            - A disabled key refuses to work but keeps its key material; enabling it restores everything.
            - Deletion waits 7 to 30 days (cancel leaves the key disabled); after that, its data is unrecoverable.

            ## Self-check

            1. After five yearly rotations, how many backing keys does a key have, and which one decrypts a
               ciphertext from the first year?
            2. You repoint `alias/app` to a new key. What happens to data encrypted through the alias before?
            3. Why does KMS make you wait at least 7 days before deleting a key?

            <details><summary>Answers</summary>

            1. Six: the original and five new ones. The original backing key decrypts the first year's
               ciphertext (its header names it).
            2. Nothing changes for it: those ciphertexts name the old key, which still decrypts them.
            3. Because deletion destroys every ciphertext made under the key; the wait (during which the key
               is unusable) lets you discover who still needs it and cancel.

            </details>

            ## Next

            The next notebook covers **asymmetric and HMAC keys, multi-Region keys and imported key material**.
            Its exercise, `exercises/ex04_rotation.ipynb`, asks you to rotate a key and show which backing key each ciphertext
            needs.
        """),
    ]
