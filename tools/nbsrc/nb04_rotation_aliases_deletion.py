"""Notebook 04: rotation and backing keys, aliases, key states and scheduled deletion.

Deterministic outputs: seeded cloud, frozen clock advanced explicitly; dates
printed in UTC.
"""

from ._cells import code, md
from ._course import next_cell_text

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
            - move old ciphertexts to the current backing key (or another key) with `ReEncrypt`;
            - use an alias so that applications never hard-code a key ID, and repoint it;
            - show that aliases, like keys, belong to one Region;
            - say which operations work in which key state, and move a key through its states;
            - schedule, cancel and complete a key's deletion (7 to 30 days), in code and in the console.
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
            (AWS KMS Developer Guide, "Rotate AWS KMS keys".)

            In the console you turn it on in the key's **Key rotation** tab; its *Save* button calls
            `EnableKeyRotation`, and *Rotate now* calls `RotateKeyOnDemand`:

            ![A sketch of the Key rotation tab: automatic key rotation with a rotation period, on-demand
            rotation, and the rotation history, with the API call of each](figures/console-key-rotation.svg)
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
            to the backing key that made them. Encrypt a sample, advance the clock by a rotation period, and
            watch a new backing key appear while old samples keep decrypting. Try a rotation period of 30 days,
            too: AWS's answer appears.
        """),
        code("""
            from kms_teach.widgets import KeyStateMachine, RotationTimeline

            timeline = RotationTimeline(cloud, key_id)
            timeline
        """, tags=["nbval-ignore-output"]),
        md("""
            What rotation does **not** do: it does not re-encrypt old data (old ciphertexts keep using their old
            backing key), and it does not protect data if the *KMS key itself* is compromised or its policy is
            too open. You can also rotate at once with `RotateKeyOnDemand` (up to 25 times per key, AWS KMS
            Developer Guide, "Perform on-demand key rotation").

            To move an old ciphertext to the current backing key, or to another KMS key altogether, use
            **`ReEncrypt`**: KMS decrypts it and encrypts it again *inside KMS*, so the plaintext never comes
            back to you. It needs `kms:ReEncryptFrom` on the source key and `kms:ReEncryptTo` on the
            destination key.
        """),
        code("""
            moved = kms.re_encrypt(CiphertextBlob=ciphertexts[2026], DestinationKeyId=key_id)
            print("the 2026 ciphertext was under backing key", materials.index(moved["SourceKeyMaterialId"]) + 1,
                  "and is now under", materials.index(moved["DestinationKeyMaterialId"]) + 1, "of", len(materials))
            print("still the same secret:", kms.decrypt(CiphertextBlob=moved["CiphertextBlob"])["Plaintext"])
            assert moved["DestinationKeyMaterialId"] == materials[-1]
            ciphertexts[2026] = moved["CiphertextBlob"]
        """),
        md("""

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

            A key is `Enabled`, `Disabled` or `PendingDeletion`; a key with imported key material can also be
            `PendingImport` (notebook 06), and multi-Region keys have a few states of their own. A **disabled**
            key refuses every cryptographic operation with `DisabledException`, but keeps its backing keys:
            enable it and everything works again. Disabling is the safe way to find out who still depends on a
            key before deleting it.

            The payroll key stays in use (the timeline above shows it). For the rest of this notebook we take a
            key that is no longer needed: last year's archive key.
        """),
        code("""
            archive = kms.create_key(Description="2025 archive")["KeyMetadata"]["KeyId"]
            archived = kms.encrypt(KeyId=archive, Plaintext=b"the 2025 accounts")["CiphertextBlob"]

            kms.disable_key(KeyId=archive)
            print("state:", kms.describe_key(KeyId=archive)["KeyMetadata"]["KeyState"])
            try:
                kms.decrypt(CiphertextBlob=archived)
            except ClientError as err:
                print("decrypt with a disabled key:", err.response["Error"]["Code"])
            kms.enable_key(KeyId=archive)
            print("state:", kms.describe_key(KeyId=archive)["KeyMetadata"]["KeyState"], "-> decrypts again:",
                  kms.decrypt(CiphertextBlob=archived)["Plaintext"])
        """),
        md("""
            Which operations work in which state? AWS documents it as the **key state table** (AWS KMS Developer
            Guide, "Key states of AWS KMS keys"). Rather than copy it, ask KMS: `key_state_table()` puts a fresh
            key into each state, in a private cloud of its own, and tries each operation on it:
        """),
        code("""
            from kms_teach.widgets import key_state_table

            key_state_table()
        """),
        md("""
            Read a row or two: a disabled key still answers `DescribeKey` and can be enabled, scheduled for
            deletion or given a new policy, but nothing cryptographic; a key pending deletion can only be
            described, have its policy changed, or have its deletion cancelled.

            ## 4. Deleting a key

            ### Concept

            Deleting a KMS key is **destructive and irreversible**: its backing keys are destroyed, and every
            ciphertext (and every data key) made under it becomes undecryptable forever. So KMS never deletes at
            once: you **schedule** deletion with a waiting period of **7 to 30 days** (default 30). During the
            wait the key is `PendingDeletion` and unusable; you can **cancel**, which leaves the key `Disabled`.
            When the period ends, KMS deletes the key. (AWS KMS Developer Guide, "Schedule key deletion".)

            In the console: select the key, *Key actions > Schedule key deletion*, enter the waiting period,
            tick the confirmation box and press *Schedule deletion*; that button calls `ScheduleKeyDeletion`:

            ![A sketch of the console: Key actions, then the Schedule key deletion dialog with the waiting
            period and the confirmation, which calls ScheduleKeyDeletion](figures/console-schedule-deletion.svg)
        """),
        code("""
            try:
                kms.schedule_key_deletion(KeyId=archive, PendingWindowInDays=3)
            except ClientError as err:
                print("a 3-day window:", err.response["Error"]["Code"])
                print("   ", err.response["Error"]["Message"].replace(": Member", ":\\n    Member"))

            out = kms.schedule_key_deletion(KeyId=archive, PendingWindowInDays=7)
            print(when(), "scheduled:", out["KeyState"], "deletion on", out["DeletionDate"].astimezone(timezone.utc).strftime("%Y-%m-%d"))
            kms.cancel_key_deletion(KeyId=archive)
            print(when(), "cancelled: state is now", kms.describe_key(KeyId=archive)["KeyMetadata"]["KeyState"])

            kms.schedule_key_deletion(KeyId=archive, PendingWindowInDays=7)
            cloud.clock.advance(days=7)
            try:
                kms.describe_key(KeyId=archive)
            except ClientError as err:
                print(when(), "after the window, DescribeKey:", err.response["Error"]["Code"])
            try:
                kms.decrypt(CiphertextBlob=archived)
            except ClientError as err:
                print("the 2025 accounts:", err.response["Error"]["Code"])
                print("   ", err.response["Error"]["Message"])
            else:
                raise AssertionError("a deleted key must not decrypt")
        """),
        md("""
            Why `AccessDeniedException`, and not "no such key"? A ciphertext names its key, and `Decrypt` must
            first find that key to check your permission. When the key does not exist, KMS gives the same answer
            as when it exists but you may not use it, and says so in the message ("does not exist ... or you are
            not allowed to access"). A different answer would let anyone with a ciphertext learn whether a key
            exists in someone else's account. Either way the data is gone for good.

            The payroll key of section 1, untouched by all this, is still in use:
        """),
        code("""
            print("the payroll key:", kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"])
            print("the 2027 salaries still decrypt:", kms.decrypt(CiphertextBlob=ciphertexts[2027])["Plaintext"])
        """),
        md("""
            Try the whole life cycle yourself on a fresh key with the **key state machine**. It draws only the
            states a key like this one can be in (generated key material, one Region); its buttons make the real
            calls, and a transition KMS refuses shows AWS's error. Schedule the deletion, advance the clock past
            the waiting period, and see the key go; *Use a fresh key* then starts again.
        """),
        code("""
            machine = KeyStateMachine(cloud, kms.create_key(Description="try me")["KeyMetadata"]["KeyId"])
            machine
        """, tags=["nbval-ignore-output"]),
        md("""
            ## What you saw

            - Rotation adds a backing key and keeps all the old ones; old ciphertexts decrypt with the backing
              key that made them, and the key ID, ARN and policy stay the same. `ReEncrypt` moves a ciphertext
              to the current backing key (or another key) without the plaintext leaving KMS.
            - Aliases give keys stable names, can be repointed, and exist per Region; `alias/aws/` is reserved.
            - A disabled key refuses to work but keeps its key material; enabling it restores everything. The
              key state table says which operations each state allows.
            - Deletion waits 7 to 30 days (cancel leaves the key disabled); after that, its data is unrecoverable,
              and `Decrypt` answers `AccessDeniedException`, as it would for a key you may not use.

            ## Self-check

            1. After five yearly rotations, how many backing keys does a key have, and which one decrypts a
               ciphertext from the first year?
            2. You repoint `alias/app` to a new key. What happens to data encrypted through the alias before?
            3. Why does KMS make you wait at least 7 days before deleting a key?

            <details><summary>Answers</summary>

            1. Six: the original and five new ones. The original backing key decrypts the first year's
               ciphertext (the ciphertext names it), unless you moved it with `ReEncrypt`.
            2. Nothing changes for it: those ciphertexts name the old key, which still decrypts them.
            3. Because deletion destroys every ciphertext made under the key; the wait (during which the key
               is unusable) lets you discover who still needs it and cancel.

            </details>
        """),
        md(next_cell_text("04")),
    ]
