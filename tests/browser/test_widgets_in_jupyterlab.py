"""The course in a real browser: JupyterLab on 127.0.0.1, driven by headless Chromium.

For every course notebook, as a learner meets it:

1. opened as committed, before anything runs: every widget shows its static picture (no "widget model
   not found"), and every figure loads;
2. Kernel > Restart and Run All: no error, no warning;
3. then every widget of the notebook is driven the way a learner would (clicks, typed values), and the
   page is checked against what the kernel (asked in the same session) says happened.

And ``kms-teach course`` itself: it makes the learner's copy, prints the direct address of notebook 00,
and JupyterLab there shows only the course's folders and no news toast.

Screenshots go to ``artifacts/browser/`` (git-ignored) for a human to look at. Chromium comes from the
system (``tools/ensure-chromium``); Playwright drives it through ``executable_path``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kms_teach.__main__ import prepare_course

from ._lab import (
    CHROMIUM_ARGS, KERNEL_READY, Lab, Notebook, find_chromium, free_port, lab_env, stop_group, wait_for_url,
    windowing_off,
)

from playwright.sync_api import expect, sync_playwright

# A click's answer can take seconds on a loaded CI machine (the kernel renders the view again); Playwright's
# 5 s default is for pages, not kernels.
expect.set_options(timeout=20_000)

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "artifacts" / "browser"

pytestmark = pytest.mark.slow

NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module", autouse=True)
def fresh_screenshots():
    """Only this run's screenshots are in artifacts/browser/: nobody looks at a stale one."""
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("learner")
    prepare_course(root, REPO)  # the learner's copy that `kms-teach course` makes
    server = Lab(tmp_path_factory.mktemp("lab-home"), root)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    chromium = find_chromium()
    if chromium is None:
        pytest.fail("no Chromium found for the browser test: run tools/ensure-chromium (Debian: "
                    "apt-get install chromium) or set KMS_TEACH_CHROMIUM to a Chromium binary")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    p = context.new_page()
    yield p
    context.close()


def widget_cells(name: str) -> int:
    nb = json.loads((REPO / "notebooks" / name).read_text(encoding="utf-8"))
    return sum(1 for c in nb["cells"] if c["cell_type"] == "code"
               and any("text/html" in o.get("data", {}) and "kms-teach-static" in "".join(o["data"]["text/html"])
                       for o in c.get("outputs", [])))


def figures(name: str) -> list[str]:
    nb = json.loads((REPO / "notebooks" / name).read_text(encoding="utf-8"))
    return [f for c in nb["cells"] if c["cell_type"] == "markdown"
            for f in re.findall(r"\(figures/([\w-]+\.svg)\)", "".join(c["source"]))]


IMAGES_LOADED = """(sel) => Array.from(document.querySelectorAll(sel)).map(i => [i.getAttribute('src') || '',
  i.complete && i.naturalWidth > 0])"""


def learner_opens(page, lab, name: str) -> Notebook:
    """Open the committed notebook (pictures only), check it, then Restart and Run All as a learner would."""
    nb = Notebook(page, lab, f"notebooks/{name}", SHOTS)
    nb.goto()
    stem = name.split("_")[0]
    statics = page.locator(".kms-teach-static")
    expected = widget_cells(name)
    expect(statics).to_have_count(expected)
    for i in range(expected):
        pictures = statics.nth(i).locator("img")
        for j in range(pictures.count()):
            expect(pictures.nth(j)).to_have_js_property("complete", True)
            assert pictures.nth(j).evaluate("i => i.naturalWidth") > 0, f"{name}: a widget picture did not load"
    if expected:
        nb.shot(statics.first, f"{stem}-before-running-first-widget")
    wanted = figures(name)
    if wanted:
        page.wait_for_function("(n) => Array.from(document.querySelectorAll('.jp-RenderedMarkdown img'))"
                               ".filter(i => i.complete && i.naturalWidth > 0).length >= n", arg=len(wanted))
        loaded = page.evaluate(IMAGES_LOADED, ".jp-RenderedMarkdown img")
        assert all(ok for _src, ok in loaded) and len(loaded) >= len(wanted), loaded
        first = page.locator(".jp-RenderedMarkdown img").first
        nb.shot(first, f"{stem}-figure-{wanted[0][:-4]}")
    assert nb.widget_errors() == [], f"{name} before running: {nb.widget_errors()}"
    page.screenshot(path=str(SHOTS / f"{stem}-before-running.png"))

    assert page.evaluate(
        "async () => { await window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs');"
        " return true; }")
    nb.page.evaluate("() => { window.jupyterapp.commands.execute('notebook:restart-run-all'); return true; }")
    # JupyterLab asks to confirm the restart: accept it the way a learner does.
    dialog = page.locator(".jp-Dialog .jp-mod-accept")
    dialog.wait_for(timeout=30_000)
    dialog.click()
    page.wait_for_function(ALL_RUN_AGAIN, timeout=240_000, polling=250)
    assert nb.errors() == [], f"{name} showed errors after Restart and Run All: {nb.errors()}"
    assert nb.widget_errors() == [], nb.widget_errors()
    return nb


