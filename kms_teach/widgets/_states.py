"""KeyStateMachine: a KMS key's states and transitions, driven by real calls.

The diagram draws only the states a key of this kind can be in (AWS KMS Developer Guide, "Key states of
AWS KMS keys"): every key can be Enabled, Disabled or PendingDeletion, and is gone when its waiting
period ends; a key with imported key material (Origin EXTERNAL) also knows PendingImport; a multi-Region
primary key waits in PendingReplicaDeletion for its replicas; a multi-Region replica is born Creating;
multi-Region keys pass through Updating while their primary Region changes.
"""

from __future__ import annotations

import ipywidgets as W

from ._base import (
    snake,
    AMBER_BG, BLUE, GREEN, GREY, INK, RED, RED_BG, View, button, controls_html, error_info, esc, fmt_time, human,
    short_arn, svg_img, table_html, text_table,
)

__all__ = ["KeyStateMachine", "KEY_STATES", "TRANSITIONS", "states_for", "state_svg"]

DELETED = "Deleted"  # not a KeyState: what is left when the waiting period ends (DescribeKey: NotFoundException)
USABLE = "Enabled or Disabled"  # the group both ScheduleKeyDeletion and the loss of imported material leave

# state -> (x, y) centre in the drawing (every state; a key's diagram shows its own subset)
KEY_STATES: dict[str, tuple[int, int]] = {
    "Creating": (110, 60),
    "Updating": (500, 60),
    "PendingImport": (110, 210),
    "Enabled": (380, 210),
    "Disabled": (620, 210),
    "PendingDeletion": (500, 370),
    "PendingReplicaDeletion": (830, 370),
    DELETED: (500, 490),
}
_BOX_W, _BOX_H = 150, 36
_GROUP = (290, 160, 710, 260)  # x0, y0, x1, y1 of the Enabled-or-Disabled frame

# (from, to, label lines, path points, label anchor (x, y, text-anchor)). ``USABLE`` as "from" means either
# Enabled or Disabled; as "to" (Updating's return) the state the key had.
TRANSITIONS: tuple[tuple, ...] = (
    ("Enabled", "Disabled", ("DisableKey",), [(457, 202), (543, 202)], (500, 195, "middle")),
    ("Disabled", "Enabled", ("EnableKey",), [(543, 218), (457, 218)], (500, 233, "middle")),
    (USABLE, "PendingDeletion", ("ScheduleKeyDeletion",), [(470, 260), (470, 350)], (462, 310, "end")),
    ("PendingDeletion", "Disabled", ("CancelKeyDeletion",), [(530, 351), (600, 230)], (582, 312, "start")),
    ("PendingDeletion", DELETED, ("waiting period ends", "(7 to 30 days): key deleted"),
     [(500, 389), (500, 470)], (508, 425, "start")),
    ("PendingImport", "Enabled", ("ImportKeyMaterial",), [(187, 202), (303, 202)], (245, 195, "middle")),
    (USABLE, "PendingImport", ("material deleted", "or expired"), [(290, 222), (187, 222)], (238, 238, "middle")),
    ("PendingImport", "PendingDeletion", ("ScheduleKeyDeletion",), [(96, 229), (96, 362), (423, 362)],
     (260, 356, "middle")),
    ("PendingDeletion", "PendingImport", ("CancelKeyDeletion (no key material)",),
     [(423, 378), (124, 378), (124, 230)], (262, 393, "middle")),
    (USABLE, "PendingReplicaDeletion", ("ScheduleKeyDeletion", "while replicas remain"),
     [(700, 260), (800, 351)], (758, 294, "start")),
    ("PendingReplicaDeletion", "PendingDeletion", ("last replica deleted",), [(753, 370), (577, 370)],
     (665, 363, "middle")),
    ("PendingReplicaDeletion", "Disabled", ("CancelKeyDeletion",), [(880, 351), (880, 214), (697, 214)],
     (888, 285, "start")),
    ("Creating", "Enabled", ("replica ready",), [(170, 79), (330, 191)], (262, 128, "start")),
    ("Creating", "PendingImport", ("replica ready", "(import its material)"), [(110, 79), (110, 191)],
     (102, 130, "end")),
    (USABLE, "Updating", ("UpdatePrimaryRegion",), [(480, 160), (480, 79)], (472, 124, "end")),
    ("Updating", USABLE, ("update done",), [(520, 79), (520, 160)], (528, 124, "start")),
)


