"""KeyStateMachine: a KMS key's states and transitions, driven by real calls."""

from __future__ import annotations

import math

import ipywidgets as W

from ._base import (
    snake,
    BLUE, GREEN, GREY, INK, RED, RED_BG, View, button, error_info, esc, fmt_time, short_arn, table_html,
    text_table,
)

__all__ = ["KeyStateMachine", "KEY_STATES", "TRANSITIONS"]

DELETED = "Deleted"  # not a KeyState: what is left when the waiting period ends (DescribeKey: NotFoundException)

# state -> (x, y) centre in the drawing
KEY_STATES: dict[str, tuple[int, int]] = {
    "Creating": (110, 40),
    "Updating": (360, 40),
    "Unavailable": (820, 40),
    "PendingImport": (110, 150),
    "Enabled": (360, 150),
    "Disabled": (600, 150),
    "PendingDeletion": (480, 265),
    "PendingReplicaDeletion": (780, 265),
    DELETED: (480, 370),
}

# (from, to, label): what moves a key from one state to another (KMS Developer Guide, "Key states").
TRANSITIONS: tuple[tuple[str, str, str], ...] = (
    ("Enabled", "Disabled", "DisableKey"),
    ("Disabled", "Enabled", "EnableKey"),
    ("Enabled", "PendingDeletion", "ScheduleKeyDeletion"),
    ("Disabled", "PendingDeletion", "ScheduleKeyDeletion"),
    ("PendingDeletion", "Disabled", "CancelKeyDeletion"),
    ("PendingImport", "PendingDeletion", "ScheduleKeyDeletion"),
    ("PendingDeletion", DELETED, "waiting period ends"),
    ("PendingImport", "Enabled", "ImportKeyMaterial"),
    ("Enabled", "PendingImport", "material deleted / expires"),
    ("Creating", "Enabled", "replica ready"),
    ("Creating", "PendingImport", "replica of imported key"),
    ("Updating", "Enabled", "primary Region changed"),
    ("Disabled", "PendingReplicaDeletion", "ScheduleKeyDeletion (primary)"),
    ("PendingReplicaDeletion", "PendingDeletion", "last replica deleted"),
    ("PendingReplicaDeletion", "Disabled", "CancelKeyDeletion"),
)

_BOX_W, _BOX_H = 150, 34
_NOTES = {"Unavailable": "custom key store disconnected (not simulated)"}


def _edge(cx: float, cy: float, tx: float, ty: float) -> tuple[float, float]:
    """Where the line from a box's centre towards (tx, ty) leaves the box."""
    dx, dy = tx - cx, ty - cy
    if dx == 0 and dy == 0:
        return cx, cy
    t = min((_BOX_W / 2 + 3) / abs(dx) if dx else math.inf, (_BOX_H / 2 + 3) / abs(dy) if dy else math.inf)
    return cx + dx * t, cy + dy * t


