"""What every kms_teach widget shares: the view base class, error display, and small readers of the Cloud.

The rule every widget follows: **the state lives in the Cloud**. A widget keeps
only what a learner typed (a draft policy, a message to encrypt) and what it
last *drew*; after each action it reads the Cloud again (through genuine boto3
clients, or ``cloud.explain`` / ``cloud.audit``) and redraws. A call that
fails never disappears: AWS's error code and message are shown in the widget
and kept in ``last_error``.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import re
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import ipywidgets as W
from botocore.config import Config
from botocore.exceptions import BotoCoreError

__all__ = ["View", "SteppedView", "ErrorInfo", "error_info"]

UTC = _dt.timezone.utc

# Colours chosen to read on JupyterLab's light and dark themes alike (text colour always set with them).
GREEN = "#1b7f3b"
GREEN_BG = "#d9f2df"
RED = "#b3261e"
RED_BG = "#fbe0de"
AMBER_BG = "#fff2c6"
BLUE = "#1f5fae"
BLUE_BG = "#dde9f8"
GREY = "#6b6b6b"
GREY_BG = "#efefef"
INK = "#1a1a1a"

# ipywidgets gives every HTML pane the line height of a control (28 px): tables of a dozen rows grew
# to a screen's height. One style, scoped to the kms_teach views, sets text back to a reading height;
# long tokens (ARNs, hex IDs) wrap at the <wbr> break points ``breakable`` adds, not mid-word.
VIEW_STYLE = ("<style>.kms-teach-view .widget-html-content{line-height:1.4}"
              ".kms-teach-view .widget-html-content table{line-height:1.3;border-collapse:collapse}"
              ".kms-teach-view .widget-html-content td,.kms-teach-view .widget-html-content th"
              "{line-height:1.3}"
              ".kms-teach-view .widget-html-content code{overflow-wrap:break-word;word-break:normal}"
              ".kms-teach-view .widget-label{line-height:1.4}</style>")

# What the widgets' calls look like to AWS: boto3 checks only types, so that a value a learner types
# (a 30-day rotation period, a 3-day waiting period) reaches KMS and gets AWS's own ValidationException.
_WIDGET_CONFIG = Config(parameter_validation=False)


@dataclass(frozen=True)
class ErrorInfo:
    """An error a widget showed: AWS's error code and message (or a Python exception's type and text)."""

    code: str
    message: str
    operation: str | None = None  # the AWS operation that failed, when AWS answered
    aws: bool = True  # False: a Python exception (bad input, or a bug), not an AWS error answer
    details: str = ""  # the traceback of a Python exception

    def __str__(self) -> str:
        where = f" ({self.operation})" if self.operation else ""
        return f"{self.code}{where}: {self.message}"


def error_info(exc: BaseException) -> ErrorInfo:
    """AWS's code and message from a botocore ``ClientError`` or a kms_teach ``AWSError``; else the exception."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        err = response["Error"]
        return ErrorInfo(err.get("Code", type(exc).__name__), err.get("Message", str(exc)),
                         getattr(exc, "operation_name", None))
    code = getattr(exc, "code", None)
    if isinstance(code, str) and hasattr(exc, "message"):  # kms_teach.AWSError (e.g. from cloud.explain)
        return ErrorInfo(code, exc.message)
    if isinstance(exc, (ValueError, TypeError, KeyError, BotoCoreError)):
        # bad input (botocore's ParamValidationError: refused before any request is sent): no traceback needed
        return ErrorInfo(type(exc).__name__, str(exc), aws=False)
    return ErrorInfo(type(exc).__name__, str(exc), aws=False,
                     details="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def error_html(err: ErrorInfo) -> str:
    where = f" <span style='color:{GREY}'>({esc(err.operation)})</span>" if err.operation else ""
    details = ""
    if err.details:
        details = (f"<details><summary>traceback</summary><pre style='white-space:pre-wrap'>{esc(err.details)}"
                   "</pre></details>")
    return (f"<div class='kms-teach-error-box' style='border-left:4px solid {RED};background:{RED_BG};color:{INK};"
            f"padding:6px 10px;margin:4px 0'><b style='color:{RED}'>{esc(err.code)}</b>{where}: "
            f"{esc(err.message)}{details}</div>")


def table_html(headers: Iterable[str], rows: Iterable[Iterable[Any]], *, css_class: str = "",
               row_styles: Iterable[str] | None = None, row_classes: Iterable[str] | None = None,
               raw: bool = False) -> str:
    """An HTML table; cells are escaped unless ``raw`` (then they are HTML already)."""
    head = "".join(f"<th style='text-align:left;padding:2px 8px;border-bottom:1px solid {GREY};"
                   f"white-space:nowrap'>{esc(h)}</th>" for h in headers)
    styles = list(row_styles) if row_styles is not None else []
    classes = list(row_classes) if row_classes is not None else []
    body = []
    for i, row in enumerate(rows):
        style = styles[i] if i < len(styles) else ""
        cls = f" class='{classes[i]}'" if i < len(classes) and classes[i] else ""
        cells = "".join(f"<td style='text-align:left;padding:1px 8px;vertical-align:top'>{c if raw else breakable(c)}</td>"
                        for c in row)
        body.append(f"<tr{cls} style='{style}'>{cells}</tr>")
    return (f"<table class='{css_class}' style='border-collapse:collapse;font-size:90%;line-height:1.3'>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def text_table(headers: list[str], rows: list[list[Any]]) -> str:
    """A fixed-width text table (the plain-text fallback of the widgets)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def utc(value: _dt.datetime | None) -> _dt.datetime | None:
    """botocore answers dates in local time; the course shows UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def fmt_time(value: _dt.datetime | None) -> str:
    value = utc(value)
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def human(value: Any) -> str:
    """A response value as a person reads it: dates in UTC, bytes by length, lists and dicts one level deep."""
    if isinstance(value, _dt.datetime):
        return f"{fmt_time(value)} UTC"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(value)} bytes>"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {human(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(human(v) for v in value) + "]"
    return str(value)


