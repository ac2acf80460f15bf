"""The course's static figures, drawn as SVG: diagrams and sketches of the AWS KMS console.

``tools/build_notebooks.py`` writes each one to ``notebooks/figures/<name>.svg``; the notebooks show them
with a relative Markdown image (``![...](figures/<name>.svg)``), which works in JupyterLab, in a learner's
copy of the course and on GitHub, before anything runs.

The console sketches are drawn for this course from AWS's documentation of the console (AWS KMS Developer
Guide: "Create a symmetric encryption KMS key", "Enable automatic key rotation", "Schedule key deletion");
they are not screenshots, and the real console's look changes over time. Each one names the API call the
console makes.
"""

from __future__ import annotations

from html import escape

__all__ = ["FIGURES", "render"]

BLUE, BLUE_BG, AMBER_BG, GREEN, GREEN_BG, RED, RED_BG = "#1f5fae", "#dde9f8", "#fff2c6", "#1b7f3b", "#d9f2df", \
    "#b3261e", "#fbe0de"
INK, GREY, LINE = "#1a1a1a", "#5f6b7a", "#7a8ca8"
CONSOLE_BG, CONSOLE_BAR, CONSOLE_ORANGE = "#f2f3f3", "#232f3e", "#ec7211"


def _t(x, y, s, size=12, anchor="start", weight="normal", fill=INK, italic=False, family="sans-serif",
       halo=False):
    style = " font-style='italic'" if italic else ""
    if halo:  # a white outline under the letters: a line that crosses the label never runs through its text
        style += " stroke='#fff' stroke-width='4' stroke-linejoin='round' paint-order='stroke'"
    if family == "monospace":
        style += " xml:space='preserve'"
    return (f"<text x='{x}' y='{y}' font-size='{size}' text-anchor='{anchor}' font-weight='{weight}' fill='{fill}' "
            f"font-family='{family}'{style}>{escape(str(s))}</text>")


def _lines(x, y, lines, size=11.5, anchor="start", fill=INK, gap=None, weight="normal", family="sans-serif"):
    gap = gap or size * 1.35
    return "".join(_t(x, y + i * gap, line, size, anchor, weight, fill, family=family) for i, line in enumerate(lines))


def _box(x, y, w, h, fill="#fff", stroke=LINE, rx=8, width=1.2, dash=""):
    d = f" stroke-dasharray='{dash}'" if dash else ""
    return f"<rect x='{x}' y='{y}' width='{w}' height='{h}' rx='{rx}' fill='{fill}' stroke='{stroke}' stroke-width='{width}'{d}/>"


def _arrow(x1, y1, x2, y2, colour=GREY, width=1.5, dash=""):
    d = f" stroke-dasharray='{dash}'" if dash else ""
    marker = "arrow-blue" if colour == BLUE else "arrow-green" if colour == GREEN else "arrow-red" \
        if colour == RED else "arrow"
    return (f"<line x1='{x1}' y1='{y1}' x2='{x2}' y2='{y2}' stroke='{colour}' stroke-width='{width}'{d} "
            f"marker-end='url(#{marker})'/>")


def _path(d, colour=GREY, width=1.5, dash=""):
    da = f" stroke-dasharray='{dash}'" if dash else ""
    marker = "arrow-blue" if colour == BLUE else "arrow-green" if colour == GREEN else "arrow-red" \
        if colour == RED else "arrow"
    return f"<path d='{d}' fill='none' stroke='{colour}' stroke-width='{width}'{da} marker-end='url(#{marker})'/>"


def _svg(width, height, body, title):
    markers = "".join(
        f"<marker id='{mid}' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' markerHeight='7' "
        f"orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' fill='{colour}'/></marker>"
        for mid, colour in (("arrow", GREY), ("arrow-blue", BLUE), ("arrow-green", GREEN), ("arrow-red", RED)))
    return (f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' width='{width}' "
            f"height='{height}' role='img' aria-label='{escape(title, quote=True)}' "
            f"font-family='sans-serif'><title>{escape(title)}</title><defs>{markers}</defs>"
            f"<rect width='{width}' height='{height}' fill='#ffffff'/>{body}</svg>\n")


def _radio(x, y, label, on=False, size=11):
    dot = f"<circle cx='{x + 5}' cy='{y - 4}' r='2.6' fill='{BLUE}'/>" if on else ""
    return (f"<circle cx='{x + 5}' cy='{y - 4}' r='5' fill='#fff' stroke='{'#0972d3' if on else '#8d99a8'}' "
            f"stroke-width='1.4'/>{dot}" + _t(x + 15, y, label, size))


