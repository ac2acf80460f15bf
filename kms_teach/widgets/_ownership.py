"""KeyOwnership: customer managed, AWS managed and AWS owned keys side by side, and what each lets you do."""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as W

from ._base import (
    AMBER_BG, GREEN, GREEN_BG, GREY, INK, RED, RED_BG, View, breakable, button, controls_html, error_info, esc,
    fmt_time, short_arn, table_html, text_table,
)

__all__ = ["KeyOwnership", "Attempt"]


@dataclass(frozen=True)
class Attempt:
    """One thing the learner tried, and what AWS answered."""

    number: int
    action: str  # what was tried, in words
    call: str  # the API call(s) made
    key: str  # the key it was tried on (alias or key ID)
    ok: bool
    answer: str  # success in words, or AWS's error code and message
    caller: str  # who KMS saw making the KMS call (userIdentity), from the audit trail
    via: str  # through which service (invokedBy), "" for a direct call


class KeyOwnership(View):
    """Which keys are yours to manage, which AWS manages for you, and which you never see.

    ``KeyOwnership(cloud, bucket="key-ownership-demo", region=None)`` lists the KMS keys of the account
    in the Region (ListKeys, DescribeKey, ListAliases, GetKeyRotationStatus), one row each, with who
    manages it (``KeyManager``), its rotation, and whether its key policy can be changed. Its own S3
    bucket lets the learner put objects the two ways S3 encrypts them:
    ``put_object(encryption="aws:kms")`` (SSE-KMS with the AWS managed key ``alias/aws/s3``, which S3
    creates in the account on first use) and ``put_object(encryption="AES256")`` (SSE-S3, under an AWS
    owned key that no account lists). ``try_action(action, key)`` tries one of ``ACTIONS`` on a key of the
    list (the buttons do the same with the chosen key) and records an :class:`Attempt`: what AWS
    answered and who KMS saw as the caller (from the audit trail). ``.keys`` holds the rows last read,
    ``.attempts`` every attempt, newest last.
    """

    ACTIONS = ("Encrypt directly", "Encrypt through S3", "DisableKey", "DisableKeyRotation", "PutKeyPolicy",
               "GetKeyPolicy")

    def __init__(self, cloud, *, bucket: str = "key-ownership-demo", region: str | None = None):
        super().__init__(cloud, region=region)
        self.bucket = bucket
        self.keys: list[dict] = []
        self.attempts: list[Attempt] = []
        self.objects: list[tuple[str, str, str]] = []  # (object key, ServerSideEncryption, SSEKMSKeyId)
        self.list_area = W.HTML()
        self.list_area.add_class("kms-teach-ownership-keys")
        self.results = W.HTML()
        self.results.add_class("kms-teach-ownership-attempts")
        self.key_choice = W.Dropdown(description="key", options=[], layout=W.Layout(width="520px"))
        self.key_choice.add_class("kms-teach-key-choice")
        self.action_buttons = {name: button(name, css="kms-teach-try-" + name.lower().replace(" ", "-"))
                               for name in self.ACTIONS}
        for name, b in self.action_buttons.items():
            b.on_click(lambda _b, name=name: self.try_action(name, self.key_choice.value))
        self.put_kms = button("PutObject with SSE-KMS (no key named)", style="info", icon="upload",
                              css="kms-teach-put-sse-kms")
        self.put_s3 = button("PutObject with SSE-S3", icon="upload", css="kms-teach-put-sse-s3")
        self.put_kms.on_click(lambda _b: self.put_object("aws:kms"))
        self.put_s3.on_click(lambda _b: self.put_object("AES256"))
        self.refresh_button = button("refresh", icon="refresh", css="kms-teach-refresh")
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.widget = self._frame([
            self.list_area,
            W.HTML("<b>Let a service use KMS for you</b> (this widget's own S3 bucket "
                   f"<code>{esc(bucket)}</code>)"),
            W.HBox([self.put_kms, self.put_s3, self.refresh_button]),
            W.HTML("<b>Try something on a key</b> (as the account's root user)"),
            self.key_choice,
            W.HBox(list(self.action_buttons.values())),
            self.error_area, self.results,
        ], "kms-teach-key-ownership")
        self._act(self._ensure_bucket, refresh=False)
        self.refresh()

    # ------------------------------------------------------------------ the real calls

    def _ensure_bucket(self) -> None:
        s3 = self.client("s3", as_caller=False)
        names = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        if self.bucket not in names:
            args = {"Bucket": self.bucket}
            if self.region != "us-east-1":
                args["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
            s3.create_bucket(**args)

    def put_object(self, encryption: str = "aws:kms", key_id: str | None = None):
        """PutObject into the widget's bucket with SSE-KMS (``"aws:kms"``) or SSE-S3 (``"AES256"``)."""

        def run():
            s3 = self.client("s3", as_caller=False)
            name = f"object-{len(self.objects) + 1}.txt"
            args = {"Bucket": self.bucket, "Key": name, "Body": f"object {len(self.objects) + 1}".encode(),
                    "ServerSideEncryption": encryption}
            if key_id is not None:
                args["SSEKMSKeyId"] = key_id
            out = s3.put_object(**args)
            self.objects.append((name, out.get("ServerSideEncryption", encryption), out.get("SSEKMSKeyId", "")))
            return out

        return self._act(run)

    def _resolve(self, key: str) -> str:
        return self.client("kms", as_caller=False).describe_key(KeyId=key)["KeyMetadata"]["KeyId"]

    def try_action(self, action: str, key: str | None) -> Attempt | None:
        """Try ``action`` (one of ``ACTIONS``) on ``key`` (an alias or key ID) and record what AWS answered."""

        def run():
            if action not in self.ACTIONS:
                raise ValueError(f"{action!r} is not one of {', '.join(self.ACTIONS)}")
            if not key:
                raise ValueError("choose a key first (the list is empty until a key exists)")
            kms = self.client("kms", as_caller=False)
            label = self._label(key)
            if action not in ("Encrypt directly", "Encrypt through S3"):
                key_ref = self._resolve(key)  # management calls take a key ID or ARN, not an alias
            else:
                key_ref = key
            mark = len(self.cloud.audit.events)
            ok, answer, call = True, "", ""
            try:
                if action == "Encrypt directly":
                    call = "kms.encrypt"
                    out = kms.encrypt(KeyId=key_ref, Plaintext=b"a secret")
                    answer = f"encrypted: a {len(out['CiphertextBlob'])}-byte ciphertext"
                elif action == "Encrypt through S3":
                    call = "s3.put_object(SSE-KMS) -> kms.GenerateDataKey"
                    s3 = self.client("s3", as_caller=False)
                    name = f"object-{len(self.objects) + 1}.txt"
                    s3.put_object(Bucket=self.bucket, Key=name, Body=b"a secret", ServerSideEncryption="aws:kms",
                                  SSEKMSKeyId=key_ref)
                    self.objects.append((name, "aws:kms", key_ref))
                    answer = f"S3 stored {name}, its data key from this KMS key"
                elif action == "DisableKey":
                    call = "kms.disable_key"
                    kms.disable_key(KeyId=key_ref)
                    answer = "disabled (EnableKey turns it back on)"
                elif action == "DisableKeyRotation":
                    call = "kms.disable_key_rotation"
                    kms.disable_key_rotation(KeyId=key_ref)
                    answer = "automatic rotation turned off"
                elif action == "PutKeyPolicy":
                    call = "kms.get_key_policy + kms.put_key_policy"
                    policy = kms.get_key_policy(KeyId=key_ref, PolicyName="default")["Policy"]
                    kms.put_key_policy(KeyId=key_ref, PolicyName="default", Policy=policy)
                    answer = "the same policy put back: you may change this key's policy"
                else:
                    call = "kms.get_key_policy"
                    policy = kms.get_key_policy(KeyId=key_ref, PolicyName="default")["Policy"]
                    answer = f"the key policy ({len(policy)} characters): reading it is allowed"
            except Exception as exc:
                err = error_info(exc)
                if not err.aws:
                    raise
                ok, answer = False, f"{err.code}: {err.message}"
            caller, via = self._kms_caller(mark)
            attempt = Attempt(len(self.attempts) + 1, action, call, label, ok, answer, caller, via)
            self.attempts.append(attempt)
            return attempt

        return self._act(run)

    def _kms_caller(self, since: int) -> tuple[str, str]:
        """Who the KMS event(s) made since ``since`` name as caller, and through which service."""
        for e in self.cloud.audit.events[since:]:
            if e.get("eventSource") == "kms.amazonaws.com" and not e["eventName"].startswith(("Describe", "List")):
                ident = e.get("userIdentity") or {}
                source = e.get("sourceIPAddress") or ""
                # A call a service makes for the caller comes from the service's name, not an IP address.
                via = ident.get("invokedBy") or (source if source.endswith("amazonaws.com") else "")
                return short_arn(ident.get("arn")), via
        return "-", ""

    def _label(self, key: str) -> str:
        for row in self.keys:
            if key in (row["key_id"], row["alias"]):
                return row["alias"] or row["key_id"]
        return key

    # ------------------------------------------------------------------ reading

    def _refresh(self) -> None:
        kms = self.client("kms", as_caller=False)
        aliases = self.key_aliases()
        rows = []
        for page in kms.get_paginator("list_keys").paginate():
            for k in page["Keys"]:
                md = kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]
                row = {"key_id": md["KeyId"], "alias": ", ".join(aliases.get(md["KeyId"], [])),
                       "manager": md["KeyManager"], "state": md["KeyState"], "description": md.get("Description", ""),
                       "created": md["CreationDate"], "spec": md["KeySpec"], "rotation": "-"}
                if md["KeySpec"] == "SYMMETRIC_DEFAULT" and md.get("Origin") == "AWS_KMS":
                    try:
                        st = kms.get_key_rotation_status(KeyId=md["KeyId"])
                        row["rotation"] = (f"every {st.get('RotationPeriodInDays')} days" if st["KeyRotationEnabled"]
                                           else "off")
                    except Exception as exc:  # e.g. a disabled key's status can still be read; keep going
                        row["rotation"] = error_info(exc).code
                rows.append(row)
        rows.sort(key=lambda r: (r["manager"] != "CUSTOMER", r["created"]))
        self.keys = rows
        options = [(f"{r['alias'] or '(no alias)'}  {r['key_id']}  [{r['manager']}]", r["key_id"]) for r in rows]
        keep = self.key_choice.value
        self.key_choice.options = options
        if options:
            self.key_choice.value = keep if keep in [v for _, v in options] else options[0][1]
        self.list_area.value = self._list_html()
        self.results.value = self._results_html()

    def _list_html(self) -> str:
        body = []
        for r in self.keys:
            customer = r["manager"] == "CUSTOMER"
            who = "you (customer managed)" if customer else "AWS, for a service (AWS managed)"
            change = "yes: you manage it" if customer else "no: nobody can"
            bg = "" if customer else f"background:{AMBER_BG};color:{INK}"
            body.append((bg, [f"<code style='white-space:nowrap'>{esc(r['alias'] or '(no alias)')}</code>",
                              esc(r["key_id"][:8] + "…"), esc(who), esc(r["state"]), esc(r["rotation"]),
                              esc(change)]))
        owned_note = ("<tr style='color:#555;font-style:italic'><td style='text-align:left;padding:1px 8px'>(none listed)</td>"
                      "<td style='text-align:left;padding:1px 8px'>-</td><td style='text-align:left;padding:1px 8px'>AWS, in AWS's own accounts "
                      "(AWS owned keys)</td><td style='text-align:left;padding:1px 8px' colspan='3'>never in your account: ListKeys "
                      "does not show them, CloudTrail does not record their use; SSE-S3 objects are encrypted "
                      "under one</td></tr>")
        table = table_html(["alias", "key ID", "who manages it", "state", "rotation", "can you change it?"],
                           [cells for _bg, cells in body], row_styles=[bg for bg, _ in body], raw=True,
                           css_class="kms-teach-ownership-table")
        table = table.replace("</tbody>", owned_note + "</tbody>")
        objects = ""
        if self.objects:
            objects = "<div style='margin-top:4px'>Objects in the bucket: " + ", ".join(
                f"<code>{esc(n)}</code> ({'SSE-KMS' if enc == 'aws:kms' else 'SSE-S3'})" for n, enc, _k in self.objects
            ) + "</div>"
        return (f"<div><b>KMS keys in account {esc(self.cloud.account_id)}, {esc(self.region)}</b> "
                f"(simulated time {fmt_time(self.cloud.clock.now())} UTC)</div>{table}{objects}")

    def _results_html(self) -> str:
        if not self.attempts:
            return f"<div style='color:{GREY}'>No attempt yet: choose a key and press a button.</div>"
        rows, styles = [], []
        for a in reversed(self.attempts):
            rows.append([str(a.number), f"<span style='white-space:nowrap'>{esc(a.action)}</span>",
                         f"<span style='white-space:nowrap'>{esc(a.key)}</span>",
                         f"<b style='color:{GREEN if a.ok else RED}'>{'allowed' if a.ok else 'refused'}</b>",
                         breakable(a.answer),
                         f"<span style='white-space:nowrap'>{esc(a.caller)}</span>"
                         + (f"<br><span style='white-space:nowrap'>via {esc(a.via)}</span>" if a.via else "")])
            styles.append(f"background:{GREEN_BG if a.ok else RED_BG};color:{INK}")
        return "<div><b>What AWS answered</b> (newest first)</div>" + table_html(
            ["#", "tried", "on", "", "answer", "KMS saw the call from"], rows, raw=True, row_styles=styles)

    def _static_parts(self) -> list[str]:
        return [self.list_area.value, controls_html("PutObject with SSE-KMS (no key named)", "PutObject with SSE-S3"),
                controls_html(f"key: {self._label(self.key_choice.value or '')}", *self.ACTIONS), self.results.value]

    def text(self) -> str:
        out = [f"KeyOwnership: {len(self.keys)} KMS key(s) in {self.region}",
               text_table(["alias", "key ID", "KeyManager", "state", "rotation"],
                          [[r["alias"] or "-", r["key_id"], r["manager"], r["state"], r["rotation"]]
                           for r in self.keys])]
        for a in self.attempts:
            out.append(f"#{a.number} {a.action} on {a.key}: {'allowed' if a.ok else 'refused'} - {a.answer}"
                       + (f" (via {a.via})" if a.via else ""))
        if self.last_error:
            out.append(f"error: {self.last_error}")
        return "\n".join(out)
