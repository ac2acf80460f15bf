"""Notebook 07: everything stored encrypted, the audit trail, FIPS 140-2 Level 2, and an exam-style review.

Deterministic outputs: seeded cloud, frozen clock, a temporary directory whose
path is never printed.
"""

from ._cells import code, md

FILENAME = "07_storage_audit_review.ipynb"


def cells():
    return [
        md("""
            # 07 · Everything encrypted at rest, the audit trail, and a review

            Two promises of KMS are easy to state and hard to see: **keys never leave KMS in plaintext**, and
            **every use of a key is recorded**. In this notebook you open the simulator's store on disk and look
            for key material in it, then use the audit trail to find out who decrypted what. The notebook ends
            with exam-style questions on the whole course.
        """),
        md("""
            ## Objectives

            By the end of this notebook you will be able to:

            - explain why KMS stores everything encrypted, and what protects the key that encrypts it;
            - check for yourself that a key store file holds no plaintext key material;
            - find in the audit trail who used which key, when, with which encryption context, and who was refused;
            - say what FIPS 140-2 Level 2 means for KMS, and what a simulator cannot give you;
            - answer exam-style questions on KMS.
        """),
        code("""
            import sqlite3
            import tempfile
            from datetime import datetime, timezone
            from pathlib import Path

            import kms_teach
            from botocore.exceptions import ClientError

            workdir = Path(tempfile.mkdtemp(prefix="kms-store-"))
            cloud = kms_teach.Cloud(workdir, seed=606, clock=kms_teach.Clock(datetime(2026, 6, 6, 9, 0, tzinfo=timezone.utc), frozen=True))
            kms = cloud.client("kms", region_name="us-east-1")
            key_id = kms.create_key(Description="records key")["KeyMetadata"]["KeyId"]
            kms.create_alias(AliasName="alias/records", TargetKeyId=key_id)
            print("files in the store:", sorted(str(p.relative_to(workdir)) for p in workdir.rglob("*") if p.is_file()))
        """),
        md("""
            ## 1. Everything stored encrypted

            ### Concept

            AWS KMS keeps key material in plaintext only inside hardware security modules (HSMs); everywhere
            else, on disk and in backups, it is encrypted. The simulator follows the same idea: every record in
            its SQLite file (keys, aliases, policies, even the names of the rows) is sealed with AES-256-GCM under
            keys derived from a **root key** kept apart in `hsm/root-key`, the role the HSMs play. Let's look
            for our key's material in the file, in every form it could take.
        """),
        code("""
            import base64

            state = cloud.kms._regions[("111122223333", "us-east-1")].keys[key_id]   # the simulator's memory (the "HSM")
            material = state.backing_keys[0].material
            raw = b"".join(p.read_bytes() for p in workdir.glob("kms.sqlite3*"))
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
        md("""
            ## 2. The audit trail

            ### Concept

            Every KMS call, allowed or refused, becomes an audit event (in AWS: a CloudTrail event): who, when,
            which operation, which key, which encryption context, and the error if it was refused. It never
            contains plaintext or key material. With encryption contexts that name the data, the trail answers
            "who read record 7?".
        """),
        code("""
            import json

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

            chart = nurse.encrypt(KeyId="alias/records", Plaintext=b"patient 7: allergic to catnip",
                                  EncryptionContext={"patient": "7"})["CiphertextBlob"]
            nurse.decrypt(CiphertextBlob=chart, EncryptionContext={"patient": "7"})
            try:
                intern.decrypt(CiphertextBlob=chart, EncryptionContext={"patient": "7"})
            except ClientError:
                pass

            trail = cloud.client("cloudtrail", region_name="us-east-1")
            events = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "Decrypt"}])["Events"]
            for e in reversed(events):
                record = json.loads(e["CloudTrailEvent"])
                context = (record.get("requestParameters") or {}).get("encryptionContext")
                print(f"{e['Username']:8} {e['EventName']:8} context={context} {record.get('errorCode', 'ok')}")
            print("no plaintext in the trail:", "catnip" not in json.dumps(cloud.audit.events))
        """),
        md("""
            The **audit trail viewer** filters the same events interactively (by operation, person, source,
            errors only):
        """),
        code("""
            from kms_teach.widgets import AuditTrailViewer

            AuditTrailViewer(cloud)
        """, tags=["nbval-ignore-output"]),
        md("""
            ## 3. FIPS 140-2 Level 2, and what a simulator is not

            ### Concept

            KMS's HSMs are validated under **FIPS 140-2** (a U.S. government standard for cryptographic
            modules); the course notes stress **Level 2**, which adds tamper-evidence and role-based
            authentication to Level 1's approved algorithms. (Today's AWS KMS HSMs are validated at Level 3.)
            This matters in exams and in compliance questions: "keys never leave KMS unencrypted, and are used
            only inside validated hardware".

            `kms_teach` is **not** an HSM and not validated: its key material sits in the memory of an ordinary
            Python process, and a seeded cloud's keys are predictable by design. It reproduces KMS's *behaviour*
            (operations, permissions, errors, formats' properties) so you can learn it, not its *assurance*. Never
            use it to protect real secrets.

            ## 4. Exam-style review

            Answer each question, then open the answer. (Graded quizzes come with the exercises.)

            1. What is the largest plaintext `Encrypt` accepts, and what do you use for larger data?
            2. Your key policy has only a statement for `arn:aws:iam::111122223333:root`. What does it allow on its own?
            3. Which two permissions does an application need to envelope-encrypt and later decrypt a file?
            4. After three rotations, how many backing keys does a key have? Does old data need re-encrypting?
            5. What is the waiting period for deleting a key, and what state is a key in after `CancelKeyDeletion`?
            6. Are KMS keys and aliases global or Regional? What is the exception?
            7. Which key type lets a partner verify your signatures without calling KMS?
            8. Who can change the key policy of `alias/aws/s3`?

            <details><summary>Answers</summary>

            1. 4 KB (4096 bytes); larger data uses data keys (`GenerateDataKey`) and envelope encryption.
            2. Nothing by itself for users and roles: it lets the account's IAM policies grant access (the root
               user itself is allowed).
            3. `kms:GenerateDataKey` (to encrypt) and `kms:Decrypt` (to decrypt the data key).
            4. Four (the original and three new ones); no: old ciphertexts keep using their own backing key.
            5. 7 to 30 days (default 30); `Disabled`.
            6. Regional (and isolated per Region); multi-Region keys share key material across Regions.
            7. An asymmetric `SIGN_VERIFY` key: anyone verifies with its public key.
            8. Nobody: it is an AWS managed key.

            </details>

            ## What you saw

            - The store on disk holds only sealed records; the root key kept apart plays the HSM's part.
            - The audit trail records every call, refused ones too, with encryption contexts but no secrets.
            - FIPS 140-2 validation is about the hardware KMS runs on; a simulator can teach the behaviour, not
              provide the assurance.

            ## Self-check

            1. Where is a KMS key's material in plaintext?
            2. How do you find out who decrypted a given record?

            <details><summary>Answers</summary>

            1. Only inside KMS's HSMs (here: the simulator's memory); never on disk.
            2. Look up Decrypt events in the audit trail and read their encryption context (give each record a
               context that names it).

            </details>

            ## Next

            You have finished the course notebooks. The exercises in `exercises/` put each topic into practice;
            this notebook's, `ex07_audit_trail.ipynb`, asks who decrypted what, who was refused, and when.
            `quiz_kms-exam.ipynb` is an exam-style quiz on every point of the course, with feedback per answer;
            it is graded like the exercises.
        """),
        code("""
            import shutil

            cloud.close()
            shutil.rmtree(workdir)
            print("store removed")
        """),
    ]