def _check(x, y, label, on=True, size=11):
    tick = (f"<path d='M{x + 2} {y - 4} l3 3 l5 -6' stroke='#fff' stroke-width='1.8' fill='none'/>" if on else "")
    return (f"<rect x='{x}' y='{y - 9}' width='11' height='11' rx='2' fill='{'#0972d3' if on else '#fff'}' "
            f"stroke='{'#0972d3' if on else '#8d99a8'}'/>{tick}" + _t(x + 17, y, label, size))


def _field(x, y, w, value, size=11):
    return _box(x, y - 13, w, 19, fill="#fff", stroke="#8d99a8", rx=3, width=1) + _t(x + 6, y + 1, value, size)


def _button(x, y, label, primary=False, w=None):
    w = w or len(label) * 6.6 + 22
    fill, ink, stroke = (CONSOLE_ORANGE, "#fff", CONSOLE_ORANGE) if primary else ("#fff", "#0972d3", "#0972d3")
    return (_box(x, y - 14, w, 21, fill=fill, stroke=stroke, rx=11, width=1.2)
            + _t(x + w / 2, y + 1, label, 11, "middle", "bold", ink))


def _call(x, y, w, lines, title="API call"):
    h = 24 + 15 * len(lines)
    return (_box(x, y, w, h, fill="#f7f7f2", stroke="#b9b49a", rx=6)
            + _t(x + 10, y + 16, title, 10.5, weight="bold", fill="#6b6445")
            + _lines(x + 10, y + 33, lines, 11, family="monospace", gap=15))


def _panel(x, y, w, h, step, title):
    """One page of the console wizard: its step number, title and an empty body."""
    return (_box(x, y, w, h, fill="#fff", stroke="#c6ccd2", rx=6)
            + f"<rect x='{x}' y='{y}' width='{w}' height='24' rx='6' fill='{CONSOLE_BG}'/>"
            + f"<rect x='{x}' y='{y + 18}' width='{w}' height='6' fill='{CONSOLE_BG}'/>"
            + _t(x + 10, y + 16, f"Step {step}", 10.5, weight="bold", fill="#5f6b7a")
            + _t(x + 58, y + 16, title, 11.5, weight="bold"))


# ---------------------------------------------------------------------- console sketches


