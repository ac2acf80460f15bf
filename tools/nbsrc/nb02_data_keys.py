"""Notebook 02: data keys and envelope encryption - data larger than 4 KB.

Deterministic outputs: seeded cloud and frozen clock; the file's contents are
generated from a fixed pattern; message IDs and fingerprints are not printed.
"""

from ._cells import code, md
from ._course import next_cell_text

FILENAME = "02_data_keys.ipynb"


def cells():
    return [
        md("""
            # 02 · Data keys: encrypting more than 4 KB

            `Encrypt` takes at most 4 KB. Yet AWS services encrypt terabytes with KMS keys every second. They
            do it with **data keys** (also called data encryption keys, DEKs) and a pattern called **envelope
            encryption**. In this notebook you do it by hand first, then with a recipe that does it safely for
            data of any size, and you watch where the data key is at every moment.
        """),
        md("""
            ## Objectives

            By the end of this notebook you will be able to:

            - explain what `GenerateDataKey` returns and why there are two copies of the key;
            - encrypt a file larger than 4 KB with a data key, keeping only the encrypted copy of the key;
            - decrypt it again by asking KMS to decrypt the data key;
            - show that KMS does not store data keys and never sees your data;
            - say why services such as S3 use a fresh data key for every object.
        """),
        code("""
            from datetime import datetime, timezone

            import kms_teach
            from botocore.exceptions import ClientError

            cloud = kms_teach.Cloud(seed=202, clock=kms_teach.Clock(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc), frozen=True))
            kms = cloud.client("kms", region_name="us-east-1")
            key_arn = kms.create_key(Description="files key")["KeyMetadata"]["Arn"]
            kms.create_alias(AliasName="alias/files", TargetKeyId=key_arn)

            big_file = b"".join(f"line {i:05d}: the cat robot's secret plans\\n".encode() for i in range(2000))
            print("file size:", len(big_file), "bytes")
            try:
                kms.encrypt(KeyId="alias/files", Plaintext=big_file)
            except ClientError as err:
                print("Encrypt of the whole file:", err.response["Error"]["Code"])
            else:
                raise AssertionError("KMS must refuse more than 4096 bytes")
        """),
        md("""
            ## 1. What `GenerateDataKey` gives you

            ### Concept

            `GenerateDataKey` asks KMS for a brand-new random key (here 256 bits, for AES-256). KMS returns it
            **twice**:

            - `Plaintext`: the key itself, for you to encrypt with, right now, in your own program;
            - `CiphertextBlob`: the same key, encrypted under your KMS key. This copy is safe to store anywhere.

            The data key is *linked* to the KMS key that generated it: only that KMS key can decrypt the
            encrypted copy. And KMS **keeps no copy** of the data key: once the response is sent, KMS has
            forgotten it.
        """),
        code("""
            response = kms.generate_data_key(KeyId="alias/files", KeySpec="AES_256", EncryptionContext={"file": "plans.txt"})
            plaintext_key = response["Plaintext"]
            encrypted_key = response["CiphertextBlob"]

            print("plaintext data key:", len(plaintext_key), "bytes (256 bits)")
            print("encrypted data key:", len(encrypted_key), "bytes")
            print("the encrypted copy does not contain the key:", plaintext_key not in encrypted_key)
            print("generated under:   ", response["KeyId"] == key_arn)
        """),
        md("""
            ## 2. Envelope encryption by hand

            ### Concept

            The steps, as in the course notes:

            1. generate a data key just before you need it;
            2. encrypt the data with the **plaintext** data key, in your program (KMS never sees the data);
            3. **discard** the plaintext data key;
            4. store the encrypted data next to the **encrypted** data key.

            To decrypt: give the encrypted data key back to KMS (`Decrypt`), decrypt the data with the plaintext
            key it returns, and discard that key again. Both things on disk are encrypted; only KMS can unlock
            the key, and only someone allowed to `kms:Decrypt` can ask it to.

            ![Envelope encryption: GenerateDataKey returns a plaintext and an encrypted data key; the
            application encrypts the data, forgets the plaintext key and stores both encrypted; to decrypt it
            asks KMS to decrypt the data key](figures/envelope-encryption.svg)
        """),
        code("""
            import os

            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            # 2. encrypt locally with the plaintext data key (AES-256-GCM needs a fresh 12-byte nonce)
            nonce = os.urandom(12)
            encrypted_file = nonce + AESGCM(plaintext_key).encrypt(nonce, big_file, None)
            # 3. discard the plaintext data key
            del plaintext_key, response
            # 4. store the encrypted data together with the encrypted data key
            stored = {"encrypted_key": encrypted_key, "data": encrypted_file}
            print("stored: encrypted key", len(stored["encrypted_key"]), "bytes + encrypted file", len(stored["data"]), "bytes")

            # Decrypting: KMS decrypts the data key (it needs the same encryption context), we decrypt the data.
            key_again = kms.decrypt(CiphertextBlob=stored["encrypted_key"], EncryptionContext={"file": "plans.txt"})["Plaintext"]
            recovered = AESGCM(key_again).decrypt(stored["data"][:12], stored["data"][12:], None)
            del key_again
            print("recovered the whole file:", recovered == big_file)
            assert recovered == big_file
        """),
        md("""
            What did KMS see of the file? Nothing: look at the audit trail. It recorded a `GenerateDataKey` and
            a `Decrypt` of a 32-byte key, each with its encryption context, and no file contents.
        """),
        code("""
            for event in cloud.audit.events[-2:]:
                print(event["eventName"], event["requestParameters"])
            assert big_file[:20].decode() not in str(cloud.audit.events)
        """),
        md("""
            ## 3. A recipe for data of any size

            Doing it by hand has traps: reusing a data key for too much data, keeping the plaintext key in a
            variable, forgetting the encryption context, or a file that was cut short going unnoticed.
            `kms_teach.envelope` packs the whole pattern into one documented message format (see
            `docs/envelope-format.md`): a header with the encrypted data key, the KMS key ARN and the encryption
            context, then the data in authenticated chunks, so memory stays small however large the file is and
            any truncation, reordering or changed byte is detected. It uses only the boto3 client, so it works
            unchanged against real AWS.

            Pass `on_event=` to watch the **data key's life**: each event says where the plaintext key and the
            encrypted key are at that moment. (Events never contain key bytes.)
        """),
        code("""
            from kms_teach import envelope

            events = []
            message = envelope.encrypt_bytes(kms, "alias/files", big_file, encryption_context={"file": "plans.txt"},
                                             chunk_size=16 * 1024, on_event=events.append)
            for event in events:
                print(f"{event.step:20} plaintext key: {event.plaintext_key:10} encrypted key: {event.encrypted_key}")
            print()
            print("message:", len(message), "bytes for a", len(big_file), "byte file")
            assert [e.step for e in events] == ["generate", "store-encrypted-key", "encrypt-data", "discard-plaintext"]
            assert events[-1].plaintext_key == "wiped"
        """),
        code("""
            events = []
            plain = envelope.decrypt_bytes(kms, message, encryption_context={"file": "plans.txt"}, on_event=events.append)
            for event in events:
                print(f"{event.step:20} plaintext key: {event.plaintext_key:10} encrypted key: {event.encrypted_key}")
            print()
            print("decrypted the whole file:", plain == big_file)
            assert plain == big_file
        """),
        md("""
            The same lifecycle, drawn. `DataKeyLifecycle` runs a real envelope encryption and decryption
            through your Cloud and shows, step by step, the two copies of the data key: the **plaintext** data
            key (amber while it is in memory, grey once wiped) and the **encrypted** data key (stored in the
            message header). Press *Next* to walk through the steps. Then type a different encryption context
            in the *decrypt* box and run again: the decryption stops before KMS is even asked, so no plaintext
            data key ever exists. Try acting as a principal that may not use the key, or disable the key, and
            see where the lifecycle stops.
        """),
        code("""
            from kms_teach.widgets import DataKeyLifecycle

            lifecycle = DataKeyLifecycle(cloud, "alias/files", message="The plans for next year.",
                                         encryption_context={"file": "plans.txt"})
            lifecycle
        """, tags=["nbval-ignore-output"]),
        md("""
            The message is authenticated from end to end. Cut it short, or change one byte, and decryption
            refuses instead of returning damaged data:
        """),
        code("""
            for label, broken in [("cut short", message[:-100]),
                                  ("one byte changed", message[:500] + bytes([message[500] ^ 1]) + message[501:])]:
                try:
                    envelope.decrypt_bytes(kms, broken, encryption_context={"file": "plans.txt"})
                except envelope.EnvelopeError as err:
                    print(f"{label:16}: refused ({err.reason})")
                else:
                    raise AssertionError(f"a message {label} must not decrypt")
        """),
        md("""
            ## 4. KMS does not store data keys

            ### Concept

            AWS states it plainly: KMS "generates, encrypts, and decrypts data keys. However, AWS KMS does not
            store, manage, or track your data keys, or perform cryptographic operations with data keys" (AWS
            KMS Developer Guide, "Generate data keys"). You cannot watch the inside of AWS to prove that, but
            you can see what it means for you:

            1. **No operation gives a data key back.** KMS's API has no call to fetch or list the data keys it
               made. To use a data key again you must bring its encrypted copy to `Decrypt`.
            2. **So the encrypted data key is the only way back to the data.** Lose it and the data is gone,
               however long the KMS key lives. That is why S3 stores each object's encrypted data key *with*
               the object, and why **S3 generates a data key for every object** it encrypts with SSE-KMS: each
               object has its own key, kept next to it.
            3. **Nothing about a data key is kept on the KMS key.** Generating data keys changes nothing you
              can see on the KMS key: no new backing key, no record.
        """),
        code("""
            operations = kms.meta.service_model.operation_names
            print("operations about data keys:", sorted(op for op in operations if "DataKey" in op))
            print("any that fetch or list one?", any(op.startswith(("Get", "List")) and "DataKey" in op for op in operations))
            assert not any(op.startswith(("Get", "List")) and "DataKey" in op for op in operations)
        """),
        md("""
            Every operation there *generates* a data key (in plaintext and encrypted, or encrypted only). Two
            messages encrypted with the recipe each carry their own encrypted data key, under the same KMS key;
            and the KMS key looks exactly as it did before this notebook generated its data keys:
        """),
        code("""
            first = envelope.read_header(envelope.encrypt_bytes(kms, "alias/files", b"object one"))
            second = envelope.read_header(envelope.encrypt_bytes(kms, "alias/files", b"object two"))
            print("each message has its own encrypted data key:", first.encrypted_data_key != second.encrypted_data_key)
            print("both name the same KMS key:", first.kms_key_arn == second.kms_key_arn == key_arn)

            key = kms.describe_key(KeyId=key_arn)["KeyMetadata"]
            rotations = kms.list_key_rotations(KeyId=key_arn, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
            print("backing keys of the KMS key:", len(rotations), "| still its first one:",
                  rotations[0]["KeyMaterialId"] == key["CurrentKeyMaterialId"])
            data_key_calls = sum(1 for e in cloud.audit.events if e["eventName"] == "GenerateDataKey")
            print("GenerateDataKey calls so far:", data_key_calls, "- each one is in the audit trail, with no key in it")
        """),
        md("""
            Without its encrypted data key, a message's data is gone: here is the second message with the first
            one's encrypted data key swapped in. KMS happily decrypts that data key (it is a valid one), but it is
            the wrong key for this data, and the authenticated format refuses:
        """),
        code("""
            swapped = envelope.encrypt_bytes(kms, "alias/files", b"object two")
            header = envelope.read_header(swapped)
            broken = swapped.replace(header.encrypted_data_key, first.encrypted_data_key)
            try:
                envelope.decrypt_bytes(kms, broken)
            except envelope.EnvelopeError as err:
                print(f"another message's data key: refused ({err.reason}: the key does not belong to this message)")
            else:
                raise AssertionError("a message must not decrypt with another message's data key")
        """),
        md("""
            ## What you saw

            - `GenerateDataKey` returns a data key twice: in plaintext (use it, then discard it) and encrypted
              under the KMS key (store it with the data). KMS keeps no copy.
            - You encrypt and decrypt the data yourself; KMS only ever sees the 32-byte data key, never the data.
            - `kms_teach.envelope` does the whole pattern for data of any size, in an authenticated format, and
              reports every step of the data key's life.
            - A fresh data key per message (per S3 object) keeps each piece of data under its own key. KMS keeps
              no copy of any data key: the encrypted copy you store is the only way back to the data.

            ## Self-check

            1. Where is the plaintext data key stored after encryption?
            2. What do you need to decrypt an envelope-encrypted file?
            3. Why can't you decrypt the file if the KMS key is deleted?

            <details><summary>Answers</summary>

            1. Nowhere: it is discarded right after use. Only the encrypted data key is stored.
            2. The encrypted file with its encrypted data key, permission to `kms:Decrypt` with the KMS key
               that generated the data key, and the same encryption context.
            3. Only that KMS key can decrypt the encrypted data key; without it the data key, and so the data,
               can never be recovered.

            </details>
        """),
        md(next_cell_text("02")),
    ]
