"""EncryptFlow: one real Encrypt, Decrypt or GenerateDataKey call, stepped through the boxes it passes."""

from __future__ import annotations

from dataclasses import dataclass, field

import ipywidgets as W

from .._crypto import BLOB_OVERHEAD, CryptoError, parse_blob_header
from ._base import (
    snake,
    BLUE, GREEN, GREY, INK, RED, RED_BG, ErrorInfo, SteppedView, breakable, button, context_text, controls_html,
    error_info, esc, parse_context, short_arn, svg_img,
)
from ._policy import decision_text

__all__ = ["EncryptFlow", "Step", "BOXES"]

BOXES = ("application", "KMS", "authorization", "key store")
OPERATIONS = ("Encrypt", "Decrypt", "GenerateDataKey")
# What each box does in each operation: the second line of its label.
_ROLES = {
    "Encrypt": ("sends plaintext + key name", "finds the key", "may the caller kms:Encrypt?",
                "encrypts with the current backing key"),
    "Decrypt": ("sends only the ciphertext", "reads the key ID in the blob", "may the caller kms:Decrypt?",
                "decrypts with the backing key the blob names"),
    "GenerateDataKey": ("asks for a data key", "finds the key", "may the caller kms:GenerateDataKey?",
                        "makes a data key, encrypts a copy"),
}
_RETURNS = {"Encrypt": "the ciphertext blob", "Decrypt": "the plaintext",
            "GenerateDataKey": "the data key: plaintext + encrypted copy"}
# Refusals that come from the key itself - its state, its usage, its key material - after authorization.
_KEY_STORE_ERRORS = frozenset({
    "DisabledException", "KMSInvalidStateException", "KeyUnavailableException", "InvalidCiphertextException",
    "IncorrectKeyException", "InvalidKeyUsageException", "KMSInvalidMacException", "KMSInvalidSignatureException",
})


@dataclass
class Step:
    """One step of the flow: where it happens, what it did, with the real values."""

    box: str  # one of BOXES
    title: str
    status: str  # "ok", "denied" (authorization refused), "failed" (another error)
    items: list[tuple[str, str]] = field(default_factory=list)
    error: ErrorInfo | None = None
    returning: bool = False  # the response travelling back to the application


def _show_bytes(data: bytes, limit: int = 40) -> str:
    try:
        text = data.decode("utf-8")
        if text.isprintable():
            return repr(text if len(text) <= limit else text[:limit] + "…")
    except UnicodeDecodeError:
        pass
    return data[:12].hex(" ") + (" …" if len(data) > 12 else "")


