"""SignVerifyFlow: sign inside KMS with an asymmetric key, verify outside it with the public key alone."""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as W
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from ._base import (
    BLUE, BLUE_BG, GREEN, GREEN_BG, GREY, INK, RED, RED_BG, View, breakable, button, controls_html, error_info,
    esc, svg_img, table_html, text_table, words,
)

__all__ = ["SignVerifyFlow", "SignStep"]

_HASHES = {"SHA_256": hashes.SHA256, "SHA_384": hashes.SHA384, "SHA_512": hashes.SHA512}
# The key specs a learner may pick for a fresh signing key (what this widget can verify outside KMS).
SIGNING_SPECS = ("ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1", "RSA_2048", "RSA_3072",
                 "RSA_4096", "ECC_NIST_EDWARDS25519")


@dataclass(frozen=True)
class SignStep:
    """One step of the flow: where it ran (inside KMS or outside), the call, and its outcome."""

    where: str  # "KMS" or "outside"
    name: str
    call: str
    ok: bool
    detail: str


def verify_outside(public_der: bytes, algorithm: str, message: bytes, signature: bytes) -> bool:
    """Check a KMS signature with nothing but its public key (DER SubjectPublicKeyInfo) and ``cryptography``.

    The algorithms as AWS documents them: ECDSA over the message's SHA-2 hash; RSASSA-PSS with MGF1 and a
    salt as long as the hash; RSASSA-PKCS1-v1_5; pure Ed25519 (``ED25519_SHA_512``).
    """
    public = serialization.load_der_public_key(public_der)
    try:
        if algorithm == "ED25519_SHA_512":
            if not isinstance(public, ed25519.Ed25519PublicKey):
                return False
            public.verify(signature, message)
            return True
        family, _, hname = algorithm.partition("_SHA_")
        h = _HASHES["SHA_" + hname]()
        if family == "ECDSA":
            if not isinstance(public, ec.EllipticCurvePublicKey):
                return False
            public.verify(signature, message, ec.ECDSA(h))
        elif family in ("RSASSA_PSS", "RSASSA_PKCS1_V1_5"):
            if not isinstance(public, rsa.RSAPublicKey):
                return False
            pad = padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size) if family == "RSASSA_PSS" \
                else padding.PKCS1v15()
            public.verify(signature, message, pad, h)
        else:
            raise ValueError(f"{algorithm} is not a signing algorithm this widget verifies outside KMS")
        return True
    except InvalidSignature:
        return False