ALL_RUN_AGAIN = """() => {
  const w = window.jupyterapp?.shell.currentWidget;
  const k = w?.sessionContext?.session?.kernel;
  if (!k || k.status !== 'idle' || k.connectionStatus !== 'connected') return false;
  const cells = w.content.widgets.filter(c => c.model.type === 'code');
  return cells.length > 0 && cells.every(c => c.model.executionCount !== null && c.promptNode?.textContent !== '[*]:');
}"""


def value(nb: Notebook, expr: str) -> str:
    return nb.python(f"print({expr})").strip()


def enter(nb: Notebook, field, text: str, expr: str, expected: str | None = None) -> None:
    """Type ``text`` into a widget's box as a learner does, and wait until the kernel holds it.

    The box sends its value when it loses focus (or on every key), and ipywidgets holds back a model's update
    while an earlier one is unanswered, so a click right after typing can reach the kernel first and run with
    the old value (seen once on a loaded CI machine). A learner's next click comes later than a robot's.
    """
    field.fill(text)
    field.evaluate("e => e.blur()")
    want = text if expected is None else expected
    deadline = time.monotonic() + 20
    while (seen := value(nb, expr)) != want:
        assert time.monotonic() < deadline, f"the kernel still holds {seen!r} for {expr}, not {want!r}"
        time.sleep(0.2)


# ---------------------------------------------------------------------- 00: no widget, the figures


def test_00_runs_and_its_figures_show(page, lab):
    nb = learner_opens(page, lab, "00_start_here.ipynb")
    assert value(nb, "len(keys)") == "120"  # the paging section really read every page
    page.screenshot(path=str(SHOTS / "00-after-run-all.png"), full_page=False)


# ---------------------------------------------------------------------- 01


