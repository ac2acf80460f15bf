"""Self-checks of exercise 04 (rotation)."""

from __future__ import annotations

from . import Failed, expect, fresh, self_check


@self_check("Task 1")
def t1(enable_rotation) -> None:
    _, kms = fresh()
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    enable_rotation(kms, key_id, 180)
    status = kms.get_key_rotation_status(KeyId=key_id)
    if not status["KeyRotationEnabled"]:
        rotated = kms.list_key_rotations(KeyId=key_id)["Rotations"]
        raise Failed("automatic rotation is still off" + (" (RotateKeyOnDemand rotates once, now; automatic "
                                                          "rotation is EnableKeyRotation)" if rotated else ""))
    expect(status["RotationPeriodInDays"] == 180, f"the period is {status['RotationPeriodInDays']} days, not 180: "
                                                  "pass RotationPeriodInDays")
    expect(not kms.list_key_rotations(KeyId=key_id)["Rotations"],
           "the key was rotated at once: enabling automatic rotation only schedules the first rotation")


@self_check("Task 2")
def t2(backing_key_of) -> None:
    cloud, kms = fresh()
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    first = kms.encrypt(KeyId=key_id, Plaintext=b"old")["CiphertextBlob"]
    kms.rotate_key_on_demand(KeyId=key_id)
    original = kms.list_key_rotations(KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"][0]
    got = backing_key_of(kms, first)
    current = kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
    if got == current:
        raise Failed("that is the key's current backing key; this ciphertext was made before the rotation and "
                     "needs the original one (Decrypt tells you which it used)")
    expect(got == original["KeyMaterialId"], f"expected the original backing key's KeyMaterialId, got {got!r}")
    second = kms.encrypt(KeyId=key_id, Plaintext=b"new")["CiphertextBlob"]
    expect(backing_key_of(kms, second) == current,
           "a ciphertext made after the rotation needs the current backing key, not the original: ask KMS which "
           "one each ciphertext used (Decrypt's KeyMaterialId)")


@self_check("Task 3")
def t3(refresh) -> None:
    cloud, kms = fresh()
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    old = kms.encrypt(KeyId=key_id, Plaintext=b"record")["CiphertextBlob"]
    kms.rotate_key_on_demand(KeyId=key_id)
    before = len(cloud.audit.events)
    new = refresh(kms, key_id, [old])
    if any(e["eventName"] == "Decrypt" for e in cloud.audit.events[before:]):
        raise Failed("refresh called Decrypt, so the plaintext came out of KMS: ReEncrypt does both steps inside")
    expect(isinstance(new, list) and len(new) == 1, "return a list with one ciphertext per input")
    current = kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
    expect(kms.decrypt(CiphertextBlob=new[0])["KeyMaterialId"] == current,
           "the ciphertext still uses the old backing key: rotation never re-encrypts; ReEncrypt does")