def console_create_key() -> str:
    W_, H_ = 1000, 680
    b = [_box(0, 0, W_, 34, fill=CONSOLE_BAR, rx=0, stroke=CONSOLE_BAR),
         _t(14, 22, "AWS Management Console  ›  Key Management Service  ›  Customer managed keys  ›  Create key",
            12, fill="#fff"),
         _t(W_ - 14, 22, "a sketch, not a screenshot", 11, "end", fill="#d5dbe1", italic=True)]
    pw, ph = 318, 282
    xs = [14, 341, 668]
    # 1. Configure key
    x, y = xs[0], 48
    b += [_panel(x, y, pw, ph, 1, "Configure key"),
          _t(x + 12, y + 46, "Key type", 11.5, weight="bold"), _radio(x + 14, y + 64, "Symmetric", True),
          _radio(x + 120, y + 64, "Asymmetric"),
          _t(x + 12, y + 88, "Key usage", 11.5, weight="bold"), _radio(x + 14, y + 106, "Encrypt and decrypt", True),
          _radio(x + 14, y + 124, "Generate and verify MAC"),
          _t(x + 12, y + 148, "▾ Advanced options", 11.5, weight="bold", fill="#0972d3"),
          _t(x + 24, y + 166, "Key material origin", 11, weight="bold"),
          _radio(x + 26, y + 182, "KMS - recommended", True), _radio(x + 170, y + 182, "External (Import)"),
          _radio(x + 26, y + 198, "AWS CloudHSM key store"), _radio(x + 190, y + 198, "External key store"),
          _t(x + 24, y + 220, "Regionality", 11, weight="bold"),
          _radio(x + 26, y + 236, "Single-Region key", True), _radio(x + 170, y + 236, "Multi-Region key"),
          _button(x + pw - 66, y + ph - 12, "Next")]
    # 2. Add labels
    x = xs[1]
    b += [_panel(x, y, pw, ph, 2, "Add labels"),
          _t(x + 12, y + 48, "Alias (required in the console)", 11.5, weight="bold"),
          _field(x + 14, y + 70, 290, "catrobot"),
          _t(x + 12, y + 100, "Description - optional", 11.5, weight="bold"),
          _field(x + 14, y + 122, 290, "Cat robot battle plans"),
          _t(x + 12, y + 152, "Tags - optional", 11.5, weight="bold"),
          _field(x + 14, y + 174, 140, "team"), _field(x + 164, y + 174, 140, "robots"),
          _t(x + 14, y + 198, "Add tag", 11, fill="#0972d3"),
          _button(x + pw - 150, y + ph - 12, "Previous"), _button(x + pw - 66, y + ph - 12, "Next")]
    # 3. Key administrators
    x = xs[2]
    b += [_panel(x, y, pw, ph, 3, "Define key administrative permissions"),
          _t(x + 12, y + 48, "Key administrators", 11.5, weight="bold"),
          _t(x + 12, y + 64, "IAM users and roles who can administer this key", 10.5, fill=GREY),
          _check(x + 14, y + 86, "iamadmin (user)", True), _check(x + 14, y + 106, "app-role (role)", False),
          _check(x + 14, y + 126, "keyuser (user)", False),
          _t(x + 12, y + 160, "Key deletion", 11.5, weight="bold"),
          _check(x + 14, y + 180, "Allow key administrators to delete this key", True),
          _t(x + 12, y + 214, "→ the statement \"Allow access for Key Administrators\"", 10.5, fill=BLUE),
          _button(x + pw - 150, y + ph - 12, "Previous"), _button(x + pw - 66, y + ph - 12, "Next")]
    # 4. Key users
    x, y = xs[0], 346
    b += [_panel(x, y, pw, ph, 4, "Define key usage permissions"),
          _t(x + 12, y + 48, "This account", 11.5, weight="bold"),
          _t(x + 12, y + 64, "IAM users and roles who can use this key", 10.5, fill=GREY),
          _check(x + 14, y + 86, "iamadmin (user)", True), _check(x + 14, y + 106, "app-role (role)", False),
          _t(x + 12, y + 142, "Other AWS accounts", 11.5, weight="bold"),
          _t(x + 14, y + 162, "Add another AWS account", 11, fill="#0972d3"),
          _t(x + 12, y + 196, "→ the statements \"Allow use of the key\" and", 10.5, fill=BLUE),
          _t(x + 12, y + 211, "   \"Allow attachment of persistent resources\"", 10.5, fill=BLUE),
          _button(x + pw - 150, y + ph - 12, "Previous"), _button(x + pw - 66, y + ph - 12, "Next")]
    # 5. Review
    x = xs[1]
    policy = ['{ "Id": "key-consolepolicy-3",', '  "Statement": [', '    { "Sid": "Enable IAM User Permissions", ...',
              '    { "Sid": "Allow access for Key Administrators",', '    { "Sid": "Allow use of the key", ...',
              '    { "Sid": "Allow attachment of persistent', '            resources", ... } ] }']
    b += [_panel(x, y, pw, ph, 5, "Review"),
          _t(x + 12, y + 46, "Key configuration: Symmetric, Encrypt and decrypt,", 10.5),
          _t(x + 12, y + 60, "KMS origin, Single-Region", 10.5),
          _t(x + 12, y + 80, "Key policy (editable here)", 11.5, weight="bold"),
          _box(x + 12, y + 88, pw - 24, 122, fill="#fbfbfb", stroke="#c6ccd2", rx=3),
          _lines(x + 18, y + 104, policy, 9.0, family="monospace", gap=15),
          _button(x + pw - 150, y + ph - 12, "Previous"), _button(x + pw - 66, y + ph - 12, "Finish", True)]
    # what it calls
    x = xs[2]
    b += [_call(x, y, pw, ["CreateKey(", "  KeySpec=\"SYMMETRIC_DEFAULT\",", "  KeyUsage=\"ENCRYPT_DECRYPT\",",
                           "  Origin=\"AWS_KMS\",", "  MultiRegion=False,", "  Description=\"Cat robot ...\",",
                           "  Tags=[{team: robots}],", "  Policy=<the policy of step 5>)", "",
                           "CreateAlias(", "  AliasName=\"alias/catrobot\",", "  TargetKeyId=<the new key ID>)"],
                "Finish makes two API calls")]
    b.append(_t(14, H_ - 12, "Step 1 sets the key's type and origin, which never change afterwards; steps 3 and 4 "
                "write statements of the key policy that step 5 shows.", 11, fill=GREY, italic=True))
    return _svg(W_, H_, "".join(b), "Sketch of the AWS KMS console's Create key wizard and the API calls it makes")