def test_01_inspector_and_flow_after_run_all(page, lab):
    nb = learner_opens(page, lab, "01_encrypt_decrypt.ipynb")
    inspector = page.locator(".kms-teach-ciphertext-inspector")
    expect(inspector).to_contain_text("Valid header")
    expect(inspector).to_contain_text("AWS does not publish the format")
    nb.shot(inspector, "01-inspector")
    other = value(nb, "__import__('base64').b64encode(kms.encrypt(KeyId=other_key, Plaintext=b'pasted')['CiphertextBlob']).decode()")
    enter(nb, inspector.locator(".kms-teach-paste input"), other, "inspector.paste.value")
    inspector.locator(".kms-teach-inspect").click()
    other_key = value(nb, "other_key")
    expect(inspector.locator(".kms-teach-blob-fields")).to_contain_text(other_key[:8])
    # the table is compact: about 11 rows, far from the 1,250 px it once took
    assert inspector.locator(".kms-teach-blob-fields").bounding_box()["height"] < 520
    nb.shot(inspector, "01-inspector-pasted")

    flow = page.locator(".kms-teach-encrypt-flow")
    count = int(value(nb, "len(flow.steps)"))
    expect(flow).to_contain_text(f"step 1 of {count}")
    assert not flow.locator(".kms-teach-plaintext").is_visible(), "Decrypt of a given blob needs no plaintext box"
    nb.shot(flow, "01-flow-decrypt-step-1")
    for n in (2, 3):
        flow.locator(".kms-teach-next").click()
        expect(flow).to_contain_text(f"step {n} of {count}")
    title = value(nb, "flow.current.title")
    expect(flow.locator(".kms-teach-flow-step")).to_contain_text(title)
    nb.shot(flow, "01-flow-decrypt-step-3")
    # as the encrypt-only user: Decrypt stops at authorization, with AWS's error
    enter(nb, flow.locator(".kms-teach-principal input"), "user/frontend", "flow.principal_box.value")
    flow.locator(".kms-teach-run").click()
    nb.wait_idle()
    expect(flow).to_contain_text("step 1 of 3")  # application, KMS, authorization: and there it stops
    flow.locator(".kms-teach-next").click()
    flow.locator(".kms-teach-next").click()
    expect(flow.locator(".kms-teach-flow-step")).to_contain_text("DENIED")
    expect(flow.locator(".kms-teach-flow-step")).to_contain_text("AccessDeniedException")
    nb.shot(flow, "01-flow-denied")
    # Encrypt: the plaintext box appears, the flow runs to the response
    flow.locator(".kms-teach-operation button", has_text="Encrypt").click()
    enter(nb, flow.locator(".kms-teach-principal input"), "root", "flow.principal_box.value")
    expect(flow.locator(".kms-teach-plaintext")).to_be_visible()
    flow.locator(".kms-teach-run").click()
    nb.wait_idle()
    expect(flow).to_contain_text("step 1 of 5")
    assert value(nb, "flow.response['KeyId'] == key_arn") == "True"


# ---------------------------------------------------------------------- 02


def test_02_data_key_lifecycle_after_run_all(page, lab):
    nb = learner_opens(page, lab, "02_data_keys.ipynb")
    life = page.locator(".kms-teach-data-key-lifecycle")
    expect(life).to_contain_text("step 1 of 8")
    expect(life.locator(".kms-teach-lifecycle-step")).to_contain_text("the secret is in memory")
    for n in range(2, 5):
        life.locator(".kms-teach-next").click()
        expect(life).to_contain_text(f"step {n} of 8")
    expect(life.locator(".kms-teach-lifecycle-step")).to_contain_text("wiped")
    nb.shot(life, "02-lifecycle-discarded")
    enter(nb, life.locator(".kms-teach-decrypt-context textarea"), "file=other.txt",
          "lifecycle.decrypt_context_box.value")
    life.locator(".kms-teach-run").click()
    nb.wait_idle()
    decrypt_steps = value(nb, "[s.event.step for s in lifecycle.steps if s.phase == 'decrypt']")
    assert decrypt_steps == "['read-encrypted-key']", "a wrong context stops before KMS is asked for the data key"
    expect(life.locator(".kms-teach-lifecycle-diagram")).to_contain_text("the decryption stops")
    nb.shot(life, "02-lifecycle-wrong-context")


# ---------------------------------------------------------------------- 03


