"""PolicyExplainer and RoleMatrix: who may do what with a key, and why - decided by ``cloud.explain``."""

from __future__ import annotations

import json
import re

import ipywidgets as W

from ._base import (
    AMBER_BG, GREEN, GREEN_BG, GREY, INK, KMS_ACTIONS, RED, RED_BG, View, button, context_text, controls_html, esc,
    error_info, normalize_action, parse_context, short_arn, table_html, text_table,
)

__all__ = ["PolicyExplainer", "RoleMatrix", "decision_html", "decision_text"]


def _is_deciding(reason, decision) -> bool:
    return any(reason is d for d in decision.deciding)


def decision_html(decision) -> str:
    """ALLOWED/DENIED, the summary, and every statement and grant considered (the deciding ones highlighted)."""
    colour, bg, verdict = (GREEN, GREEN_BG, "ALLOWED") if decision.allowed else (RED, RED_BG, "DENIED")
    head = (f"<div class='kms-teach-verdict kms-teach-{verdict.lower()}' style='background:{bg};color:{INK};"
            f"border-left:6px solid {colour};padding:6px 10px;margin:4px 0'>"
            f"<b style='color:{colour};font-size:120%'>{verdict}</b> "
            f"<code>{esc(short_arn(decision.principal))}</code> &rarr; <code>{esc(decision.action)}</code> on "
            f"<code>{esc(decision.resource)}</code><br>because {esc(decision.summary)}</div>")
    if not decision.reasons:
        return head + "<div style='color:" + GREY + "'>No statement or grant mentions this principal and action.</div>"
    rows, styles, classes = [], [], []
    for r in decision.reasons:
        deciding = _is_deciding(r, decision)
        mark = ("DENY" if r.effect == "Deny" else "ALLOW") if r.applies else "-"
        rows.append([f"<span style='white-space:nowrap'>{'&#9654; ' if deciding else ''}{esc(mark)}</span>",
                     f"<span style='white-space:nowrap'>{esc(r.source)}</span>", esc(r.label), esc(r.via or ""),
                     esc(r.detail)])
        classes.append("kms-teach-deciding" if deciding else ("kms-teach-applies" if r.applies else ""))
        if deciding:
            styles.append(f"background:{RED_BG if r.effect == 'Deny' else GREEN_BG};color:{INK};font-weight:bold")
        elif r.applies:
            styles.append(f"background:{AMBER_BG};color:{INK}")
        else:
            styles.append(f"color:{GREY}")
    legend = (f"<div style='font-size:85%;color:{GREY}'>&#9654; = deciding (the Deny that won, or the Allows that "
              "counted); shaded = applies; grey = does not apply.</div>")
    return head + table_html(["", "source", "statement / grant", "counts via", "why"], rows, raw=True,
                             row_styles=styles, row_classes=classes, css_class="kms-teach-reasons") + legend


def _action_header(action: str) -> str:
    """``kms:ScheduleKeyDeletion`` as a column heading that wraps between words, never inside one."""
    service, _, name = action.partition(":")
    words = re.findall(r"[A-Z][a-z]*|[a-z]+|\d+", name) or [name]
    return (f"<div title='{esc(action)}' style='font-weight:bold;line-height:1.2;text-align:center;"
            f"font-size:90%'>{esc(service)}:<br>{'<wbr>'.join(esc(w) for w in words)}</div>")


def decision_text(decision) -> str:
    lines = [f"{'ALLOWED' if decision.allowed else 'DENIED'}: {decision.principal} -> {decision.action} on "
             f"{decision.resource}", f"  because {decision.summary}"]
    for r in decision.reasons:
        lines.append(f"  {'>' if _is_deciding(r, decision) else ' '} {r}")
    return "\n".join(lines)


