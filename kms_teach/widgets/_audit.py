"""AuditTrailViewer: the Cloud's CloudTrail events as a filterable table, newest first."""

from __future__ import annotations

import ipywidgets as W

from ._base import INK, RED_BG, View, breakable, button, controls_html, esc, parse_context, short_arn, table_html, text_table

__all__ = ["AuditTrailViewer"]

_ALL = "(all)"
_LOOKUPS = ("Describe", "Get", "List", "Lookup")


def _who(event: dict) -> str:
    ident = event.get("userIdentity") or {}
    return ident.get("arn") or ident.get("invokedBy") or ident.get("principalId") or "?"


def _context(event: dict) -> dict:
    return dict(((event.get("requestParameters") or {}).get("encryptionContext")) or {})


def _key(event: dict) -> str:
    for r in event.get("resources") or ():
        arn = r.get("ARN") or ""
        if ":key/" in arn:
            return arn.split(":key/", 1)[1]
        return arn
    return ""


class AuditTrailViewer(View):
    """Every call the Cloud answered, allowed or refused, as CloudTrail recorded it (``cloud.audit.events``).

    ``AuditTrailViewer(cloud, max_rows=100)``. Filters: ``.event_name``, ``.principal_filter``,
    ``.source`` (Dropdowns of the values present; ``"(all)"``), ``.context_filter`` (``key=value`` pairs the
    encryption context must contain: "who read record 7?"), ``.errors_only`` and ``.hide_lookups``
    (Checkboxes; the latter hides Describe*, Get*, List* and Lookup* calls, such as the widgets' own reads).
    ``.rows()`` is the filtered list, newest first (dicts: time, source, event, who, key, context, error);
    the table shows the newest ``max_rows`` of them. ``.refresh()`` (the button) reads the trail again.
    Reading the trail here makes no call, so it adds no event of its own (LookupEvents would).
    """

    def __init__(self, cloud, *, max_rows: int = 100):
        super().__init__(cloud)
        self.max_rows = max_rows
        self._events: list[dict] = []
        self._quiet = False
        dd = dict(options=[_ALL], value=_ALL, style={"description_width": "initial"})
        self.event_name = W.Dropdown(description="event", **dd)
        self.principal_filter = W.Dropdown(description="who", layout=W.Layout(width="380px"), **dd)
        self.source = W.Dropdown(description="source", **dd)
        self.errors_only = W.Checkbox(value=False, description="errors only", indent=False)
        self.hide_lookups = W.Checkbox(value=False, description="hide Describe/Get/List", indent=False)
        self.context_filter = W.Text(description="context has", placeholder="e.g. patient=7",
                                     style={"description_width": "initial"}, continuous_update=False,
                                     layout=W.Layout(width="260px"))
        self.refresh_button = button("refresh", icon="refresh", css="kms-teach-refresh")
        for control, css in ((self.event_name, "kms-teach-event-name"), (self.principal_filter, "kms-teach-who"),
                             (self.source, "kms-teach-source"), (self.errors_only, "kms-teach-errors-only"),
                             (self.hide_lookups, "kms-teach-hide-lookups"),
                             (self.context_filter, "kms-teach-context-filter")):
            control.add_class(css)
        self.count = W.HTML()
        self.count.add_class("kms-teach-audit-count")
        self.table = W.HTML()
        self.table.add_class("kms-teach-audit-table")
        for control in (self.event_name, self.principal_filter, self.source, self.errors_only, self.hide_lookups,
                        self.context_filter):
            control.observe(self._on(self._draw, refresh=False), names="value")
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.widget = self._frame([
            W.HBox([self.event_name, self.source, self.errors_only, self.hide_lookups]),
            W.HBox([self.principal_filter, self.context_filter, self.refresh_button]),
            self.error_area, self.count, self.table,
        ], "kms-teach-audit-trail")
        self.refresh()

    # ------------------------------------------------------------------ reading

    def _refresh(self) -> None:
        self._events = self.cloud.audit.events
        self._quiet = True
        try:
            self._set_options(self.event_name, {e["eventName"] for e in self._events})
            self._set_options(self.principal_filter, {_who(e) for e in self._events})
            self._set_options(self.source, {e["eventSource"] for e in self._events})
        finally:
            self._quiet = False
        self._draw()

    @staticmethod
    def _set_options(dropdown: W.Dropdown, values: set[str]) -> None:
        keep = dropdown.value
        options = [_ALL] + sorted(values)
        if keep not in options:  # a filter the learner chose stays, even while nothing matches it
            options.append(keep)
        if list(dropdown.options) != options:
            dropdown.options = options
        dropdown.value = keep

    def rows(self) -> list[dict]:
        """The events the filters let through, newest first."""
        name, who, source = self.event_name.value, self.principal_filter.value, self.source.value
        wanted = parse_context(self.context_filter.value) or {}
        out = []
        for e in reversed(self._events):
            if name != _ALL and e["eventName"] != name:
                continue
            if source != _ALL and e["eventSource"] != source:
                continue
            if who != _ALL and _who(e) != who:
                continue
            if self.errors_only.value and "errorCode" not in e:
                continue
            if self.hide_lookups.value and e["eventName"].startswith(_LOOKUPS):
                continue
            context = _context(e)
            if any(context.get(k) != v for k, v in wanted.items()):
                continue
            error = f"{e['errorCode']}: {e.get('errorMessage') or ''}".rstrip(": ") if "errorCode" in e else ""
            out.append({"time": e["eventTime"], "source": e["eventSource"].split(".")[0], "event": e["eventName"],
                        "who": _who(e), "key": _key(e), "context": context, "error": error,
                        "event_id": e.get("eventID")})
        return out

    # ------------------------------------------------------------------ drawing

    def _draw(self) -> None:
        if self._quiet:
            return
        rows = self.rows()
        shown = rows[: self.max_rows]
        self.count.value = (f"<div>{len(rows)} of {len(self._events)} event(s) match"
                            + (f"; the newest {len(shown)} are shown" if len(shown) < len(rows) else "") + ".</div>")
        cells, styles = [], []
        for r in shown:
            key = r["key"]
            cells.append([f"<span style='white-space:nowrap'>{esc(r['time'].replace('T', ' ').rstrip('Z'))}</span>",
                          esc(r["source"]), f"<b>{esc(r['event'])}</b>",
                          f"<span title='{esc(r['who'])}' style='white-space:nowrap'>{esc(short_arn(r['who']))}</span>",
                          f"<code title='{esc(key)}'>{esc(key[:8] + '…' if len(key) > 9 else key)}</code>"
                          if key else "",
                          breakable(", ".join(f"{k}={v}" for k, v in r["context"].items())),
                          breakable(r["error"])])
            styles.append(f"background:{RED_BG};color:{INK}" if r["error"] else "")
        self.table.value = table_html(["time (UTC)", "source", "event", "who", "key", "encryption context", "error"],
                                      cells, raw=True, row_styles=styles)

    def _static_parts(self) -> list[str]:
        filters = [f"event: {self.event_name.value}", f"source: {self.source.value}",
                   f"who: {self.principal_filter.value}", f"context has: {self.context_filter.value or '-'}",
                   "errors only" + (" ✔" if self.errors_only.value else ""),
                   "hide Describe/Get/List" + (" ✔" if self.hide_lookups.value else "")]
        return [controls_html(*filters, "refresh"), self.count.value, self.table.value]

    def text(self) -> str:
        rows = self.rows()
        shown = rows[:20]
        out = [f"AuditTrailViewer: {len(rows)} of {len(self._events)} event(s) match (newest first)",
               text_table(["time", "event", "who", "key", "context", "error"],
                          [[r["time"], r["event"], short_arn(r["who"]), r["key"][:13],
                            ",".join(f"{k}={v}" for k, v in r["context"].items())[:30], r["error"][:60]]
                           for r in shown])]
        if len(rows) > len(shown):
            out.append(f"... and {len(rows) - len(shown)} more")
        if self.last_error:
            out.append(f"error: {self.last_error}")
        return "\n".join(out)