def test_03_role_matrix_after_run_all(page, lab):
    nb = learner_opens(page, lab, "03_key_policies.ipynb")
    matrix = page.locator(".kms-teach-role-matrix-view")
    headers = matrix.locator(".kms-teach-matrix-header")
    expect(headers).to_have_count(5)
    boxes = [headers.nth(i).bounding_box() for i in range(5)]
    for a, b in zip(boxes, boxes[1:]):
        assert a["x"] + a["width"] <= b["x"] + 1, "the matrix's column headers overlap"
    texts = [headers.nth(i).locator("div[title]").evaluate("e => e.scrollWidth <= e.clientWidth + 1") for i in range(5)]
    assert all(texts), "a column heading is cut off"
    cell = matrix.locator(".kms-teach-cell").nth(1)  # keyadmin x Decrypt
    cell.click()
    expect(matrix.locator(".kms-teach-cell-explanation")).to_contain_text("DENIED")
    nb.shot(matrix, "03-role-matrix")
    # give keyadmin Decrypt in the key policy, Apply, and the grid changes
    policy = value(nb, "json.dumps(dict(notes_policy, Statement=notes_policy['Statement'] + [{'Sid': 'admin reads', "
                       "'Effect': 'Allow', 'Principal': {'AWS': f'arn:aws:iam::{ACCOUNT}:user/keyadmin'}, "
                       "'Action': 'kms:Decrypt', 'Resource': '*'}]))")
    enter(nb, matrix.locator(".kms-teach-policy-editor textarea"), policy,
          f"matrix.policy_editor.value == {policy!r}", "True")
    matrix.locator(".kms-teach-apply").click()
    nb.wait_idle()
    expect(matrix).to_contain_text("PutKeyPolicy succeeded")
    assert value(nb, "cloud.explain(f'arn:aws:iam::{ACCOUNT}:user/keyadmin', 'kms:Decrypt', key_id).allowed") == "True"
    expect(matrix.locator(".kms-teach-cell").nth(1)).to_contain_text("allowed")
    # a policy AWS refuses is shown with AWS's error, and the draft is kept
    broken = '{"Version": "2012-10-17", "Statement": ['
    enter(nb, matrix.locator(".kms-teach-policy-editor textarea"), broken,
          f"matrix.policy_editor.value == {broken!r}", "True")
    matrix.locator(".kms-teach-apply").click()
    nb.wait_idle()
    expect(matrix.locator(".kms-teach-error")).to_contain_text("MalformedPolicyDocumentException")
    nb.shot(matrix, "03-role-matrix-refused")


# ---------------------------------------------------------------------- 04


def test_04_timeline_and_state_machine_after_run_all(page, lab):
    nb = learner_opens(page, lab, "04_rotation_aliases_deletion.ipynb")
    table = page.locator(".kms-teach-key-state-table")
    expect(table).to_be_visible()
    nb.shot(table, "04-key-state-table")

    timeline = page.locator(".kms-teach-rotation-timeline")
    before = int(value(nb, "len(timeline.materials)"))
    expect(timeline).to_contain_text(f"{before} backing key(s)")
    nb.shot(timeline, "04-timeline-after-run-all")
    timeline.locator(".kms-teach-encrypt-sample").click()
    nb.wait_idle()
    expect(timeline.locator(".kms-teach-rotation-table")).to_contain_text("#1")
    pinned = value(nb, "timeline.samples[0].key_material_id")
    timeline.locator(".kms-teach-advance").click()
    nb.wait_idle()
    expect(timeline).to_contain_text(f"{before + 1} backing key(s)")
    assert value(nb, "timeline.current_key_material_id") != pinned
    timeline.locator(".kms-teach-decrypt-samples").click()
    nb.wait_idle()
    expect(timeline.locator(".kms-teach-rotation-table")).to_contain_text(f"ok, with {pinned[:12]}")
    nb.shot(timeline, "04-timeline-a-year-later")
    # a period AWS refuses: the box keeps it, and AWS's ValidationException is shown
    enter(nb, timeline.locator(".kms-teach-period input"), "30", "timeline.period.value")
    timeline.locator(".kms-teach-enable-rotation").click()
    nb.wait_idle()
    expect(timeline.locator(".kms-teach-error")).to_contain_text("ValidationException")
    expect(timeline.locator(".kms-teach-error")).to_contain_text("greater than or equal to 90")
    assert timeline.locator(".kms-teach-period input").input_value() == "30"
    nb.shot(timeline, "04-timeline-period-refused")

    machine = page.locator(".kms-teach-key-state-machine")
    diagram = machine.locator(".kms-teach-state-machine-diagram")
    states = sorted(diagram.locator(".kms-teach-state").evaluate_all("els => els.map(e => e.dataset.state)"))
    assert states == ["Deleted", "Disabled", "Enabled", "PendingDeletion"], states
    nb.shot(machine, "04-state-machine-enabled")
    machine.locator(".kms-teach-disable").click()
    nb.wait_idle()
    expect(machine.locator(".kms-teach-key-info")).to_contain_text("Disabled")
    machine.locator(".kms-teach-cancel-deletion").click()
    nb.wait_idle()
    expect(machine.locator(".kms-teach-last-call")).to_contain_text("KMSInvalidStateException")
    enter(nb, machine.locator(".kms-teach-days input"), "3", "machine.days.value")
    machine.locator(".kms-teach-schedule-deletion").click()
    nb.wait_idle()
    expect(machine.locator(".kms-teach-error")).to_contain_text("ValidationException")
    enter(nb, machine.locator(".kms-teach-days input"), "7", "machine.days.value")
    machine.locator(".kms-teach-schedule-deletion").click()
    nb.wait_idle()
    expect(machine.locator(".kms-teach-key-info")).to_contain_text("PendingDeletion")
    expect(machine.locator(".kms-teach-key-info")).not_to_contain_text("datetime")
    nb.shot(machine, "04-state-machine-pending-deletion")
    enter(nb, machine.locator(".kms-teach-advance-days input"), "7", "machine.advance_days.value")
    machine.locator(".kms-teach-advance").click()
    nb.wait_idle()
    expect(machine.locator(".kms-teach-key-info")).to_contain_text("The key is gone")
    nb.shot(machine, "04-state-machine-gone")
    machine.locator(".kms-teach-fresh-key").click()
    nb.wait_idle()
    expect(machine.locator(".kms-teach-key-info")).to_contain_text("Enabled")
    assert value(nb, "machine.state") == "Enabled"