_BREAK_AFTER = re.compile(r"([:/,=_.\-])")


def breakable(value: Any) -> str:
    """Escaped text with line-break opportunities after ``: / , = _ . -`` (ARNs, IDs) and none mid-word."""
    return _BREAK_AFTER.sub(r"\1<wbr>", esc(value))


def words(value: Any) -> str:
    """Escaped text that wraps only at its spaces: for code such as ``SigningAlgorithm=ECDSA_SHA_256``,
    where a break after ``_`` or ``:`` would read as two words."""
    return " ".join(f"<span style='white-space:nowrap'>{esc(w)}</span>" for w in str(value).split(" "))


def svg_img(svg: str, alt: str, *, width: int | None = None) -> str:
    """An SVG drawing as an ``<img>`` with a data URI: what an untrusted notebook (or GitHub) still shows,
    where an inline ``<svg>`` in HTML output is removed by the sanitizer."""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    size = f" width='{width}'" if width else ""
    return f"<img alt='{esc(alt)}' src='data:image/svg+xml;base64,{data}'{size} style='max-width:100%'>"


def png_img(png: bytes, alt: str, *, width: int | None = None) -> str:
    data = base64.b64encode(png).decode("ascii")
    size = f" width='{width}'" if width else ""
    return f"<img alt='{esc(alt)}' src='data:image/png;base64,{data}'{size} style='max-width:100%'>"


def controls_html(*labels: str) -> str:
    """The widget's controls drawn as inert labels (in the static picture; they work once the notebook runs)."""
    pills = "".join(f"<span style='display:inline-block;border:1px solid #b8b8b8;border-radius:3px;"
                    f"padding:0 8px;margin:2px 4px 2px 0;color:#444;background:#f2f2f2;font-size:90%'>"
                    f"{esc(label)}</span>" for label in labels)
    return f"<div style='margin:4px 0'>{pills}</div>"


