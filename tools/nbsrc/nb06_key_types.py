"""Notebook 06: asymmetric and HMAC keys, multi-Region keys, imported key material.

Deterministic outputs: seeded cloud, frozen clock; signatures (ECDSA and RSA-PSS
are randomised) and RSA keys only ever print lengths and booleans.
"""

from ._cells import code, md
from ._course import next_cell_text

FILENAME = "06_key_types.ipynb"


def cells():
    return [
        md("""
            # 06 · Asymmetric, HMAC and multi-Region keys, and imported key material

            So far every key was a *symmetric* encryption key, in one Region, with key material KMS generated.
            KMS has more: **asymmetric** keys whose public half you may take out of KMS, **HMAC** keys,
            **multi-Region** keys that exist in several Regions at once, and keys whose material **you bring**.
            About 55 minutes.
        """),
        md("""
            ## Objectives

            By the end of this notebook you will be able to:

            - sign with an asymmetric KMS key and verify the signature *outside* KMS with its public key alone;
            - say which operations each key type allows (symmetric, RSA, ECC, HMAC);
            - make and verify message authentication codes with an HMAC key;
            - replicate a multi-Region key, decrypt in one Region what was encrypted in another, and say what
              the keys of the set share and what each keeps for itself;
            - import your own key material, and say what happens when it expires.
        """),
        code("""
            import hashlib
            from datetime import datetime, timedelta, timezone

            import kms_teach
            from botocore.exceptions import ClientError
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import ec, padding

            cloud = kms_teach.Cloud(seed=606, clock=kms_teach.Clock(datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc), frozen=True))
            kms = cloud.client("kms", region_name="us-east-1")
            print("keys in the account:", len(kms.list_keys()["Keys"]))
        """),
        # ------------------------------------------------------------------ 1
        md("""
            ## 1. Asymmetric keys: signatures anyone can check

            ### Concept

            An **asymmetric** KMS key is a key *pair*. The private half never leaves KMS; the **public** half
            you may download (`GetPublicKey`) and hand to anyone. With a `SIGN_VERIFY` key, KMS signs, and
            anyone holding the public key can verify the signature without calling KMS, or even having an AWS
            account: a partner checking that a firmware file really comes from you, for example. An RSA key
            can instead be for `ENCRYPT_DECRYPT`: anyone encrypts with the public key, only KMS decrypts.
            Asymmetric keys never rotate automatically and take no encryption context. (AWS KMS Developer
            Guide, "Asymmetric keys in AWS KMS".)
        """),
        code("""
            signer = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY", Description="release signing")["KeyMetadata"]
            print("signing algorithms:", signer["SigningAlgorithms"])

            release = b"cat-robot firmware 2.0"
            signature = kms.sign(KeyId=signer["KeyId"], Message=release, SigningAlgorithm="ECDSA_SHA_256")["Signature"]

            public_der = kms.get_public_key(KeyId=signer["KeyId"])["PublicKey"]
            public_key = serialization.load_der_public_key(public_der)   # outside KMS from here on
            public_key.verify(signature, release, ec.ECDSA(hashes.SHA256()))  # raises InvalidSignature if wrong
            print("verified outside KMS, with the public key alone: yes")

            try:
                kms.verify(KeyId=signer["KeyId"], Message=b"cat-robot firmware 2.0 (tampered)", Signature=signature,
                           SigningAlgorithm="ECDSA_SHA_256")
            except ClientError as err:
                print("KMS Verify of a tampered release:", err.response["Error"]["Code"])
        """),
        md("""
            Two details of `Sign` that code outside KMS must know. `MessageType="RAW"` (the default) means KMS
            hashes the message itself; with `"DIGEST"` you send a hash you computed, and must say so. And an
            ECDSA signature (`ECDSA_SHA_256` and its siblings) comes back **DER-encoded** (ANSI X9.62, RFC 3279
            section 2.2.3: the pair `r`, `s` as an ASN.1 sequence), so its length varies, usually 70 to 72
            bytes for P-256. That is the form `cryptography`'s `verify` takes as it is, as above; a library that
            wants raw `r || s` (64 bytes for P-256, as JSON Web Signatures use) needs it converted first. (AWS
            KMS API Reference, `Sign`, `Signature`: "a DER-encoded object as defined by ANSI X9.62–2005 and RFC
            3279 Section 2.2.3".)
        """),
        code("""
            from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

            r, s = decode_dss_signature(signature)  # raises ValueError if it were not DER
            # ECDSA is randomised: the length changes from one signature to the next, so only ranges are printed
            print("DER, an ASN.1 SEQUENCE (first byte 0x30)? ", signature[0] == 0x30)
            print("at most 72 bytes (the exact length varies)?", len(signature) <= 72)
            print("as raw r || s it would be", len(r.to_bytes(32, "big") + s.to_bytes(32, "big")), "bytes")
            assert signature[0] == 0x30 and len(signature) <= 72
        """),
        md("""
            The **sign and verify** widget runs the same steps on a key of its own: *Sign* inside KMS,
            *GetPublicKey*, then a verification *outside* KMS with the `cryptography` library, and, for
            comparison, KMS's own *Verify*. Tick "the partner receives a changed message" and run again; or
            make a new signing key of another spec (an RSA key, Ed25519) and see the same flow.
        """),
        code("""
            from kms_teach.widgets import MultiRegionMap, SignVerifyFlow

            signing = SignVerifyFlow(cloud, key_spec="ECC_NIST_P256", message="cat-robot firmware 2.0")
            signing
        """, tags=["nbval-ignore-output"]),
        md("""
            With an RSA `ENCRYPT_DECRYPT` key it works the other way round: anyone encrypts with the public key,
            outside KMS, and only KMS can decrypt:
        """),
        code("""
            inbox = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT", Description="partner inbox")["KeyMetadata"]
            outside = serialization.load_der_public_key(kms.get_public_key(KeyId=inbox["KeyId"])["PublicKey"])
            sealed = outside.encrypt(b"meet at the pier", padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),
                                                                        algorithm=hashes.SHA256(), label=None))
            opened = kms.decrypt(KeyId=inbox["KeyId"], CiphertextBlob=sealed, EncryptionAlgorithm="RSAES_OAEP_SHA_256")
            print("encrypted outside, decrypted by KMS:", opened["Plaintext"])
        """),
        # ------------------------------------------------------------------ 2
        md("""
            ## 2. Each key type allows only its own operations

            ### Concept

            A key's **key spec** (what kind of key material) and **key usage** (what it is for) are chosen at
            `CreateKey` and never change. KMS refuses any other operation with `InvalidKeyUsageException`.
            (AWS KMS Developer Guide, "Key type reference".)

            | key spec | key usage | operations |
            |---|---|---|
            | `SYMMETRIC_DEFAULT` (AES-256-GCM) | `ENCRYPT_DECRYPT` | Encrypt, Decrypt, ReEncrypt, GenerateDataKey*, GenerateDataKeyPair* |
            | `RSA_2048`, `RSA_3072`, `RSA_4096` | `ENCRYPT_DECRYPT` | Encrypt, Decrypt, ReEncrypt, GetPublicKey |
            | `RSA_*`, `ECC_NIST_P256/P384/P521`, `ECC_SECG_P256K1`, `ECC_NIST_EDWARDS25519` | `SIGN_VERIFY` | Sign, Verify, GetPublicKey |
            | `ECC_NIST_P256`, `ECC_NIST_P384`, `ECC_NIST_P521` | `KEY_AGREEMENT` | DeriveSharedSecret, GetPublicKey |
            | `HMAC_224`, `HMAC_256`, `HMAC_384`, `HMAC_512` | `GENERATE_VERIFY_MAC` | GenerateMac, VerifyMac |
        """),
        code("""
            for label, call in [("Encrypt with a signing key", lambda: kms.encrypt(KeyId=signer["KeyId"], Plaintext=b"x")),
                                ("Sign with an RSA encryption key", lambda: kms.sign(KeyId=inbox["KeyId"], Message=b"x",
                                                                                     SigningAlgorithm="RSASSA_PSS_SHA_256")),
                                ("GenerateDataKey with an RSA key", lambda: kms.generate_data_key(KeyId=inbox["KeyId"],
                                                                                                   KeySpec="AES_256"))]:
                try:
                    call()
                except ClientError as err:
                    print(f"{label:32}: {err.response['Error']['Code']}")
        """),
        # ------------------------------------------------------------------ 3
        md("""
            ## 3. HMAC keys

            ### Concept

            An **HMAC** key makes and checks message authentication codes (MACs): like a signature, it proves a
            message was not changed, but the key is symmetric and never leaves KMS, so only KMS can check it
            (`VerifyMac`). Use it for tokens your own service issues and checks later. Each HMAC key spec has
            exactly one algorithm (`HMAC_256` uses `HMAC_SHA_256`).
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
        # ------------------------------------------------------------------ 4
        md("""
            ## 4. Multi-Region keys

            ### Concept

            Keys and aliases are Regional: a key never leaves its Region. The exception is a **multi-Region
            key**: a set of related keys in different Regions that share the same key ID (it starts `mrk-`) and
            the same key material, including every rotation. Data encrypted in one Region can be decrypted in
            another, with the key there, without a call that crosses Regions: useful for disaster recovery and
            for applications that run in several Regions. Each key of the set keeps its own key policy, grants,
            aliases, tags, description and state. You choose multi-Region at `CreateKey` (the console's
            *Regionality* option) and cannot change it later. (AWS KMS Developer Guide, "Multi-Region keys in
            AWS KMS".)

            ![A multi-Region key: a primary key in us-east-1 and replica keys in eu-west-1 and ap-southeast-2
            share key ID and key material; each has its own policy and state](figures/multi-region-replication.svg)
        """),
        code("""
            primary = kms.create_key(MultiRegion=True, Description="global orders")["KeyMetadata"]
            print("key ID starts with:", primary["KeyId"][:4])
            replica = kms.replicate_key(KeyId=primary["KeyId"], ReplicaRegion="eu-west-1")["ReplicaKeyMetadata"]
            print("replica state right after ReplicateKey:", replica["KeyState"], "(ready within moments)")

            order = kms.encrypt(KeyId=primary["KeyId"], Plaintext=b"order 1001: 3 laser pointers")["CiphertextBlob"]
            eu = cloud.client("kms", region_name="eu-west-1")
            print("decrypted in eu-west-1:", eu.decrypt(CiphertextBlob=order)["Plaintext"])
            config = eu.describe_key(KeyId=primary["KeyId"])["KeyMetadata"]["MultiRegionConfiguration"]
            print("in eu-west-1 it is a", config["MultiRegionKeyType"], "of the primary in", config["PrimaryKey"]["Region"])
            print("same key ID in both Regions:", eu.describe_key(KeyId=primary["KeyId"])["KeyMetadata"]["KeyId"] == primary["KeyId"])
        """),
        md("""
            The **multi-Region map** shows a key set of its own on a map of the Regions. Pick a Region and
            *ReplicateKey here*, *Encrypt here* in one Region and *Decrypt the newest ciphertext here* in
            another; *RotateKeyOnDemand* on the primary and see every Region's current backing key change
            together; *UpdatePrimaryRegion* moves the primary.
        """),
        code("""
            world = MultiRegionMap(cloud)
            world.replicate("eu-west-1")
            world.replicate("ap-southeast-2")
            world.encrypt_in("us-east-1")
            world.decrypt_in("ap-southeast-2")
            world
        """, tags=["nbval-ignore-output"]),
        # ------------------------------------------------------------------ 5
        md("""
            ## 5. Bringing your own key material

            ### Concept

            The console's *Key material origin: External* is `Origin="EXTERNAL"`: the key starts **without key
            material**, in state `PendingImport`. You ask KMS for a wrapping public key and an import token
            (`GetParametersForImport`, valid for 24 hours), encrypt your material with the wrapping key
            *outside* KMS, and import it (`ImportKeyMaterial`). You may let it expire (`ValidTo`): then KMS
            deletes its copy, the key goes back to `PendingImport`, and the data encrypted under it waits until
            you import the **same** material again. You keep the material yourself, so you carry the
            responsibility for it; automatic rotation is not available for such keys. (AWS KMS Developer Guide,
            "Importing key material for AWS KMS keys".)
        """),
        code("""
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
            A key with imported material has one more state than the keys of notebook 04. The **key state
            machine** draws the states of *this* kind of key: `PendingImport`, which the key leaves with
            `ImportKeyMaterial` and returns to when the material expires or you delete it. Press
            *DeleteImportedKeyMaterial* and watch the key go back.
        """),
        code("""
            from kms_teach.widgets import KeyStateMachine

            machine = KeyStateMachine(cloud, byok["KeyId"])
            machine
        """, tags=["nbval-ignore-output"]),
        md("""
            ## What you saw

            - Asymmetric keys let anyone verify signatures (or encrypt) with the public key, outside KMS; the
              private key never leaves. HMAC keys make codes only KMS can check.
            - A key's spec and usage decide its operations, for ever; others get `InvalidKeyUsageException`.
            - A multi-Region key shares its key ID and material across Regions, so ciphertexts travel; each key
              of the set keeps its own policy, aliases and state.
            - Imported key material can expire; the same material brings old ciphertexts back, and losing your
              copy loses the data.

            ## Self-check

            **1.** A partner must check that files really come from you, without an AWS account. Which key?

            <details>
            <summary>Show answer</summary>

            An asymmetric `SIGN_VERIFY` key: you sign in KMS, they verify with the public key, which you may
            publish.

            </details>

            **2.** You replicate a multi-Region key to `eu-west-1` and change the replica's key policy. Does the
            primary's policy change too?

            <details>
            <summary>Show answer</summary>

            No. Key policies (and grants, aliases, tags, state) are independent properties of each key of the
            set; only the key ID, key material and the properties derived from them are shared.

            </details>

            **3.** Your imported material expired and you lost your copy of it. What happens to the data?

            <details>
            <summary>Show answer</summary>

            It is lost: only the same material can decrypt it, and KMS deleted its copy when it expired.

            </details>
        """),
        md(next_cell_text("06")),
    ]
