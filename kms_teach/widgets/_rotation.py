"""RotationTimeline: a key's backing keys over simulated time, and the ciphertexts each one made."""

from __future__ import annotations

import datetime as _dt
import io
from dataclasses import dataclass, field

import ipywidgets as W

from .._crypto import CryptoError, parse_blob_header
from ._base import (
    BLUE, RED, View, button, controls_html, error_info, esc, fmt_time, png_img, table_html, text_table, utc,
)

__all__ = ["RotationTimeline", "Sample"]


@dataclass
class Sample:
    """A message the widget encrypted, pinned to the backing key that made it."""

    number: int
    message: str
    blob: bytes = field(repr=False)
    encrypted_at: _dt.datetime
    key_material_id: str  # what Decrypt reported right after Encrypt
    header_key_material_id: str  # what the blob's header names (the same, by construction)
    last_check: str = ""  # the last "Decrypt all samples": "ok <KeyMaterialId>" or the error


def _figure_module():
    # The object-oriented API with the Agg canvas: no pyplot, so no global backend is chosen or
    # changed and no figure is kept by pyplot (a replaced figure is simply garbage).
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    return Figure, FigureCanvasAgg


class RotationTimeline(View):
    """The backing keys of a KMS key over simulated time, with ciphertexts pinned to the one that made them.

    ``RotationTimeline(cloud, key_id, principal=None)``. It reads ListKeyRotations
    (``IncludeKeyMaterial="ALL_KEY_MATERIAL"``), DescribeKey (``CurrentKeyMaterialId``) and
    GetKeyRotationStatus. Methods (and buttons): ``encrypt_sample(message=None)`` (Encrypt, then Decrypt
    to record the KeyMaterialId KMS reports), ``enable_rotation(period_days=None)``
    (EnableKeyRotation with the period box, which AWS validates: 90 to 2560 days), ``rotate_now()``
    (RotateKeyOnDemand), ``advance(days=None)`` (the simulated clock; by default by the rotation period),
    ``decrypt_samples()`` (every sample still decrypts, with its own backing key). ``.materials``,
    ``.current_key_material_id``, ``.rotation`` and ``.samples`` are what was last read; ``.figure`` is the
    matplotlib Figure, ``.png`` its image. When the key is deleted (or scheduled for deletion) elsewhere,
    the widget says so (``.key_gone``) and ``use_fresh_key()`` goes on with a new key.
    """

    def __init__(self, cloud, key_id: str, *, principal: str | None = None, region: str | None = None):
        super().__init__(cloud, region=region, principal=principal)
        self.key_id = key_id
        self.materials: list[dict] = []
        self.current_key_material_id: str | None = None
        self.rotation: dict = {}
        self.key_state: str | None = None
        self.samples: list[Sample] = []
        self.figure = None
        self.png = b""
        self.last_call = ""
        self.image = W.Image(format="png", layout=W.Layout(max_width="100%"))
        self.image.add_class("kms-teach-rotation-figure")
        self.info = W.HTML()
        self.info.add_class("kms-teach-rotation-info")
        self.table = W.HTML()
        self.table.add_class("kms-teach-rotation-table")
        self.message = W.Text(value="attack at dawn", description="message", layout=W.Layout(width="320px"))
        # Not bounded: a period outside 90..2560 reaches KMS, and the learner sees AWS's ValidationException.
        self.period = W.IntText(value=365, description="period (days)", style={"description_width": "initial"},
                                layout=W.Layout(width="200px"))
        self.advance_days = W.BoundedIntText(value=365, min=1, max=3650, description="days",
                                             layout=W.Layout(width="150px"))
        for control, css in ((self.message, "kms-teach-message"), (self.period, "kms-teach-period"),
                             (self.advance_days, "kms-teach-advance-days")):
            control.add_class(css)
        self.buttons = {
            "encrypt": button("Encrypt a sample", icon="lock", css="kms-teach-encrypt-sample"),
            "enable": button("EnableKeyRotation", style="success", icon="repeat", css="kms-teach-enable-rotation"),
            "rotate": button("RotateKeyOnDemand", style="warning", icon="refresh", css="kms-teach-rotate-now"),
            "advance": button("advance the clock", icon="forward", css="kms-teach-advance"),
            "decrypt": button("Decrypt all samples", icon="unlock", css="kms-teach-decrypt-samples"),
            "refresh": button("refresh", icon="refresh", css="kms-teach-refresh"),
        }
        self.buttons["encrypt"].on_click(lambda _b: self.encrypt_sample())
        self.buttons["enable"].on_click(lambda _b: self.enable_rotation())
        self.buttons["rotate"].on_click(lambda _b: self.rotate_now())
        self.buttons["advance"].on_click(lambda _b: self.advance())
        self.buttons["decrypt"].on_click(lambda _b: self.decrypt_samples())
        self.buttons["refresh"].on_click(lambda _b: self.refresh())
        self.status = W.HTML()
        self.status.add_class("kms-teach-last-call")
        b = self.buttons
        self.widget = self._frame([
            self.info, self._fresh_key_controls(), self.image,
            W.HBox([self.message, b["encrypt"], b["decrypt"]]),
            W.HBox([self.period, b["enable"], b["rotate"]]),
            W.HBox([self.advance_days, b["advance"], b["refresh"]]),
            self.error_area, self.status, self.table,
        ], "kms-teach-rotation-timeline")
        self._act(self._read, refresh=False)
        if self.rotation.get("RotationPeriodInDays"):
            self.advance_days.value = self.period.value = self.rotation["RotationPeriodInDays"]
        try:
            self._draw()
        except Exception as exc:
            self._show_error(exc)

    # ------------------------------------------------------------------ the real calls

    def encrypt_sample(self, message: str | None = None) -> Sample | None:
        """Encrypt ``message`` (default: the text box), then Decrypt it and pin it to the KeyMaterialId reported."""
        if message is not None:
            self.message.value = message

        def run():
            text = self.message.value
            kms = self.client("kms")
            blob = kms.encrypt(KeyId=self.key_id, Plaintext=text.encode("utf-8"))["CiphertextBlob"]
            answer = kms.decrypt(CiphertextBlob=blob)
            try:
                header_id = parse_blob_header(blob).key_material_id
            except CryptoError:
                header_id = "?"
            sample = Sample(len(self.samples) + 1, text, blob, self.cloud.clock.now(), answer["KeyMaterialId"],
                            header_id)
            self.samples.append(sample)
            self.last_call = f"sample #{sample.number} encrypted under backing key {sample.key_material_id[:12]}..."
            return sample

        return self._act(run)

    def enable_rotation(self, period_days: int | None = None):
        """EnableKeyRotation with ``period_days`` (default: the period box); AWS judges the period."""
        if period_days is not None:
            self.period.value = period_days

        def run():
            days = self.period.value
            self.client("kms").enable_key_rotation(KeyId=self.key_id, RotationPeriodInDays=days)
            self.advance_days.value = days
            self.last_call = f"automatic rotation enabled: every {days} days"

        return self._act(run)

    def rotate_now(self):
        def run():
            self.client("kms").rotate_key_on_demand(KeyId=self.key_id)
            self.last_call = "RotateKeyOnDemand: a new backing key is current"

        return self._act(run)

    def advance(self, days: int | None = None):
        """Move the simulated clock (by ``days``, else the days box - the rotation period once enabled)."""
        return self._advance_clock(days)

    def decrypt_samples(self) -> list[Sample]:
        """Decrypt every sample again: each one names, and gets, the backing key that made it."""

        def run():
            kms = self.client("kms")
            for s in self.samples:
                try:
                    answer = kms.decrypt(CiphertextBlob=s.blob)
                    ok = answer["Plaintext"] == s.message.encode("utf-8")
                    s.last_check = (f"ok, with {answer['KeyMaterialId'][:12]}..." if ok
                                    else "decrypted to different bytes!")
                except Exception as exc:
                    s.last_check = f"{error_info(exc)}"
            self.last_call = f"{len(self.samples)} sample(s) decrypted"
            return self.samples

        return self._act(run)

    def _switch_key(self, metadata: dict) -> None:
        self.key_id = metadata["KeyId"]
        self.samples, self.materials, self.rotation = [], [], {}
        self.last_call = f"a fresh key: {metadata['KeyId']}"

    # ------------------------------------------------------------------ reading

    def _read(self) -> None:
        gone = self._check_key(self.key_id)
        if gone is not None and gone.code == "NotFoundException":
            self.key_state, self.current_key_material_id, self.rotation = "deleted", None, {}
            return  # what was drawn last stays: the backing keys it had, now destroyed
        kms = self.client("kms")
        md = kms.describe_key(KeyId=self.key_id)["KeyMetadata"]
        self.key_state = md["KeyState"]
        self.current_key_material_id = md.get("CurrentKeyMaterialId")
        if gone is not None:  # pending deletion: rotation status and history cannot be read in that state
            self.rotation = {}
            return
        status = kms.get_key_rotation_status(KeyId=self.key_id)
        self.rotation = {k: v for k, v in status.items() if k != "ResponseMetadata"}
        materials = []
        created = utc(md["CreationDate"])
        for page in kms.get_paginator("list_key_rotations").paginate(KeyId=self.key_id,
                                                                    IncludeKeyMaterial="ALL_KEY_MATERIAL"):
            for r in page["Rotations"]:
                # The original backing key has no RotationDate (no rotation made it): it has served since the
                # key was created (AWS KMS API Reference, ListKeyRotations).
                materials.append({"key_material_id": r.get("KeyMaterialId"), "state": r.get("KeyMaterialState"),
                                  "start": utc(r.get("RotationDate")) or created,
                                  "rotation_type": r.get("RotationType")})
        materials.sort(key=lambda m: m["start"] or _dt.datetime.min.replace(tzinfo=_dt.timezone.utc))
        if not materials and self.current_key_material_id:  # never rotated: the original material only
            materials.append({"key_material_id": self.current_key_material_id, "state": "CURRENT",
                              "start": created, "rotation_type": None})
        self.materials = materials

    def _refresh(self) -> None:
        try:
            self._read()
        finally:
            self._draw()

    def _info_html(self) -> str:
        now = self.cloud.clock.now()
        rot = self.rotation
        if rot.get("KeyRotationEnabled"):
            when = f"automatic rotation every {rot.get('RotationPeriodInDays')} days, next on " \
                   f"{fmt_time(rot.get('NextRotationDate'))} UTC"
        elif self.key_gone is not None:
            when = "the key can no longer rotate"
        else:
            when = "automatic rotation is off"
        return (f"<div>Key <code>{esc(self.key_id)}</code> ({esc(self.key_state or '?')}): "
                f"<b>{len(self.materials)}</b> backing key(s); {esc(when)}. Simulated time: "
                f"{fmt_time(now)} UTC.</div>")

    def _table_html(self) -> str:
        rows = [[f"{m['key_material_id'][:16]}…", m["state"] or "", fmt_time(m["start"]),
                 m["rotation_type"] or "original",
                 ", ".join(f"#{s.number}" for s in self.samples if s.key_material_id == m["key_material_id"])]
                for m in self.materials]
        html = table_html(["backing key", "state", "since (UTC)", "made by", "samples"], rows)
        if self.samples:
            srows = [[f"#{s.number}", s.message, fmt_time(s.encrypted_at), f"{s.key_material_id[:16]}…",
                      s.last_check] for s in self.samples]
            html += "<br>" + table_html(["sample", "message", "encrypted (UTC)", "backing key (Decrypt said)",
                                          "last decrypt"], srows)
        return html

    def _draw(self) -> None:
        self.info.value = self._info_html()
        self.status.value = f"<div>{esc(self.last_call)}</div>" if self.last_call else ""
        self._plot(self.cloud.clock.now())
        self.table.value = self._table_html()

    def _plot(self, now: _dt.datetime) -> None:
        Figure, FigureCanvasAgg = _figure_module()
        from matplotlib import dates as mdates
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        n = max(1, len(self.materials))
        fig = Figure(figsize=(9, 1.6 + 0.42 * n), dpi=96)
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        starts = [m["start"] or now for m in self.materials]
        rows = {m["key_material_id"]: i for i, m in enumerate(self.materials)}
        nxt = utc(self.rotation.get("NextRotationDate")) if self.rotation.get("KeyRotationEnabled") else None
        first = min(starts + [s.encrypted_at for s in self.samples] + [now])
        last = max([now] + ([nxt] if nxt else []))
        span = max((last - first).total_seconds(), 30 * 86400.0)  # at least a month, so the dates read well
        pad = _dt.timedelta(seconds=span * 0.04)
        sliver = _dt.timedelta(seconds=span * 0.012)  # a backing key replaced at once still shows as a bar
        labels = []
        for i, m in enumerate(self.materials):
            start = starts[i]
            end = starts[i + 1] if i + 1 < len(starts) else now
            current = m["key_material_id"] == self.current_key_material_id
            x0, x1 = mdates.date2num(start), mdates.date2num(max(end, start + sliver))
            ax.barh(i, x1 - x0, left=x0, height=0.6, color=BLUE if current else "#a9bcd6",
                    edgecolor="#2b3a55", linewidth=1.5 if current else 0.5,
                    hatch="///" if end - start < sliver else None)
            labels.append(f"{m['key_material_id'][:8]}…  {(m['rotation_type'] or 'original').lower()}"
                          + ("  (current)" if current else ""))
        stacked: dict[tuple, int] = {}
        for s in self.samples:
            row = rows.get(s.key_material_id)
            if row is None:
                continue
            x = mdates.date2num(s.encrypted_at)
            k = stacked.get((row, s.encrypted_at), 0)
            stacked[(row, s.encrypted_at)] = k + 1
            ax.plot([x], [row], marker="o", markersize=8, color="#f08c00", markeredgecolor="#222", zorder=3)
            ax.annotate(f"#{s.number}", (x, row), xytext=(5 + 16 * k, 6), textcoords="offset points", fontsize=8,
                        annotation_clip=False)
        ax.axvline(mdates.date2num(now), color=RED, linestyle="--", linewidth=1.2)
        if nxt:
            ax.axvline(mdates.date2num(nxt), color="#2f9e44", linestyle=":", linewidth=1.6)
        ax.set_xlim(mdates.date2num(first - pad), mdates.date2num(max(last, first + _dt.timedelta(seconds=span)) + pad))
        ax.set_ylim(-0.7, n - 0.3)
        ax.invert_yaxis()
        ax.set_yticks(range(len(labels)))
        ax.set_yticklabels(labels, fontsize=8, family="monospace")
        # minticks=3: with the default 5, a 4-year span asks for monthly ticks and finds no interval that
        # fits in 8 (a UserWarning on the learner's stderr); 3 lets it pick yearly ones.
        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        for tick in ax.get_xticklabels():
            tick.set_fontsize(8)
        ax.set_title(f"Backing keys of key {self.key_id[:8]}… over simulated time (UTC)", fontsize=9)
        ax.grid(axis="x", color="#ddd", linewidth=0.5)
        handles = [Patch(facecolor=BLUE, edgecolor="#2b3a55", label="current backing key"),
                   Patch(facecolor="#a9bcd6", edgecolor="#2b3a55", label="older backing key (kept: it still decrypts)"),
                   Line2D([], [], color=RED, linestyle="--", label=f"now: {now:%Y-%m-%d}")]
        if nxt:
            handles.append(Line2D([], [], color="#2f9e44", linestyle=":", linewidth=1.6,
                                  label=f"next rotation: {nxt:%Y-%m-%d}"))
        if self.samples:
            handles.append(Line2D([], [], marker="o", linestyle="none", markersize=7, markerfacecolor="#f08c00",
                                  markeredgecolor="#222", label="a sample ciphertext, on the key that made it"))
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, fontsize=7.5,
                  frameon=False)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight", pad_inches=0.08)
        self.figure = fig  # the previous Figure is no longer referenced: nothing holds it open
        self.png = buf.getvalue()
        self.image.value = self.png

    def _static_parts(self) -> list[str]:
        return [self._info_html(), png_img(self.png, "rotation timeline") if self.png else "",
                controls_html(f"message: {self.message.value}", "Encrypt a sample", "Decrypt all samples",
                              f"period (days): {self.period.value}", "EnableKeyRotation", "RotateKeyOnDemand",
                              f"days: {self.advance_days.value}", "advance the clock"),
                self._table_html()]

    def text(self) -> str:
        rot = self.rotation
        out = [f"RotationTimeline: key {self.key_id}, {len(self.materials)} backing key(s), rotation "
               + (f"every {rot.get('RotationPeriodInDays')} days (next {fmt_time(rot.get('NextRotationDate'))})"
                  if rot.get("KeyRotationEnabled") else "off")]
        if self.key_gone is not None:
            out.append(f"the key is gone or going: {self.key_gone}")
        out.append(text_table(["key material", "state", "since (UTC)", "made by"],
                              [[m["key_material_id"][:16], m["state"], fmt_time(m["start"]),
                                m["rotation_type"] or "original"] for m in self.materials]))
        for s in self.samples:
            out.append(f"sample #{s.number} {s.message!r} at {fmt_time(s.encrypted_at)}: backing key "
                       f"{s.key_material_id[:16]} {s.last_check}".rstrip())
        if self.last_error:
            out.append(f"error: {self.last_error}")
        return "\n".join(out)