# ---------------------------------------------------------------------- 05


def test_05_key_ownership_after_run_all(page, lab):
    nb = learner_opens(page, lab, "05_key_ownership.ipynb")
    widget = page.locator(".kms-teach-key-ownership")
    expect(widget.locator(".kms-teach-ownership-keys")).to_contain_text("alias/aws/s3")
    keys = int(value(nb, "len(kms.list_keys()['Keys'])"))
    widget.locator(".kms-teach-put-sse-s3").click()
    nb.wait_idle()
    assert int(value(nb, "len(kms.list_keys()['Keys'])")) == keys, "SSE-S3 must not create a key in the account"
    label = value(nb, "[l for l, v in ownership.key_choice.options if v == managed['KeyId']][0]")
    widget.locator(".kms-teach-key-choice select").select_option(label=label)
    widget.locator(".kms-teach-try-disablekey").click()
    nb.wait_idle()
    expect(widget.locator(".kms-teach-ownership-attempts")).to_contain_text("AccessDeniedException")
    widget.locator(".kms-teach-try-encrypt-through-s3").click()
    nb.wait_idle()
    expect(widget.locator(".kms-teach-ownership-attempts")).to_contain_text("s3.us-east-1.amazonaws.com")
    assert value(nb, "ownership.attempts[-1].ok") == "True"
    nb.shot(widget, "05-key-ownership")


# ---------------------------------------------------------------------- 06