def console_key_rotation() -> str:
    W_, H_ = 1000, 400
    b = [_box(0, 0, W_, 34, fill=CONSOLE_BAR, rx=0, stroke=CONSOLE_BAR),
         _t(14, 22, "Key Management Service  ›  Customer managed keys  ›  alias/payroll", 12, fill="#fff"),
         _t(W_ - 14, 22, "a sketch, not a screenshot", 11, "end", fill="#d5dbe1", italic=True)]
    tabs = ["Key policy", "Cryptographic configuration", "Tags", "Key rotation", "Aliases"]
    x = 14
    for tab in tabs:
        w = len(tab) * 7 + 24
        active = tab == "Key rotation"
        b.append(_t(x + w / 2, 62, tab, 12, "middle", "bold" if active else "normal", "#0972d3" if active else INK))
        if active:
            b.append(f"<rect x='{x}' y='68' width='{w}' height='3' fill='#0972d3'/>")
        x += w + 8
    b.append("<line x1='14' y1='71' x2='986' y2='71' stroke='#c6ccd2'/>")
    # automatic rotation panel
    b += [_box(14, 84, 600, 132, fill="#fff", stroke="#c6ccd2", rx=6),
          _t(28, 106, "Automatic key rotation", 13, weight="bold"), _button(540, 104, "Edit"),
          _check(30, 132, "Key rotation: Enable (off by default for customer managed keys)", True),
          _t(30, 158, "Rotation period (in days)", 11.5, weight="bold"), _field(200, 158, 70, "365"),
          _t(280, 159, "90 to 2560; 365 if you leave it out", 10.5, fill=GREY),
          _t(30, 184, "Next rotation date: one rotation period after you enable it", 11),
          _button(540, 198, "Save", True)]
    # on-demand panel
    b += [_box(14, 228, 600, 70, fill="#fff", stroke="#c6ccd2", rx=6),
          _t(28, 250, "On-demand key rotation", 13, weight="bold"),
          _t(30, 274, "Rotates the key material now (up to 25 times per key);", 11),
          _t(30, 289, "automatic rotation keeps its own schedule", 11), _button(500, 272, "Rotate now")]
    # history
    b += [_box(14, 310, 600, 76, fill="#fff", stroke="#c6ccd2", rx=6),
          _t(28, 332, "Key rotation history", 13, weight="bold"),
          _t(30, 354, "Date                         Type", 11, family="monospace"),
          _t(30, 372, "2027-01-01 09:00 UTC   Automatic", 11, family="monospace")]
    # calls
    b += [_call(640, 84, 346, ["EnableKeyRotation(", "  KeyId=<this key>,", "  RotationPeriodInDays=365)"],
                "Save calls"),
          _arrow(614, 198, 638, 120, BLUE),
          _call(640, 228, 346, ["RotateKeyOnDemand(KeyId=<this key>)"], "Rotate now calls"),
          _arrow(594, 268, 638, 255, BLUE),
          _call(640, 310, 346, ["GetKeyRotationStatus(KeyId=...)", "ListKeyRotations(KeyId=...)"],
                "the tab itself reads"),
          _t(640, 392, "AWS managed keys rotate every year; their tab cannot change it.", 10.5, fill=GREY,
             italic=True)]
    return _svg(W_, H_, "".join(b), "Sketch of the Key rotation tab of a KMS key in the AWS console, with its API calls")


def console_schedule_deletion() -> str:
    W_, H_ = 1000, 390
    b = [_box(0, 0, W_, 34, fill=CONSOLE_BAR, rx=0, stroke=CONSOLE_BAR),
         _t(14, 22, "Key Management Service  ›  Customer managed keys", 12, fill="#fff"),
         _t(W_ - 14, 22, "a sketch, not a screenshot", 11, "end", fill="#d5dbe1", italic=True)]
    # the key list with Key actions open
    b += [_box(14, 48, 300, 196, fill="#fff", stroke="#c6ccd2", rx=6),
          _check(28, 76, "alias/payroll", True), _t(180, 76, "Enabled", 11),
          _check(28, 98, "alias/catrobot", False), _t(180, 98, "Enabled", 11),
          _button(160, 128, "Key actions ▾", w=130),
          _box(160, 140, 140, 96, fill="#fff", stroke="#8d99a8", rx=4),
          _lines(172, 158, ["Enable", "Disable", "Schedule key deletion", "Cancel key deletion"], 11, gap=19)]
    b.append(f"<rect x='164' y='184' width='132' height='19' fill='{BLUE_BG}'/>")
    b.append(_t(172, 196, "Schedule key deletion", 11, weight="bold", fill="#0972d3"))
    b.append(_arrow(300, 194, 338, 120, BLUE))
    # the dialog
    x, y, w = 340, 48, 400
    b += [_box(x, y, w, 300, fill="#fff", stroke="#8d99a8", rx=8, width=1.5),
          _t(x + 16, y + 26, "Schedule key deletion", 14, weight="bold"),
          _box(x + 14, y + 40, w - 28, 58, fill="#fff7e6", stroke="#e0a84f", rx=4),
          _lines(x + 24, y + 58, ["Deleting a KMS key is destructive and irreversible: data", "encrypted under it cannot be decrypted afterwards.",
                                  "Not sure? Disable the key instead."], 10.5, gap=14),
          _t(x + 16, y + 122, "Waiting period (in days)", 11.5, weight="bold"),
          _field(x + 16, y + 146, 80, "30"), _t(x + 106, y + 147, "between 7 and 30 days", 10.5, fill=GREY),
          _t(x + 16, y + 178, "Key to delete: alias/payroll", 11),
          _check(x + 16, y + 208, "Confirm you want to schedule this key for deletion in 30 days", True, 10.8),
          _button(x + w - 200, y + 270, "Cancel"), _button(x + w - 124, y + 270, "Schedule deletion", True, 112)]
    b += [_call(760, 48, 226, ["ScheduleKeyDeletion(", "  KeyId=<the key>,", "  PendingWindowInDays=30)"],
                "Schedule deletion calls"),
          _path("M 738 318 L 754 318 L 754 92 L 766 92", BLUE, 1.5),
          _lines(760, 160, ["The key is then Pending deletion:", "unusable, still cancellable.",
                            "Key actions > Cancel key deletion", "calls CancelKeyDeletion and leaves", "the key Disabled.",
                            "", "When the period ends, KMS deletes", "the key and all its key material."], 11, gap=16)]
    return _svg(W_, H_, "".join(b), "Sketch of the Schedule key deletion dialog of the AWS KMS console, with its API call")