class PolicyExplainer(View):
    """May this principal do this action on this key, and why? Re-evaluated on every change.

    ``PolicyExplainer(cloud, key_id=None, principal=None, action="kms:Decrypt", encryption_context=None)``.
    Controls: ``.key`` (Dropdown of the Region's keys), ``.principal_box`` (Combobox of the account's root
    user, IAM users and roles, listed through the IAM API; any ARN, ``root``, ``user/NAME`` or ``role/NAME``
    may be typed), ``.action`` (Dropdown of kms actions), ``.context`` (Textarea of ``key=value`` lines).
    ``.decision`` is what ``cloud.explain`` answered for the current choice (None after an error).
    ``.evaluate()`` asks again; ``.refresh()`` also lists the keys and principals again.
    """

    def __init__(self, cloud, key_id: str | None = None, *, principal: str | None = None,
                 action: str = "kms:Decrypt", encryption_context: dict | None = None, region: str | None = None):
        super().__init__(cloud, region=region)
        self.decision = None
        self._quiet = True  # no evaluation while controls are being filled
        self.key = W.Dropdown(description="key", options=[], layout=W.Layout(width="95%"))
        self.principal_box = W.Combobox(description="principal", placeholder="root, user/NAME, role/NAME or an ARN",
                                        ensure_option=False, continuous_update=False, layout=W.Layout(width="95%"))
        actions = list(KMS_ACTIONS)
        action = normalize_action(action)
        if action not in actions:
            actions.insert(0, action)
        self.action = W.Dropdown(description="action", options=actions, value=action)
        self.context = W.Textarea(description="context", value=context_text(encryption_context),
                                  placeholder="encryption context: one key=value a line", continuous_update=False,
                                  layout=W.Layout(width="95%", height="60px"))
        self.refresh_button = button("Refresh", icon="refresh", css="kms-teach-refresh")
        self.result = W.HTML()
        self.result.add_class("kms-teach-decision")
        for control in (self.key, self.principal_box, self.action, self.context):
            control.observe(self._on(self._evaluate, refresh=False), names="value")
        self.refresh_button.on_click(self._on(lambda: None))
        self.widget = self._frame([self.key, self.principal_box, self.action, self.context,
                                   W.HBox([self.refresh_button]), self.error_area, self.result],
                                  "kms-teach-policy-explainer")
        self._act(lambda: self._fill(key_id, principal), refresh=False)
        self._quiet = False
        if self.last_error is None:  # else keep showing why the key or principals could not be listed
            self._act(self._evaluate, refresh=False)

    # ------------------------------------------------------------------ reading the Cloud

    def _fill(self, key_id: str | None, principal: str | None) -> None:
        quiet, self._quiet = self._quiet, True
        try:
            self._list_keys(key_id)
            self._list_principals(principal)
        finally:
            self._quiet = quiet

    def _list_keys(self, wanted: str | None = None) -> None:
        options = self.region_keys()
        ids = [kid for _, kid in options]
        current = self.key.value
        if wanted is not None:
            resolved = wanted
            if wanted not in ids:  # an alias, an ARN: ask KMS which key it names
                resolved = self.client("kms", as_caller=False).describe_key(KeyId=wanted)["KeyMetadata"]["KeyId"]
            current = resolved
        if current is not None and current not in ids:
            options.append((f"{current} (no longer listed)", current))  # explain will say why
        self.key.options = options
        if current is not None:
            self.key.value = current
        elif options:
            self.key.value = options[0][1]

    def _list_principals(self, wanted: str | None = None) -> None:
        self.principal_box.options = self.account_principals()
        if wanted is not None:
            self.principal_box.value = wanted
        elif not self.principal_box.value:
            self.principal_box.value = f"arn:aws:iam::{self.cloud.account_id}:root"

    def _refresh(self) -> None:
        self._fill(None, None)
        self._evaluate()

    # ------------------------------------------------------------------ deciding

    def evaluate(self):
        """Ask ``cloud.explain`` for the current choice and show the answer; returns the Decision (or None)."""
        self._act(self._evaluate, refresh=False)
        return self.decision

    def _evaluate(self) -> None:
        if self._quiet:
            return
        self.decision = None
        self.result.value = ""
        if self.key.value is None:
            raise ValueError("there is no KMS key in this Region yet: create one, then press Refresh")
        context = parse_context(self.context.value)
        who = self.expand_principal(self.principal_box.value)
        self.decision = self.cloud.explain(who, self.action.value, self.key.value, region=self.region,
                                           encryption_context=context)
        self.result.value = decision_html(self.decision)

    def _static_parts(self) -> list[str]:
        key = dict((kid, label) for label, kid in self.key.options).get(self.key.value, self.key.value)
        inputs = [f"key: {key}", f"principal: {self.principal_box.value}", f"action: {self.action.value}"]
        if self.context.value:
            inputs.append(f"context: {self.context.value}")
        return [controls_html(*inputs), self.result.value]

    def text(self) -> str:
        if self.decision is not None:
            out = "PolicyExplainer: " + decision_text(self.decision)
        else:
            out = f"PolicyExplainer: {self.principal_box.value or 'root'} -> {self.action.value} on {self.key.value}"
        if self.last_error:
            out += f"\nerror: {self.last_error}"
        return out