def parse_context(text: str) -> dict[str, str] | None:
    """An encryption context typed as ``key=value`` lines (or a JSON object); None when empty."""
    text = (text or "").strip()
    if not text:
        return None
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"the encryption context is not valid JSON: {exc}") from None
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise ValueError("an encryption context maps strings to strings")
        return value or None
    context: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise ValueError(f"encryption context line {n} ({line!r}) is not key=value")
        k, v = line.split("=", 1)
        context[k.strip()] = v.strip()
    return context or None


def context_text(context: dict[str, str] | None) -> str:
    return "\n".join(f"{k}={v}" for k, v in (context or {}).items())


def snake(operation: str) -> str:
    """``EnableKey`` -> ``enable_key`` (the boto3 method of an operation)."""
    return "".join(("_" + ch.lower()) if ch.isupper() and i else ch.lower() for i, ch in enumerate(operation))


def normalize_action(action: str) -> str:
    action = action.strip()
    return action if action.startswith("kms:") else f"kms:{action}"


def short_arn(arn: str | None) -> str:
    """``user/alice``, ``role/admin``, ``root`` (with the account when it is not the default one's)."""
    if not arn:
        return "-"
    if arn.startswith("arn:") and ":iam::" in arn:
        account, _, rest = arn.split(":iam::", 1)[1].partition(":")
        return rest if rest != "root" else f"root ({account})"
    if arn.startswith("arn:") and ":sts::" in arn:
        return arn.split(":sts::", 1)[1].partition(":")[2]
    return arn


# The actions a key-scoped permission question can ask about, in teaching order.
KMS_ACTIONS = (
    "kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:DescribeKey",
    "kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:EnableKey", "kms:DisableKey",
    "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
    "kms:EnableKeyRotation", "kms:DisableKeyRotation", "kms:GetKeyRotationStatus", "kms:RotateKeyOnDemand",
    "kms:ListKeyRotations", "kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant", "kms:RetireGrant",
    "kms:TagResource", "kms:UntagResource", "kms:ListResourceTags", "kms:UpdateKeyDescription",
    "kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias",
    "kms:GenerateDataKeyPair", "kms:GenerateDataKeyPairWithoutPlaintext", "kms:Sign", "kms:Verify",
    "kms:GetPublicKey", "kms:GenerateMac", "kms:VerifyMac", "kms:DeriveSharedSecret",
    "kms:ReplicateKey", "kms:UpdatePrimaryRegion",
    "kms:GetParametersForImport", "kms:ImportKeyMaterial", "kms:DeleteImportedKeyMaterial",
)