# ---------------------------------------------------------------------- diagrams


def envelope_encryption() -> str:
    W_, H_ = 1000, 420
    b = []
    # zones
    b += [_box(14, 40, 250, 360, fill=BLUE_BG, stroke=LINE, rx=14),
          _t(28, 64, "AWS KMS", 14, weight="bold"), _t(28, 80, "the KMS key never leaves", 10.5, fill=GREY),
          _box(290, 40, 440, 360, fill="#f6f6f6", stroke="#999", rx=14, dash="6 4"),
          _t(304, 64, "your application (or an AWS service such as S3)", 13, weight="bold"),
          _box(756, 40, 230, 360, fill="#f7f4ea", stroke="#c9c2a8", rx=14),
          _t(770, 64, "storage", 14, weight="bold"), _t(770, 80, "disk, S3, a database", 10.5, fill=GREY)]
    b += [_box(34, 96, 210, 44, fill=AMBER_BG, stroke="#c77c02"), _t(139, 123, "KMS key (backing key)", 12, "middle",
                                                                     "bold")]
    # encrypt row
    b.append(_t(304, 112, "Encrypt", 13, weight="bold", fill=BLUE))
    b += [_box(34, 156, 210, 52, fill="#fff"), _lines(139, 176, ["1. GenerateDataKey", "returns two copies"], 11.5,
                                                      "middle")]
    b += [_box(310, 124, 150, 44, fill=AMBER_BG, stroke="#c77c02"), _t(385, 150, "plaintext data key", 11.5, "middle"),
          _box(310, 176, 150, 44, fill=BLUE_BG), _t(385, 202, "encrypted data key", 11.5, "middle"),
          _arrow(244, 170, 308, 146, BLUE), _arrow(244, 190, 308, 198, BLUE)]
    b += [_box(500, 124, 210, 44, fill="#fff"), _t(605, 143, "2. encrypt the data", 11.5, "middle", "bold"),
          _t(605, 159, "AES-256-GCM, in your code", 10.5, "middle", fill=GREY),
          _arrow(460, 146, 498, 146, GREY),
          _t(605, 196, "3. forget the plaintext data key", 11.5, "middle", "bold", RED),
          _path("M 460 150 C 480 190, 500 190, 505 192", RED, 1.2, "3 3")]
    b += [_box(770, 118, 200, 58, fill="#fff"), _lines(870, 140, ["encrypted data", "+ encrypted data key"], 11.5,
                                                        "middle"),
          _arrow(710, 146, 768, 146, GREY), _path("M 460 206 C 640 236, 720 190, 768 168", GREY, 1.5),
          _t(620, 240, "4. store them together", 11, "middle", fill=GREY)]
    # decrypt row
    y = 250
    b.append(_t(304, y + 12, "Decrypt", 13, weight="bold", fill=GREEN))
    b += [_box(770, y + 20, 200, 58, fill="#fff"), _lines(870, y + 42, ["encrypted data", "+ encrypted data key"], 11.5,
                                                          "middle"),
          _box(500, y + 26, 210, 44, fill=BLUE_BG), _t(605, y + 52, "1. read the encrypted data key", 11.5, "middle"),
          _arrow(768, y + 48, 712, y + 48, GREY),
          _box(34, y + 26, 210, 52, fill="#fff"), _lines(139, y + 46, ["2. Decrypt", "(needs kms:Decrypt)"], 11.5,
                                                         "middle"),
          _path(f"M 500 {y + 48} C 420 {y + 48}, 330 {y + 48}, 246 {y + 52}", GREEN, 1.6),
          _box(310, y + 92, 150, 44, fill=AMBER_BG, stroke="#c77c02"), _t(385, y + 118, "plaintext data key", 11.5,
                                                                          "middle"),
          _path(f"M 244 {y + 70} C 270 {y + 110}, 290 {y + 114}, 308 {y + 114}", GREEN, 1.6),
          _box(500, y + 92, 210, 44, fill="#fff"), _t(605, y + 111, "3. decrypt the data", 11.5, "middle", "bold"),
          _t(605, y + 127, "then forget the data key again", 10.5, "middle", fill=RED),
          _arrow(460, y + 114, 498, y + 114, GREY)]
    b.append(_t(14, 26, "Envelope encryption: KMS only ever sees the small data key, never your data.", 13,
                weight="bold"))
    return _svg(W_, H_, "".join(b), "Envelope encryption with a data key from GenerateDataKey")