def states_for(metadata: dict | None, current: str | None = None) -> list[str]:
    """The states a key like this one can be in (by origin, multi-Region or not), in drawing order."""
    states = {"Enabled", "Disabled", "PendingDeletion", DELETED}
    md = metadata or {}
    if md.get("Origin") == "EXTERNAL":
        states.add("PendingImport")
    if md.get("MultiRegion"):
        states.add("Updating")
        kind = (md.get("MultiRegionConfiguration") or {}).get("MultiRegionKeyType")
        states.add("PendingReplicaDeletion" if kind == "PRIMARY" else "Creating")
    if current:
        states.add(current)
    return [s for s in KEY_STATES if s in states] + sorted(states - set(KEY_STATES))


def _edges_for(states: list[str]) -> list[tuple]:
    have = set(states)
    out = []
    for a, b, label, points, anchor in TRANSITIONS:
        ends_ok = all(x in have or (x == USABLE and {"Enabled", "Disabled"} <= have) for x in (a, b))
        if a == "Creating" and b == "Enabled" and "PendingImport" in have:
            continue  # a replica of an EXTERNAL key is ready without material: PendingImport, not Enabled
        if ends_ok:
            out.append((a, b, label, points, anchor))
    return out


def _text_width(text: str, size: float = 10.5) -> float:
    return len(text) * size * 0.56


def state_svg(current: str | None, *, metadata: dict | None = None, states: list[str] | None = None) -> str:
    """The state diagram of a key like ``metadata`` as SVG, ``current`` highlighted, its ways out drawn bold."""
    states = states or states_for(metadata, current)
    have = set(states)
    edges = _edges_for(states)
    xs, ys = [], []
    for s in states:
        if s in KEY_STATES:
            x, y = KEY_STATES[s]
            xs += [x - _BOX_W / 2, x + _BOX_W / 2]
            ys += [y - _BOX_H / 2, y + _BOX_H / 2]
    for _a, _b, label, points, (lx, ly, anchor) in edges:
        xs += [p[0] for p in points]
        ys += [p[1] for p in points]
        w = max(_text_width(line) for line in label)
        x0 = lx - (w if anchor == "end" else w / 2 if anchor == "middle" else 0)
        xs += [x0, x0 + w]
        ys += [ly - 10, ly + 13 * (len(label) - 1) + 4]
    if {"Enabled", "Disabled"} <= have:
        xs += [_GROUP[0], _GROUP[2]]
        ys += [_GROUP[1], _GROUP[3]]
    pad = 12
    x0, y0, x1, y1 = min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad
    width, height = x1 - x0, y1 - y0
    parts = [
        f"<svg class='kms-teach-state-diagram' xmlns='http://www.w3.org/2000/svg' "
        f"viewBox='{x0:.0f} {y0:.0f} {width:.0f} {height:.0f}' width='{width:.0f}' "
        f"style='max-width:100%;font-family:sans-serif'>",
        "<defs>",
        f"<marker id='kt-arrow' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' markerHeight='7' "
        f"orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' fill='{GREY}'/></marker>",
        f"<marker id='kt-arrow-hot' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' markerHeight='7' "
        f"orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' fill='{BLUE}'/></marker>",
        "</defs>",
        f"<rect x='{x0:.0f}' y='{y0:.0f}' width='{width:.0f}' height='{height:.0f}' fill='#ffffff'/>",
    ]
    if {"Enabled", "Disabled"} <= have:
        gx0, gy0, gx1, gy1 = _GROUP
        parts.append(f"<rect x='{gx0}' y='{gy0}' width='{gx1 - gx0}' height='{gy1 - gy0}' rx='12' fill='#f7f9fc' "
                     f"stroke='#a8b6cc' stroke-dasharray='5 4'/><text x='{gx0 + 8}' y='{gy0 + 14}' font-size='10' "
                     f"fill='#6a7a94'>the key exists and has key material</text>")
    for a, b, label, points, (lx, ly, anchor) in edges:
        hot = a == current or (a == USABLE and current in ("Enabled", "Disabled"))
        colour = BLUE if hot else "#8c8c8c"
        marker = "kt-arrow-hot" if hot else "kt-arrow"
        path = "M " + " L ".join(f"{x} {y}" for x, y in points)
        parts.append(f"<path class='kms-teach-transition{' kms-teach-hot' if hot else ''}' d='{path}' fill='none' "
                     f"stroke='{colour}' stroke-width='{2.4 if hot else 1.2}' marker-end='url(#{marker})'/>")
        for i, line in enumerate(label):
            parts.append(f"<text x='{lx}' y='{ly + 13 * i}' font-size='10.5' text-anchor='{anchor}' "
                         f"fill='{BLUE if hot else '#444'}' font-weight='{'bold' if hot else 'normal'}' "
                         f"style='paint-order:stroke;stroke:#fff;stroke-width:3px'>{esc(line)}</text>")
    for state in states:
        if state not in KEY_STATES:
            continue
        x, y = KEY_STATES[state]
        is_current = state == current
        if is_current:
            fill, stroke, ink, sw = (RED if state == DELETED else BLUE), INK, "#ffffff", 3
        else:
            fill, stroke, ink, sw = ("#fdf0ef" if state == DELETED else "#eef3fb"), "#7a8ca8", INK, 1
        dash = " stroke-dasharray='4 3'" if state == DELETED and not is_current else ""
        label = "deleted (gone)" if state == DELETED else state
        parts.append(f"<g class='kms-teach-state{' kms-teach-current' if is_current else ''}' "
                     f"data-state='{esc(state)}'><rect x='{x - _BOX_W / 2}' y='{y - _BOX_H / 2}' "
                     f"width='{_BOX_W}' height='{_BOX_H}' rx='8' fill='{fill}' stroke='{stroke}' "
                     f"stroke-width='{sw}'{dash}/><text x='{x}' y='{y + 4.5}' font-size='13' text-anchor='middle' "
                     f"fill='{ink}' font-weight='{'bold' if is_current else 'normal'}'>{esc(label)}</text></g>")
    parts.append("</svg>")
    return "".join(parts)


