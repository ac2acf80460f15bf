"""kms_teach.widgets, headless: controls driven programmatically, the widgets' and the Cloud's state asserted.

No front end is involved: values are set on the controls, buttons are ``.click()``ed,
and each test checks both what the widget shows and what the Cloud (through boto3)
says, so a widget can never show a state the Cloud does not have.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import subprocess
import sys
import warnings

import pytest


from IPython.lib.pretty import pretty  # noqa: E402  (ipywidgets depends on IPython)

from kms_teach._crypto import BLOB_FIELDS, BLOB_OVERHEAD, parse_blob_header  # noqa: E402
from kms_teach.widgets import (  # noqa: E402
    AuditTrailViewer, CiphertextInspector, DataKeyLifecycle, EncryptFlow, KeyOwnership, KeyStateMachine,
    MultiRegionMap, PolicyExplainer, RoleMatrix, RotationTimeline, SignVerifyFlow, key_state_table,
)
from kms_teach.widgets._base import fmt_time  # noqa: E402
from kms_teach.widgets._signing import verify_outside  # noqa: E402
from kms_teach.widgets._states import states_for  # noqa: E402
from kms_teach import envelope  # noqa: E402

ACCT = "111122223333"
ROOT = f"arn:aws:iam::{ACCT}:root"
TRUST_ROOT = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "sts:AssumeRole"}]})


def _doc(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _root_statement() -> dict:
    return {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": ROOT},
            "Action": "kms:*", "Resource": "*"}


@pytest.fixture
def people(cloud):
    """alice (no IAM policy), bob (an IAM policy allowing Encrypt and Decrypt), the role app."""
    iam = cloud.client("iam")
    iam.create_user(UserName="alice")
    iam.create_user(UserName="bob")
    iam.put_user_policy(UserName="bob", PolicyName="use-keys", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}))
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=TRUST_ROOT)
    return {"alice": f"arn:aws:iam::{ACCT}:user/alice", "bob": f"arn:aws:iam::{ACCT}:user/bob",
            "app": f"arn:aws:iam::{ACCT}:role/app"}


def _state(kms, key_id) -> str:
    return kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]


# ---------------------------------------------------------------------- layering and display


def test_import_kms_teach_leaves_widgets_ipywidgets_and_pyplot_alone():
    code = (
        "import sys, kms_teach\n"
        "assert 'kms_teach.widgets' not in sys.modules and 'ipywidgets' not in sys.modules, 'widgets imported'\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n"
        "import datetime as dt\n"
        "from kms_teach.widgets import RotationTimeline\n"
        "c = kms_teach.Cloud(clock=kms_teach.Clock(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), frozen=True))\n"
        "k = c.client('kms').create_key()['KeyMetadata']['KeyId']\n"
        "w = RotationTimeline(c, k)\n"
        "assert w.png.startswith(b'\\x89PNG'), w.last_error\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported: it would pick a global backend'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def _all_widgets(cloud, kms, key_id):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"attack at dawn")["CiphertextBlob"]
    return [
        CiphertextInspector(blob),
        PolicyExplainer(cloud, key_id),
        RoleMatrix(cloud, key_id, ["root"], ["Encrypt"]),
        KeyStateMachine(cloud, key_id),
        RotationTimeline(cloud, key_id),
        AuditTrailViewer(cloud),
        EncryptFlow(cloud, key_id),
        DataKeyLifecycle(cloud, key_id),
        KeyOwnership(cloud),
        SignVerifyFlow(cloud),
        MultiRegionMap(cloud, regions=["us-east-1", "eu-west-1"]),
    ]


def test_every_widget_displays_as_a_widget_with_a_plain_text_fallback(cloud, kms, key_id, capsys):
    import ipywidgets

    for w in _all_widgets(cloud, kms, key_id):
        name = type(w).__name__
        assert isinstance(w.widget, ipywidgets.Box), name
        assert w.last_error is None, (name, w.last_error)
        bundle = w._repr_mimebundle_()
        assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == w.widget.model_id
        text = w.text()
        assert bundle["text/plain"] == text and text.startswith(name)
        assert pretty(w) == text
        assert repr(w).startswith(f"<{name}: ") and "\n" not in repr(w)
        w._ipython_display_()  # without a kernel IPython prints the bundle: it must not fail
    assert "text/plain" in capsys.readouterr().out


def test_a_python_error_in_a_callback_is_shown_with_its_traceback_not_swallowed(cloud, key_id, monkeypatch):
    w = KeyStateMachine(cloud, key_id)

    def broken(*_a, **_k):
        raise RuntimeError("boom")

    monkeypatch.setattr(w, "client", broken)
    w.buttons["DisableKey"].click()
    assert w.last_error.code == "RuntimeError" and w.last_error.message == "boom"
    assert not w.last_error.aws and "Traceback" in w.last_error.details
    assert "boom" in w.error_area.value and "traceback" in w.error_area.value
    assert "error: RuntimeError" in w.text()


# ---------------------------------------------------------------------- CiphertextInspector


def test_inspector_labels_every_field_on_the_bytes(cloud, kms, key_id):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"attack at dawn")["CiphertextBlob"]
    material = kms.decrypt(CiphertextBlob=blob)["KeyMaterialId"]
    w = CiphertextInspector(blob)
    names = [f.name for f in w.fields]
    assert names == [name for name, *_ in BLOB_FIELDS] + ["ciphertext", "tag"]
    for f, (name, offset, length, meaning) in zip(w.fields, BLOB_FIELDS):
        assert (f.offset, f.length, f.raw, f.meaning) == (offset, length, blob[offset:offset + length], meaning)
        assert f"<b>{name}</b>" in w.table.value and f"kms-teach-field-{name}" in w.byte_map.value
    decoded = {f.name: f.decoded for f in w.fields}
    assert decoded["account_id"] == ACCT and decoded["key_id"] == key_id
    assert decoded["key_material_id"] == material == w.header.key_material_id
    assert decoded["header_check"] == "matches the header"
    body, tag = w.fields[-2], w.fields[-1]
    assert (body.offset, body.length, tag.offset, tag.length) == (90, 14, 104, 16)
    assert len(blob) == 14 + BLOB_OVERHEAD
    assert "Valid header" in w.summary.value
    assert ">checked by Decrypt: any changed byte fails<" in w.table.value  # words in full, never cut
    assert f">{material[:24]}…<" in w.table.value  # a long hex ID is cut, the whole of it in the tooltip
    assert key_id in w.text() and "header_check" in w.text()


def test_inspector_takes_a_response_or_base64_and_shows_what_the_cloud_says_of_the_key(cloud, kms, key_id):
    response = kms.encrypt(KeyId=key_id, Plaintext=b"x")
    w = CiphertextInspector(response, cloud)
    assert w.header.key_id == key_id
    assert w.key_info["state"] == "Enabled" and w.key_info["material_state"] == "CURRENT"
    kms.rotate_key_on_demand(KeyId=key_id)
    kms.disable_key(KeyId=key_id)
    assert w.key_info["material_state"] == "CURRENT"  # as last drawn, until it reads the Cloud again
    w.refresh()
    assert w.key_info == {**w.key_info, "state": "Disabled", "material_state": "NON_CURRENT"}
    other = kms.encrypt  # a blob of the new backing key, pasted as the AWS CLI prints it
    kms.enable_key(KeyId=key_id)
    blob2 = other(KeyId=key_id, Plaintext=b"y")["CiphertextBlob"]
    w.paste.value = base64.b64encode(blob2).decode()
    w.inspect_button.click()
    assert w.last_error is None and w.blob == blob2 and w.key_info["material_state"] == "CURRENT"


def test_inspector_shows_a_damaged_blob_and_bad_input(cloud, kms, key_id):
    blob = bytearray(kms.encrypt(KeyId=key_id, Plaintext=b"attack at dawn")["CiphertextBlob"])
    blob[30] ^= 1  # inside the key material ID
    w = CiphertextInspector(bytes(blob), cloud)
    assert w.header is None and w.last_error is None
    assert "DOES NOT match" in {f.name: f.decoded for f in w.fields}["header_check"]
    assert "InvalidCiphertextException" in w.summary.value and "NOT a valid" in w.text()
    with pytest.raises(Exception) as excinfo:  # what the Cloud says of the same bytes
        kms.decrypt(CiphertextBlob=bytes(blob))
    assert excinfo.value.response["Error"]["Code"] == "InvalidCiphertextException"
    w.paste.value = "not base64!"
    w.inspect_button.click()
    assert w.last_error.code == "ValueError" and "base64" in w.error_area.value
    assert w.blob == bytes(blob)  # the blob shown is unchanged
    w.inspect(12345)
    assert w.last_error.code == "TypeError"


# ---------------------------------------------------------------------- PolicyExplainer


def test_explainer_lists_keys_and_principals_and_explains(cloud, kms, key_id, people):
    kms.create_alias(AliasName="alias/battle-plans", TargetKeyId=key_id)
    w = PolicyExplainer(cloud, "alias/battle-plans")
    assert w.key.value == key_id
    assert any("alias/battle-plans" in label and "Enabled" in label for label, kid in w.key.options if kid == key_id)
    assert set(w.principal_box.options) == {ROOT, *people.values()}
    assert w.decision.allowed and w.decision.action == "kms:Decrypt"
    assert "ALLOWED" in w.result.value and w.decision.summary in w.result.value

    w.principal_box.value = "user/alice"  # re-evaluated on the change
    expected = cloud.explain(people["alice"], "kms:Decrypt", key_id)
    assert not w.decision.allowed and w.decision.summary == expected.summary
    assert "DENIED" in w.result.value and w.decision.deciding == []

    w.principal_box.value = people["bob"]
    assert w.decision.allowed
    assert w.decision.summary == "the key policy trusts the account and an identity policy allows the caller"
    assert w.result.value.count("<tr class='kms-teach-deciding'") == len(w.decision.deciding) == 2  # highlighted
    w.action.value = "kms:ScheduleKeyDeletion"
    assert not w.decision.allowed and w.decision.action == "kms:ScheduleKeyDeletion"
    assert "DENIED" in w.text()


def test_explainer_encryption_context_conditions_and_errors(cloud, kms, people):
    key_id = kms.create_key(Policy=_doc(_root_statement(), {
        "Sid": "HR only", "Effect": "Allow", "Principal": {"AWS": people["alice"]}, "Action": "kms:Decrypt",
        "Resource": "*", "Condition": {"StringEquals": {"kms:EncryptionContext:dept": "hr"}}}))["KeyMetadata"]["KeyId"]
    w = PolicyExplainer(cloud, key_id, principal="user/alice")
    assert not w.decision.allowed
    w.context.value = "dept=hr"
    assert w.decision.allowed and [r.label for r in w.decision.deciding] == ['statement 2 ("HR only")']
    w.context.value = "dept = it\n"
    assert not w.decision.allowed
    w.context.value = "dept"  # not key=value: the learner sees why
    assert w.decision is None and w.last_error.code == "ValueError" and "key=value" in w.error_area.value
    w.context.value = '{"dept": "hr"}'
    assert w.last_error is None and w.error_area.value == "" and w.decision.allowed
    w.principal_box.value = "user/nobody"
    assert w.decision is None and "nobody" in w.last_error.message
    w.principal_box.value = "not a principal"
    assert w.last_error.code == "ValueError"


def test_explainer_follows_the_cloud_on_refresh(cloud, kms, key_id, people):
    w = PolicyExplainer(cloud, key_id, principal=people["alice"], action="Encrypt")
    assert not w.decision.allowed
    cloud.client("iam").put_user_policy(UserName="alice", PolicyName="enc", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*"}))
    new_key = kms.create_key(Description="another")["KeyMetadata"]["KeyId"]
    w.refresh_button.click()
    assert w.decision.allowed
    assert new_key in [kid for _, kid in w.key.options]
    kms.schedule_key_deletion(KeyId=new_key, PendingWindowInDays=7)
    cloud.clock.advance(days=8)
    w.key.value = new_key
    w.refresh()
    assert w.decision is None and w.last_error.code == "NotFoundException"


# ---------------------------------------------------------------------- RoleMatrix


def test_matrix_cells_are_cloud_explain_and_selecting_explains(cloud, key_id, people):
    principals = ["root", people["alice"], "user/bob"]
    actions = ["Encrypt", "kms:Decrypt", "kms:PutKeyPolicy"]
    w = RoleMatrix(cloud, key_id, principals, actions)
    arns = [ROOT, people["alice"], people["bob"]]
    for p in arns:
        for a in ["kms:Encrypt", "kms:Decrypt", "kms:PutKeyPolicy"]:
            expected = cloud.explain(p, a, key_id).allowed
            assert w.grid[(p, a)] is expected == w.cell(p, a).allowed
            assert w.cells[(p, a)].button_style == ("success" if expected else "danger")
    assert w.grid[(people["bob"], "kms:Decrypt")] and not w.grid[(people["bob"], "kms:PutKeyPolicy")]
    w.cells[(people["alice"], "kms:Decrypt")].click()
    assert w.selected == (people["alice"], "kms:Decrypt")
    assert "DENIED" in w.explanation.value and w.cells[w.selected].description.startswith("●")
    decision = w.select("user/bob", "Decrypt")
    assert decision.allowed and "ALLOWED" in w.explanation.value
    assert "because the key policy trusts the account" in w.text()
    w.select("user/bob", "kms:Sign")
    assert w.last_error.code == "ValueError"


def test_matrix_policy_editor_applies_and_shows_aws_refusals(cloud, kms, key_id, people):
    w = RoleMatrix(cloud, key_id, [people["alice"]], ["kms:Decrypt"])
    assert json.loads(w.policy_editor.value) == json.loads(
        kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    assert w.grid[(people["alice"], "kms:Decrypt")] is False
    policy = _doc(_root_statement(), {"Sid": "alice decrypts", "Effect": "Allow",
                                      "Principal": {"AWS": people["alice"]}, "Action": "kms:Decrypt", "Resource": "*"})
    w.policy_editor.value = policy
    w.apply_button.click()
    assert w.last_error is None and "succeeded" in w.status.value
    assert w.grid[(people["alice"], "kms:Decrypt")] is True
    assert "alice decrypts" in kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]

    w.policy_editor.value = '{"Version": "2012-10-17", "Statement": ['  # not JSON
    assert w.apply_policy() is False
    assert w.last_error.code == "MalformedPolicyDocumentException" and w.last_error.operation == "PutKeyPolicy"
    assert "MalformedPolicyDocumentException" in w.error_area.value
    assert w.policy_editor.value.endswith("[")  # the learner's draft is kept to fix
    assert w.grid[(people["alice"], "kms:Decrypt")] is True
    lockout = _doc({"Effect": "Allow", "Principal": {"AWS": people["alice"]}, "Action": "kms:Decrypt",
                    "Resource": "*"})
    assert w.apply_policy(lockout) is False and w.last_error.code == "MalformedPolicyDocumentException"
    assert "alice decrypts" in kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    w.reload_button.click()  # back to what the Cloud has
    assert w.last_error is None and "alice decrypts" in w.policy_editor.value


def test_matrix_redraws_an_outside_change_on_refresh(cloud, kms, key_id, people):
    w = RoleMatrix(cloud, key_id, ["user/alice"], ["Encrypt"])
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=_doc(_root_statement(), {
        "Effect": "Allow", "Principal": {"AWS": people["alice"]}, "Action": "kms:Encrypt", "Resource": "*"}))
    assert w.grid[(people["alice"], "kms:Encrypt")] is False
    w.refresh()
    assert w.grid[(people["alice"], "kms:Encrypt")] is True and people["alice"] in w.policy_editor.value


# ---------------------------------------------------------------------- KeyStateMachine


def test_state_machine_buttons_make_the_real_calls(cloud, kms, key_id):
    w = KeyStateMachine(cloud, key_id)
    assert w.state == "Enabled" and "data-state='Enabled'" in w.diagram.value
    assert ("DisableKey", "Disabled") in w.transitions_from()
    w.buttons["DisableKey"].click()
    assert w.state == "Disabled" == _state(kms, key_id) and w.last_error is None
    assert "kms-teach-current' data-state='Disabled'" in w.diagram.value
    w.buttons["Encrypt"].click()
    assert w.last_error.code == "DisabledException" and "is disabled" in w.last_error.message
    assert "Encrypt refused: DisabledException" in w.result.value
    w.enable()
    assert w.state == "Enabled" == _state(kms, key_id) and w.last_error is None
    assert [e["eventName"] for e in w.key_events()][:3] == ["EnableKey", "Encrypt", "DisableKey"]


def test_state_machine_refused_transition_shows_awss_error(cloud, kms, key_id):
    w = KeyStateMachine(cloud, key_id)
    w.days.value = 9
    w.buttons["ScheduleKeyDeletion"].click()
    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert w.state == "PendingDeletion" == md["KeyState"]
    assert (md["DeletionDate"] - md["CreationDate"]).days == 9
    w.buttons["DisableKey"].click()
    assert w.last_error.code == "KMSInvalidStateException"
    assert w.last_error.message == f"{md['Arn']} is pending deletion."
    assert "KMSInvalidStateException" in w.error_area.value and w.state == "PendingDeletion" == _state(kms, key_id)
    w.cancel_deletion()
    assert w.state == "Disabled" == _state(kms, key_id)  # AWS leaves a cancelled key Disabled
    w.buttons["CancelKeyDeletion"].click()
    assert w.last_error.code == "KMSInvalidStateException" and "not pending deletion" in w.last_error.message
    w.schedule_deletion(days=5)  # outside 7..30: AWS's own validation answers
    assert w.last_error.code == "ValidationException" and w.state == "Disabled"


def test_state_machine_shows_the_key_gone_after_the_waiting_period(cloud, kms, key_id):
    w = KeyStateMachine(cloud, key_id)
    w.schedule_deletion(days=7)
    w.advance_days.value = 6
    w.buttons["advance"].click()
    assert w.state == "PendingDeletion" and not w.gone
    w.advance(days=1)
    assert w.gone and w.state == "Deleted" and w.last_error is None
    assert w.gone_because.code == "NotFoundException"
    assert "The key is gone" in w.info.value and "kms-teach-current' data-state='Deleted'" in w.diagram.value
    assert all(b.disabled for name, b in w.buttons.items() if name not in ("advance", "refresh"))
    assert not w.buttons["advance"].disabled
    assert w.key_events()[0]["eventName"] == "DeleteKey"
    assert "the key is gone" in w.text()
    with pytest.raises(Exception) as excinfo:
        kms.describe_key(KeyId=key_id)
    assert excinfo.value.response["Error"]["Code"] == "NotFoundException"


def test_state_machine_holds_no_state_of_its_own(cloud, kms, key_id):
    w = KeyStateMachine(cloud, key_id)
    kms.disable_key(KeyId=key_id)  # a call made elsewhere
    assert w.state == "Enabled"  # what it last drew
    w.refresh()
    assert w.state == "Disabled" and "data-state='Disabled'" in w.diagram.value
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    w.buttons["refresh"].click()
    assert w.state == "PendingDeletion" and "deleted on" in w.info.value


def test_state_machine_acts_as_its_principal(cloud, key_id, people):
    w = KeyStateMachine(cloud, key_id, principal=people["bob"])  # bob may Encrypt, not DescribeKey
    assert w.state is None and w.last_error.code == "AccessDeniedException"
    w.try_encrypt()
    assert w.last_call.startswith("Encrypt succeeded") and w.last_error.code == "AccessDeniedException"


# ---------------------------------------------------------------------- RotationTimeline


def test_rotation_timeline_pins_samples_to_their_backing_keys(cloud, kms, key_id):
    w = RotationTimeline(cloud, key_id)
    first = kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
    assert [m["key_material_id"] for m in w.materials] == [first] == [w.current_key_material_id]
    assert w.png.startswith(b"\x89PNG") and w.image.value == w.png
    w.message.value = "before"
    w.buttons["encrypt"].click()
    s1 = w.samples[0]
    assert s1.key_material_id == first == s1.header_key_material_id == parse_blob_header(s1.blob).key_material_id
    w.period.value = 90
    w.buttons["enable"].click()
    status = kms.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] and status["RotationPeriodInDays"] == 90 == w.advance_days.value
    old_figure = w.figure
    w.buttons["advance"].click()  # by the rotation period
    second = kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
    assert second != first and w.current_key_material_id == second and len(w.materials) == 2
    assert [m["state"] for m in w.materials] == ["NON_CURRENT", "CURRENT"]
    assert [m["rotation_type"] for m in w.materials] == [None, "AUTOMATIC"]
    assert w.figure is not old_figure
    s2 = w.encrypt_sample("after")
    assert s2.key_material_id == second
    w.buttons["decrypt"].click()
    assert s1.last_check.startswith(f"ok, with {first[:12]}") and s2.last_check.startswith(f"ok, with {second[:12]}")
    assert "#1" in w.table.value and "#2" in w.table.value and "sample #2 'after'" in w.text()


def test_rotation_timeline_on_demand_errors_and_refresh(cloud, kms, key_id):
    w = RotationTimeline(cloud, key_id)
    w.buttons["rotate"].click()
    assert len(w.materials) == 2 and w.materials[-1]["rotation_type"] == "ON_DEMAND"
    w.period.value = 30  # below 90 days: the box lets it through, and KMS answers as AWS does
    w.buttons["enable"].click()
    assert w.last_error.code == "ValidationException" and w.last_error.operation == "EnableKeyRotation"
    assert "'30' at 'rotationPeriodInDays'" in w.last_error.message and "greater than or equal to 90" in \
        w.last_error.message
    assert w.last_error.aws and not w.last_error.details  # AWS's answer, not a bug: no traceback
    assert w.period.value == 30  # never silently turned into another period
    assert not kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]
    kms.rotate_key_on_demand(KeyId=key_id)  # elsewhere
    assert len(w.materials) == 2
    w.refresh()
    assert len(w.materials) == 3 and w.last_error is None
    kms.disable_key(KeyId=key_id)
    w.rotate_now()
    assert w.last_error.code == "DisabledException" and len(w.materials) == 3
    w.encrypt_sample("x")
    assert w.last_error.code == "DisabledException" and w.samples == []


def test_rotation_timeline_draws_the_original_backing_key_from_the_key_s_creation(cloud, kms, key_id):
    from matplotlib import dates as mdates
    from matplotlib.patches import Rectangle

    created = kms.describe_key(KeyId=key_id)["KeyMetadata"]["CreationDate"]
    cloud.clock.advance(days=120)
    kms.rotate_key_on_demand(KeyId=key_id)
    cloud.clock.advance(days=30)
    w = RotationTimeline(cloud, key_id)
    original, rotated = w.materials
    assert original["rotation_type"] is None and original["start"] == created  # ListKeyRotations gives no date
    assert rotated["start"] == created + dt.timedelta(days=120)
    bars = sorted((p for p in w.figure.axes[0].patches if isinstance(p, Rectangle) and abs(p.get_height() - 0.6) < 1e-9),
                  key=lambda p: p.get_y())
    assert len(bars) == 2
    start, end = (mdates.num2date(x) for x in (bars[0].get_x(), bars[0].get_x() + bars[0].get_width()))
    assert abs(start - created) < dt.timedelta(minutes=1), start  # not at "now"
    assert abs(end - rotated["start"]) < dt.timedelta(minutes=1), end
    assert fmt_time(created) in w.table.value.replace("<wbr>", "")


@pytest.mark.parametrize("days", [1, 45, 200, 400, 800, 1100, 1500, 2200, 4000, 9000])
def test_rotation_timeline_draws_any_span_without_warnings(cloud, kms, key_id, days):
    # A 4-year span once made matplotlib's date locator warn on the learner's stderr (seen in JupyterLab).
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=365)
    w = RotationTimeline(cloud, key_id)
    w.encrypt_sample("a")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        w.advance(days)
    assert w.last_error is None and w.png.startswith(b"\x89PNG")
    assert len(w.materials) == 1 + days // 365
    assert [str(x.message) for x in seen] == []


# ---------------------------------------------------------------------- AuditTrailViewer


def test_audit_viewer_filters_newest_first(cloud, kms, key_id, people):
    bob = cloud.client("kms", principal=people["bob"])
    bob.encrypt(KeyId=key_id, Plaintext=b"x")
    with pytest.raises(Exception):
        bob.describe_key(KeyId=key_id)
    w = AuditTrailViewer(cloud)
    events = cloud.audit.events
    rows = w.rows()
    assert len(rows) == len(events) and rows[0]["event"] == "DescribeKey" == events[-1]["eventName"]
    assert rows[0]["error"].startswith("AccessDeniedException: User: " + people["bob"])
    assert f"{len(events)} of {len(events)} event(s)" in w.count.value
    w.errors_only.value = True
    assert [r["event"] for r in w.rows()] == ["DescribeKey"] and "AccessDeniedException" in w.table.value
    w.errors_only.value = False
    w.principal_filter.value = people["bob"]
    assert [r["event"] for r in w.rows()] == ["DescribeKey", "Encrypt"]
    assert all(r["key"] == key_id for r in w.rows())
    w.principal_filter.value = "(all)"
    assert "iam.amazonaws.com" in w.source.options
    w.source.value = "iam.amazonaws.com"
    assert {r["event"] for r in w.rows()} == {"CreateUser", "PutUserPolicy", "CreateRole"}
    w.source.value = "(all)"
    w.hide_lookups.value = True
    assert w.rows() and not any(r["event"].startswith(("Describe", "Get", "List")) for r in w.rows())
    assert "DescribeKey" not in w.table.value and "AccessDeniedException" not in w.table.value
    w.hide_lookups.value = False
    w.event_name.value = "CreateKey"
    assert len(w.rows()) == 1 and w.rows()[0]["key"] == key_id and "Encrypt" not in w.table.value


def test_audit_viewer_shows_new_events_on_refresh(cloud, kms, key_id):
    w = AuditTrailViewer(cloud, max_rows=2)
    before = len(w.rows())
    w.event_name.value = "CreateKey"
    assert len(w.rows()) == 1
    kms.disable_key(KeyId=key_id)
    kms.create_key()
    assert len(w.rows()) == 1 and "DisableKey" not in w.event_name.options  # what it read last
    w.refresh_button.click()
    assert len(w.rows()) == 2 and "DisableKey" in w.event_name.options
    w.event_name.value = "(all)"
    assert len(w.rows()) == before + 2 and "the newest 2 are shown" in w.count.value
    assert w.table.value.count("<tr") == 1 + 2


# ---------------------------------------------------------------------- EncryptFlow


def test_flow_steps_through_a_real_encrypt(cloud, kms, key_id):
    w = EncryptFlow(cloud, key_id, plaintext="attack at dawn")
    assert [s.box for s in w.steps] == ["application", "KMS", "authorization", "key store", "application"]
    assert all(s.status == "ok" for s in w.steps) and w.steps[-1].returning
    assert w.index == 0 and w.back_button.disabled and not w.next_button.disabled
    blob = w.response["CiphertextBlob"]
    assert len(blob) == 14 + BLOB_OVERHEAD
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"attack at dawn"  # a real ciphertext
    current = kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
    assert dict(w.steps[3].items)["backing key (the current one)"] == current
    assert dict(w.steps[4].items)["KeyMaterialId (in the blob)"] == current
    assert dict(w.steps[2].items)["because"] == cloud.explain(None, "kms:Encrypt", key_id).summary
    assert dict(w.steps[1].items)["key state"] == "Enabled"
    for expected in range(1, 5):
        w.next_button.click()
        assert w.index == expected
    assert w.step() is w.steps[-1] and w.index == 4 and w.next_button.disabled
    assert "kms-teach-flow-return" in w.diagram.value and "step 5 of 5" in w.position.value
    w.back()
    assert w.current.box == "key store" and "kms-teach-current' data-box='key store'" in w.diagram.value
    events = [e for e in cloud.audit.events if e["eventName"] == "Encrypt"]
    assert events[-1]["userIdentity"]["arn"] == ROOT


def test_flow_denied_call_stops_at_authorization_with_awss_error(cloud, key_id, people):
    w = EncryptFlow(cloud, key_id, principal="user/alice")
    assert [s.box for s in w.steps] == ["application", "KMS", "authorization"]
    last = w.steps[-1]
    assert last.status == "denied" and last.error.code == "AccessDeniedException"
    event = [e for e in cloud.audit.events if e["eventName"] == "Encrypt"][-1]
    assert event["errorCode"] == "AccessDeniedException" and last.error.message == event["errorMessage"]
    assert dict(last.items)["decision"] == "DENIED" and not w.decision.allowed
    w.step(10)
    assert w.index == 2 and w.next_button.disabled
    assert "AccessDeniedException" in w.details.value and "The call stops here" in w.details.value
    assert w.response is None and "DENIED" in w.text()
    w.principal_box.value = "role/app"  # a role session, no policy of its own
    w.run()
    assert w.steps[-1].status == "denied" and "assumed-role/app/" in w.steps[-1].error.message


def test_flow_disabled_key_stops_at_the_key_store_after_refresh(cloud, kms, key_id):
    w = EncryptFlow(cloud, key_id)
    assert len(w.steps) == 5
    kms.disable_key(KeyId=key_id)  # elsewhere: the flow shows it when it makes the call again
    w.refresh()
    assert [s.box for s in w.steps][-1] == "key store" and w.index == 0
    assert w.steps[-1].status == "failed" and w.steps[-1].error.code == "DisabledException"
    assert dict(w.steps[2].items)["decision"] == "ALLOWED" and dict(w.steps[1].items)["key state"] == "Disabled"
    assert "step 1 of 4" in w.position.value


def test_flow_decrypt_and_data_keys_with_role_separation(cloud, kms, key_id, people):
    w = EncryptFlow(cloud, key_id, principal="user/bob", operation="Decrypt", plaintext="hello",
                    encryption_context={"dept": "hr"})
    assert any(k == "note" for k, _ in w.steps[0].items)  # the root user made the blob first
    assert w.response["Plaintext"] == b"hello" and w.steps[-1].status == "ok"
    material = dict(w.steps[3].items)["backing key (named by the blob)"]
    assert w.response["KeyMaterialId"] == material
    w.context_box.value = "dept=it"  # the context is part of the ciphertext: a wrong one fails after authorization
    w.run_button.click()
    assert w.steps[-1].box == "key store" and w.steps[-1].error.code == "InvalidCiphertextException"
    w.operation.value = "GenerateDataKey"
    w.context_box.value = ""
    w.run()
    assert len(w.response["Plaintext"]) == 32 and len(w.response["CiphertextBlob"]) == 32 + BLOB_OVERHEAD
    assert "the data key" in dict(w.steps[-1].items)["Plaintext"]
    w.operation.value = "Encrypt"
    w.run()
    w.operation.value = "Decrypt"
    w.run()  # now the blob bob made with Encrypt just above
    assert not any(k == "note" for k, _ in w.steps[0].items) and w.response["Plaintext"] == b"hello"
    w.principal_box.value = "user/ghost"
    w.run()
    assert w.steps == [] and "ghost" in w.last_error.message and w.response is None


# ---------------------------------------------------------------------- DataKeyLifecycle


def test_lifecycle_shows_each_copy_of_the_data_key_through_a_real_envelope_round_trip(cloud, kms, key_id):
    w = DataKeyLifecycle(cloud, key_id, message="payroll", encryption_context={"dept": "hr"})
    assert w.last_error is None and w.call_error is None
    assert [(s.phase, s.event.step) for s in w.steps] == [
        ("encrypt", "generate"), ("encrypt", "store-encrypted-key"), ("encrypt", "encrypt-data"),
        ("encrypt", "discard-plaintext"), ("decrypt", "read-encrypted-key"), ("decrypt", "decrypt-key"),
        ("decrypt", "decrypt-data"), ("decrypt", "discard-plaintext")]
    # the plaintext data key exists only between generate/decrypt-key and discard, then is wiped
    assert [s.secret_exposed for s in w.steps] == [True, True, True, False, False, True, True, False]
    assert w.steps[3].event.plaintext_key == "wiped" and w.steps[4].event.plaintext_key == "absent"
    assert w.steps[1].event.encrypted_key.startswith("message header")
    # the widget's message is a real envelope message: the recipe decrypts it on its own
    assert envelope.decrypt_bytes(kms, w.message, encryption_context={"dept": "hr"}) == b"payroll"
    assert w.recovered == b"payroll"
    assert envelope.read_header(w.message).encrypted_data_key is not None
    arn = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
    assert {s.event.kms_key_arn for s in w.steps} == {arn}
    # both lanes are drawn for every step; the current one is outlined
    svg = w.diagram.value
    assert svg.count("kms-teach-lifecycle-cell") == 16 and "discard-plaintext" in svg
    assert "the secret is in memory" in w.details.value
    for _ in range(3):
        w.step()
    assert w.index == 3 and "the secret is in memory" not in w.details.value
    w.step(100)
    assert w.index == 7 and w.next_button.disabled and "the original message" in w.details.value
    w.back()
    assert w.index == 6 and not w.next_button.disabled
    text = w.text()
    assert ">7" in text and "decrypt-data" in text and "decrypted: 7 bytes, the original message" in text


def test_lifecycle_never_shows_the_plaintext_data_key(cloud, key_id):
    w = DataKeyLifecycle(cloud, key_id)
    data_keys = []
    kms = w.client("kms", as_caller=False)  # the very client the widget calls KMS through
    kms.meta.events.register("after-call.kms.GenerateDataKey",
                             lambda parsed, **_k: data_keys.append(parsed["Plaintext"]))
    w.run()
    assert len(data_keys) == 1 and len(data_keys[0]) == 32 and w.call_error is None
    key = data_keys[0]
    shown = [w.text(), w.diagram.value]
    for i in range(len(w.steps)):
        w.step(i - w.index)
        shown.append(w.details.value)
    for form in (key.hex(), base64.b64encode(key).decode(), key.hex(" ")):
        assert not any(form in page for page in shown)
    assert not any(isinstance(v, (bytes, bytearray)) for s in w.steps for v in vars(s.event).values())


def test_lifecycle_decrypt_with_another_context_stops_before_a_plaintext_key_exists(cloud, key_id):
    w = DataKeyLifecycle(cloud, key_id, encryption_context={"dept": "hr"}, decrypt_context={"dept": "it"})
    assert w.last_error is None
    decrypt_steps = [s.event.step for s in w.steps if s.phase == "decrypt"]
    assert decrypt_steps == ["read-encrypted-key"]
    assert not any(s.secret_exposed for s in w.steps if s.phase == "decrypt")
    assert w.recovered is None and w.decrypt_error is not None and "dept" in w.decrypt_error.message
    w.step(100)
    assert "decryption stops" in w.details.value and "stopped:" in w.text()
    assert "kms-teach-lifecycle-stop" in w.diagram.value and "EnvelopeError" in w.diagram.value
    assert "absent (" not in w.details.value  # a key this process does not hold has no length to show
    # the same widget, contexts made equal again, decrypts
    w.decrypt_context_box.value = "dept=hr"
    w.run_button.click()
    assert w.call_error is None and w.recovered is not None


def test_lifecycle_shows_kms_refusals_in_the_phase_they_stop(cloud, kms, key_id, people):
    kms.disable_key(KeyId=key_id)
    w = DataKeyLifecycle(cloud, key_id)
    assert w.steps == [] and w.message is None
    assert w.encrypt_error.code == "DisabledException" and w.encrypt_error.operation == "GenerateDataKey"
    assert "DisabledException" in w.diagram.value and "encryption stops" in w.details.value
    kms.enable_key(KeyId=key_id)
    w.principal_box.value = "user/alice"  # no IAM policy, and the default key policy defers to IAM
    w.run()
    assert w.encrypt_error.code == "AccessDeniedException" and w.last_error is None
    w.principal_box.value = "user/bob"
    w.run()
    assert w.call_error is None and len(w.steps) == 8
    w.principal_box.value = "user/nobody"
    w.run()
    assert w.last_error is not None and w.last_error.code == "ValueError" and "nobody" in w.last_error.message


# ---------------------------------------------------------------------- static pictures (before a notebook runs)


def test_every_widget_carries_a_static_picture_an_untrusted_notebook_and_github_can_show(cloud, kms, key_id):
    for w in _all_widgets(cloud, kms, key_id):
        name = type(w).__name__
        html = w._repr_mimebundle_()["text/html"]
        assert html == w.static_html() and "kms-teach-static" in html and name in html, name
        # an inline <svg> in HTML output is removed by JupyterLab's sanitizer: drawings travel as images
        assert "<svg" not in html, name
        assert "<script" not in html and "<style" not in html, name
    flow = EncryptFlow(cloud, key_id)
    assert "data:image/svg+xml;base64," in flow.static_html() and "Run the call" in flow.static_html()
    timeline = RotationTimeline(cloud, key_id)
    assert "data:image/png;base64," in timeline.static_html()


# ---------------------------------------------------------------------- KeyStateMachine: the states of this kind of key


def test_state_machine_draws_only_the_states_of_its_kind_of_key(cloud, kms, key_id):
    w = KeyStateMachine(cloud, key_id)
    assert w.states == ["Enabled", "Disabled", "PendingDeletion", "Deleted"]
    assert "PendingImport" not in w.diagram.value and "material deleted" not in w.diagram.value
    assert "Creating" not in w.diagram.value and "Unavailable" not in w.diagram.value
    external = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    x = KeyStateMachine(cloud, external)
    assert x.state == "PendingImport" and "PendingImport" in x.states
    assert ("ImportKeyMaterial", "Enabled") in x.transitions_from()
    assert x.buttons["DeleteImportedKeyMaterial"].layout.display == ""
    assert w.buttons["DeleteImportedKeyMaterial"].layout.display == "none"
    primary = kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    kms.replicate_key(KeyId=primary, ReplicaRegion="eu-west-1")
    p = KeyStateMachine(cloud, primary)
    assert "PendingReplicaDeletion" in p.states and "Creating" not in p.states and "Updating" in p.states
    replica = KeyStateMachine(cloud, primary, region="eu-west-1")
    assert "Creating" in replica.states and "PendingReplicaDeletion" not in replica.states
    assert states_for(None) == ["Enabled", "Disabled", "PendingDeletion", "Deleted"]


def test_state_machine_shows_dates_for_people_and_aws_judges_the_window(cloud, kms, key_id):
    w = KeyStateMachine(cloud, key_id)
    w.days.value = 3  # a box, not a slider: the learner can ask for what AWS refuses
    w.buttons["ScheduleKeyDeletion"].click()
    assert w.last_error.code == "ValidationException" and "greater than or equal to 7" in w.last_error.message
    w.schedule_deletion(days=8)
    assert "datetime" not in w.last_call and "tzinfo" not in w.last_call
    assert re.search(r"DeletionDate 2026-01-09 09:00 UTC", w.last_call), w.last_call


def test_state_machine_offers_a_fresh_key_once_the_key_is_gone(cloud, kms, key_id):
    w = KeyStateMachine(cloud, key_id)
    w.schedule_deletion(days=7)
    w.advance(days=7)
    assert w.gone and w._fresh_box.layout.display == ""
    w.fresh_key_button.click()
    assert not w.gone and w.state == "Enabled" and w.key_id != key_id
    assert kms.describe_key(KeyId=w.key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    assert w._fresh_box.layout.display == "none"


# ---------------------------------------------------------------------- widgets whose key was deleted elsewhere


def test_timeline_says_plainly_its_key_was_deleted_and_goes_on_with_a_fresh_one(cloud, kms, key_id):
    w = RotationTimeline(cloud, key_id)
    w.encrypt_sample("before")
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    w.refresh()
    assert w.key_gone.code == "KMSInvalidStateException" and "scheduled for deletion" in w.key_gone_note.value
    cloud.clock.advance(days=7)
    w.advance(days=1)  # the clock still moves; the widget does not pretend the key is there
    assert w.last_error is None and w.key_gone.code == "NotFoundException"
    assert "was deleted" in w.key_gone_note.value and "deleted" in w.info.value
    w.encrypt_sample("after")
    assert w.last_error.code == "NotFoundException"
    new = w.use_fresh_key()
    assert new and new != key_id and w.key_gone is None and w.samples == [] and len(w.materials) == 1
    assert w.encrypt_sample("fresh").key_material_id == w.current_key_material_id


def test_flow_and_lifecycle_notice_a_deleted_key(cloud, kms, key_id):
    flow = EncryptFlow(cloud, key_id)
    life = DataKeyLifecycle(cloud, key_id)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    cloud.clock.advance(days=7)
    flow.run()
    life.run()
    assert flow.key_gone.code == "NotFoundException" and life.key_gone.code == "NotFoundException"
    flow.use_fresh_key()
    life.use_fresh_key()
    assert flow.steps[-1].status == "ok" and flow.key_id != key_id
    assert life.call_error is None and life.recovered is not None


def test_flow_shows_only_the_inputs_of_its_operation(cloud, kms, key_id):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    w = EncryptFlow(cloud, key_id, operation="Decrypt", ciphertext=blob)
    assert w.plaintext_box.layout.display == "none"
    w.operation.value = "Encrypt"
    assert w.plaintext_box.layout.display == ""
    w.operation.value = "GenerateDataKey"
    assert w.plaintext_box.layout.display == "none"
    assert "makes a data key" in w.svg() or "asks for a data key" in w.svg()


# ---------------------------------------------------------------------- compact and readable


def test_tables_are_compact_and_headings_wrap_between_words(cloud, kms, key_id):
    from kms_teach.widgets._base import VIEW_STYLE, breakable, table_html
    from kms_teach.widgets._policy import _action_header

    assert "line-height:1.4" in VIEW_STYLE and "line-height:1.3" in table_html(["a"], [["b"]])
    assert breakable("arn:aws:kms:us-east-1:1:key/abc") == "arn:<wbr>aws:<wbr>kms:<wbr>us-<wbr>east-<wbr>1:<wbr>1:<wbr>key/<wbr>abc"
    assert "Schedule<wbr>Key<wbr>Deletion" in _action_header("kms:ScheduleKeyDeletion")
    w = CiphertextInspector(kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"])
    assert "word-break:break-all" not in w.table.value
    assert all("kms-teach-view" in v.widget._dom_classes for v in (w, KeyStateMachine(cloud, key_id)))


# ---------------------------------------------------------------------- AuditTrailViewer: the encryption context


def test_audit_viewer_shows_and_filters_the_encryption_context(cloud, kms, key_id):
    for patient in ("7", "8", "7"):
        cloud.clock.advance(minutes=5)
        kms.encrypt(KeyId=key_id, Plaintext=b"chart", EncryptionContext={"patient": patient})
    w = AuditTrailViewer(cloud)
    assert "encryption context" in w.table.value and "patient=8" in w.table.value.replace("<wbr>", "")
    w.context_filter.value = "patient=7"
    rows = w.rows()
    assert len(rows) == 2 and all(r["context"] == {"patient": "7"} for r in rows)
    assert rows[0]["time"] != rows[1]["time"]  # the clock moved between them
    w.context_filter.value = "patient"
    assert w.last_error.code == "ValueError"


# ---------------------------------------------------------------------- KeyOwnership


def test_key_ownership_makes_each_kind_of_key_appear_and_tries_what_aws_allows(cloud, kms, key_id):
    kms.create_alias(AliasName="alias/mine", TargetKeyId=key_id)
    w = KeyOwnership(cloud, bucket="ownership-test")
    assert [(r["alias"], r["manager"]) for r in w.keys] == [("alias/mine", "CUSTOMER")]
    w.put_object("AES256")
    w.refresh()
    assert len(w.keys) == 1 and "AWS owned keys" in w.list_area.value  # SSE-S3: no key in the account
    w.put_object("aws:kms")
    w.refresh()
    managed = [r for r in w.keys if r["manager"] == "AWS"]
    assert [r["alias"] for r in managed] == ["alias/aws/s3"] and managed[0]["rotation"] == "every 365 days"
    direct = w.try_action("Encrypt directly", "alias/aws/s3")
    assert not direct.ok and direct.answer.startswith("AccessDeniedException")
    via = w.try_action("Encrypt through S3", "alias/aws/s3")
    assert via.ok and via.via == "s3.us-east-1.amazonaws.com" and via.caller == "root (111122223333)"
    assert not w.try_action("DisableKey", "alias/aws/s3").ok and w.try_action("DisableKey", "alias/mine").ok
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
    assert w.try_action("GetKeyPolicy", "alias/aws/s3").ok
    w.try_action("Sing", "alias/mine")
    assert w.last_error.code == "ValueError"
    assert "refused" in w.results.value and "via s3.us-east-1.amazonaws.com" in w.results.value


# ---------------------------------------------------------------------- SignVerifyFlow


def test_sign_verify_flow_signs_in_kms_and_verifies_outside_with_the_public_key_alone(cloud, kms):
    w = SignVerifyFlow(cloud, key_spec="ECC_NIST_P256")
    assert [(s.where, s.name, s.ok) for s in w.steps] == [
        ("KMS", "Sign", True), ("KMS", "GetPublicKey", True), ("outside", "verify", True), ("KMS", "Verify", True)]
    md = kms.describe_key(KeyId=w.key_id)["KeyMetadata"]
    assert md["KeyUsage"] == "SIGN_VERIFY" and md["KeySpec"] == "ECC_NIST_P256"
    w.tamper.value = True
    w.run()
    assert not w.steps[2].ok and not w.steps[3].ok and "KMSInvalidSignatureException" in w.steps[3].detail
    assert "✘ invalid" in w.diagram.value
    # the call column wraps only between words: never inside SigningAlgorithm=ECDSA_SHA_256 or kms:Verify
    assert "<span style='white-space:nowrap'>SigningAlgorithm=ECDSA_SHA_256)</span>" in w.table.value
    assert "<span style='white-space:nowrap'>kms:Verify)</span>" in w.table.value
    for spec in ("RSA_2048", "ECC_NIST_EDWARDS25519", "ECC_SECG_P256K1"):
        w.tamper.value = False
        w.new_key(spec)
        assert w.metadata["KeySpec"] == spec and w.steps[2].ok, (spec, w.steps)


def test_verify_outside_checks_every_signing_family_against_kms(cloud, kms):
    cases = [("RSA_2048", "RSASSA_PSS_SHA_256"), ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_384"),
             ("ECC_NIST_P384", "ECDSA_SHA_384"), ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512")]
    for spec, algorithm in cases:
        key = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        sig = kms.sign(KeyId=key, Message=b"m", SigningAlgorithm=algorithm)["Signature"]
        public = kms.get_public_key(KeyId=key)["PublicKey"]
        assert verify_outside(public, algorithm, b"m", sig), (spec, algorithm)
        assert not verify_outside(public, algorithm, b"n", sig), (spec, algorithm)


# ---------------------------------------------------------------------- MultiRegionMap


def test_multi_region_map_replicates_and_decrypts_across_regions(cloud):
    w = MultiRegionMap(cloud)
    assert w.key_id.startswith("mrk-") and w.regions_state["us-east-1"]["role"] == "PRIMARY"
    w.replicate("eu-west-1")
    assert "Creating" in w.last_call and w.regions_state["eu-west-1"]["role"] == "REPLICA"
    travel = w.encrypt_in("us-east-1")
    w.decrypt_in("eu-west-1")
    assert travel.ok and "order 1001" in travel.answer
    assert "data-kind='ok'" in w.map.value and "data-kind='share'" in w.map.value
    w.encrypt_in("eu-west-1")
    t = w.decrypt_in("ap-southeast-2")  # no key of the set there
    assert not t.ok and t.answer.startswith("AccessDeniedException") and "data-kind='fail'" in w.map.value
    before = w.regions_state["us-east-1"]["material"]
    w.rotate()
    materials = {st["material"] for st in w.regions_state.values() if st["role"]}
    assert len(materials) == 1 and before not in materials
    w.make_primary("eu-west-1")
    w.refresh()
    assert w.regions_state["eu-west-1"]["role"] == "PRIMARY" and w.regions_state["us-east-1"]["role"] == "REPLICA"
    w.replicate("eu-west-1")  # already there
    assert w.last_error is not None and "refused" in w.status.value


# ---------------------------------------------------------------------- the key state table


def test_key_state_table_is_what_kms_answers_in_each_state():
    table = key_state_table()
    assert table.works("Encrypt", "Enabled") and not table.works("Encrypt", "Disabled")
    assert table.cells[("Encrypt", "Disabled")] == "DisabledException"
    assert table.cells[("Decrypt", "PendingDeletion")] == "KMSInvalidStateException"
    assert table.works("CancelKeyDeletion", "PendingDeletion") and not table.works("CancelKeyDeletion", "Enabled")
    assert table.works("DescribeKey", "PendingImport") and not table.works("Encrypt", "PendingImport")
    assert "kms-teach-key-state-table" in table._repr_html_() and "DisabledException" in repr(table)
