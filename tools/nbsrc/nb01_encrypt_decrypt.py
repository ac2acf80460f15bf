"""Notebook 01: the encrypt and decrypt flows, what a ciphertext carries, and the encryption context.

Deterministic outputs (seeded cloud, frozen clock); asserts make a run that
teaches the wrong thing fail.
"""

from ._cells import code, md

FILENAME = "01_encrypt_decrypt.ipynb"


def cells():
    return [
        md("""
            # 01 · Encrypt and decrypt: what happens inside KMS

            In the first notebook you encrypted and decrypted a message. This notebook slows that down and
            looks at each step: what you send, what KMS checks, what it uses, and what comes back. You will see
            why `Decrypt` needs no key ID, why encrypt and decrypt are *separate* permissions, and how the
            encryption context protects a ciphertext from being used out of place.
        """),
        md("""
            ## Objectives

            By the end of this notebook you will be able to:

            - list the steps KMS takes for `Encrypt` and for `Decrypt`, and say where the key is at each one;
            - find the KMS key ID and the backing key inside a ciphertext, and explain why `Decrypt` needs no key ID;
            - give one person permission to encrypt but not to decrypt, and show it working;
            - use an encryption context, and predict when `Decrypt` will refuse a ciphertext;
            - say what `IncorrectKeyException` and `InvalidCiphertextException` mean.
        """),
        md("""
            ## 1. Setting up

            A fresh simulated cloud with a frozen clock and a fixed seed, so every run prints the same thing.
            We create the key from the course notes and give it the alias `alias/catrobot`.
        """),
        code("""
            from datetime import datetime, timezone

            import kms_teach
            from botocore.exceptions import ClientError

            cloud = kms_teach.Cloud(seed=101, clock=kms_teach.Clock(datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc), frozen=True))
            kms = cloud.client("kms", region_name="us-east-1")

            key = kms.create_key(Description="battle plans key")["KeyMetadata"]
            key_id, key_arn = key["KeyId"], key["Arn"]
            kms.create_alias(AliasName="alias/catrobot", TargetKeyId=key_id)
            print("key state:", key["KeyState"])
            print("alias/catrobot ->", kms.describe_key(KeyId="alias/catrobot")["KeyMetadata"]["KeyId"] == key_id)
        """),
        md("""
            ## 2. The encrypt flow

            ### Concept

            When you call `Encrypt`, four things happen, in this order:

            1. **You name a key, you send the data.** You send the plaintext (at most 4 KB) and *which* key to
               use: a key ID, a key ARN, or an alias. You never send or receive the key itself.
            2. **KMS checks permissions.** It asks: may this caller use `kms:Encrypt` with this key? The answer
               comes from the key policy, the caller's IAM policies and any grants (a later notebook).
            3. **KMS checks the key's state.** A disabled key, or one waiting to be deleted, refuses to work.
            4. **KMS uses the key's current backing key** (the actual key material, kept encrypted on disk and
               decrypted only inside KMS) to encrypt your data, and returns the ciphertext.

            Every call is written to an audit trail (in AWS: CloudTrail). Let's encrypt and then look at the
            trail's record of the call.
        """),
        code("""
            plans = b"Attack the laser pointer at dawn."
            out = kms.encrypt(KeyId="alias/catrobot", Plaintext=plans)
            ciphertext = out["CiphertextBlob"]

            print("the response names the key:", out["KeyId"] == key_arn)
            print("algorithm:                 ", out["EncryptionAlgorithm"])
            print("plaintext bytes:           ", len(plans))
            print("ciphertext bytes:          ", len(ciphertext))
            assert plans not in ciphertext

            event = cloud.audit.events[-1]
            print()
            print("audit event:", event["eventName"], "by", event["userIdentity"]["arn"])
            print("on our key: ", event["resources"][0]["ARN"] == key_arn)
            print("the plaintext is not in the audit trail:", plans.decode() not in str(cloud.audit.events))
        """),
        md("""
            The ciphertext is 106 bytes longer than the plaintext. Those extra bytes are what makes `Decrypt`
            work without you naming a key. Let's look at them.

            ## 3. What a ciphertext carries

            ### Concept

            A KMS ciphertext is not only scrambled data. It starts with a **header** that names the KMS key (and
            which of its backing keys) that encrypted it. The header is not secret, but it is *authenticated*:
            change one byte and decryption fails. kms_teach's layout is documented in
            `docs/ciphertext-format.md` (real AWS uses a different, undocumented layout with the same idea).
        """),
        code("""
            import uuid

            account = int.from_bytes(ciphertext[4:10], "big")
            key_id_inside = str(uuid.UUID(bytes=ciphertext[10:26]))
            material_inside = ciphertext[26:58].hex()
            current_material = kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]

            print("magic + version:      ", ciphertext[:3])
            print("account in the header:", f"{account:012d}")
            print("key ID in the header is our key:  ", key_id_inside == key_id)
            print("backing key in the header is the current one:", material_inside == current_material)
            assert key_id_inside == key_id and material_inside == current_material
        """),
        md("""
            The **ciphertext inspector** labels every byte of the header for you (with a kernel running you can
            paste another ciphertext into it). Without a kernel, the text below the widget shows the same fields.
        """),
        code("""
            from kms_teach.widgets import CiphertextInspector, EncryptFlow

            CiphertextInspector(ciphertext, cloud=cloud)
        """, tags=["nbval-ignore-output"]),
        md("""
            ## 4. The decrypt flow

            ### Concept

            `Decrypt` is the encrypt flow in reverse, with one difference: **you don't name a key**. KMS reads the
            key ID from the ciphertext's header, checks that *you* may use `kms:Decrypt` with *that* key, checks
            the key's state, picks the backing key the header names (even if the key has been rotated since), and
            returns the plaintext.
        """),
        code("""
            back = kms.decrypt(CiphertextBlob=ciphertext)
            print("plaintext:       ", back["Plaintext"])
            print("decrypted by:    ", back["KeyId"] == key_arn)
            print("with backing key:", back["KeyMaterialId"] == current_material)
            assert back["Plaintext"] == plans
        """),
        md("""
            You *may* name the key anyway. Then KMS also checks that the ciphertext really belongs to that key:
            if not, it refuses with `IncorrectKeyException` instead of trying. Naming the key is good practice in
            real applications: it stops a ciphertext made with someone else's key from being decrypted by your
            code by mistake.
        """),
        code("""
            other_key = kms.create_key(Description="some other key")["KeyMetadata"]["KeyId"]

            print("naming the right key:", kms.decrypt(CiphertextBlob=ciphertext, KeyId="alias/catrobot")["Plaintext"] == plans)
            try:
                kms.decrypt(CiphertextBlob=ciphertext, KeyId=other_key)
            except ClientError as err:
                print("naming another key:  ", err.response["Error"]["Code"])
            else:
                raise AssertionError("KMS must refuse a ciphertext that belongs to another key")
        """),
        md("""
            Step through a real `Decrypt` call with the **flow diagram**: each step shows the real values of the
            call (what was sent, what the permissions engine decided, the key's state, the backing key used).
        """),
        code("""
            flow = EncryptFlow(cloud, key_id, operation="Decrypt", ciphertext=ciphertext)
            flow
        """, tags=["nbval-ignore-output"]),
        md("""
            ## 5. Encrypt and decrypt are separate permissions

            ### Concept

            In KMS each operation is its own permission: `kms:Encrypt`, `kms:Decrypt`,
            `kms:GenerateDataKey`, ... A common, sensible setup lets one application *encrypt* (say, a web
            front end that stores customer records) but only another one *decrypt* them (a back-office job).
            The course notes call keeping such duties apart **role separation**.

            Let's make an IAM user `frontend` whose identity policy allows only `kms:Encrypt`. Our key has the
            default key policy, which *trusts the account*: it lets IAM policies in this account grant access.
        """),
        code("""
            import json

            iam = cloud.client("iam")
            iam.create_user(UserName="frontend")
            iam.put_user_policy(
                UserName="frontend",
                PolicyName="encrypt-only",
                PolicyDocument=json.dumps({
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "kms:Encrypt", "Resource": key_arn}],
                }),
            )
            frontend = cloud.client("kms", region_name="us-east-1", principal="arn:aws:iam::111122223333:user/frontend")

            record = frontend.encrypt(KeyId=key_arn, Plaintext=b"customer record 42")["CiphertextBlob"]
            print("frontend encrypted a record:", len(record), "bytes")
            try:
                frontend.decrypt(CiphertextBlob=record)
            except ClientError as err:
                print("frontend decrypts:", err.response["Error"]["Code"])
                print(err.response["Error"]["Message"].replace(key_arn, "<key ARN>"))
            else:
                raise AssertionError("an encrypt-only user must not decrypt")
        """),
        md("""
            `cloud.explain` asks the same permissions engine *why*, without making the call. It lists every
            statement it considered and marks what decided.
        """),
        code("""
            decision = cloud.explain("arn:aws:iam::111122223333:user/frontend", "kms:Decrypt", key_id)
            print(decision.explain().replace(key_arn, "<key ARN>"))
            assert not decision.allowed
        """),
        md("""
            ## 6. The encryption context

            ### Concept

            An **encryption context** is a set of non-secret key-value pairs you pass to `Encrypt`. KMS binds it
            to the ciphertext cryptographically (as *additional authenticated data*). It is not stored in the
            ciphertext: to decrypt, you must pass **exactly the same pairs** again (their order doesn't matter).
            Use it to say what the data is for, e.g. `{"record": "42", "table": "customers"}`: a ciphertext
            copied into the wrong row can then no longer be decrypted there. The context also appears in the
            audit trail, so you can see *what* was decrypted, not only that something was.
        """),
        code("""
            context = {"table": "customers", "record": "42"}
            sealed = kms.encrypt(KeyId=key_id, Plaintext=b"Jane Doe, 42 Main St", EncryptionContext=context)["CiphertextBlob"]

            same_pairs_other_order = {"record": "42", "table": "customers"}
            print("same pairs, other order:", kms.decrypt(CiphertextBlob=sealed, EncryptionContext=same_pairs_other_order)["Plaintext"])

            for label, attempt in [
                ("no context at all", {}),
                ("another record", {"table": "customers", "record": "43"}),
                ("an extra pair", {**context, "copied": "yes"}),
                ("different case", {"Table": "customers", "record": "42"}),
            ]:
                try:
                    kms.decrypt(CiphertextBlob=sealed, EncryptionContext=attempt)
                except ClientError as err:
                    print(f"{label:17}: {err.response['Error']['Code']}")
                else:
                    raise AssertionError(f"decrypting with {label} must fail")

            logged = [e for e in cloud.audit.events if e["eventName"] == "Encrypt"][-1]
            print()
            print("the audit trail records the context:", logged["requestParameters"]["encryptionContext"])
        """),
        md("""
            ## 7. The same with the aws CLI

            ### Concept

            The course notes encrypt a file with the **aws CLI**. `cloud.serve()` puts this notebook's cloud
            behind a local HTTP endpoint that speaks AWS's protocols and checks real request signatures, and
            `handle.env` holds the environment variables that point the stock aws CLI at it (the endpoint URL,
            and access keys that this cloud's IAM issued to the account's root user). The two commands below
            are the notes' commands, verbatim: encrypt a file with `alias/catrobot`, base64-decode the
            ciphertext into a binary file, then decrypt that file without naming any key.
        """),
        code("""
            import os
            import subprocess
            import sys

            endpoint = cloud.serve()
            env = {**os.environ, **endpoint.env, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
            with open("battleplans.txt", "w") as f:
                f.write("attack the laser pointer at dawn\\n")

            def shell(command):
                result = subprocess.run(command, shell=True, env=env, capture_output=True, text=True, timeout=60)
                assert result.returncode == 0, result.stderr
                return result.stdout

            shell("aws kms encrypt --key-id alias/catrobot --plaintext fileb://battleplans.txt --output text --query CiphertextBlob | base64 --decode > not_battleplans.enc")
            shell("aws kms decrypt --ciphertext-blob fileb://not_battleplans.enc --output text --query Plaintext | base64 --decode > decryptedplans.txt")

            print("encrypted file:", os.path.getsize("not_battleplans.enc"), "bytes")
            print("decrypted:     ", open("decryptedplans.txt").read().strip())
            print("the encrypted file was made by our key:", kms.decrypt(CiphertextBlob=open("not_battleplans.enc", "rb").read())["KeyId"] == key_arn)
            assert open("decryptedplans.txt").read() == open("battleplans.txt").read()
        """),
        md("""
            The CLI's calls went through the same KMS, the same permission checks and the same audit trail
            as your boto3 calls. Stop the endpoint and tidy up the files:
        """),
        code("""
            print([e["eventName"] for e in cloud.audit.events if e["eventName"] in ("Encrypt", "Decrypt")][-3:])
            endpoint.stop()
            for name in ("battleplans.txt", "not_battleplans.enc", "decryptedplans.txt"):
                os.remove(name)
        """),
        md("""
            `InvalidCiphertextException` is KMS's answer whenever the ciphertext can't be authenticated: a wrong
            or missing encryption context, or a ciphertext that was changed. KMS doesn't say which, on purpose:
            a detailed error would help an attacker.

            ## What you saw

            - `Encrypt` sends data and the *name* of a key; KMS checks permission, checks the key's state, and
              encrypts with the key's current backing key. The key never leaves KMS.
            - A ciphertext's header names the KMS key and backing key that made it, so `Decrypt` needs no key
              ID; naming one anyway makes KMS refuse ciphertexts of other keys (`IncorrectKeyException`).
            - `kms:Encrypt` and `kms:Decrypt` are separate permissions: an encrypt-only user can't read back
              what it wrote, and `cloud.explain` shows which statement decided.
            - The encryption context must match exactly to decrypt; it is recorded in the audit trail.
            - The course notes' aws CLI commands run verbatim against `cloud.serve()`, through the same KMS.

            ## Self-check

            1. Your application stores ciphertexts but forgot which KMS key made them. Can it still decrypt them?
            2. A user may call `kms:Decrypt` but not `kms:Encrypt`. Can they read data that others encrypted
               with that key?
            3. You encrypted with `{"user": "alice"}` and decrypt with `{"User": "alice"}`. What happens?

            <details><summary>Answers</summary>

            1. Yes: the key ID is inside each ciphertext, and `Decrypt` needs no key ID (it still needs
               permission to decrypt with that key).
            2. Yes: decrypting needs only `kms:Decrypt` on the key that made the ciphertext.
            3. `InvalidCiphertextException`: encryption context keys and values are case-sensitive and must match
               exactly.

            </details>

            ## Next

            The next notebook is about **data keys**: how to encrypt a file larger than 4 KB with KMS without
            ever sending the file to KMS. Its exercise, `exercises/ex01_encrypt_decrypt.ipynb`, asks you to bind
            records to tenants with an encryption context and to give a user narrow, context-constrained use
            of a key.
        """),
    ]
