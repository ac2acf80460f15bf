"""key_state_table: which KMS operations work in which key state, asked of a KMS of its own.

AWS documents the answer as the "key state table" (AWS KMS Developer Guide, "Key states of AWS KMS keys").
This table is not copied from it: it is filled in by really calling each operation on a key in each state,
in a private Cloud, so it shows exactly what the simulator answers, which follows that table.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from ._base import GREEN, GREEN_BG, INK, RED, RED_BG, error_info, esc, text_table

__all__ = ["key_state_table", "KeyStateTable", "STATES", "OPERATIONS"]

STATES = ("Enabled", "Disabled", "PendingDeletion", "PendingImport")
OPERATIONS = ("Encrypt", "Decrypt", "GenerateDataKey", "DescribeKey", "EnableKey", "DisableKey",
              "ScheduleKeyDeletion", "CancelKeyDeletion", "EnableKeyRotation", "CreateGrant", "PutKeyPolicy",
              "TagResource", "CreateAlias")


@dataclass(frozen=True)
class KeyStateTable:
    """``cells[(operation, state)]`` is ``None`` (the call works) or AWS's error code."""

    cells: dict

    def works(self, operation: str, state: str) -> bool:
        return self.cells[(operation, state)] is None

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='padding:3px 10px;text-align:center'>{esc(s)}</th>" for s in STATES)
        body = []
        for op in OPERATIONS:
            cells = []
            for st in STATES:
                code = self.cells[(op, st)]
                if code is None:
                    cells.append(f"<td style='padding:2px 10px;text-align:center;background:{GREEN_BG};color:{GREEN};"
                                 "border:2px solid #fff'><b>✔</b></td>")
                else:
                    cells.append(f"<td style='padding:2px 10px;text-align:center;background:{RED_BG};color:{RED};"
                                 f"border:2px solid #fff;font-size:85%'>✘ {esc(code)}</td>")
            body.append(f"<tr><td style='text-align:left;padding:2px 10px'><code>{esc(op)}</code></td>{''.join(cells)}</tr>")
        return (f"<table class='kms-teach-key-state-table' style='border-collapse:collapse;line-height:1.3;"
                f"color:{INK}'><thead><tr><th style='padding:3px 10px;text-align:left'>operation \\ key state</th>"
                f"{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")

    def __repr__(self) -> str:
        rows = [[op] + ["works" if self.cells[(op, st)] is None else self.cells[(op, st)] for st in STATES]
                for op in OPERATIONS]
        return text_table(["operation"] + list(STATES), rows)


def _import(kms, key_id: str, material: bytes) -> None:
    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                           WrappingKeySpec="RSA_2048")
    wrapping = serialization.load_der_public_key(params["PublicKey"])
    wrapped = wrapping.encrypt(material, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(),
                                                      label=None))
    kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped,
                            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")


def key_state_table() -> KeyStateTable:
    """Try every operation of ``OPERATIONS`` on a key in every state of ``STATES``, in a private Cloud."""
    import kms_teach  # the widgets sit on top of the package; a Cloud of the table's own

    start = _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)
    cloud = kms_teach.Cloud(seed="key-state-table", clock=kms_teach.Clock(start, frozen=True))
    kms = cloud.client("kms", region_name="us-east-1")
    account = cloud.account_id
    cells: dict = {}
    for state in STATES:
        for n, op in enumerate(OPERATIONS):
            if state == "PendingImport":
                key_id = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
                _import(kms, key_id, bytes(range(32)))
            else:
                key_id = kms.create_key()["KeyMetadata"]["KeyId"]
            blob = kms.encrypt(KeyId=key_id, Plaintext=b"made while Enabled")["CiphertextBlob"]
            if state == "Disabled":
                kms.disable_key(KeyId=key_id)
            elif state == "PendingDeletion":
                kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=30)
            elif state == "PendingImport":
                kms.delete_imported_key_material(KeyId=key_id)
            calls = {
                "Encrypt": lambda: kms.encrypt(KeyId=key_id, Plaintext=b"x"),
                "Decrypt": lambda: kms.decrypt(CiphertextBlob=blob),
                "GenerateDataKey": lambda: kms.generate_data_key(KeyId=key_id, KeySpec="AES_256"),
                "DescribeKey": lambda: kms.describe_key(KeyId=key_id),
                "EnableKey": lambda: kms.enable_key(KeyId=key_id),
                "DisableKey": lambda: kms.disable_key(KeyId=key_id),
                "ScheduleKeyDeletion": lambda: kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7),
                "CancelKeyDeletion": lambda: kms.cancel_key_deletion(KeyId=key_id),
                "EnableKeyRotation": lambda: kms.enable_key_rotation(KeyId=key_id),
                "CreateGrant": lambda: kms.create_grant(KeyId=key_id, GranteePrincipal=f"arn:aws:iam::{account}:root",
                                                        Operations=["Decrypt"]),
                "PutKeyPolicy": lambda: kms.put_key_policy(
                    KeyId=key_id, PolicyName="default",
                    Policy=kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]),
                "TagResource": lambda: kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "team", "TagValue": "a"}]),
                "CreateAlias": lambda: kms.create_alias(AliasName=f"alias/{state.lower()}-{n}", TargetKeyId=key_id),
            }
            try:
                calls[op]()
                cells[(op, state)] = None
            except Exception as exc:
                cells[(op, state)] = error_info(exc).code
    cloud.close()
    return KeyStateTable(cells)