def _kind(metadata: dict | None) -> str:
    md = metadata or {}
    bits = ["imported key material (Origin EXTERNAL)" if md.get("Origin") == "EXTERNAL"
            else "key material generated by KMS"]
    if md.get("MultiRegion"):
        kind = (md.get("MultiRegionConfiguration") or {}).get("MultiRegionKeyType", "").lower()
        bits.append(f"a multi-Region {kind} key")
    else:
        bits.append("single-Region")
    return ", ".join(bits)


class KeyStateMachine(View):
    """A KMS key's state on the state diagram of its kind of key; buttons make the real calls.

    ``KeyStateMachine(cloud, key_id, principal=None)``. Buttons (``.buttons[name]``) and methods:
    ``enable()`` (EnableKey), ``disable()`` (DisableKey), ``schedule_deletion(days=None)``
    (ScheduleKeyDeletion with ``.days``, a box AWS validates: 7 to 30), ``cancel_deletion()``
    (CancelKeyDeletion), ``delete_imported_material()`` (DeleteImportedKeyMaterial, for a key with
    imported material), ``try_encrypt()`` (Encrypt: does the key work in this state?), ``advance(days=None)``
    (moves the simulated clock by ``.advance_days``). A refused call shows AWS's error code and message
    (``.last_error``). ``.state`` is the state as last read with DescribeKey (``"Deleted"`` once DescribeKey
    answers NotFoundException: the key is gone, and ``use_fresh_key()`` goes on with a new one);
    ``.states`` the states drawn for this key; ``.refresh()`` reads it again.
    """

    def __init__(self, cloud, key_id: str, *, principal: str | None = None, region: str | None = None):
        super().__init__(cloud, region=region, principal=principal)
        self.key_id = key_id
        self.key_arn: str | None = None
        self.metadata: dict | None = None
        self._kind_metadata: dict | None = None  # the last metadata read: the key's kind outlives the key
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
        self.days = W.IntText(value=7, description="waiting period (days)", style={"description_width": "initial"},
                              layout=W.Layout(width="210px"))
        self.advance_days = W.BoundedIntText(value=7, min=1, max=3650, description="days",
                                             layout=W.Layout(width="150px"))
        self.days.add_class("kms-teach-days")
        self.advance_days.add_class("kms-teach-advance-days")
        self.buttons = {
            "EnableKey": button("EnableKey", style="success", icon="play", css="kms-teach-enable"),
            "DisableKey": button("DisableKey", style="warning", icon="pause", css="kms-teach-disable"),
            "ScheduleKeyDeletion": button("ScheduleKeyDeletion", style="danger", icon="trash",
                                          css="kms-teach-schedule-deletion"),
            "CancelKeyDeletion": button("CancelKeyDeletion", icon="undo", css="kms-teach-cancel-deletion"),
            "DeleteImportedKeyMaterial": button("DeleteImportedKeyMaterial", icon="eraser",
                                                css="kms-teach-delete-material"),
            "Encrypt": button("try Encrypt", icon="lock", css="kms-teach-try-encrypt",
                              tooltip="Encrypt a few bytes: does the key work in this state?"),
            "advance": button("advance the clock", icon="forward", css="kms-teach-advance"),
            "refresh": button("refresh", icon="refresh", css="kms-teach-refresh"),
        }
        self.buttons["EnableKey"].on_click(lambda _b: self.enable())
        self.buttons["DisableKey"].on_click(lambda _b: self.disable())
        self.buttons["ScheduleKeyDeletion"].on_click(lambda _b: self.schedule_deletion())
        self.buttons["CancelKeyDeletion"].on_click(lambda _b: self.cancel_deletion())
        self.buttons["DeleteImportedKeyMaterial"].on_click(lambda _b: self.delete_imported_material())
        self.buttons["Encrypt"].on_click(lambda _b: self.try_encrypt())
        self.buttons["advance"].on_click(lambda _b: self.advance())
        self.buttons["refresh"].on_click(lambda _b: self.refresh())
        b = self.buttons
        self.buttons["DeleteImportedKeyMaterial"].layout.display = "none"
        self.widget = self._frame([
            self.info, self._fresh_key_controls(), self.diagram,
            W.HBox([b["EnableKey"], b["DisableKey"], b["CancelKeyDeletion"], b["DeleteImportedKeyMaterial"],
                    b["Encrypt"]]),
            W.HBox([self.days, b["ScheduleKeyDeletion"]]),
            W.HBox([self.advance_days, b["advance"], b["refresh"]]),
            self.error_area, self.result, self.history,
        ], "kms-teach-key-state-machine")
        self.refresh()

    # ------------------------------------------------------------------ the real calls

    @property
    def _ref(self) -> str:
        return self.key_arn or self.key_id

    def _call(self, operation: str, **params) -> dict:
        method = getattr(self.client("kms"), snake(operation))
        response = method(KeyId=self._ref, **params)
        response = {k: v for k, v in response.items() if k != "ResponseMetadata"}
        shown = ", ".join(f"{k} {human(v)}" for k, v in response.items())
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
        """ScheduleKeyDeletion with ``days`` (else the box); AWS judges the window (7 to 30 days)."""
        if days is not None:
            self.days.value = days
        return self._attempt("ScheduleKeyDeletion", PendingWindowInDays=self.days.value)

    def cancel_deletion(self):
        return self._attempt("CancelKeyDeletion")

    def delete_imported_material(self):
        return self._attempt("DeleteImportedKeyMaterial")

    def try_encrypt(self):
        return self._attempt("Encrypt", Plaintext=b"does this key work?")

    def advance(self, days: int | None = None):
        """Move the simulated clock forward (deletions, rotations and expiries fall due on the way)."""
        return self._advance_clock(days)

    # ------------------------------------------------------------------ a fresh key once this one is gone

    def _fresh_key_args(self) -> dict:
        md = self._kind_metadata or {}
        args = {}
        if md.get("Origin") == "EXTERNAL":
            args["Origin"] = "EXTERNAL"
        return args

    def _switch_key(self, metadata: dict) -> None:
        self.key_id, self.key_arn = metadata["KeyId"], metadata["Arn"]
        self.state, self.gone_because = None, None
        self.last_call = f"CreateKey succeeded: a new key {metadata['KeyId']} ({metadata['KeyState']})"

    # ------------------------------------------------------------------ reading

    @property
    def gone(self) -> bool:
        return self.state == DELETED

    @property
    def states(self) -> list[str]:
        return states_for(self._kind_metadata, self.state)

    def transitions_from(self, state: str | None = None) -> list[tuple[str, str]]:
        """(label, next state) for every transition out of ``state`` (default: the current one), for this key."""
        state = state or self.state
        out = []
        for a, b, label, _points, _anchor in _edges_for(self.states):
            if a == state or (a == USABLE and state in ("Enabled", "Disabled")):
                out.append((" ".join(label), b if b != USABLE else "the state it had"))
        return out

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
            self._kind_metadata = md
            self.key_arn = md["Arn"]
        self._draw()

    def svg(self) -> str:
        return state_svg(self.state, metadata=self._kind_metadata)

    def _info_html(self) -> str:
        now = fmt_time(self.cloud.clock.now())
        if self.gone:
            return (f"<div class='kms-teach-gone' style='background:{RED_BG};color:{INK};padding:6px 10px;"
                    f"border-left:6px solid {RED}'><b>The key is gone.</b> Its waiting period ended and KMS "
                    f"deleted it with all its key material: DescribeKey now answers "
                    f"<b>{esc(self.gone_because.code)}</b>: {esc(self.gone_because.message.rstrip('.'))}. Nothing "
                    f"it encrypted can ever be decrypted again. (simulated time: {now} UTC)</div>")
        if self.metadata is not None:
            md = self.metadata
            extra = ""
            if md.get("DeletionDate"):
                extra = f"; deleted on <b>{fmt_time(md['DeletionDate'])} UTC</b> unless cancelled"
            elif md["KeyState"] == "PendingReplicaDeletion":
                extra = f"; waits for its replicas, then {md.get('PendingDeletionWindowInDays')} more days"
            elif md.get("ValidTo"):
                extra = f"; its imported key material expires on {fmt_time(md['ValidTo'])} UTC"
            return (f"<div>Key <code>{esc(md['KeyId'])}</code> ({esc(_kind(md))}) is <b style='color:{BLUE}'>"
                    f"{esc(md['KeyState'])}</b>{extra}. Simulated time: {now} UTC.</div>")
        return f"<div>Key <code>{esc(self.key_id)}</code>: state unknown (see the error).</div>"

    def _draw(self) -> None:
        self.diagram.value = self.svg()
        self.info.value = self._info_html()
        external = (self._kind_metadata or {}).get("Origin") == "EXTERNAL"
        self.buttons["DeleteImportedKeyMaterial"].layout.display = "" if external else "none"
        for name, b in self.buttons.items():
            b.disabled = self.gone and name not in ("advance", "refresh")
        if hasattr(self, "_fresh_box"):
            self._fresh_box.layout.display = "" if self.gone else "none"
            self.key_gone_note.value = ""
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

    def _history_rows(self) -> list[list[str]]:
        return [[e["eventTime"].replace("T", " ").rstrip("Z"), e["eventName"],
                 short_arn(e["userIdentity"].get("arn") or e["userIdentity"].get("invokedBy")),
                 e.get("errorCode", "")] for e in self.key_events()]

    def _history_html(self) -> str:
        rows = self._history_rows()
        if not rows:
            return ""
        return "<div><b>This key in the audit trail</b> (newest first)</div>" + table_html(
            ["time (UTC)", "event", "by", "error"], rows, css_class="kms-teach-key-events")

    def _static_parts(self) -> list[str]:
        names = [n for n in self.buttons if n not in ("advance", "refresh")
                 and (n != "DeleteImportedKeyMaterial" or (self._kind_metadata or {}).get("Origin") == "EXTERNAL")]
        return [self._info_html(), svg_img(self.svg(), f"key state diagram, current state {self.state}"),
                controls_html(*names, f"waiting period (days): {self.days.value}", "advance the clock"),
                self._history_html()]

    def text(self) -> str:
        out = [f"KeyStateMachine: key {self.key_id} is {self.state or 'unknown'}"]
        if self._kind_metadata:
            out.append(f"  a key with {_kind(self._kind_metadata)}; its states: {', '.join(self.states)}")
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