def test_06_sign_verify_map_and_imported_key_states_after_run_all(page, lab):
    nb = learner_opens(page, lab, "06_key_types.ipynb")
    sign = page.locator(".kms-teach-sign-verify")
    expect(sign.locator(".kms-teach-sign-diagram")).to_contain_text("valid")
    nb.shot(sign, "06-sign-verify")
    sign.locator(".kms-teach-tamper input").check()
    sign.locator(".kms-teach-run").click()
    nb.wait_idle()
    expect(sign.locator(".kms-teach-sign-diagram")).to_contain_text("invalid")
    expect(sign.locator(".kms-teach-sign-steps")).to_contain_text("KMSInvalidSignatureException")
    nb.shot(sign, "06-sign-verify-tampered")
    sign.locator(".kms-teach-spec select").select_option("RSA_2048")
    sign.locator(".kms-teach-tamper input").uncheck()
    sign.locator(".kms-teach-new-signing-key").click()
    nb.wait_idle(60_000)
    expect(sign).to_contain_text("RSA_2048")
    expect(sign.locator(".kms-teach-sign-diagram")).to_contain_text("valid")

    world = page.locator(".kms-teach-multi-region-map")
    expect(world.locator(".kms-teach-mr-region[data-role='REPLICA']")).to_have_count(2)
    nb.shot(world, "06-multi-region-map")
    world.locator(".kms-teach-target select").select_option("eu-central-1")
    world.locator(".kms-teach-replicate").click()
    nb.wait_idle()
    expect(world.locator(".kms-teach-mr-region[data-role='REPLICA']")).to_have_count(3)
    world.locator(".kms-teach-mr-encrypt").click()
    nb.wait_idle()
    world.locator(".kms-teach-target select").select_option("us-west-2")
    world.locator(".kms-teach-mr-decrypt").click()
    nb.wait_idle()
    expect(world.locator(".kms-teach-mr-table")).to_contain_text("AccessDeniedException")  # no key of the set there
    world.locator(".kms-teach-target select").select_option("ap-southeast-2")
    world.locator(".kms-teach-mr-decrypt").click()
    nb.wait_idle()
    expect(world.locator(".kms-teach-mr-link[data-kind='ok']")).to_have_count(1)
    world.locator(".kms-teach-mr-rotate").click()
    nb.wait_idle()
    assert value(nb, "len({st['material'] for st in world.regions_state.values() if st['role']})") == "1"
    nb.shot(world, "06-multi-region-map-travelled")

    machine = page.locator(".kms-teach-key-state-machine")
    states = machine.locator(".kms-teach-state").evaluate_all("els => els.map(e => e.dataset.state)")
    assert "PendingImport" in states and "PendingReplicaDeletion" not in states, states
    machine.locator(".kms-teach-delete-material").click()
    nb.wait_idle()
    expect(machine.locator(".kms-teach-key-info")).to_contain_text("PendingImport")
    nb.shot(machine, "06-state-machine-imported")


# ---------------------------------------------------------------------- 07


def test_07_audit_viewer_after_run_all(page, lab):
    nb = learner_opens(page, lab, "07_storage_audit_review.ipynb")
    viewer = page.locator(".kms-teach-audit-trail")
    expect(viewer.locator(".kms-teach-audit-table")).to_contain_text("encryption context")
    times = viewer.locator(".kms-teach-audit-table tbody tr td:first-child").all_inner_texts()
    assert len(set(times)) > 3, "the clock moved between events: their times differ"
    enter(nb, viewer.locator(".kms-teach-context-filter input"), "patient=7", "viewer.context_filter.value")
    viewer.locator(".kms-teach-context-filter input").press("Enter")
    nb.wait_idle()
    expected = int(value(nb, "len(viewer.rows())"))
    assert expected >= 3
    expect(viewer.locator(".kms-teach-audit-table tbody tr")).to_have_count(expected)
    expect(viewer.locator(".kms-teach-audit-table")).to_contain_text("intern")
    nb.shot(viewer, "07-audit-who-read-record-7")
    viewer.locator(".kms-teach-errors-only input").check()
    nb.wait_idle()
    expect(viewer.locator(".kms-teach-audit-table tbody tr")).to_have_count(1)
    expect(viewer.locator(".kms-teach-audit-table")).to_contain_text("AccessDeniedException")


# ---------------------------------------------------------------------- the quiz