class View:
    """Base class of the kms_teach widgets.

    ``.widget`` is the ipywidgets container; ``display(view)`` shows it, with
    ``.text()`` as the ``text/plain`` fallback (what a notebook read without a
    kernel shows). ``.last_error`` is the error the widget shows, or None.
    """

    widget: W.Box

    def __init__(self, cloud=None, *, region: str | None = None, principal: str | None = None):
        self.cloud = cloud
        self.region = region or (cloud.region if cloud is not None else None)
        self.principal = principal
        self._clients: dict[tuple, Any] = {}
        self.last_error: ErrorInfo | None = None
        self.error_area = W.HTML("")
        self.error_area.add_class("kms-teach-error")

    # ------------------------------------------------------------------ the Cloud

    def client(self, service: str = "kms", principal: str | None = None, *, as_caller: bool = True):
        """A genuine boto3 client of the learner's Cloud (kept, since making one costs a few milliseconds).

        ``as_caller`` means "as the widget's principal" unless ``principal`` is given;
        ``as_caller=False`` means as the account's root user.
        """
        who = principal if principal is not None else (self.principal if as_caller else None)
        cache_key = (service, self.region, who)
        client = self._clients.get(cache_key)
        if client is None:
            client = self._clients[cache_key] = self.cloud.client(service, region_name=self.region, principal=who,
                                                                  config=_WIDGET_CONFIG)
        return client

    # ------------------------------------------------------------------ a key that is gone

    def _fresh_key_controls(self) -> W.VBox:
        """A note and a button, shown only when the widget's key was deleted (or waits for deletion)."""
        self.key_gone = None
        self.key_gone_note = W.HTML()
        self.key_gone_note.add_class("kms-teach-key-gone")
        self.fresh_key_button = button("Use a fresh key (CreateKey)", style="info", icon="plus",
                                       css="kms-teach-fresh-key")
        self.fresh_key_button.on_click(lambda _b: self.use_fresh_key())
        self._fresh_box = W.VBox([self.key_gone_note, self.fresh_key_button])
        self._fresh_box.layout.display = "none"
        return self._fresh_box

    def _fresh_key_args(self) -> dict:
        """CreateKey's parameters for a key like the one this widget shows (a symmetric encryption key)."""
        return {}

    def _check_key(self, key_id: str) -> "ErrorInfo | None":
        """Is the widget's key still usable? Shows the note and the fresh-key button when it is not."""
        gone = None
        try:
            md = self.client("kms", as_caller=False).describe_key(KeyId=key_id)["KeyMetadata"]
            if md["KeyState"] in ("PendingDeletion", "PendingReplicaDeletion"):
                gone = ErrorInfo("KMSInvalidStateException", f"{md['Arn']} is pending deletion.", "DescribeKey")
        except Exception as exc:
            err = error_info(exc)
            if err.code == "NotFoundException":
                gone = err
        self.key_gone = gone
        if hasattr(self, "_fresh_box"):
            if gone is None:
                self._fresh_box.layout.display = "none"
                self.key_gone_note.value = ""
            else:
                what = "was deleted" if gone.code == "NotFoundException" else "is scheduled for deletion"
                self.key_gone_note.value = (
                    f"<div style='background:{AMBER_BG};color:{INK};padding:6px 10px;border-left:6px solid #c77c02'>"
                    f"The key this widget shows, <code>{esc(key_id)}</code>, {what} (perhaps by a later cell of "
                    f"the notebook): KMS answers <b>{esc(gone.code)}</b>: {esc(gone.message)} Its ciphertexts "
                    "cannot be decrypted now. Press the button to go on with a new key.</div>")
                self._fresh_box.layout.display = ""
        return gone

    def use_fresh_key(self) -> str | None:
        """CreateKey (as the account's root user) and show the new key instead; returns its key ID."""

        def run():
            md = self.client("kms", as_caller=False).create_key(
                Description=f"a fresh key for the {type(self).__name__}", **self._fresh_key_args())["KeyMetadata"]
            self._switch_key(md)
            return md["KeyId"]

        return self._act(run)

    def _switch_key(self, metadata: dict) -> None:
        self.key_id = metadata["KeyId"]

    def _frame(self, children: list, css: str) -> W.VBox:
        """The widget's container: the shared style first, then ``children``; CSS classes for tests and styles."""
        box = W.VBox([W.HTML(VIEW_STYLE), *children])
        box.add_class("kms-teach-view")
        box.add_class(css)
        return box

    def expand_principal(self, value: str | None) -> str | None:
        """``root``, ``user/alice``, ``role/admin`` or an ARN -> the ARN (None or "" -> the account's root user)."""
        value = (value or "").strip()
        if not value or value == "root":
            return None
        if value.startswith("arn:"):
            return value
        if value.isdigit() and len(value) == 12:
            return f"arn:aws:iam::{value}:root"
        if value.startswith(("user/", "role/")):
            return f"arn:aws:iam::{self.cloud.account_id}:{value}"
        raise ValueError(f"{value!r} is not a principal: give an ARN, 'root', 'user/NAME' or 'role/NAME'")

    def account_principals(self) -> list[str]:
        """The account's root user, IAM users and roles (ARNs), listed through the IAM API."""
        iam = self.client("iam", as_caller=False)
        arns = [f"arn:aws:iam::{self.cloud.account_id}:root"]
        for page in iam.get_paginator("list_users").paginate():
            arns += [u["Arn"] for u in page["Users"]]
        for page in iam.get_paginator("list_roles").paginate():
            arns += [r["Arn"] for r in page["Roles"]]
        return arns

    def key_aliases(self) -> dict[str, list[str]]:
        """key ID -> its aliases, for the account in the Region (every page of ListAliases)."""
        aliases: dict[str, list[str]] = {}
        for page in self.client("kms", as_caller=False).get_paginator("list_aliases").paginate():
            for a in page["Aliases"]:
                if a.get("TargetKeyId"):
                    aliases.setdefault(a["TargetKeyId"], []).append(a["AliasName"])
        return aliases

    def region_keys(self) -> list[tuple[str, str]]:
        """(label, key ID) for every KMS key of the account in the Region, with aliases, state and description."""
        kms = self.client("kms", as_caller=False)
        aliases = self.key_aliases()
        out = []
        for page in kms.get_paginator("list_keys").paginate():
            for k in page["Keys"]:
                kid = k["KeyId"]
                try:
                    md = kms.describe_key(KeyId=kid)["KeyMetadata"]
                    extra = f" [{md['KeyState']}, {md['KeySpec']}]" + (f" {md['Description']}" if md["Description"] else "")
                except Exception as exc:  # e.g. the key policy leaves the root user out
                    extra = f" [{error_info(exc).code}]"
                names = ", ".join(aliases.get(kid, []))
                out.append(((f"{names} " if names else "") + kid + extra, kid))
        return out

    # ------------------------------------------------------------------ errors and actions

    def _show_error(self, exc: BaseException) -> ErrorInfo:
        err = error_info(exc)
        self.last_error = err
        self.error_area.value = error_html(err)
        return err

    def clear_error(self) -> None:
        self.last_error = None
        self.error_area.value = ""

    def _advance_clock(self, days: int | None) -> Any:
        """Move the simulated clock by ``days`` (else the view's ``advance_days`` box), then redraw.

        Everything that falls due on the way (rotations, deletions, expiries) happens first.
        """
        # An explicit ``days`` is used as given: the box is bounded and would clamp it silently.
        n = self.advance_days.value if days is None else days
        if days is not None and self.advance_days.min <= days <= self.advance_days.max:
            self.advance_days.value = days

        def run():
            now = self.cloud.clock.advance(days=n)
            self.last_call = f"the clock moved {n} days, to {fmt_time(now)} UTC"

        return self._act(run)

    def _act(self, fn: Callable[[], Any], *, refresh: bool = True) -> Any:
        """Run one learner action: errors are shown (never raised, never lost), then the view redraws."""
        self.clear_error()
        result = None
        try:
            result = fn()
        except Exception as exc:
            self._show_error(exc)
        if refresh:
            self._redraw()
        return result

    def _redraw(self) -> None:
        self._safe(self._refresh)

    def _safe(self, fn: Callable[[], Any]) -> None:
        """Run ``fn`` (a redraw); an error is shown unless one already is (the first error is the cause)."""
        try:
            fn()
        except Exception as exc:
            if self.last_error is None:
                self._show_error(exc)

    def _on(self, fn: Callable[[], Any], *, refresh: bool = True) -> Callable:
        """A callback for ``Button.on_click`` or ``observe`` that runs ``fn`` as a learner action."""

        def callback(*_args):
            self._act(fn, refresh=refresh)

        return callback

    def refresh(self) -> "View":
        """Read the Cloud again and redraw."""
        self._act(lambda: None)
        return self

    def _refresh(self) -> None:  # pragma: no cover - every widget overrides it
        pass

    # ------------------------------------------------------------------ display

    def text(self) -> str:  # pragma: no cover - every widget overrides it
        return type(self).__name__

    def _static_parts(self) -> list[str]:
        """HTML for the static picture of what the widget shows now (each widget draws its own)."""
        return [f"<pre style='line-height:1.3'>{esc(self.text())}</pre>"]

    def static_html(self) -> str:
        """A picture of the widget's present state, in HTML that needs no kernel and no widget manager.

        It travels in the display bundle beside the live widget: JupyterLab shows it in a notebook that has
        not run yet (untrusted outputs never use the widget renderer), GitHub shows it, and the committed
        course notebooks keep only it (``tools/build_notebooks.py``)."""
        try:
            body = "".join(self._static_parts())
        except Exception as exc:  # a picture must never break the display of the live widget
            body = f"<pre>{esc(self.text())}</pre><div>({esc(error_info(exc))})</div>"
        return (f"<div class='kms-teach-static' style='border:1px dashed #b8b8b8;border-radius:4px;padding:6px 10px;"
                f"line-height:1.4;max-width:980px'><div style='font-size:85%;color:{GREY};margin-bottom:4px'>"
                f"<b>{esc(type(self).__name__)}</b>: a picture of this widget as the notebook last ran. "
                f"Run the notebook to use it.</div>{body}</div>")

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude) or {}
        if isinstance(bundle, tuple):
            bundle = bundle[0]
        bundle = dict(bundle)
        bundle["text/html"] = self.static_html()
        bundle["text/plain"] = self.text()
        return bundle

    def _ipython_display_(self):
        from IPython.display import display

        display(self._repr_mimebundle_(), raw=True)

    def _repr_pretty_(self, p, cycle):
        p.text(f"{type(self).__name__}(...)" if cycle else self.text())

    def __repr__(self) -> str:
        first = self.text().splitlines()
        return f"<{type(self).__name__}: {first[0] if first else ''}>"