def state_svg(current: str | None, *, highlight_from: str | None = None) -> str:
    """The state diagram as SVG, ``current`` highlighted and the transitions out of it drawn bold."""
    parts = [
        "<svg class='kms-teach-state-diagram' xmlns='http://www.w3.org/2000/svg' viewBox='0 0 920 400' "
        "width='100%' style='max-width:920px;font-family:sans-serif'>",
        "<defs>",
        f"<marker id='kt-arrow' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' markerHeight='7' "
        f"orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' fill='{GREY}'/></marker>",
        f"<marker id='kt-arrow-hot' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' markerHeight='7' "
        f"orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' fill='{BLUE}'/></marker>",
        "</defs>",
        "<rect x='0' y='0' width='920' height='400' fill='#ffffff'/>",
    ]
    pairs = {(a, b) for a, b, _ in TRANSITIONS}
    hot_from = highlight_from or current
    for a, b, label in TRANSITIONS:
        (ax, ay), (bx, by) = KEY_STATES[a], KEY_STATES[b]
        length = math.hypot(bx - ax, by - ay)
        nx, ny = -(by - ay) / length, (bx - ax) / length  # unit normal
        offset = 7 if (b, a) in pairs else 0  # two-way pairs side by side
        sx, sy = _edge(ax, ay, bx, by)
        ex, ey = _edge(bx, by, ax, ay)
        sx, sy, ex, ey = sx + nx * offset, sy + ny * offset, ex + nx * offset, ey + ny * offset
        hot = a == hot_from
        colour = BLUE if hot else "#9a9a9a"
        marker = "kt-arrow-hot" if hot else "kt-arrow"
        width = 2.5 if hot else 1.2
        parts.append(f"<line class='kms-teach-transition{' kms-teach-hot' if hot else ''}' x1='{sx:.1f}' "
                     f"y1='{sy:.1f}' x2='{ex:.1f}' y2='{ey:.1f}' stroke='{colour}' stroke-width='{width}' "
                     f"marker-end='url(#{marker})'/>")
        mx, my = (sx + ex) / 2 + nx * (offset + 9), (sy + ey) / 2 + ny * (offset + 9)
        parts.append(f"<text x='{mx:.1f}' y='{my:.1f}' font-size='10' text-anchor='middle' "
                     f"fill='{BLUE if hot else '#555'}' font-weight='{'bold' if hot else 'normal'}' "
                     f"style='paint-order:stroke;stroke:#fff;stroke-width:3px'>{esc(label)}</text>")
    for state, (x, y) in KEY_STATES.items():
        is_current = state == current
        if is_current:
            fill, stroke, ink, sw = (RED if state == DELETED else BLUE), INK, "#ffffff", 3
        else:
            fill, stroke, ink, sw = ("#f4f4f4" if state in _NOTES else "#eef3fb"), "#7a8ca8", INK, 1
        dash = " stroke-dasharray='4 3'" if state in (DELETED, *_NOTES) and not is_current else ""
        parts.append(f"<g class='kms-teach-state{' kms-teach-current' if is_current else ''}' "
                     f"data-state='{esc(state)}'><rect x='{x - _BOX_W / 2}' y='{y - _BOX_H / 2}' "
                     f"width='{_BOX_W}' height='{_BOX_H}' rx='8' fill='{fill}' stroke='{stroke}' "
                     f"stroke-width='{sw}'{dash}/><text x='{x}' y='{y + 4}' font-size='13' text-anchor='middle' "
                     f"fill='{ink}' font-weight='{'bold' if is_current else 'normal'}'>{esc(state)}</text></g>")
        if state in _NOTES:
            parts.append(f"<text x='{x}' y='{y + _BOX_H / 2 + 12}' font-size='9' text-anchor='middle' "
                         f"fill='#777'>{esc(_NOTES[state])}</text>")
    parts.append("</svg>")
    return "".join(parts)