class RoleMatrix(View):
    """Principals x actions on one key, each cell decided by ``cloud.explain``, and the key policy to edit.

    ``RoleMatrix(cloud, key_id, principals, actions)``: ``principals`` are ARNs (or ``root``,
    ``user/NAME``, ``role/NAME``), ``actions`` kms actions (``"kms:Decrypt"`` or ``"Decrypt"``).
    ``.grid`` maps ``(principal ARN, action)`` to True/False as last drawn (None where explain failed);
    ``.cell(principal, action)`` asks ``cloud.explain`` afresh; ``.select(principal, action)`` (or a
    click on the cell's button) shows that cell's explanation. ``.policy_editor`` holds the key policy
    (GetKeyPolicy); ``.apply_policy()`` (the Apply button) sends it with PutKeyPolicy - AWS's refusal
    (e.g. MalformedPolicyDocumentException) is shown and the draft kept - and redraws the grid.
    Calls are made as ``admin`` (default: the account's root user).
    """

    def __init__(self, cloud, key_id: str, principals, actions, *, encryption_context: dict | None = None,
                 admin: str | None = None, region: str | None = None):
        super().__init__(cloud, region=region, principal=admin)
        self.key_id = key_id
        self.encryption_context = encryption_context
        self.principals = [self._arn(p) for p in principals]
        self.actions = [normalize_action(a) for a in actions]
        if not self.principals or not self.actions:
            raise ValueError("a RoleMatrix needs at least one principal and one action")
        self.grid: dict[tuple[str, str], bool | None] = {}
        self.selected: tuple[str, str] | None = None
        self.explanation = W.HTML()
        self.explanation.add_class("kms-teach-cell-explanation")
        self.cells: dict[tuple[str, str], W.Button] = {}
        children = [W.HTML("<div style='font-weight:bold;line-height:1.2;padding-top:4px'>principal \\ action</div>")]
        headers = [W.HTML(_action_header(a)) for a in self.actions]
        for h in headers:
            h.add_class("kms-teach-matrix-header")
        children += headers
        for p in self.principals:
            children.append(W.HTML(f"<code title='{esc(p)}'>{esc(short_arn(p))}</code>"))
            for a in self.actions:
                b = W.Button(description="…", layout=W.Layout(width="auto"))
                b.add_class("kms-teach-cell")
                b.on_click(self._on(lambda p=p, a=a: self._select(p, a), refresh=False))
                self.cells[(p, a)] = b
                children.append(b)
        self.grid_box = W.GridBox(children, layout=W.Layout(
            grid_template_columns=f"minmax(140px, max-content) repeat({len(self.actions)}, minmax(104px, 1fr))",
            grid_gap="4px", width="100%"))
        self.grid_box.add_class("kms-teach-role-matrix")
        self.policy_editor = W.Textarea(layout=W.Layout(width="100%", height="300px"))
        self.policy_editor.add_class("kms-teach-policy-editor")
        self.apply_button = button("Apply key policy (PutKeyPolicy)", style="warning", icon="check",
                                   css="kms-teach-apply")
        self.reload_button = button("Reload (GetKeyPolicy)", icon="refresh", css="kms-teach-reload")
        self.apply_button.on_click(lambda _b: self.apply_policy())
        self.reload_button.on_click(self._on(lambda: None))
        self.status = W.HTML()
        self.widget = self._frame([
            self.grid_box, self.error_area, self.explanation,
            W.HTML("<b>Key policy</b> (edit, then Apply: the grid is decided again)"),
            self.policy_editor, W.HBox([self.apply_button, self.reload_button]), self.status,
        ], "kms-teach-role-matrix-view")
        self.refresh()

    def _arn(self, principal: str | None) -> str:
        return self.expand_principal(principal) or f"arn:aws:iam::{self.cloud.account_id}:root"

    # ------------------------------------------------------------------ deciding

    def cell(self, principal: str | None, action: str):
        """``cloud.explain``'s Decision for one cell, asked now."""
        return self.cloud.explain(self._arn(principal), normalize_action(action), self.key_id, region=self.region,
                                  encryption_context=self.encryption_context)

    def select(self, principal: str | None, action: str):
        """Show one cell's explanation (what clicking the cell does); returns its Decision."""
        return self._act(lambda: self._select(self._arn(principal), normalize_action(action)), refresh=False)

    def _select(self, principal: str, action: str):
        if (principal, action) not in self.cells:
            raise ValueError(f"{short_arn(principal)} x {action} is not a cell of this matrix")
        self.selected = (principal, action)
        for (p, a), b in self.cells.items():
            if (p, a) == self.selected:
                b.add_class("kms-teach-selected")
            else:
                b.remove_class("kms-teach-selected")
        self._draw_cells()
        decision = self.cell(principal, action)
        self.explanation.value = decision_html(decision)
        return decision

    # ------------------------------------------------------------------ the key policy

    def apply_policy(self, text: str | None = None) -> bool:
        """PutKeyPolicy with the editor's text (or ``text``); True when AWS accepted it."""
        if text is not None:
            self.policy_editor.value = text
        self.clear_error()
        try:
            self.client("kms").put_key_policy(KeyId=self.key_id, PolicyName="default", Policy=self.policy_editor.value)
        except Exception as exc:  # AWS refused: show why and keep the learner's draft to fix
            self._show_error(exc)
            self.status.value = ""
            return False
        self._redraw()
        self.status.value = f"<span style='color:{GREEN}'>PutKeyPolicy succeeded; the grid was decided again.</span>"
        return True

    # ------------------------------------------------------------------ drawing

    def _refresh(self) -> None:
        self.status.value = ""
        policy = self.client("kms").get_key_policy(KeyId=self.key_id, PolicyName="default")["Policy"]
        try:
            policy = json.dumps(json.loads(policy), indent=2, ensure_ascii=False)
        except ValueError:
            pass
        self.policy_editor.value = policy
        grid: dict[tuple[str, str], bool | None] = {}
        first_error = None
        for p in self.principals:
            for a in self.actions:
                try:
                    grid[(p, a)] = self.cell(p, a).allowed
                except Exception as exc:
                    grid[(p, a)] = None
                    first_error = first_error or exc
        self.grid = grid
        self._draw_cells()
        if self.selected is not None:
            try:
                self.explanation.value = decision_html(self.cell(*self.selected))
            except Exception:
                self.explanation.value = ""
        if first_error is not None:
            raise first_error

    def _draw_cells(self) -> None:
        for key, b in self.cells.items():
            allowed = self.grid.get(key)
            mark = "● " if key == self.selected else ""
            if allowed is None:
                b.description, b.button_style, b.tooltip = mark + "? error", "warning", "explain failed: see the error"
            elif allowed:
                b.description, b.button_style, b.tooltip = mark + "✔ allowed", "success", "allowed: click for why"
            else:
                b.description, b.button_style, b.tooltip = mark + "✘ denied", "danger", "denied: click for why"

    def _static_parts(self) -> list[str]:
        head = "".join(f"<th style='padding:2px 6px;vertical-align:bottom'>{_action_header(a)}</th>"
                       for a in self.actions)
        body = []
        for p in self.principals:
            cells = []
            for a in self.actions:
                v = self.grid.get((p, a))
                colour, bg, word = ((GREY, AMBER_BG, "? error") if v is None else
                                    (GREEN, GREEN_BG, "✔ allowed") if v else (RED, RED_BG, "✘ denied"))
                mark = "● " if (p, a) == self.selected else ""
                cells.append(f"<td style='padding:3px 8px;text-align:center;background:{bg};color:{colour};"
                             f"border:2px solid #fff;white-space:nowrap'><b>{mark}{word}</b></td>")
            body.append(f"<tr><td style='text-align:left;padding:3px 8px;white-space:nowrap'><code>{esc(short_arn(p))}</code></td>"
                        f"{''.join(cells)}</tr>")
        grid = (f"<table style='border-collapse:collapse;line-height:1.3'><thead><tr><th style='text-align:left;"
                f"padding:2px 6px'>principal \\ action</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")
        policy = (f"<div style='margin-top:6px'><b>Key policy</b> (an editor once the notebook runs)</div>"
                  f"<pre style='max-height:220px;overflow:auto;font-size:85%;line-height:1.25;border:1px solid #ddd;"
                  f"padding:4px'>{esc(self.policy_editor.value)}</pre>")
        return [grid, self.explanation.value, policy,
                controls_html("Apply key policy (PutKeyPolicy)", "Reload (GetKeyPolicy)")]

    def text(self) -> str:
        rows = []
        for p in self.principals:
            row = [short_arn(p)]
            for a in self.actions:
                v = self.grid.get((p, a))
                row.append("error" if v is None else ("ALLOW" if v else "deny"))
            rows.append(row)
        out = [f"RoleMatrix for key {self.key_id}", text_table(["principal"] + self.actions, rows)]
        if self.selected is not None:
            try:
                out.append(decision_text(self.cell(*self.selected)))
            except Exception as exc:
                out.append(f"selected cell: {error_info(exc)}")
        if self.last_error:
            out.append(f"error: {self.last_error}")
        return "\n".join(out)
