"""Self-checks of exercise 06 (key types, imported key material)."""

from __future__ import annotations

import datetime as dt
import hashlib

from . import Failed, error_code, expect, fresh, self_check


@self_check("Task 1")
def t1(sign, verify_outside) -> None:
    _, kms = fresh()
    key_id = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    der = kms.get_public_key(KeyId=key_id)["PublicKey"]
    signature = sign(kms, key_id, b"hello")
    expect(isinstance(signature, (bytes, bytearray)), "sign must return Sign's Signature (bytes)")
    ok = kms.verify(KeyId=key_id, Message=b"hello", MessageType="RAW", Signature=bytes(signature),
                    SigningAlgorithm="ECDSA_SHA_256")["SignatureValid"] if signature else False
    expect(ok, "KMS does not accept the signature for the RAW message: MessageType='RAW', ECDSA_SHA_256")
    expect(verify_outside(der, b"hello", signature) is True, "verify_outside rejected a good signature")
    expect(verify_outside(der, b"hellO", signature) is False,
           "verify_outside accepted a changed message: catch cryptography's InvalidSignature and return False")


@self_check("Task 2")
def t2(tag, tag_ok) -> None:
    _, kms = fresh()
    key_id = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    mac = tag(kms, key_id, b"m")
    expect(isinstance(mac, (bytes, bytearray)) and len(mac) == 32, "tag must return GenerateMac's Mac (32 bytes)")
    valid = False
    try:
        valid = kms.verify_mac(KeyId=key_id, Message=b"m", Mac=bytes(mac), MacAlgorithm="HMAC_SHA_256")["MacValid"]
    except Exception:
        pass
    expect(valid, "KMS does not accept the tag as this key's HMAC_SHA_256 of the message: make it in KMS "
                  "(GenerateMac), where the key's secret is")
    expect(tag_ok(kms, key_id, b"m", mac) is True, "tag_ok rejected a good tag")
    try:
        wrong = tag_ok(kms, key_id, b"n", mac)
    except Exception as exc:
        raise Failed(f"tag_ok raised {error_code(exc) or type(exc).__name__} for a wrong tag: VerifyMac answers a "
                     "wrong tag with KMSInvalidMacException - catch it and return False") from None
    expect(wrong is False, "tag_ok accepted a tag for another message")


@self_check("Task 3")
def t3(import_material) -> None:
    cloud, kms = fresh()
    key_id = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    material = hashlib.sha256(b"practice").digest()
    valid_to = cloud.clock.now() + dt.timedelta(days=10)
    import_material(kms, key_id, material, valid_to)
    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    expect(md["KeyState"] == "Enabled", f"after the import the key is {md['KeyState']}")
    expect(md.get("ExpirationModel") == "KEY_MATERIAL_EXPIRES" and md.get("ValidTo") == valid_to,
           "the material does not expire at valid_to: ExpirationModel='KEY_MATERIAL_EXPIRES', ValidTo=valid_to")
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"kept")["CiphertextBlob"]
    cloud.clock.advance(days=11)
    try:
        import_material(kms, key_id, material, None)
    except Exception as exc:
        raise Failed(f"importing the same material again after it expired failed ({error_code(exc) or exc}): a "
                     "key takes back only the very material it had, wrapped again for a new import") from None
    expect(kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"kept",
           "after the material came back, an old ciphertext does not decrypt")