class KeyStateMachine(View):
    """A KMS key's state on AWS's state diagram; buttons make the real calls.

    ``KeyStateMachine(cloud, key_id, principal=None)``. Buttons (``.buttons[name]``) and methods:
    ``enable()`` (EnableKey), ``disable()`` (DisableKey), ``schedule_deletion(days=None)``
    (ScheduleKeyDeletion, ``.days`` slider 7..30), ``cancel_deletion()`` (CancelKeyDeletion),
    ``try_encrypt()`` (Encrypt: does the key work in this state?), ``advance(days=None)`` (moves the
    simulated clock by ``.advance_days``). A refused call shows AWS's error code and message
    (``.last_error``). ``.state`` is the state as last read with DescribeKey (``"Deleted"`` once
    DescribeKey answers NotFoundException: the key is gone); ``.refresh()`` reads it again.
    """

    def __init__(self, cloud, key_id: str, *, principal: str | None = None, region: str | None = None):
        super().__init__(cloud, region=region, principal=principal)
        self.key_id = key_id
        self.key_arn: str | None = None
        self.metadata: dict | None = None
        self.state: str | None = None
        self.gone_because = None
        self.last_call = ""
        self.diagram = W.HTML()
        self.diagram.add_class("kms-teach-state-machine-diagram")
        self.info = W.HTML()
        self.info.add_class("kms-teach-key-info")
        self.result = W.HTML()
        self.result.add_class("kms-teach-last-call")
        self.history = W.HTML()
        self.days = W.IntSlider(value=7, min=7, max=30, description="window (days)",
                                style={"description_width": "initial"})
        self.advance_days = W.BoundedIntText(value=7, min=1, max=3650, description="days",
                                             layout=W.Layout(width="150px"))
        self.buttons = {
            "EnableKey": button("EnableKey", style="success", icon="play", css="kms-teach-enable"),
            "DisableKey": button("DisableKey", style="warning", icon="pause", css="kms-teach-disable"),
            "ScheduleKeyDeletion": button("ScheduleKeyDeletion", style="danger", icon="trash",
                                          css="kms-teach-schedule-deletion"),
            "CancelKeyDeletion": button("CancelKeyDeletion", icon="undo", css="kms-teach-cancel-deletion"),
            "Encrypt": button("try Encrypt", icon="lock", css="kms-teach-try-encrypt",
                              tooltip="Encrypt a few bytes: does the key work in this state?"),
            "advance": button("advance the clock", icon="forward", css="kms-teach-advance"),
            "refresh": button("refresh", icon="refresh", css="kms-teach-refresh"),
        }
        self.buttons["EnableKey"].on_click(lambda _b: self.enable())
        self.buttons["DisableKey"].on_click(lambda _b: self.disable())
        self.buttons["ScheduleKeyDeletion"].on_click(lambda _b: self.schedule_deletion())
        self.buttons["CancelKeyDeletion"].on_click(lambda _b: self.cancel_deletion())
        self.buttons["Encrypt"].on_click(lambda _b: self.try_encrypt())
        self.buttons["advance"].on_click(lambda _b: self.advance())
        self.buttons["refresh"].on_click(lambda _b: self.refresh())
        b = self.buttons
        self.widget = W.VBox([
            self.info, self.diagram,
            W.HBox([b["EnableKey"], b["DisableKey"], b["CancelKeyDeletion"], b["Encrypt"]]),
            W.HBox([self.days, b["ScheduleKeyDeletion"]]),
            W.HBox([self.advance_days, b["advance"], b["refresh"]]),
            self.error_area, self.result, self.history,
        ])
        self.widget.add_class("kms-teach-key-state-machine")
        self.refresh()

    # ------------------------------------------------------------------ the real calls

    @property
    def _ref(self) -> str:
        return self.key_arn or self.key_id

    def _call(self, operation: str, **params) -> dict:
        method = getattr(self.client("kms"), snake(operation))
        response = method(KeyId=self._ref, **params)
        response = {k: v for k, v in response.items() if k != "ResponseMetadata"}
        shown = {k: (f"<{len(v)} bytes>" if isinstance(v, bytes) else v) for k, v in response.items()}
        self.last_call = f"{operation} succeeded" + (f": {shown}" if shown else "")
        return response

    def _attempt(self, operation: str, **params):
        def run():
            self.last_call = ""
            try:
                return self._call(operation, **params)
            except Exception as exc:
                self.last_call = f"{operation} refused: {error_info(exc)}"
                raise

        return self._act(run)

    def enable(self):
        return self._attempt("EnableKey")

    def disable(self):
        return self._attempt("DisableKey")

    def schedule_deletion(self, days: int | None = None):
        if days is not None:
            self.days.value = max(self.days.min, min(self.days.max, days))
            if days != self.days.value:  # let AWS judge the out-of-range window, as it would
                return self._attempt("ScheduleKeyDeletion", PendingWindowInDays=days)
        return self._attempt("ScheduleKeyDeletion", PendingWindowInDays=self.days.value)

    def cancel_deletion(self):
        return self._attempt("CancelKeyDeletion")

    def try_encrypt(self):
        return self._attempt("Encrypt", Plaintext=b"does this key work?")

    def advance(self, days: int | None = None):
        """Move the simulated clock forward (deletions, rotations and expiries fall due on the way)."""
        return self._advance_clock(days)

    # ------------------------------------------------------------------ reading

    @property
    def gone(self) -> bool:
        return self.state == DELETED

    def transitions_from(self, state: str | None = None) -> list[tuple[str, str]]:
        """(label, next state) for every transition out of ``state`` (default: the current one)."""
        state = state or self.state
        return [(label, b) for a, b, label in TRANSITIONS if a == state]

    def _refresh(self) -> None:
        try:
            md = self.client("kms").describe_key(KeyId=self._ref)["KeyMetadata"]
        except Exception as exc:
            err = error_info(exc)
            if err.code == "NotFoundException" and (self.key_arn or self.state is not None):
                self.metadata, self.state, self.gone_because = None, DELETED, err
            else:
                self.metadata, self.state = None, None
                self._draw()
                raise
        else:
            self.metadata, self.state, self.gone_because = md, md["KeyState"], None
            self.key_arn = md["Arn"]
        self._draw()

    def svg(self) -> str:
        return state_svg(self.state)

    def _draw(self) -> None:
        self.diagram.value = self.svg()
        now = fmt_time(self.cloud.clock.now())
        if self.gone:
            self.info.value = (f"<div class='kms-teach-gone' style='background:{RED_BG};color:{INK};padding:6px 10px;"
                               f"border-left:6px solid {RED}'><b>The key is gone.</b> Its waiting period ended and KMS "
                               f"deleted it with all its key material: DescribeKey now answers "
                               f"<b>{esc(self.gone_because.code)}</b>: {esc(self.gone_because.message.rstrip('.'))}. Nothing "
                               f"it encrypted can ever be decrypted again. (simulated time: {now} UTC)</div>")
        elif self.metadata is not None:
            md = self.metadata
            extra = ""
            if md.get("DeletionDate"):
                extra = f"; deleted on <b>{fmt_time(md['DeletionDate'])} UTC</b> unless cancelled"
            elif md["KeyState"] == "PendingReplicaDeletion":
                extra = f"; waits for its replicas, then {md.get('PendingDeletionWindowInDays')} more days"
            self.info.value = (f"<div>Key <code>{esc(md['KeyId'])}</code> is <b style='color:{BLUE}'>"
                               f"{esc(md['KeyState'])}</b>{extra}. Simulated time: {now} UTC.</div>")
        else:
            self.info.value = f"<div>Key <code>{esc(self.key_id)}</code>: state unknown (see the error).</div>"
        for name, b in self.buttons.items():
            b.disabled = self.gone and name not in ("advance", "refresh")
        colour = RED if " refused: " in self.last_call else GREEN
        self.result.value = f"<div style='color:{colour}'>{esc(self.last_call)}</div>" if self.last_call else ""
        self.history.value = self._history_html()

    def key_events(self, limit: int = 8) -> list[dict]:
        """The newest CloudTrail events about this key that are not reads (from ``cloud.audit``)."""
        if self.key_arn is None:
            return []
        out = []
        for e in reversed(self.cloud.audit.events):
            if e["eventName"].startswith(("Describe", "List", "Get")):
                continue
            if any(r.get("ARN") == self.key_arn for r in e.get("resources") or ()):
                out.append(e)
                if len(out) >= limit:
                    break
        return out

    def _history_html(self) -> str:
        events = self.key_events()
        if not events:
            return ""
        rows = [[e["eventTime"], e["eventName"],
                 short_arn(e["userIdentity"].get("arn") or e["userIdentity"].get("invokedBy")),
                 e.get("errorCode", "")] for e in events]
        return "<div><b>This key in the audit trail</b> (newest first)</div>" + table_html(
            ["time", "event", "by", "error"], rows, css_class="kms-teach-key-events")

    def text(self) -> str:
        out = [f"KeyStateMachine: key {self.key_id} is {self.state or 'unknown'}"]
        if self.gone:
            out.append(f"  the key is gone: DescribeKey answers {self.gone_because}")
        elif self.metadata and self.metadata.get("DeletionDate"):
            out.append(f"  deletion date {fmt_time(self.metadata['DeletionDate'])} UTC")
        moves = self.transitions_from()
        if moves:
            out.append("  from here: " + ", ".join(f"{label} -> {b}" for label, b in moves))
        if self.last_call:
            out.append(f"  last call: {self.last_call}")
        if self.last_error:
            out.append(f"  error: {self.last_error}")
        events = self.key_events(5)
        if events:
            out.append(text_table(["time", "event", "error"],
                                  [[e["eventTime"], e["eventName"], e.get("errorCode", "")] for e in events]))
        return "\n".join(out)

