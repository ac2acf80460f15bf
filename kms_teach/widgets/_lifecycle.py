"""DataKeyLifecycle: one real envelope encryption and decryption, with where the data key's two copies are at each step."""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as W

from .. import envelope
from ._base import (
    AMBER_BG, BLUE, BLUE_BG, GREEN, GREY, GREY_BG, INK, RED, ErrorInfo, SteppedView, breakable, button,
    context_text, controls_html, error_info, esc, parse_context, svg_img, text_table,
)

__all__ = ["DataKeyLifecycle", "LifecycleStep"]

PHASES = ("encrypt", "decrypt")


@dataclass(frozen=True)
class LifecycleStep:
    """One step of the data key's life: the phase it belongs to and the recipe's own event."""

    phase: str  # "encrypt" or "decrypt"
    event: envelope.DataKeyEvent

    @property
    def secret_exposed(self) -> bool:
        """True while the plaintext data key is in this process's memory."""
        return self.event.plaintext_key == "in memory"


def _lane_colour(where: str, plaintext_lane: bool) -> tuple[str, str]:
    if where == "in memory":
        return (AMBER_BG, INK) if plaintext_lane else (BLUE_BG, INK)
    if where == "wiped":
        return GREY_BG, GREY
    if where == "absent":
        return "#ffffff", GREY
    return BLUE_BG, INK  # the encrypted data key stored in the message header