class SteppedView(View):
    """A view of one real run (a call, an envelope round trip) walked through step by step with Back / Next.

    Subclasses fill ``.steps`` in ``_run()`` (from what really happened) and draw ``.current`` in
    ``_draw()``; ``run()`` runs again from the first step, ``refresh()`` too.
    """

    steps: list
    index: int

    def _navigation(self) -> W.HBox:
        """Back, "step i of n", Next, wired to :meth:`back` and :meth:`step`."""
        self.back_button = button("Back", icon="arrow-left", css="kms-teach-back")
        self.next_button = button("Next", icon="arrow-right", css="kms-teach-next")
        self.position = W.HTML()
        self.back_button.on_click(lambda _b: self.back())
        self.next_button.on_click(lambda _b: self.step())
        return W.HBox([self.back_button, self.position, self.next_button])

    def _draw_position(self) -> None:
        n = len(self.steps)
        self.position.value = f"<div style='padding:4px 10px'>step {self.index + 1} of {n}</div>" if n else ""
        self.back_button.disabled = not n or self.index == 0
        self.next_button.disabled = not n or self.index >= n - 1

    def _list_principals(self) -> None:
        self.principal_box.options = ["root"] + self.account_principals()[1:]

    @property
    def current(self):
        return self.steps[self.index] if self.steps else None

    def step(self, delta: int = 1):
        """Move ``delta`` steps (Next is +1), staying within the steps that really happened."""
        if self.steps:
            self.index = max(0, min(len(self.steps) - 1, self.index + delta))
        self._safe(self._draw)
        return self.current

    def back(self):
        return self.step(-1)

    def run(self) -> list:
        """Run again now and show the first step."""
        self._act(self._run, refresh=False)
        self._safe(self._draw)
        return self.steps

    def _refresh(self) -> None:
        try:
            self._run()
        finally:
            self._draw()

    def _run(self) -> None:  # pragma: no cover - every stepped widget overrides it
        raise NotImplementedError

    def _draw(self) -> None:  # pragma: no cover - every stepped widget overrides it
        raise NotImplementedError

def button(description: str, *, style: str = "", icon: str = "", tooltip: str = "", css: str = "",
           width: str | None = None) -> W.Button:
    b = W.Button(description=description, button_style=style, icon=icon, tooltip=tooltip or description,
                 layout=W.Layout(width=width) if width else W.Layout(width="auto"))
    if css:
        b.add_class(css)
    return b