def key_hierarchy() -> str:
    W_, H_ = 1000, 430
    b = [_t(14, 26, "The key hierarchy: a KMS key, its backing keys, data keys, your data", 13, weight="bold")]
    b += [_box(14, 44, 640, 136, fill=BLUE_BG, stroke=LINE, rx=14),
          _t(28, 66, "KMS key  alias/catrobot", 13.5, weight="bold"),
          _t(28, 84, "a logical container: key ID, ARN, creation date, description, key state, key policy, tags;",
             11, fill=GREY),
          _t(28, 100, "its backing keys never leave KMS. Rotation adds one and keeps the old ones.", 11, fill=GREY)]
    for i, (name, sub) in enumerate([("backing key 1", "original"), ("backing key 2", "rotation, 2027"),
                                     ("backing key 3", "rotation, 2028: current")]):
        x = 34 + i * 206
        current = i == 2
        b += [_box(x, 114, 190, 50, fill=AMBER_BG, stroke="#c77c02", width=2.2 if current else 1.2),
              _t(x + 95, 136, name, 12, "middle", "bold"), _t(x + 95, 153, sub, 10.5, "middle", fill=GREY)]
    b += [_box(680, 44, 306, 136, fill="#fff", stroke=LINE, rx=14),
          _t(694, 66, "Encrypt (up to 4 KB) directly", 12.5, weight="bold"),
          _lines(694, 88, ["a password, a token, another key:", "KMS encrypts it with the current", "backing key and returns a ciphertext", "blob that names key and backing key"], 11),
          _arrow(654, 130, 678, 130, BLUE)]
    b += [_t(14, 240, "data keys: generated by KMS (GenerateDataKey), not stored by KMS", 12.5, weight="bold",
             halo=True)]
    for i, label in enumerate(["data key A", "data key B", "data key C"]):
        x = 34 + i * 206
        src = 34 + (0 if i == 0 else 2) * 206 + 95
        b += [_box(x, 254, 190, 54, fill="#fff", stroke=LINE),
              _t(x + 95, 276, f"encrypted {label}", 11.5, "middle", "bold"),
              _t(x + 95, 293, f"under backing key {1 if i == 0 else 3}", 10.5, "middle", fill=GREY),
              _arrow(src, 164, x + 95, 252, BLUE, 1.2, "4 3")]
    b += [_t(14, 336, "your data: encrypted by you (or S3, EBS ...) with the plaintext data key, which is then "
              "forgotten", 12.5, weight="bold", halo=True)]
    for i, label in enumerate(["backup.tar", "s3://plans/map.png", "customers table"]):
        x = 34 + i * 206
        b += [_box(x, 350, 190, 44, fill="#f7f4ea", stroke="#c9c2a8"), _t(x + 95, 376, label, 11.5, "middle"),
              _arrow(x + 95, 308, x + 95, 348, GREY)]
    b.append(_t(14, 418, "Stored together: each piece of data with its encrypted data key. To read it, ask KMS to "
                "decrypt the data key.", 11, fill=GREY, italic=True))
    return _svg(W_, H_, "".join(b), "The KMS key hierarchy: KMS key, backing keys, data keys and data")


