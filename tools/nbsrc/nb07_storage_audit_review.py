"""Notebook 07: everything stored encrypted, the audit trail, FIPS 140, and an exam-style review.

Deterministic outputs: seeded cloud, frozen clock advanced between calls, a
temporary directory whose path is never printed.
"""

from ._cells import code, md
from ._course import next_cell_text

FILENAME = "07_storage_audit_review.ipynb"


def cells():
    return [
        md("""
            # 07 · Everything encrypted at rest, the audit trail, FIPS, and a review

            Two promises of KMS are easy to state and hard to see: **keys never leave KMS in plaintext**, and
            **every use of a key is recorded**. In this notebook you open the simulator's store on disk and look
            for key material in it, then use the audit trail to find out who decrypted what. Then: what FIPS 140
            validation means for KMS (the course notes call it important for the exam), and exam-style
            questions on the whole course. About 40 minutes.
        """),
        md("""
            ## Objectives

            By the end of this notebook you will be able to:

            - explain why KMS stores everything encrypted, and what protects the key that encrypts it;
            - check for yourself that a key store file holds no plaintext key material;
            - find in the audit trail who used which key, when, with which encryption context, and who was
              refused, reading every page of `LookupEvents`;
            - give the notes' exam answer about FIPS 140-2 Level 2, today's validation (FIPS 140-3 Level 3), and
              what the levels require;
            - answer exam-style questions on KMS.
        """),
        code("""
            import base64
            import json
            import sqlite3
            import tempfile
            from datetime import datetime, timezone
            from pathlib import Path

            import kms_teach
            from botocore.exceptions import ClientError
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import padding

            workdir = Path(tempfile.mkdtemp(prefix="kms-store-"))
            cloud = kms_teach.Cloud(workdir, seed=707, clock=kms_teach.Clock(datetime(2026, 7, 7, 9, 0, tzinfo=timezone.utc), frozen=True))
            kms = cloud.client("kms", region_name="us-east-1")
            print("files in the store:", sorted(str(p.relative_to(workdir)) for p in workdir.rglob("*") if p.is_file()))
        """),
        # ------------------------------------------------------------------ 1
        md("""
            ## 1. Everything stored encrypted

            ### Concept

            AWS KMS keeps key material in plaintext only inside its hardware security modules (HSMs), and only
            in memory for as long as an operation needs it; everywhere else, on disk and in backups, it is
            encrypted (AWS KMS Developer Guide, "AWS KMS cryptography essentials"). The simulator follows the
            same idea: every record in its SQLite file (keys, aliases, policies, even the names of the rows) is
            sealed with AES-256-GCM under keys derived from a **root key** kept apart in `hsm/root-key`, the part
            the HSMs play.

            To look for key material in the file we need key material we know. KMS never shows its own, so we
            bring ours: a key with **imported** key material (notebook 06), whose 32 bytes we hold. If the store
            kept them in plaintext, in hex or in base64, we would find them.
        """),
        code("""
            key_id = kms.create_key(Origin="EXTERNAL", Description="records key")["KeyMetadata"]["KeyId"]
            material = bytes.fromhex("00112233445566778899aabbccddeeff" * 2)  # ours: we know every byte
            params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
            wrapped = serialization.load_der_public_key(params["PublicKey"]).encrypt(
                material, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
            kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped,
                                    ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
            kms.create_alias(AliasName="alias/records", TargetKeyId=key_id)

            raw = b"".join(p.read_bytes() for p in workdir.rglob("kms.sqlite3*"))
            forms = {"raw": material, "hex": material.hex().encode(), "base64": base64.b64encode(material)}
            for name, form in forms.items():
                print(f"key material as {name:6} in the store file:", form in raw)
            print("key ID in the store file:    ", key_id.encode() in raw)
            print("alias name in the store file:", b"alias/records" in raw)
            assert not any(form in raw for form in forms.values())

            rows = sqlite3.connect(workdir / "kms.sqlite3").execute("SELECT name, kind, sealed FROM records").fetchall()
            print("what SQLite sees: rows of kinds", sorted({kind for _, kind, _ in rows}),
                  "each named by a", len(rows[0][0]), "byte HMAC and holding sealed bytes only")
        """),
        md("""
            Without the root key the file is noise. With it, the simulator reopens everything: the key, its
            alias, its policy and the clock.
        """),
        code("""
            blob = kms.encrypt(KeyId="alias/records", Plaintext=b"record 7: the cat's vet bills")["CiphertextBlob"]
            cloud.close()
            reopened = kms_teach.Cloud(workdir)
            print("after reopening:", reopened.client("kms", region_name="us-east-1").decrypt(CiphertextBlob=blob)["Plaintext"])
        """),
        # ------------------------------------------------------------------ 2
        md("""
            ## 2. The audit trail

            ### Concept

            Every KMS call, allowed or refused, becomes an audit event (in AWS: a CloudTrail event): who, when,
            which operation, which key, which encryption context, and the error if it was refused. It never
            contains plaintext or key material. With encryption contexts that name the data, the trail answers
            "who read record 7?". (AWS KMS Developer Guide, "Logging AWS KMS API calls with AWS CloudTrail".)

            A day at a small clinic: a nurse writes forty patients' charts and reads some of them back; an
            intern tries to read two. The clock moves a few minutes between calls, as it would in a real day.
        """),
        code("""
            cloud = reopened
            kms = cloud.client("kms", region_name="us-east-1")
            iam = cloud.client("iam")
            for name in ("nurse", "intern"):
                iam.create_user(UserName=name)
            iam.put_user_policy(UserName="nurse", PolicyName="records", PolicyDocument=json.dumps({
                "Version": "2012-10-17",
                "Statement": {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"}}))
            nurse = cloud.client("kms", region_name="us-east-1", principal="arn:aws:iam::111122223333:user/nurse")
            intern = cloud.client("kms", region_name="us-east-1", principal="arn:aws:iam::111122223333:user/intern")

            charts = {}
            for n in range(1, 41):
                cloud.clock.advance(minutes=4)
                charts[str(n)] = nurse.encrypt(KeyId="alias/records", Plaintext=f"patient {n}: allergic to catnip".encode(),
                                               EncryptionContext={"patient": str(n)})["CiphertextBlob"]
            reads = [("nurse", str(n)) for n in range(1, 21)] + [("intern", "7"), ("nurse", "7"), ("intern", "12")]
            for who, patient in reads:
                cloud.clock.advance(minutes=3)
                try:
                    (nurse if who == "nurse" else intern).decrypt(CiphertextBlob=charts[patient],
                                                                  EncryptionContext={"patient": patient})
                except ClientError:
                    pass
            print("events in the trail:", len(cloud.audit.events), "| the day ended at", cloud.clock.now().strftime("%H:%M"), "UTC")
        """),
        md("""
            `LookupEvents` (CloudTrail's API) finds events by attribute, and like `ListKeys` it answers **a page
            at a time**: at most 50 events per page (`MaxResults`, 1 to 50), with a `NextToken` while more are
            left; you pass it back to get the next page (AWS CloudTrail API Reference, `LookupEvents`). Ask
            for every Decrypt, ten to a page so that you see the pages, and follow the token:
        """),
        code("""
            trail = cloud.client("cloudtrail", region_name="us-east-1")
            lookup = dict(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "Decrypt"}], MaxResults=10)

            events, token, pages = [], None, 0
            while True:
                page = trail.lookup_events(**lookup, **({"NextToken": token} if token else {}))
                events += page["Events"]
                pages += 1
                token = page.get("NextToken")
                if not token:
                    break
            print("Decrypt events:", len(events), "on", pages, "pages")
            assert pages > 1

            print()
            print("who read record 7?")
            for e in reversed(events):  # LookupEvents answers newest first
                record = json.loads(e["CloudTrailEvent"])
                context = (record.get("requestParameters") or {}).get("encryptionContext") or {}
                if context.get("patient") == "7":
                    print(f"  {e['EventTime'].astimezone(timezone.utc):%H:%M}  {e['Username']:7} {record.get('errorCode', 'ok')}")
            print("no plaintext in the trail:", "catnip" not in json.dumps(cloud.audit.events))
        """),
        md("""
            boto3's paginator follows the tokens for you. The whole trail has more than one full page:
        """),
        code("""
            pages = list(trail.get_paginator("lookup_events").paginate())
            print("pages:", len(pages), "| events:", sum(len(p["Events"]) for p in pages),
                  "| on the first page:", len(pages[0]["Events"]))
            assert len(pages) > 1 and len(pages[0]["Events"]) == 50
        """),
        md("""
            The **audit trail viewer** filters the same events interactively: by operation, person, source,
            errors only, and by encryption context. Type `patient=7` into *context has*: who read record 7?
        """),
        code("""
            from kms_teach.widgets import AuditTrailViewer

            viewer = AuditTrailViewer(cloud, max_rows=15)
            viewer.hide_lookups.value = True
            viewer
        """, tags=["nbval-ignore-output"]),
        # ------------------------------------------------------------------ 3
        md("""
            ## 3. FIPS 140: the exam answer, and today's

            ### Concept

            **FIPS 140** is the U.S. (and Canadian) government standard for cryptographic modules, such as the
            HSMs that hold KMS's key material. A laboratory tests a module and NIST's Cryptographic Module
            Validation Program issues a certificate at one of four **security levels**:

            | level | adds (roughly) |
            |---|---|
            | 1 | approved algorithms and a production-grade module; no physical security required |
            | 2 | **tamper evidence** (seals or coatings that show an attack) and **role-based** authentication of operators |
            | 3 | **tamper resistance** (the module detects an attack and erases its keys), **identity-based** authentication, and keys that enter or leave only encrypted or over separated, trusted paths |
            | 4 | protection against environmental attacks (voltage, temperature) and a complete protective envelope |

            **The course notes' exam statement:** KMS is validated under **FIPS 140-2 at Level 2**, and that
            level is what sets it apart: the classic exam contrast is *KMS, a shared service, Level 2* against
            *CloudHSM, your own dedicated HSMs, Level 3*. Learn it as the notes give it: exam questions written
            in those years expect it.

            **Today's fact:** the KMS HSMs were validated at FIPS 140-2 Level 2 overall (with Level 3 in some
            areas), at **FIPS 140-2 Level 3** from May 2023, and are now validated under **FIPS 140-3 at
            Security Level 3** (AWS KMS Developer Guide, "AWS KMS internal operations"; AWS Security Blog, "AWS
            KMS is now FIPS 140-2 Security Level 3"). So in an exam, answer as its question was written; in a
            compliance review, cite today's certificate. Either way the point is the same: **keys never leave
            KMS unencrypted, and are used only inside validated hardware.** KMS also offers **FIPS endpoints**
            (`kms-fips.<region>.amazonaws.com`, notebook 00) whose TLS is terminated by validated software.

            `kms_teach` is **not** an HSM and not validated: its key material sits in the memory of an ordinary
            Python process, and a seeded cloud's keys are predictable by design. It reproduces KMS's *behaviour*
            (operations, permissions, errors, formats' properties) so that you can learn it, not its *assurance*.
            Never use it to protect real secrets.

            ## 4. Exam-style review

            Answer each question, then open the answer. (The graded quiz is in the Next cell.)

            1. What is the largest plaintext `Encrypt` accepts, and what do you use for larger data?
            2. Your key policy has only a statement for `arn:aws:iam::111122223333:root`. What does it allow on its own?
            3. Which two permissions does an application need to envelope-encrypt and later decrypt a file?
            4. After three rotations, how many backing keys does a key have? Does old data need re-encrypting?
            5. What is the waiting period for deleting a key, and what state is a key in after `CancelKeyDeletion`?
            6. Are KMS keys and aliases global or Regional? What is the exception?
            7. Which key type lets a partner verify your signatures without calling KMS?
            8. Who can change the key policy of `alias/aws/s3`?
            9. A key policy allows `kms:*` to the account, and an IAM policy of bob denies `kms:Decrypt`. Can bob decrypt?
            10. To which FIPS 140 level do the course notes say KMS is validated, and what is it today?

            <details><summary>Answers</summary>

            1. 4 KB (4096 bytes); larger data uses data keys (`GenerateDataKey`) and envelope encryption.
            2. Nothing by itself for users and roles: it lets the account's IAM policies grant access (the root
               user itself is allowed).
            3. `kms:GenerateDataKey` (to encrypt) and `kms:Decrypt` (to decrypt the data key).
            4. Four (the original and three new ones); no: old ciphertexts keep using their own backing key
               (`ReEncrypt` can move them, if you want).
            5. 7 to 30 days (default 30); `Disabled`.
            6. Regional (and isolated per Region); multi-Region keys share key material across Regions.
            7. An asymmetric `SIGN_VERIFY` key: anyone verifies with its public key.
            8. Nobody: it is an AWS managed key.
            9. No: an explicit Deny in any policy wins.
            10. The notes: FIPS 140-2 Level 2 (the classic exam answer). Today: FIPS 140-3 Security Level 3.

            </details>
        """),
        md("""
            ## What you saw

            - The store on disk holds only sealed records: not even key material we imported ourselves can be
              found in it; the root key kept apart plays the HSM's part.
            - The audit trail records every call, refused ones too, with encryption contexts but no secrets;
              `LookupEvents` answers a page at a time, and `NextToken` (or a paginator) reads them all.
            - FIPS 140 validates the hardware KMS runs on: the notes' exam answer is FIPS 140-2 Level 2; today
              it is FIPS 140-3 Level 3. A simulator can teach the behaviour, not provide the assurance.

            ## Self-check

            **1.** Where is a KMS key's material in plaintext?

            <details>
            <summary>Show answer</summary>

            Only inside KMS's HSMs, in memory while an operation runs (here: the simulator's memory); never on
            disk.

            </details>

            **2.** How do you find out who decrypted a given record, and why might your first answer miss some?

            <details>
            <summary>Show answer</summary>

            Look up the Decrypt events in the audit trail and read their encryption context (give each record a
            context that names it). `LookupEvents` returns at most 50 events a page: follow `NextToken` (or use
            a paginator) or you read only the newest page.

            </details>
        """),
        md(next_cell_text("07", extra=(
            "The quiz saves your answers in the notebook itself, and `kms-teach grade` scores it like the "
            "exercises."))),
        code("""
            import shutil

            cloud.close()
            shutil.rmtree(workdir)
            print("store removed")
        """),
    ]