class EncryptFlow(SteppedView):
    """Application -> KMS -> authorization -> key store, for one real call, with Next/Back.

    ``EncryptFlow(cloud, key_id, principal=None, operation="Encrypt", plaintext="attack at dawn",
    encryption_context=None, ciphertext=None)``. ``.run()`` (the Run button) makes the call as the
    chosen principal and builds ``.steps`` (:class:`Step`) from what really happened: the request
    parameters, the key's state (DescribeKey by the account's root user), ``cloud.explain``'s decision
    (the same one the call got), and the response (ciphertext length, KeyMaterialId). A call the
    authorization refuses stops at the authorization step with AWS's error (``.call_error``); one the
    key's state refuses stops at the key store. ``.step()`` / ``.back()`` (Next / Back) move
    ``.index``; ``.current`` is the step shown. Decrypt uses ``ciphertext``, else the blob of the
    last Encrypt run here, else one the account's root user makes from the plaintext first.
    ``.refresh()`` makes the call again.
    """

    def __init__(self, cloud, key_id: str, principal: str | None = None, *, operation: str = "Encrypt",
                 plaintext: str | bytes = "attack at dawn", encryption_context: dict | None = None,
                 ciphertext: bytes | None = None, region: str | None = None):
        super().__init__(cloud, region=region)
        if operation not in OPERATIONS:
            raise ValueError(f"operation must be one of {', '.join(OPERATIONS)}")
        self.key_id = key_id
        self.ciphertext = ciphertext
        self.steps: list[Step] = []
        self.index = 0
        self.response: dict | None = None
        self.call_error: ErrorInfo | None = None
        self.decision = None
        self._made_by_root = False
        self.ciphertext_made: bytes | None = None  # the blob of the last Encrypt run here (Decrypt's default)
        if isinstance(plaintext, bytes):
            plaintext = plaintext.decode("utf-8", "replace")
        self.operation = W.ToggleButtons(options=list(OPERATIONS), value=operation)
        self.principal_box = W.Combobox(description="as", value=principal or "root", ensure_option=False,
                                        placeholder="root, user/NAME, role/NAME or an ARN",
                                        layout=W.Layout(width="60%"))
        self.plaintext_box = W.Text(description="plaintext", value=plaintext, layout=W.Layout(width="60%"))
        self.context_box = W.Textarea(description="context", value=context_text(encryption_context),
                                      placeholder="encryption context: one key=value a line",
                                      layout=W.Layout(width="60%", height="50px"))
        self.run_button = button("Run the call", style="primary", icon="play", css="kms-teach-run")
        for control, css in ((self.operation, "kms-teach-operation"), (self.principal_box, "kms-teach-principal"),
                             (self.plaintext_box, "kms-teach-plaintext"), (self.context_box, "kms-teach-context")):
            control.add_class(css)
        self.diagram = W.HTML()
        self.diagram.add_class("kms-teach-flow-diagram")
        self.details = W.HTML()
        self.details.add_class("kms-teach-flow-step")
        self.run_button.on_click(lambda _b: self.run())
        self.operation.observe(lambda _change: self._show_inputs(), names="value")
        self.widget = self._frame([
            self.operation, self.principal_box, self.plaintext_box, self.context_box, W.HBox([self.run_button]),
            self.error_area, self._fresh_key_controls(), self.diagram, self._navigation(), self.details,
        ], "kms-teach-encrypt-flow")
        self._show_inputs()
        self._act(self._list_principals, refresh=False)
        self.run()

    def _show_inputs(self) -> None:
        """Only the inputs the chosen operation takes: Decrypt sends a ciphertext, GenerateDataKey no data."""
        op = self.operation.value
        needs_plaintext = op == "Encrypt" or (op == "Decrypt" and self.ciphertext is None
                                              and self.ciphertext_made is None)
        self.plaintext_box.layout.display = "" if needs_plaintext else "none"
        self.plaintext_box.description = "plaintext" if op == "Encrypt" else "to encrypt first"

    def _switch_key(self, metadata: dict) -> None:
        self.key_id = metadata["KeyId"]
        self.ciphertext = self.ciphertext_made = None
        self._show_inputs()
        self._run()
        self._draw()

    def _root_kms(self):
        return self.client("kms", as_caller=False)

    def _run(self) -> None:
        self.steps, self.index, self.response, self.call_error, self.decision = [], 0, None, None, None
        op = self.operation.value
        self._show_inputs()
        context = parse_context(self.context_box.value)
        who = self.expand_principal(self.principal_box.value)
        who_arn = who or f"arn:aws:iam::{self.cloud.account_id}:root"
        kms = self.client("kms", principal=who) if who else self._root_kms()
        plaintext = self.plaintext_box.value.encode("utf-8")

        # 1. what the application sends
        params: dict = {}
        blob_header = None
        key_ref = self.key_id
        if op != "Decrypt" or (self.ciphertext is None and self.ciphertext_made is None):
            self._check_key(self.key_id)
        if op == "Decrypt":
            blob = self._blob_for_decrypt(plaintext, context)
            params["CiphertextBlob"] = blob
            try:
                blob_header = parse_blob_header(blob)
                key_ref = f"arn:aws:kms:{self.region}:{blob_header.account_id}:key/{blob_header.key_id}"
            except CryptoError:
                blob_header = None
            if blob_header is not None:
                self._check_key(key_ref)
        else:
            params["KeyId"] = self.key_id
            if op == "Encrypt":
                params["Plaintext"] = plaintext
            else:
                params["KeySpec"] = "AES_256"
        if context:
            params["EncryptionContext"] = context

        app_items = [("caller", who_arn), ("call", f"kms.{snake(op)}(...) in {self.region}")]
        for k, v in params.items():
            app_items.append((k, f"{len(v)} bytes: {_show_bytes(v)}" if isinstance(v, bytes) else str(v)))
        if op == "Decrypt":
            app_items.append(("KeyId", "not needed: the blob names its key"))
            if self._made_by_root:
                app_items.append(("note", "the account's root user made this blob (Encrypt of the plaintext, with "
                                          "the context given then); Run Encrypt here to decrypt your own"))
        steps = [Step("application", f"Your code calls {op} as {short_arn(who_arn)}", "ok", app_items)]

        # 2. KMS receives it and finds the key (as the key's owner sees it: DescribeKey by the root user)
        md, md_error = None, None
        try:
            md = self._root_kms().describe_key(KeyId=key_ref)["KeyMetadata"]
        except Exception as exc:
            md_error = error_info(exc)
        kms_items = [("Region", self.region)]
        if op == "Decrypt":
            if blob_header is not None:
                kms_items += [("key ID (from the blob header)", blob_header.key_id),
                              ("backing key (from the blob header)", blob_header.key_material_id)]
            else:
                kms_items.append(("blob header", "not a valid kms_teach ciphertext blob"))
        if md is not None:
            kms_items += [("key ARN", md["Arn"]), ("key state", md["KeyState"]),
                          ("key spec / usage", f"{md['KeySpec']} / {md['KeyUsage']}")]
        elif op != "Decrypt" or blob_header is not None:
            kms_items.append(("DescribeKey (root)", str(md_error)))
        steps.append(Step("KMS", "KMS receives the request and finds the key", "ok", kms_items))

        # 3. the decision (cloud.explain gives the very decision the call gets), then the real call
        action = f"kms:{op}"
        explain_error = None
        if op != "Decrypt" or blob_header is not None:
            try:
                self.decision = self.cloud.explain(who, action, key_ref, region=self.region,
                                                   encryption_context=context)
            except Exception as exc:
                explain_error = error_info(exc)
        response = None
        try:
            response = getattr(kms, snake(op))(**params)
            response = {k: v for k, v in response.items() if k != "ResponseMetadata"}
        except Exception as exc:
            self.call_error = error_info(exc)
        self.response = response
        err = self.call_error

        if err is not None and (explain_error is not None or (op == "Decrypt" and blob_header is None)
                                or (err.code != "AccessDeniedException" and err.code not in _KEY_STORE_ERRORS)):
            # refused by KMS itself: no such key, a blob that is not one, a request that is not valid
            steps[-1].status, steps[-1].error = "failed", err
            self.steps = steps
            return

        d = self.decision
        auth_items = [("action", action), ("principal", who_arn)]
        if d is not None:
            auth_items += [("decision", "ALLOWED" if d.allowed else "DENIED"), ("because", d.summary)]
            auth_items += [("deciding", str(r)) for r in d.deciding]
            auth_items.append(("considered", f"{len(d.reasons)} statement(s) and grant(s)"))
        if err is not None and err.code == "AccessDeniedException":
            steps.append(Step("authorization", "KMS checks the key policy, IAM policies and grants: DENIED",
                              "denied", auth_items, err))
            self.steps = steps
            return
        steps.append(Step("authorization", "KMS checks the key policy, IAM policies and grants: allowed", "ok",
                          auth_items))

        # 4. the key store: key state, backing key, cryptography
        store_items = []
        if md is not None:
            store_items.append(("key state", md["KeyState"] + (": cryptographic operations allowed"
                                                               if md["KeyState"] == "Enabled" else "")))
        out_blob = (response or {}).get("CiphertextBlob")
        material = None
        if op == "Decrypt" and blob_header is not None:
            material = blob_header.key_material_id
            store_items.append(("backing key (named by the blob)", material))
        elif out_blob:
            try:
                material = parse_blob_header(out_blob).key_material_id
            except CryptoError:
                material = None
            store_items.append(("backing key (the current one)", material or "?"))
        if err is not None:
            steps.append(Step("key store", "The key store refuses", "failed", store_items, err))
            self.steps = steps
            return
        if op == "Encrypt":
            store_items += [("one-time key", "HKDF-SHA256(backing key, a random 16-byte nonce)"),
                            ("cipher", "AES-256-GCM; header and encryption context authenticated")]
        elif op == "GenerateDataKey":
            store_items += [("data key", "32 fresh random bytes (AES-256)"),
                            ("then", "encrypted under the backing key, like Encrypt")]
        else:
            store_items += [("check", "the tag over header, context and ciphertext verifies"),
                            ("cipher", "AES-256-GCM decryption with the one-time key")]
        steps.append(Step("key store", "The key store uses the backing key (it never leaves KMS)", "ok", store_items))

        # 5. the response
        resp_items = []
        for k, v in response.items():
            if k == "Plaintext" and op == "GenerateDataKey":
                resp_items.append((k, f"{len(v)} bytes: the data key - use it, then forget it"))
            elif isinstance(v, bytes):
                resp_items.append((k, f"{len(v)} bytes: {_show_bytes(v)}"))
            else:
                resp_items.append((k, str(v)))
        if out_blob:
            extra = len(plaintext) if op == "Encrypt" else 32
            resp_items.append(("CiphertextBlob length", f"{len(out_blob)} = {extra} + {BLOB_OVERHEAD} bytes "
                                                        "(header and tag)"))
            if material:
                resp_items.append(("KeyMaterialId (in the blob)", material))
            if op == "Encrypt":
                self.ciphertext_made, self._made_by_root = out_blob, False
        steps.append(Step("application", f"{op} answers the application", "ok", resp_items, returning=True))
        self.steps = steps

    def _blob_for_decrypt(self, plaintext: bytes, context) -> bytes:
        if self.ciphertext is not None:
            self._made_by_root = False
            return bytes(self.ciphertext)
        if self.ciphertext_made is not None:
            return self.ciphertext_made
        args = {"KeyId": self.key_id, "Plaintext": plaintext}
        if context:
            args["EncryptionContext"] = context
        self._made_by_root = True
        self.ciphertext_made = self._root_kms().encrypt(**args)["CiphertextBlob"]
        return self.ciphertext_made

    # ------------------------------------------------------------------ drawing

    def svg(self) -> str:
        cur = self.current
        op = self.operation.value
        reached = {s.box for s in self.steps}
        failed = {s.box for s in self.steps if s.status != "ok"}
        roles = _ROLES[op]
        # each box as wide as its two lines need (13 px and 10.5 px sans-serif)
        widths = [max(len(box) * 8.0, len(role) * 5.9) + 24 for box, role in zip(BOXES, roles)]
        h, gap, top, left = 58, 46, 30, 14
        xs = []
        x = left
        for w in widths:
            xs.append(x)
            x += w + gap
        width = x - gap + left
        height = top + h + 48
        parts = [f"<svg class='kms-teach-flow' xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width:.0f} {height}' "
                 f"width='{width:.0f}' style='max-width:100%;font-family:sans-serif'>",
                 "<defs><marker id='kt-flow-arrow' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' "
                 f"markerHeight='7' orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' fill='{GREY}'/></marker>"
                 "<marker id='kt-flow-arrow-hot' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='5' "
                 f"markerHeight='5' orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' fill='{BLUE}'/></marker>"
                 f"</defs><rect width='{width:.0f}' height='{height}' fill='#fff'/>",
                 f"<text x='{left}' y='18' font-size='12' fill='{INK}' font-weight='bold'>{esc(op)}</text>"]
        for i in range(len(BOXES) - 1):
            x1, x2 = xs[i] + widths[i], xs[i + 1]
            parts.append(f"<line x1='{x1 + 2}' y1='{top + h / 2}' x2='{x2 - 2}' y2='{top + h / 2}' stroke='{GREY}' "
                         "stroke-width='1.5' marker-end='url(#kt-flow-arrow)'/>")
        back_hot = cur is not None and cur.returning
        colour = BLUE if back_hot else "#bbb"
        mid_last, mid_first = xs[-1] + widths[-1] / 2, xs[0] + widths[0] / 2
        parts.append(f"<path d='M {mid_last} {top + h} V {top + h + 30} H {mid_first} V {top + h + 3}' "
                     f"fill='none' stroke='{colour}' stroke-width='{2.5 if back_hot else 1.2}' "
                     f"marker-end='url(#{'kt-flow-arrow-hot' if back_hot else 'kt-flow-arrow'})' "
                     "class='kms-teach-flow-return'/>")
        parts.append(f"<text x='{(mid_first + mid_last) / 2}' y='{top + h + 25}' font-size='11' text-anchor='middle' "
                     f"fill='{BLUE if back_hot else '#888'}'>response: {esc(_RETURNS[op])}</text>")
        for x, w, box, role in zip(xs, widths, BOXES, roles):
            here = cur is not None and cur.box == box and not cur.returning
            if box in failed:
                fill, ink = (RED if here else RED_BG), ("#fff" if here else INK)
            elif here:
                fill, ink = BLUE, "#fff"
            elif box in reached:
                fill, ink = "#dde9f8", INK
            else:
                fill, ink = "#f4f4f4", "#999"
            dash = "" if box in reached else " stroke-dasharray='4 3'"
            parts.append(f"<g class='kms-teach-flow-box{' kms-teach-current' if here else ''}' data-box='{box}'>"
                         f"<rect x='{x}' y='{top}' width='{w:.0f}' height='{h}' rx='8' fill='{fill}' stroke='#5a6b85'"
                         f"{dash} stroke-width='{2.5 if here else 1}'/><text x='{x + w / 2}' y='{top + 24}' "
                         f"font-size='13' font-weight='bold' text-anchor='middle' fill='{ink}'>{esc(box)}</text>"
                         f"<text x='{x + w / 2}' y='{top + 43}' font-size='10.5' text-anchor='middle' "
                         f"fill='{ink}'>{esc(role)}</text></g>")
        parts.append("</svg>")
        return "".join(parts)

    def _draw(self) -> None:
        self.diagram.value = self.svg()
        cur = self.current
        self._draw_position()
        if cur is None:
            self.details.value = ""
            return
        colour = {"ok": GREEN, "denied": RED, "failed": RED}[cur.status]
        rows = "".join(f"<tr><td style='text-align:left;padding:1px 8px;color:{GREY};vertical-align:top;white-space:nowrap'>"
                       f"{esc(k)}</td><td style='text-align:left;padding:1px 8px'><code>{breakable(v)}</code></td></tr>"
                       for k, v in cur.items)
        error = ""
        if cur.error is not None:
            error = (f"<div class='kms-teach-flow-error' style='background:{RED_BG};color:{INK};padding:6px 10px;"
                     f"border-left:6px solid {RED}'>AWS answers <b style='color:{RED}'>{esc(cur.error.code)}</b>: "
                     f"{esc(cur.error.message)}<br><i>The call stops here.</i></div>")
        self.details.value = (f"<div><b style='color:{colour}'>{esc(cur.box)}</b>: {esc(cur.title)}</div>"
                              f"<table style='font-size:90%;line-height:1.3'>{rows}</table>{error}")

    def _static_parts(self) -> list[str]:
        inputs = [f"operation: {self.operation.value}", f"as: {self.principal_box.value or 'root'}"]
        if self.plaintext_box.layout.display != "none":
            inputs.append(f"{self.plaintext_box.description}: {self.plaintext_box.value}")
        if self.context_box.value:
            inputs.append(f"context: {self.context_box.value}")
        n = len(self.steps)
        return [controls_html(*inputs, "Run the call"), svg_img(self.svg(), f"{self.operation.value} flow"),
                controls_html("Back", f"step {self.index + 1} of {n}" if n else "no steps", "Next"),
                self.details.value]

    def text(self) -> str:
        op = self.operation.value
        out = [f"EncryptFlow: {op} on {self.key_id} as {self.principal_box.value or 'root'}"]
        for i, s in enumerate(self.steps):
            mark = ">" if i == self.index else " "
            out.append(f"{mark} {i + 1}. [{s.box}] {s.title} ({s.status})")
            for k, v in s.items:
                out.append(f"       {k}: {v}")
            if s.error is not None:
                out.append(f"       AWS answers {s.error}")
        if self.decision is not None and self.steps and self.steps[-1].status == "denied":
            out.append(decision_text(self.decision))
        if self.last_error:
            out.append(f"error: {self.last_error}")
        return "\n".join(out)