def policy_evaluation() -> str:
    W_, H_ = 1000, 470
    b = [_t(14, 26, "How KMS decides a request (principal, action, KMS key)", 13, weight="bold")]
    qx, qw, qh = 250, 430, 56
    questions = [
        ("1", "Does any policy explicitly Deny it?", "a Deny in the key policy or an IAM policy of the caller"),
        ("2", "Does the key policy allow it?", "a statement that names the caller (or * with conditions)"),
        ("3", "Does the key policy trust the account,", "and does an IAM policy of the caller allow it?"),
        ("4", "Does a grant on the key allow it?", "the caller is the grantee; the operation and constraints match"),
    ]
    ys = [50, 150, 250, 350]
    b += [_box(14, 58, 190, 40, fill="#fff"), _t(109, 83, "a request arrives", 12, "middle", "bold"),
          _arrow(204, 78, qx - 2, 78, GREY)]
    for (n, q, sub), y in zip(questions, ys):
        b += [_box(qx, y, qw, qh, fill="#fff", stroke=LINE, width=1.5),
              f"<circle cx='{qx + 22}' cy='{y + qh / 2}' r='13' fill='{BLUE}'/>",
              _t(qx + 22, y + qh / 2 + 5, n, 13, "middle", "bold", "#fff"),
              _t(qx + 44, y + 24, q, 12.5, weight="bold"), _t(qx + 44, y + 42, sub, 10.5, fill=GREY)]
    # yes / no
    b += [_box(780, 50, 200, 56, fill=RED_BG, stroke=RED, width=1.8),
          _t(880, 74, "DENIED", 14, "middle", "bold", RED), _t(880, 93, "an explicit Deny always wins", 10.5,
                                                               "middle"),
          _arrow(qx + qw, 78, 778, 78, RED), _t(700, 72, "yes", 11, "middle", "bold", RED)]
    b += [_box(780, 200, 200, 156, fill=GREEN_BG, stroke=GREEN, width=1.8),
          _t(880, 276, "ALLOWED", 14, "middle", "bold", GREEN),
          _t(880, 296, "any one Allow is enough", 10.5, "middle")]
    for y in ys[1:]:
        b += [_arrow(qx + qw, y + qh / 2, 778, min(max(y + qh / 2, 214), 344), GREEN),
              _t(715, y + qh / 2 - 6, "yes", 11, "middle", "bold", GREEN)]
    for y in ys[:-1]:
        b += [_arrow(qx + qw / 2, y + qh, qx + qw / 2, y + 98, GREY), _t(qx + qw / 2 + 10, y + qh + 28, "no", 11,
                                                                        weight="bold", fill=GREY)]
    b += [_box(250, 428, 430, 32, fill="#f4f4f4", stroke="#999"),
          _t(465, 449, "no: DENIED (nothing allowed it: the implicit deny)", 12, "middle", "bold", INK),
          _arrow(qx + qw / 2, 406, qx + qw / 2, 426, GREY)]
    b += [_lines(14, 140, ["Without the account", "trust (step 3), IAM", "policies can still", "deny, but never allow.",
                           "", "Grants only allow:", "a grant cannot", "override a Deny."], 11, fill=GREY)]
    return _svg(W_, H_, "".join(b), "The order in which KMS evaluates a request: explicit Deny, key policy, "
                "IAM policies through the account trust, grants")


def multi_region_replication() -> str:
    W_, H_ = 1000, 420
    b = [_t(14, 22, "A multi-Region key: related keys in several Regions that share one key ID and one key material",
            13, weight="bold")]
    regions = [("us-east-1", "PRIMARY", 40), ("eu-west-1", "REPLICA", 370), ("ap-southeast-2", "REPLICA", 700)]
    for name, role, x in regions:
        primary = role == "PRIMARY"
        b += [_box(x, 68, 270, 236, fill=BLUE_BG if primary else "#f4f8fd", stroke=LINE, rx=14,
                   width=2 if primary else 1.2),
              _t(x + 14, 92, name, 13.5, weight="bold"),
              _t(x + 256, 92, role.lower() + " key", 11.5, "end", "bold", "#c05600" if primary else BLUE),
              _box(x + 14, 104, 242, 80, fill=AMBER_BG, stroke="#c77c02"),
              _t(x + 24, 124, "shared by every key of the set:", 10.5, weight="bold"),
              _lines(x + 24, 142, ["key ID mrk-1234abcd…", "key material (every backing key)",
                                   "key spec, usage, origin, rotation"], 10.5, gap=14),
              _box(x + 14, 196, 242, 96, fill="#fff", stroke=LINE),
              _t(x + 24, 216, "its own, in this Region:", 10.5, weight="bold"),
              _lines(x + 24, 234, ["key ARN (with its Region)", "key policy, grants, aliases, tags",
                                   "description, key state (Enabled, ...)", "its own audit trail entries"], 10.5, gap=14)]
    # labels kept clear of the lines and boxes: two short lines in the 60 px gap, and under the arc's top
    b += [_path("M 310 150 L 368 150", BLUE, 2),
          _lines(339, 130, ["Replicate", "Key"], 10.5, "middle", BLUE, gap=12, weight="bold"),
          _path("M 175 68 C 300 34, 700 34, 826 66", BLUE, 2, "6 4"),
          _t(505, 60, "ReplicateKey", 10.5, "middle", "bold", BLUE, halo=True)]
    b += [_box(40, 324, 270, 44, fill="#fff"), _t(175, 350, "Encrypt in us-east-1", 12, "middle", "bold"),
          _box(370, 324, 270, 44, fill=GREEN_BG, stroke=GREEN), _t(505, 350, "Decrypt in eu-west-1: works", 12,
                                                                    "middle", "bold", GREEN),
          _arrow(310, 346, 368, 346, GREEN, 2),
          _lines(660, 338, ["no call crosses Regions: the replica", "holds the same key material"], 11, fill=GREY)]
    b.append(_t(14, 400, "A rotation on the primary reaches every replica. Deleting the primary waits for its "
                "replicas (PendingReplicaDeletion).", 11, fill=GREY, italic=True))
    return _svg(W_, H_, "".join(b), "Multi-Region key replication: primary and replica keys in three Regions")