def test_quiz_answers_clicked_in_the_browser_are_saved_and_graded(page, lab):
    from kms_teach import grading

    name = "exercises/quiz_kms-exam.ipynb"
    nb = Notebook(page, lab, name, SHOTS)
    nb.open()
    # A learner types their name in the cell, then runs it.
    page.evaluate("""() => { const c = window.jupyterapp.shell.currentWidget.content.widgets[1];
                              const m = c.model.sharedModel;
                              m.setSource(m.getSource().replace('YOUR NAME', 'ada')); }""")
    nb.open_and_run_current()
    quiz = page.locator(".kms-teach-quiz")
    expect(quiz).to_be_visible()

    # Right: the 4 KB limit (a number). Wrong: FIPS Level 3 (single choice).
    limit = quiz.locator(".kms-teach-quiz-limit")
    limit.locator(".kms-teach-quiz-control input").fill("4096")
    limit.locator(".kms-teach-quiz-check").click()
    expect(limit.locator(".kms-teach-quiz-feedback")).to_contain_text("Right")
    fips = quiz.locator(".kms-teach-quiz-fips")
    fips.get_by_text("FIPS 140-2 Level 3").click()
    fips.locator(".kms-teach-quiz-check").click()
    expect(fips.locator(".kms-teach-quiz-feedback")).to_contain_text("Not quite")
    expect(quiz.locator(".kms-teach-quiz-summary")).to_contain_text("1 / ")
    assert nb.python("print(sorted(quiz.answers.items()))").strip() == "[('fips', 'c'), ('limit', '4096')]"
    expect(page.locator(".jp-RenderedText", has_text="2 of 38 answered")).to_be_visible()
    nb.shot(fips, "quiz-fips-feedback")

    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    saved = lab.root / name
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and "2 of 38 answered" not in saved.read_text():
        time.sleep(0.25)
    report = grading.grade(saved)
    by_task = {t.task: t for t in report.tasks}
    assert report.assignment == "quiz_kms-exam" and report.score == 1 and report.max_score == 38
    assert by_task["limit"].passed and not by_task["fips"].passed and "Level 3" in by_task["fips"].message


# ---------------------------------------------------------------------- kms-teach course


def _tracked_files() -> dict[str, bytes]:
    return {str(p.relative_to(REPO)): p.read_bytes() for folder in ("notebooks", "exercises")
            for p in sorted((REPO / folder).rglob("*")) if p.is_file()}


def test_course_command_opens_notebook_00_in_the_learners_copy(browser, tmp_path):
    """The README's first command, as a learner on a remote machine runs it: --no-browser, then the address."""
    tracked = _tracked_files()
    home, lab_home = tmp_path / "my-course", tmp_path / "lab-home"
    settings = lab_home / "settings"
    windowing_off(settings)
    port = free_port()
    kms_teach = Path(sys.executable).with_name("kms-teach")
    log = open(tmp_path / "course.log", "wb")
    process = subprocess.Popen([str(kms_teach), "course", "--dir", str(home), "--no-browser", "--port", str(port),
                                "--LabApp.expose_app_in_browser=True"],
                               stdout=log, stderr=subprocess.STDOUT, env=lab_env(lab_home, settings),
                               start_new_session=True)
    try:
        def tail():
            return (tmp_path / "course.log").read_text(errors="replace")

        direct = re.compile(r"http://127\.0\.0\.1:(\d+)/lab/tree/notebooks/00_start_here\.ipynb\?token=(\w+)")
        deadline = time.monotonic() + 30
        while not direct.search(tail()) and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
        printed = direct.search(tail())
        assert printed, f"no direct address of notebook 00 was printed:\n{tail()}"
        assert int(printed.group(1)) == port
        wait_for_url(f"http://127.0.0.1:{port}/api/status?token={printed.group(2)}", process, 90, tail)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        messages: list[str] = []
        page.on("console", lambda m: messages.append(m.text))
        page.goto(printed.group(0))
        page.wait_for_function(KERNEL_READY, arg="notebooks/00_start_here.ipynb", timeout=90_000)
        # the file browser shows the course's folders only
        items = page.locator(".jp-DirListing-item .jp-DirListing-itemText")
        page.locator(".jp-DirListing-item").first.wait_for()
        page.locator(".jp-BreadCrumbs-home").click()
        expect(items).to_have_count(2)
        assert sorted(items.all_inner_texts()) == ["exercises", "notebooks"]
        time.sleep(3)  # the news toast, if any, appears a moment after start
        assert page.locator(".Toastify__toast").count() == 0, "JupyterLab's news toast appeared"
        assert not [m for m in messages if "model not found" in m.lower()]
        expect(page.locator(".jp-RenderedMarkdown h1").first).to_contain_text("00")
        page.screenshot(path=str(SHOTS / "course-command-notebook-00.png"))
        context.close()
        # the learner's copy is theirs; the tracked notebooks are untouched
        assert (home / "notebooks" / "00_start_here.ipynb").is_file()
        assert _tracked_files() == tracked
    finally:
        stop_group(process)
        log.close()