class DataKeyLifecycle(SteppedView):
    """Envelope encryption step by step: GenerateDataKey, store the encrypted copy, encrypt, discard, and back.

    ``DataKeyLifecycle(cloud, key_id, principal=None, message="Dear diary...", encryption_context=None,
    decrypt_context=None)``. ``.run()`` (the Run button) encrypts ``message`` with
    :func:`kms_teach.envelope.encrypt_bytes` and decrypts the result with
    :func:`kms_teach.envelope.decrypt_bytes`, both through a genuine boto3 client acting as
    ``principal``, and keeps every :class:`kms_teach.envelope.DataKeyEvent` the recipe reports as
    ``.steps`` (:class:`LifecycleStep`). Each step shows where the plaintext data key is (absent, in
    memory, wiped) and where the encrypted data key is (in memory, in the message header). Decrypting
    with a ``decrypt_context`` that differs from the one in the message stops the decryption before
    KMS is asked for the data key, so no plaintext data key ever exists; ``.decrypt_error`` holds the
    refusal. A refusal from KMS (a disabled key, a principal without permission) stops the phase it
    happens in, with AWS's error code in ``.encrypt_error`` or ``.decrypt_error``. ``.step()`` / ``.back()`` (Next / Back) move ``.index``. ``.message`` is the envelope
    message, ``.recovered`` the decrypted bytes. The widget shows lengths and fingerprints, never
    key bytes: the recipe never reports them.
    """

    def __init__(self, cloud, key_id: str, principal: str | None = None, *, message: str = "Dear diary, today I "
                 "learned envelope encryption.", encryption_context: dict | None = None,
                 decrypt_context: dict | None = None, region: str | None = None):
        super().__init__(cloud, region=region)
        self.key_id = key_id
        self.steps: list[LifecycleStep] = []
        self.index = 0
        self.message: bytes | None = None
        self.recovered: bytes | None = None
        self.encrypt_error: ErrorInfo | None = None
        self.decrypt_error: ErrorInfo | None = None
        self.principal_box = W.Combobox(description="as", value=principal or "root", ensure_option=False,
                                        placeholder="root, user/NAME, role/NAME or an ARN",
                                        layout=W.Layout(width="60%"))
        self.message_box = W.Text(description="message", value=message, layout=W.Layout(width="60%"))
        self.context_box = W.Textarea(description="encrypt", value=context_text(encryption_context),
                                      placeholder="encryption context: one key=value a line",
                                      layout=W.Layout(width="60%", height="46px"))
        same = decrypt_context is None
        self.decrypt_context_box = W.Textarea(description="decrypt", value=context_text(
            encryption_context if same else decrypt_context), placeholder="encryption context given to decrypt",
            layout=W.Layout(width="60%", height="46px"))
        self.run_button = button("Encrypt, then decrypt", style="primary", icon="play", css="kms-teach-run")
        for control, css in ((self.principal_box, "kms-teach-principal"), (self.message_box, "kms-teach-message"),
                             (self.context_box, "kms-teach-context"),
                             (self.decrypt_context_box, "kms-teach-decrypt-context")):
            control.add_class(css)
        self.diagram = W.HTML()
        self.diagram.add_class("kms-teach-lifecycle-diagram")
        self.details = W.HTML()
        self.details.add_class("kms-teach-lifecycle-step")
        self.run_button.on_click(lambda _b: self.run())
        self.widget = self._frame([
            self.principal_box, self.message_box, self.context_box, self.decrypt_context_box,
            W.HBox([self.run_button]), self.error_area, self._fresh_key_controls(), self.diagram,
            self._navigation(), self.details,
        ], "kms-teach-data-key-lifecycle")
        self._act(self._list_principals, refresh=False)
        self.run()

    def _run(self) -> None:
        self.steps, self.index, self.message, self.recovered = [], 0, None, None
        self.encrypt_error = self.decrypt_error = None
        who = self.expand_principal(self.principal_box.value)
        context = parse_context(self.context_box.value)
        decrypt_context = parse_context(self.decrypt_context_box.value)
        kms = self.client("kms", principal=who) if who else self.client("kms", as_caller=False)
        data = self.message_box.value.encode("utf-8")
        self._check_key(self.key_id)

        def sink(phase):
            return lambda event: self.steps.append(LifecycleStep(phase, event))

        try:
            self.message = envelope.encrypt_bytes(kms, self.key_id, data, encryption_context=context,
                                                  on_event=sink("encrypt"))
        except Exception as exc:
            self.encrypt_error = error_info(exc)
            if not self.encrypt_error.aws:
                raise
            return
        try:
            self.recovered = envelope.decrypt_bytes(kms, self.message, encryption_context=decrypt_context,
                                                    on_event=sink("decrypt"))
        except Exception as exc:
            self.decrypt_error = error_info(exc)
            if not self.decrypt_error.aws and not isinstance(exc, envelope.EnvelopeError):
                raise

    @property
    def call_error(self) -> ErrorInfo | None:
        """The error that stopped the lifecycle (encryption's, else decryption's), or None."""
        return self.encrypt_error or self.decrypt_error

    # ------------------------------------------------------------------ drawing

    def svg(self) -> str:
        n = max(len(self.steps), 1)
        col, left, top, lane_h = 92, 150, 26, 34
        stop_w = 170 if self.call_error is not None else 0  # room for the refusal after the last step
        width = left + n * col + 10 + stop_w
        height = top + 2 * (lane_h + 8) + 44
        parts = [f"<svg class='kms-teach-lifecycle' xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}'"
                 f" width='100%' style='max-width:{width}px;font-family:sans-serif'>",
                 f"<rect width='{width}' height='{height}' fill='#fff'/>",
                 f"<text x='8' y='{top + lane_h / 2 + 4}' font-size='12' fill='{INK}'>plaintext data key</text>",
                 f"<text x='8' y='{top + lane_h + 8 + lane_h / 2 + 4}' font-size='12' fill='{INK}'>"
                 "encrypted data key</text>"]
        for i, s in enumerate(self.steps):
            x = left + i * col
            here = i == self.index
            if i == 0 or self.steps[i - 1].phase != s.phase:
                parts.append(f"<text x='{x}' y='14' font-size='11' font-weight='bold' fill='{BLUE}'>"
                             f"{esc(s.phase)}</text>")
            for lane, where in ((0, s.event.plaintext_key), (1, s.event.encrypted_key)):
                fill, ink = _lane_colour(where, lane == 0)
                y = top + lane * (lane_h + 8)
                label = "header" if where.startswith("message header") else where
                parts.append(f"<g class='kms-teach-lifecycle-cell' data-step='{i}' data-lane='{lane}'>"
                             f"<rect x='{x + 2}' y='{y}' width='{col - 4}' height='{lane_h}' rx='5' fill='{fill}' "
                             f"stroke='{BLUE if here else '#9aa5b5'}' stroke-width='{2.5 if here else 1}'/>"
                             f"<text x='{x + col / 2}' y='{y + lane_h / 2 + 4}' font-size='11' text-anchor='middle' "
                             f"fill='{ink}'>{esc(label)}</text></g>")
            y = top + 2 * (lane_h + 8) + 14
            parts.append(f"<text x='{x + col / 2}' y='{y}' font-size='10' text-anchor='middle' "
                         f"fill='{INK if here else GREY}' font-weight='{'bold' if here else 'normal'}'>"
                         f"{esc(s.event.step)}</text>")
        if self.call_error is not None:
            x = left + len(self.steps) * col + 8
            y = top + lane_h
            parts.append(f"<g class='kms-teach-lifecycle-stop'><text x='{x}' y='{y}' font-size='12' fill='{RED}'>"
                         f"{esc(self.call_error.code)}</text><text x='{x}' y='{y + 16}' font-size='11' "
                         f"fill='{RED}'>the {'encryption' if self.encrypt_error else 'decryption'} stops</text></g>")
        parts.append("</svg>")
        return "".join(parts)

    def _draw(self) -> None:
        self.diagram.value = self.svg()
        self._draw_position()
        n = len(self.steps)
        cur = self.current
        parts = []
        if cur is not None:
            e = cur.event
            held = f" ({e.plaintext_key_length} bytes)" if cur.secret_exposed else ""
            rows = [("plaintext data key", e.plaintext_key + held),
                    ("encrypted data key", f"{e.encrypted_key} ({e.encrypted_key_length} bytes, "
                                           f"SHA-256 {e.encrypted_key_sha256}…)"),
                    ("KMS key", e.kms_key_arn), ("message ID", e.message_id)]
            if e.chunks:
                rows.append(("data", f"{e.data_bytes} bytes in {e.chunks} chunk(s)"))
            if e.detail:
                rows.append(("what happened", e.detail))
            table = "".join(f"<tr><td style='text-align:left;padding:1px 8px;color:{GREY};vertical-align:top;white-space:nowrap'>"
                            f"{esc(k)}</td><td style='text-align:left;padding:1px 8px'><code>{breakable(v)}</code></td></tr>"
                            for k, v in rows)
            warn = (f" <span style='background:{AMBER_BG};color:{INK};padding:0 6px'>the secret is in memory</span>"
                    if cur.secret_exposed else "")
            parts.append(f"<div><b style='color:{BLUE}'>{esc(cur.phase)}</b>: <b>{esc(e.step)}</b>{warn}</div>"
                         f"<table style='font-size:90%;line-height:1.3'>{table}</table>")
        if self.index == n - 1 or not n:
            if self.call_error is not None:
                phase = "encryption" if self.encrypt_error else "decryption"
                parts.append(f"<div class='kms-teach-lifecycle-error' style='color:{RED}'>The {phase} stops: "
                             f"<b>{esc(self.call_error.code)}</b>: {esc(self.call_error.message)}</div>")
            elif self.recovered is not None:
                ok = self.recovered == self.message_box.value.encode("utf-8")
                parts.append(f"<div style='color:{GREEN if ok else RED}'>Decrypted {len(self.recovered)} bytes"
                             f"{': the original message' if ok else ' that differ from the message'}.</div>")
        self.details.value = "".join(parts)

    def _switch_key(self, metadata: dict) -> None:
        self.key_id = metadata["KeyId"]
        self._run()
        self._draw()

    def _static_parts(self) -> list[str]:
        n = len(self.steps)
        inputs = [f"as: {self.principal_box.value or 'root'}", f"message: {self.message_box.value}"]
        if self.context_box.value:
            inputs.append(f"encrypt context: {self.context_box.value}")
        if self.decrypt_context_box.value:
            inputs.append(f"decrypt context: {self.decrypt_context_box.value}")
        return [controls_html(*inputs, "Encrypt, then decrypt"), svg_img(self.svg(), "data key lifecycle"),
                controls_html("Back", f"step {self.index + 1} of {n}" if n else "no steps", "Next"),
                self.details.value]

    def text(self) -> str:
        out = [f"DataKeyLifecycle: envelope encryption under {self.key_id} as {self.principal_box.value or 'root'}"]
        if self.message is not None:
            out.append(f"message: {len(self.message)} bytes for {len(self.message_box.value.encode('utf-8'))} "
                       "bytes of data")
        rows = [[(">" if i == self.index else " ") + str(i + 1), s.phase, s.event.step, s.event.plaintext_key,
                 s.event.encrypted_key] for i, s in enumerate(self.steps)]
        if rows:
            out.append(text_table(["#", "phase", "step", "plaintext data key", "encrypted data key"], rows))
        if self.call_error is not None:
            out.append(f"stopped: {self.call_error}")
        elif self.recovered is not None:
            out.append(f"decrypted: {len(self.recovered)} bytes"
                       + (", the original message" if self.recovered == self.message_box.value.encode() else ""))
        if self.last_error:
            out.append(f"error: {self.last_error}")
        return "\n".join(out)