def public_service() -> str:
    W_, H_ = 1000, 360
    b = [_t(14, 26, "KMS is a public, Regional service: one endpoint per Region, reached over TLS with AWS credentials",
            13, weight="bold")]
    b += [_box(600, 44, 386, 300, fill="#f4f8fd", stroke=LINE, rx=14),
          _t(614, 66, "AWS public zone", 13, weight="bold"),
          _box(620, 80, 346, 92, fill=BLUE_BG, stroke=LINE),
          _t(634, 102, "KMS in us-east-1", 12.5, weight="bold"),
          _t(634, 120, "https://kms.us-east-1.amazonaws.com", 11, family="monospace"),
          _t(634, 140, "its own keys and aliases", 10.5, fill=GREY),
          _t(634, 156, "(FIPS endpoint: kms-fips.us-east-1.amazonaws.com)", 10, fill=GREY),
          _box(620, 200, 346, 80, fill="#f9fbfe", stroke=LINE, dash="5 4"),
          _t(634, 222, "KMS in eu-west-1", 12.5, weight="bold"),
          _t(634, 240, "https://kms.eu-west-1.amazonaws.com", 11, family="monospace"),
          _t(634, 258, "a separate service: other keys, other aliases", 10.5, fill=GREY)]
    b += [_box(14, 52, 220, 64, fill="#fff"), _t(124, 78, "a laptop on the internet", 12, "middle", "bold"),
          _t(124, 96, "aws CLI or boto3 + credentials", 10.5, "middle", fill=GREY),
          _arrow(234, 84, 618, 110, GREY, 1.8), _t(420, 86, "over the internet, TLS, SigV4-signed", 11, "middle",
                                                  fill=GREY)]
    b += [_box(14, 150, 548, 186, fill="#f6f6f6", stroke="#999", rx=14, dash="6 4"),
          _t(28, 172, "your VPC, private subnets (no internet gateway needed)", 12, weight="bold"),
          _box(34, 188, 180, 60, fill="#fff"), _t(124, 214, "an EC2 instance", 12, "middle", "bold"),
          _t(124, 232, "or a Lambda function", 10.5, "middle", fill=GREY),
          _box(290, 188, 250, 60, fill=AMBER_BG, stroke="#c77c02"),
          _t(415, 210, "VPC interface endpoint", 12, "middle", "bold"),
          _t(415, 228, "AWS PrivateLink: com.amazonaws.us-east-1.kms", 10, "middle"),
          _arrow(214, 218, 288, 218, GREY, 1.8), _arrow(540, 208, 618, 140, BLUE, 1.8),
          _t(590, 196, "private", 10.5, "middle", fill=BLUE),
          _lines(34, 276, ["With private DNS, kms.us-east-1.amazonaws.com resolves to the endpoint: SDKs and the",
                           "CLI need no change. A key policy condition on aws:SourceVpce can require it."], 10.8)]
    return _svg(W_, H_, "".join(b), "KMS as a public Regional service, reached over the internet or through a VPC "
                "interface endpoint")


FIGURES = {
    "console-create-key": (console_create_key, "a sketch of the console's Create key wizard"),
    "console-key-rotation": (console_key_rotation, "a sketch of the console's Key rotation tab"),
    "console-schedule-deletion": (console_schedule_deletion, "a sketch of the console's Schedule key deletion dialog"),
    "envelope-encryption": (envelope_encryption, "envelope encryption"),
    "key-hierarchy": (key_hierarchy, "the key hierarchy"),
    "policy-evaluation": (policy_evaluation, "the order of policy evaluation"),
    "multi-region-replication": (multi_region_replication, "multi-Region replication"),
    "public-service": (public_service, "KMS as a public Regional service"),
}


def render(name: str) -> str:
    return FIGURES[name][0]()
