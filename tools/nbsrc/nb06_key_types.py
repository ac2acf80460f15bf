"""Notebook 06: key types and ownership, multi-Region keys, imported key material.

Deterministic outputs: seeded cloud, frozen clock; RSA keys (not reproducible
from a seed) only ever print lengths and booleans.
"""

from ._cells import code, md

FILENAME = "06_key_types.ipynb"


def cells():
    return [
        md("""
            # 06 · Key types, owners, Regions and imported key material

            So far every key was a *symmetric* key that KMS generated, in one Region, owned by you. KMS has more:
            **asymmetric** keys whose public half you may take out of KMS, **HMAC** keys, keys that **AWS
            services** create and manage for you, **multi-Region** keys, and keys whose material **you bring**.
        """),
        md("""
            ## Objectives

            By the end of this notebook you will be able to:

            - tell AWS owned, AWS managed and customer managed keys apart, and see an AWS managed key appear;
            - sign with an asymmetric KMS key and verify the signature *outside* KMS with its public key;
            - say which operations each key type allows (symmetric, RSA, ECC, HMAC);
            - replicate a multi-Region key and decrypt in one Region what was encrypted in another;
            - import your own key material, and see what happens when it expires.
        """),
        code("""
            import hashlib
            import os
            from datetime import datetime, timedelta, timezone

            import kms_teach
            from botocore.exceptions import ClientError

            cloud = kms_teach.Cloud(seed=505, clock=kms_teach.Clock(datetime(2026, 5, 5, 9, 0, tzinfo=timezone.utc), frozen=True))
            kms = cloud.client("kms", region_name="us-east-1")
            print("keys in the account:", len(kms.list_keys()["Keys"]))
        """),
        md("""
            ## 1. Who owns a key

            ### Concept

            - **Customer managed keys** are the ones you create: you control their policy, rotation, state and
              deletion.
            - **AWS managed keys** live in *your* account but are created and managed by an AWS service the
              first time you ask it to encrypt with KMS (for S3 the alias is `alias/aws/s3`). You can see them,
              read their policy and see their use, but not change them, and they can only be used *through*
              their service. They rotate every year.
            - **AWS owned keys** belong to a service and are shared across many accounts; you never see them
              (S3's default encryption, SSE-S3, uses them).
        """),
        code("""
            aliases = {a["AliasName"]: a for a in kms.list_aliases(Limit=100)["Aliases"]}
            print("alias/aws/s3 before S3 is used, has a key?", "TargetKeyId" in aliases["alias/aws/s3"])

            s3 = cloud.client("s3", region_name="us-east-1")
            s3.create_bucket(Bucket="cat-robot-plans")
            s3.put_object(Bucket="cat-robot-plans", Key="plan.txt", Body=b"attack at dawn", ServerSideEncryption="aws:kms")
            s3.put_object(Bucket="cat-robot-plans", Key="memo.txt", Body=b"buy more tuna", ServerSideEncryption="AES256")

            managed = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
            print("alias/aws/s3 now points at a key managed by:", managed["KeyManager"])
            print("rotation:", kms.get_key_rotation_status(KeyId=managed["KeyId"])["KeyRotationEnabled"])
            print("keys in the account now:", len(kms.list_keys()["Keys"]), "(the SSE-S3 key is AWS owned: not listed)")
            for label, call in [("disable it", lambda: kms.disable_key(KeyId=managed["KeyId"])),
                                ("use it directly", lambda: kms.encrypt(KeyId="alias/aws/s3", Plaintext=b"x"))]:
                try:
                    call()
                except ClientError as err:
                    print(f"{label:16}: {err.response['Error']['Code']}")
            print("S3 still reads the object:", s3.get_object(Bucket="cat-robot-plans", Key="plan.txt")["Body"].read())
        """),
        md("""
            ## 2. Asymmetric keys: signatures anyone can check

            ### Concept

            An **asymmetric** KMS key is a key *pair*. The private half never leaves KMS; the **public** half
            you may download (`GetPublicKey`) and hand to anyone. With a `SIGN_VERIFY` key, KMS signs, and anyone
            holding the public key can verify the signature without calling KMS, or even having an AWS
            account. An RSA key can instead be for `ENCRYPT_DECRYPT`: anyone encrypts with the public key, only
            KMS decrypts. Asymmetric keys do not rotate and take no encryption context.
        """),
        code("""
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import ec

            signer = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY", Description="release signing")["KeyMetadata"]
            print("signing algorithms:", signer["SigningAlgorithms"])

            release = b"cat-robot firmware 2.0"
            signature = kms.sign(KeyId=signer["KeyId"], Message=release, SigningAlgorithm="ECDSA_SHA_256")["Signature"]

            public_der = kms.get_public_key(KeyId=signer["KeyId"])["PublicKey"]
            public_key = serialization.load_der_public_key(public_der)   # outside KMS from here on
            public_key.verify(signature, release, ec.ECDSA(hashes.SHA256()))
            print("verified outside KMS with the public key: yes")

            try:
                kms.verify(KeyId=signer["KeyId"], Message=b"cat-robot firmware 2.0 (tampered)", Signature=signature,
                           SigningAlgorithm="ECDSA_SHA_256")
            except ClientError as err:
                print("KMS Verify of a tampered release:", err.response["Error"]["Code"])
            try:
                kms.encrypt(KeyId=signer["KeyId"], Plaintext=b"x")
            except ClientError as err:
                print("Encrypt with a signing key:", err.response["Error"]["Code"])
        """),
        md("""
            ## 3. HMAC keys

            An **HMAC** key makes and checks message authentication codes: like a signature, but only KMS can
            check it (the key is symmetric and never leaves KMS). Each HMAC key spec has exactly one algorithm.
        """),
        code("""
            mac_key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
            print("MAC algorithms:", mac_key["MacAlgorithms"])
            token = kms.generate_mac(KeyId=mac_key["KeyId"], Message=b"user=alice", MacAlgorithm="HMAC_SHA_256")["Mac"]
            print("MAC bytes:", len(token))
            print("valid:", kms.verify_mac(KeyId=mac_key["KeyId"], Message=b"user=alice", Mac=token, MacAlgorithm="HMAC_SHA_256")["MacValid"])
            try:
                kms.verify_mac(KeyId=mac_key["KeyId"], Message=b"user=admin", Mac=token, MacAlgorithm="HMAC_SHA_256")
            except ClientError as err:
                print("a forged message:", err.response["Error"]["Code"])
        """),
        md("""
            ## 4. Multi-Region keys

            ### Concept

            Keys and aliases are Regional: a key never leaves its Region. The exception is a **multi-Region
            key**: a set of related keys in different Regions that share the same key ID (starting `mrk-`) and
            the same key material, including every rotation. Data encrypted in one Region can be decrypted in
            another without a cross-Region call. Each Region's copy keeps its own policy, aliases, tags and
            enabled state.
        """),
        code("""
            primary = kms.create_key(MultiRegion=True, Description="global orders")["KeyMetadata"]
            print("key ID starts with:", primary["KeyId"][:4])
            replica = kms.replicate_key(KeyId=primary["KeyId"], ReplicaRegion="eu-west-1")["ReplicaKeyMetadata"]
            print("replica state right after ReplicateKey:", replica["KeyState"])

            order = kms.encrypt(KeyId=primary["KeyId"], Plaintext=b"order 1001: 3 laser pointers")["CiphertextBlob"]
            eu = cloud.client("kms", region_name="eu-west-1")
            print("decrypted in eu-west-1:", eu.decrypt(CiphertextBlob=order)["Plaintext"])
            config = eu.describe_key(KeyId=primary["KeyId"])["KeyMetadata"]["MultiRegionConfiguration"]
            print("in eu-west-1 it is a", config["MultiRegionKeyType"], "of the primary in", config["PrimaryKey"]["Region"])
        """),
        md("""
            ## 5. Bringing your own key material

            ### Concept

            A key created with `Origin="EXTERNAL"` starts **without key material**, in state `PendingImport`.
            You ask KMS for a wrapping public key and an import token (valid 24 hours), encrypt your material
            with the wrapping key *outside* KMS, and import it. You may let it expire (`ValidTo`): then the key
            goes back to `PendingImport`, and the data encrypted under it waits until you import the **same**
            material again. You keep a copy of the material, so you carry the responsibility for it.
        """),
        code("""
            from cryptography.hazmat.primitives.asymmetric import padding

            byok = kms.create_key(Origin="EXTERNAL", Description="our own material")["KeyMetadata"]
            print("new EXTERNAL key:", byok["KeyState"])
            my_material = hashlib.sha256(b"our very own 256-bit key").digest()  # in real life: from your own HSM

            def import_material(valid_days):
                params = kms.get_parameters_for_import(KeyId=byok["KeyId"], WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                                       WrappingKeySpec="RSA_2048")
                wrapping_key = serialization.load_der_public_key(params["PublicKey"])
                wrapped = wrapping_key.encrypt(my_material, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),
                                                                           algorithm=hashes.SHA256(), label=None))
                kms.import_key_material(KeyId=byok["KeyId"], ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped,
                                        ExpirationModel="KEY_MATERIAL_EXPIRES",
                                        ValidTo=cloud.clock.now() + timedelta(days=valid_days))

            import_material(valid_days=30)
            print("after import:", kms.describe_key(KeyId=byok["KeyId"])["KeyMetadata"]["KeyState"])
            secret = kms.encrypt(KeyId=byok["KeyId"], Plaintext=b"encrypted under our material")["CiphertextBlob"]

            cloud.clock.advance(days=31)
            print("31 days later:", kms.describe_key(KeyId=byok["KeyId"])["KeyMetadata"]["KeyState"])
            try:
                kms.decrypt(CiphertextBlob=secret)
            except ClientError as err:
                print("decrypt now:", err.response["Error"]["Code"])
            import_material(valid_days=365)
            print("after re-importing the same material:", kms.decrypt(CiphertextBlob=secret)["Plaintext"])
        """),
        md("""
            ## What you saw

            - Customer managed keys are yours to control; AWS managed keys (`alias/aws/s3`) appear when a
              service first needs one and can be used only through it; AWS owned keys are invisible.
            - Asymmetric keys let anyone verify signatures (or encrypt) with the public key, outside KMS; HMAC
              keys make codes only KMS can check. Each key type allows only its own operations.
            - A multi-Region key shares its key ID and material across Regions, so ciphertexts travel.
            - Imported key material can expire; the same material brings old ciphertexts back.

            ## Self-check

            1. A partner must check that files really come from you, without an AWS account. Which key type?
            2. Can you disable the AWS managed key `alias/aws/s3`?
            3. Your imported material expired and you lost your copy of it. What happens to the data?

            <details><summary>Answers</summary>

            1. An asymmetric `SIGN_VERIFY` key: you sign with KMS, they verify with the public key.
            2. No: no one can change an AWS managed key; its policy only lets you read its metadata.
            3. It is lost: only the same material can decrypt it, and KMS deleted its copy when it expired.

            </details>

            ## Next

            The next notebook looks inside the encrypted store and the audit trail. This notebook's
            exercise, `exercises/ex06_key_types.ipynb`, asks you to sign in KMS and verify outside, make HMAC
            tags, and import key material and survive its expiry.
        """),
    ]
