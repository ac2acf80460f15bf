"""CiphertextInspector: a ciphertext blob's fields labelled on its bytes."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

import ipywidgets as W

from .._crypto import BLOB_FIELDS, BLOB_HEADER_LEN, CryptoError, key_id_from_bytes, parse_blob_header
from ._base import GREEN, GREY, INK, RED, View, button, controls_html, error_info, esc, table_html, text_table

__all__ = ["CiphertextInspector", "BlobField"]

_TAG_LEN = 16
_PALETTE = ("#f6c9c9", "#f7dfb5", "#f3f0a8", "#cdeeb4", "#b8e6d8", "#bcdcf5", "#d3c9f3", "#efc6e6",
            "#dcdcdc", "#cfe3ff", "#ffd9b3")
_SHOWN_BODY_BYTES = 48  # of a long ciphertext region, the byte map shows the first ones


@dataclass(frozen=True)
class BlobField:
    """One labelled region of a blob."""

    name: str
    offset: int
    length: int
    raw: bytes
    meaning: str
    decoded: str

    @property
    def hex(self) -> str:
        return self.raw.hex(" ")


def _as_bytes(blob) -> bytes:
    if isinstance(blob, dict):  # an Encrypt / GenerateDataKey / ReEncrypt response
        if "CiphertextBlob" not in blob:
            raise ValueError("this response has no CiphertextBlob")
        blob = blob["CiphertextBlob"]
    if isinstance(blob, (bytes, bytearray, memoryview)):
        return bytes(blob)
    if isinstance(blob, str):
        try:
            return base64.b64decode(blob.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("a text blob must be base64 (as the AWS CLI prints a CiphertextBlob)") from None
    raise TypeError(f"a ciphertext blob is bytes, base64 text or an Encrypt response, not {type(blob).__name__}")


def _decode(name: str, raw: bytes, blob: bytes) -> str:
    if len(raw) == 0:
        return "(missing: the blob is too short)"
    if name == "magic":
        return "KT: a kms_teach blob" if raw == b"KT" else f"{raw!r}: NOT a kms_teach blob"
    if name == "version":
        return str(raw[0]) + ("" if raw[0] == 1 else " (unknown version)")
    if name == "key_id_form":
        return {0: "0: UUID key ID", 1: "1: multi-Region key ID (mrk-)"}.get(raw[0], f"{raw[0]}: unknown form")
    if name == "account_id":
        return f"{int.from_bytes(raw, 'big'):012d}"
    if name == "key_id":
        try:
            return key_id_from_bytes(blob[3], raw) if len(raw) == 16 else "(truncated)"
        except (ValueError, IndexError):
            return "(unknown key ID form)"
    if name == "key_material_id":
        return raw.hex()
    if name in ("kdf_nonce", "iv"):
        return "random, per call"
    if name == "header_check":
        ok = len(blob) >= BLOB_HEADER_LEN and hashlib.sha256(blob[:86]).digest()[:4] == raw
        return "matches the header" if ok else "DOES NOT match the header (InvalidCiphertextException)"
    return ""


class CiphertextInspector(View):
    """The fields of a kms_teach ciphertext blob, labelled on its bytes.

    ``CiphertextInspector(blob)`` takes the ``CiphertextBlob`` bytes of an
    Encrypt, ReEncrypt or GenerateDataKey response (or the response itself, or
    base64 text). Give ``cloud=`` to also look the key up (DescribeKey and
    ListKeyRotations): its state, and whether the backing key that made the
    blob is still the current one.

    ``.fields`` lists every region (:class:`BlobField`): the nine header fields
    of ``BLOB_FIELDS``, then the ciphertext and the tag. ``.header`` is the
    parsed header (None when the blob is damaged). ``.inspect(other_blob)``
    shows another blob; the text box does the same with pasted base64.
    """

    def __init__(self, blob=None, cloud=None, *, region: str | None = None):
        super().__init__(cloud, region=region)
        self.blob = b""
        self.fields: list[BlobField] = []
        self.header = None
        self.key_info: dict | None = None
        self.byte_map = W.HTML()
        self.byte_map.add_class("kms-teach-byte-map")
        self.table = W.HTML()
        self.table.add_class("kms-teach-blob-fields")
        self.summary = W.HTML()
        self.paste = W.Text(placeholder="paste a base64 CiphertextBlob", layout=W.Layout(width="60%"))
        self.paste.add_class("kms-teach-paste")
        self.inspect_button = button("Inspect", icon="search", css="kms-teach-inspect")
        self.inspect_button.on_click(self._on(lambda: self._set(self.paste.value)))
        self.widget = self._frame([self.summary, self.byte_map, self.table,
                                   W.HBox([self.paste, self.inspect_button]), self.error_area],
                                  "kms-teach-ciphertext-inspector")
        if blob is not None:
            self.inspect(blob)
        else:
            self._redraw()

    # ------------------------------------------------------------------ actions

    def inspect(self, blob) -> "CiphertextInspector":
        """Show another blob (bytes, base64 text, or an Encrypt response)."""
        self._act(lambda: self._set(blob))
        return self

    def _set(self, blob) -> None:
        self.blob = _as_bytes(blob)

    # ------------------------------------------------------------------ reading

    def _parse(self) -> None:
        blob = self.blob
        fields = [BlobField(name, off, length, blob[off:off + length], meaning, _decode(name, blob[off:off + length], blob))
                  for name, off, length, meaning in BLOB_FIELDS]
        n = max(0, len(blob) - BLOB_HEADER_LEN - _TAG_LEN)
        if len(blob) > BLOB_HEADER_LEN:
            body = blob[BLOB_HEADER_LEN:BLOB_HEADER_LEN + n]
            fields.append(BlobField("ciphertext", BLOB_HEADER_LEN, n, body,
                                    f"AES-256-GCM encryption of the {n}-byte plaintext",
                                    f"{n} bytes: as long as the plaintext"))
            tag = blob[BLOB_HEADER_LEN + n:]
            fields.append(BlobField("tag", BLOB_HEADER_LEN + n, len(tag), tag,
                                    "AES-GCM authentication tag over header, context and ciphertext",
                                    "checked by Decrypt: any changed byte fails"))
        self.fields = fields
        try:
            self.header = parse_blob_header(blob) if blob else None
        except CryptoError:
            self.header = None

    def _lookup(self) -> None:
        """What the learner's Cloud says about the blob's key (only with ``cloud=``)."""
        self.key_info = None
        if self.cloud is None or self.header is None:
            return
        h = self.header
        arn = f"arn:aws:kms:{self.region}:{h.account_id}:key/{h.key_id}"
        kms = self.client("kms", as_caller=False)
        info: dict = {"arn": arn}
        try:
            md = kms.describe_key(KeyId=arn)["KeyMetadata"]
            info["state"] = md["KeyState"]
            info["current_key_material_id"] = md.get("CurrentKeyMaterialId")
            rotations = kms.list_key_rotations(KeyId=arn, IncludeKeyMaterial="ALL_KEY_MATERIAL").get("Rotations", [])
            for r in rotations:
                if r.get("KeyMaterialId") == h.key_material_id:
                    info["material_state"] = r.get("KeyMaterialState")
            if "material_state" not in info:
                info["material_state"] = "CURRENT" if md.get("CurrentKeyMaterialId") == h.key_material_id else "UNKNOWN"
        except Exception as exc:
            info["error"] = error_info(exc)
        self.key_info = info

    def _refresh(self) -> None:
        self._parse()
        self._lookup()
        self.summary.value = self._summary_html()
        self.byte_map.value = self._byte_map_html()
        self.table.value = self._table_html()

    # ------------------------------------------------------------------ drawing

    def _summary_html(self) -> str:
        if not self.blob:
            return "<i>No blob yet: give one (Encrypt's CiphertextBlob) or paste base64 below.</i>"
        if self.header is None:
            verdict = (f"<b style='color:{RED}'>Not a valid kms_teach ciphertext blob</b>: Decrypt would answer "
                       "InvalidCiphertextException before looking up any key.")
            if self.blob[:2] != b"KT":
                verdict += (" It does not even start with <code>KT</code>: an asymmetric (RSA) key's ciphertext, for "
                            "one, is raw RSAES-OAEP output with no header, so the labels below do not apply to it.")
            return f"<div>{len(self.blob)} bytes. {verdict}</div>"
        else:
            h = self.header
            verdict = (f"<b style='color:{GREEN}'>Valid header.</b> Made by key <code>{esc(h.key_id)}</code> of "
                       f"account <code>{esc(h.account_id)}</code>, with backing key "
                       f"<code>{esc(h.key_material_id[:16])}…</code>")
        lines = [f"<div style='color:{GREY};font-size:90%'>The layout below is kms_teach's own "
                 "(docs/ciphertext-format.md). AWS does not publish the format of its ciphertexts; what they share "
                 "is the idea: the blob names the KMS key and backing key, and is authenticated.</div>",
                 f"<div>{len(self.blob)} bytes = {BLOB_HEADER_LEN}-byte header + "
                 f"{max(0, len(self.blob) - BLOB_HEADER_LEN - _TAG_LEN)}-byte ciphertext + {_TAG_LEN}-byte tag. "
                 f"{verdict}</div>"]
        if self.key_info is not None:
            info = self.key_info
            if "error" in info:
                e = info["error"]
                lines.append(f"<div>DescribeKey says <b style='color:{RED}'>{esc(e.code)}</b>: {esc(e.message)}</div>")
            else:
                lines.append(f"<div>In the Cloud now: key state <b>{esc(info['state'])}</b>; this blob's backing key "
                             f"is <b>{esc(info['material_state'])}</b>.</div>")
        return "".join(lines)

    def _byte_map_html(self) -> str:
        if not self.blob:
            return ""
        spans = []
        for i, f in enumerate(self.fields):
            colour = _PALETTE[i % len(_PALETTE)]
            raw = f.raw
            shown = raw if f.name != "ciphertext" or len(raw) <= _SHOWN_BODY_BYTES else raw[:_SHOWN_BODY_BYTES]
            hexes = " ".join(f"{b:02x}" for b in shown)
            if len(shown) < len(raw):
                hexes += f" … (+{len(raw) - len(shown)} bytes)"
            spans.append(f"<span title='{esc(f.name)} @{f.offset}, {f.length} bytes: {esc(f.meaning)}' "
                         f"class='kms-teach-field-{esc(f.name)}' style='background:{colour};color:{INK};"
                         f"padding:1px 2px;margin:1px;display:inline-block'><b>{esc(f.name)}</b> {hexes}</span>")
        return (f"<div style='font-family:monospace;font-size:85%;line-height:1.7;max-width:100%;"
                f"word-break:break-all'>{''.join(spans)}</div>")

    def _table_html(self) -> str:
        if not self.blob:
            return ""
        rows = []
        for i, f in enumerate(self.fields):
            colour = _PALETTE[i % len(_PALETTE)]
            hexes = f.hex if len(f.raw) <= 8 else f.raw[:8].hex(" ") + " …"
            # long tokens (hex IDs) are cut, with the whole value in the tooltip; words are shown in full
            decoded = f.decoded if len(f.decoded) <= 40 or " " in f.decoded else f.decoded[:24] + "…"
            rows.append([f"<span style='background:{colour};color:{INK};padding:0 4px'>{f.offset}</span>",
                         str(f.length), f"<b>{esc(f.name)}</b>",
                         f"<code style='font-size:85%;white-space:nowrap'>{esc(hexes)}</code>", esc(f.meaning),
                         f"<span title='{esc(f.decoded)}'>{esc(decoded)}</span>"])
        return table_html(["offset", "length", "field", "hex", "meaning", "decoded"], rows, raw=True,
                          css_class="kms-teach-blob-table")

    def _static_parts(self) -> list[str]:
        return [self.summary.value, self.byte_map.value, self.table.value,
                controls_html("paste a base64 CiphertextBlob", "Inspect")]

    def text(self) -> str:
        if not self.blob:
            return "CiphertextInspector: no blob"
        head = f"CiphertextInspector: {len(self.blob)}-byte blob"
        if self.header is None:
            head += " - NOT a valid kms_teach ciphertext blob (InvalidCiphertextException)"
        else:
            h = self.header
            head += f" of key {h.key_id} (account {h.account_id}), key material {h.key_material_id[:16]}..."
        rows = []
        for f in self.fields:
            hexes = f.hex if len(f.raw) <= 8 else f.raw[:8].hex(" ") + " ..."
            rows.append([f.offset, f.length, f.name, hexes, f.decoded])
        out = [head, text_table(["offset", "length", "field", "hex", "decoded"], rows)]
        if self.key_info is not None:
            if "error" in self.key_info:
                out.append(f"key lookup: {self.key_info['error']}")
            else:
                out.append(f"key state {self.key_info['state']}; this backing key is {self.key_info['material_state']}")
        if self.last_error:
            out.append(f"error: {self.last_error}")
        return "\n".join(out)