class SignVerifyFlow(View):
    """Sign in KMS, take the public key out, verify outside KMS: the steps and what each side holds.

    ``SignVerifyFlow(cloud, key_id=None, key_spec="ECC_NIST_P256", message="cat-robot firmware 2.0")``. Without
    ``key_id`` the widget creates its own SIGN_VERIFY key of ``key_spec``. ``.run()`` (the Run button) makes
    the real calls: Sign (in KMS, with the private key that never leaves it), GetPublicKey, then verifies
    the signature *outside* KMS with ``cryptography`` and the public key alone, and also asks KMS's Verify.
    With ``.tamper`` ticked the outside verifier checks a changed message, as an attacker would send it.
    ``.steps`` are the :class:`SignStep` of the last run; ``.signature`` and ``.public_key`` what was
    produced. The private key never appears: KMS has no operation that returns it.
    """

    def __init__(self, cloud, key_id: str | None = None, *, key_spec: str = "ECC_NIST_P256",
                 message: str = "cat-robot firmware 2.0", region: str | None = None):
        super().__init__(cloud, region=region)
        self.key_id = key_id
        self.metadata: dict | None = None
        self.steps: list[SignStep] = []
        self.signature: bytes | None = None
        self.public_key: bytes | None = None
        self.message = W.Text(value=message, description="message", layout=W.Layout(width="420px"))
        self.algorithm = W.Dropdown(description="algorithm", options=[], layout=W.Layout(width="360px"))
        self.tamper = W.Checkbox(value=False, description="the partner receives a changed message", indent=False)
        self.spec = W.Dropdown(description="new key spec", options=list(SIGNING_SPECS), value=key_spec,
                               style={"description_width": "initial"}, layout=W.Layout(width="300px"))
        self.run_button = button("Sign in KMS, verify outside", style="primary", icon="play", css="kms-teach-run")
        for control, css in ((self.message, "kms-teach-message"), (self.algorithm, "kms-teach-algorithm"),
                             (self.tamper, "kms-teach-tamper"), (self.spec, "kms-teach-spec")):
            control.add_class(css)
        self.new_key_button = button("a new signing key (CreateKey)", icon="plus", css="kms-teach-new-signing-key")
        self.run_button.on_click(lambda _b: self.run())
        self.new_key_button.on_click(lambda _b: self.new_key())
        self.info = W.HTML()
        self.diagram = W.HTML()
        self.diagram.add_class("kms-teach-sign-diagram")
        self.table = W.HTML()
        self.table.add_class("kms-teach-sign-steps")
        self.widget = self._frame([
            self.info, self._fresh_key_controls(), self.diagram,
            W.HBox([self.message, self.algorithm]), self.tamper,
            W.HBox([self.run_button, self.spec, self.new_key_button]),
            self.error_area, self.table,
        ], "kms-teach-sign-verify")
        if key_id is None:
            self._act(lambda: self._create(key_spec), refresh=False)
        else:
            self._act(self._read, refresh=False)
        self.run()

    # ------------------------------------------------------------------ keys

    def _create(self, spec: str) -> None:
        md = self.client("kms", as_caller=False).create_key(
            KeySpec=spec, KeyUsage="SIGN_VERIFY", Description="a signing key for the SignVerifyFlow")["KeyMetadata"]
        self._switch_key(md)

    def _fresh_key_args(self) -> dict:
        return {"KeySpec": self.spec.value, "KeyUsage": "SIGN_VERIFY"}

    def _switch_key(self, metadata: dict) -> None:
        self.key_id = metadata["KeyId"]
        self._read()

    def new_key(self, spec: str | None = None):
        """CreateKey a new SIGN_VERIFY key of ``spec`` (default: the key spec box) and run again."""
        if spec is not None:
            self.spec.value = spec
        self._act(lambda: self._create(self.spec.value), refresh=False)
        return self.run()

    def _read(self) -> None:
        self.metadata = self.client("kms", as_caller=False).describe_key(KeyId=self.key_id)["KeyMetadata"]
        options = [a for a in self.metadata.get("SigningAlgorithms") or [] if a != "ED25519_PH_SHA_512"]
        keep = self.algorithm.value
        self.algorithm.options = options
        if options:
            self.algorithm.value = keep if keep in options else options[0]

    # ------------------------------------------------------------------ the flow

    def run(self) -> list[SignStep]:
        self._act(self._run, refresh=False)
        self._safe(self._draw)
        return self.steps

    def _refresh(self) -> None:
        self._run()
        self._draw()

    def _run(self) -> None:
        self.steps, self.signature, self.public_key = [], None, None
        if self._check_key(self.key_id) is not None:
            return
        self._read()
        kms = self.client("kms", as_caller=False)
        message = self.message.value.encode("utf-8")
        algorithm = self.algorithm.value
        received = message + b" (changed on the way)" if self.tamper.value else message
        try:
            self.signature = kms.sign(KeyId=self.key_id, Message=message, MessageType="RAW",
                                      SigningAlgorithm=algorithm)["Signature"]
            self.steps.append(SignStep("KMS", "Sign", f"kms.sign(..., SigningAlgorithm={algorithm})", True,
                                       f"a {len(self.signature)}-byte signature, made with the private key inside "
                                       "KMS"))
        except Exception as exc:
            err = error_info(exc)
            self.steps.append(SignStep("KMS", "Sign", "kms.sign", False, str(err)))
            return
        try:
            self.public_key = kms.get_public_key(KeyId=self.key_id)["PublicKey"]
            self.steps.append(SignStep("KMS", "GetPublicKey", "kms.get_public_key", True,
                                       f"{len(self.public_key)} bytes of DER SubjectPublicKeyInfo: safe to publish"))
        except Exception as exc:
            self.steps.append(SignStep("KMS", "GetPublicKey", "kms.get_public_key", False, str(error_info(exc))))
            return
        ok = verify_outside(self.public_key, algorithm, received, self.signature)
        what = "the changed message" if self.tamper.value else "the message"
        self.steps.append(SignStep("outside", "verify", "cryptography: public_key.verify(...)", ok,
                                   f"{what}: the signature is {'VALID' if ok else 'INVALID'} (no call to KMS, "
                                   "no AWS account needed)"))
        try:
            valid = kms.verify(KeyId=self.key_id, Message=received, MessageType="RAW", Signature=self.signature,
                               SigningAlgorithm=algorithm)["SignatureValid"]
            detail = f"{what}: SignatureValid {valid}"
        except Exception as exc:
            err = error_info(exc)
            valid, detail = False, f"{what}: {err.code} (KMS's answer to a signature that does not verify)"
        self.steps.append(SignStep("KMS", "Verify", "kms.verify (optional: needs kms:Verify)", valid, detail))

    # ------------------------------------------------------------------ drawing

    def svg(self) -> str:
        done = {s.name: s for s in self.steps}
        spec = (self.metadata or {}).get("KeySpec", "?")

        def box(x, y, w, h, title, sub, name=None, fill="#ffffff"):
            step = done.get(name) if name else None
            stroke, width = "#5a6b85", 1
            if step is not None:
                fill = GREEN_BG if step.ok else RED_BG
                stroke, width = (GREEN if step.ok else RED), 2.2
            return (f"<g class='kms-teach-sign-box' data-step='{esc(name or title)}'><rect x='{x}' y='{y}' "
                    f"width='{w}' height='{h}' rx='8' fill='{fill}' stroke='{stroke}' stroke-width='{width}'/>"
                    f"<text x='{x + w / 2}' y='{y + 21}' font-size='13' font-weight='bold' text-anchor='middle' "
                    f"fill='{INK}'>{esc(title)}</text><text x='{x + w / 2}' y='{y + 38}' font-size='10.5' "
                    f"text-anchor='middle' fill='#333'>{esc(sub)}</text></g>")

        def arrow(x1, y1, x2, y2, label, hot, dy=-6):
            colour = BLUE if hot else "#aaa"
            return (f"<line x1='{x1}' y1='{y1}' x2='{x2}' y2='{y2}' stroke='{colour}' stroke-width='{2 if hot else 1.2}'"
                    f" marker-end='url(#kt-sign-arrow{'-hot' if hot else ''})'/><text x='{(x1 + x2) / 2}' "
                    f"y='{(y1 + y2) / 2 + dy}' font-size='10.5' text-anchor='middle' fill='{colour if hot else '#777'}' "
                    f"style='paint-order:stroke;stroke:#fff;stroke-width:3px'>{esc(label)}</text>")

        verify_out = done.get("verify")
        verdict = ""
        if verify_out is not None:
            verdict = (f"<text x='760' y='229' font-size='13' font-weight='bold' text-anchor='middle' "
                       f"fill='{GREEN if verify_out.ok else RED}'>{'✔ valid' if verify_out.ok else '✘ invalid'}"
                       "</text>")
        parts = [
            "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 920 250' width='920' "
            "style='max-width:100%;font-family:sans-serif'>",
            "<defs>"
            f"<marker id='kt-sign-arrow' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' markerHeight='7' "
            f"orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' fill='#aaa'/></marker>"
            f"<marker id='kt-sign-arrow-hot' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='6' markerHeight='6' "
            f"orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' fill='{BLUE}'/></marker></defs>",
            "<rect width='920' height='250' fill='#fff'/>",
            f"<rect x='10' y='10' width='470' height='230' rx='14' fill='{BLUE_BG}' stroke='#7a8ca8'/>",
            f"<text x='24' y='32' font-size='13' font-weight='bold' fill='{INK}'>inside AWS KMS</text>",
            f"<text x='24' y='48' font-size='10.5' fill='#333'>key {esc((self.key_id or '?')[:8])}… ({esc(spec)}, "
            "SIGN_VERIFY): the private key never leaves</text>",
            f"<rect x='560' y='10' width='350' height='230' rx='14' fill='#f6f6f6' stroke='#999' "
            "stroke-dasharray='6 4'/>",
            f"<text x='574' y='32' font-size='13' font-weight='bold' fill='{INK}'>outside: anyone, anywhere</text>",
            "<text x='574' y='48' font-size='10.5' fill='#333'>a partner with no AWS account, no KMS call</text>",
            box(30, 70, 150, 50, "private key", "inside the HSM", fill="#fff2c6"),
            box(250, 70, 200, 50, "Sign", "private key + message", "Sign"),
            box(250, 160, 200, 50, "GetPublicKey", "the public half, as DER", "GetPublicKey"),
            box(660, 70, 200, 50, "message + signature", "what the partner receives"),
            box(660, 160, 200, 50, "verify", "with the public key only", "verify"),
            arrow(180, 95, 248, 95, "used by", "Sign" in done),
            arrow(450, 95, 658, 95, "signature (+ message)", "Sign" in done),
            arrow(450, 185, 658, 185, "public key", "GetPublicKey" in done),
            arrow(760, 120, 760, 158, "", "verify" in done),
            verdict,
            "</svg>",
        ]
        return "".join(parts)

    def _info_html(self) -> str:
        md = self.metadata or {}
        return (f"<div>Key <code>{esc(self.key_id or '?')}</code>: <b>{esc(md.get('KeySpec', '?'))}</b>, "
                f"{esc(md.get('KeyUsage', '?'))}; signing algorithms "
                f"{esc(', '.join(md.get('SigningAlgorithms') or []))}.</div>")

    def _table_html(self) -> str:
        if not self.steps:
            return ""
        rows, styles = [], []
        for s in self.steps:
            rows.append([esc(s.where), f"<b>{esc(s.name)}</b>", f"<code>{words(s.call)}</code>",
                         f"<b style='color:{GREEN if s.ok else RED}'>{'ok' if s.ok else 'no'}</b>", breakable(s.detail)])
            styles.append(f"background:{GREEN_BG if s.ok else RED_BG};color:{INK}")
        return table_html(["where", "step", "call", "", "what happened"], rows, raw=True, row_styles=styles)

    def _draw(self) -> None:
        self.info.value = self._info_html()
        self.diagram.value = self.svg()
        self.table.value = self._table_html()

    def _static_parts(self) -> list[str]:
        return [self._info_html(), svg_img(self.svg(), "sign inside KMS, verify outside"),
                controls_html(f"message: {self.message.value}", f"algorithm: {self.algorithm.value}",
                              "the partner receives a changed message" + (" ✔" if self.tamper.value else ""),
                              "Sign in KMS, verify outside", f"new key spec: {self.spec.value}",
                              "a new signing key (CreateKey)"),
                self._table_html()]

    def text(self) -> str:
        md = self.metadata or {}
        out = [f"SignVerifyFlow: key {self.key_id} ({md.get('KeySpec', '?')}), {self.algorithm.value}"]
        if self.steps:
            out.append(text_table(["where", "step", "ok", "what happened"],
                                  [[s.where, s.name, "ok" if s.ok else "no", s.detail] for s in self.steps]))
        if self.last_error:
            out.append(f"error: {self.last_error}")
        return "\n".join(out)
