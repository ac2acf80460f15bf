"""The course in a real browser: JupyterLab on 127.0.0.1, driven by headless Chromium.

Each test opens a copy of a course notebook, runs every cell, clicks a widget's buttons the way a
learner would, and checks that the page shows what the Python side (asked in the same kernel)
says happened. Screenshots go to ``artifacts/browser/`` (git-ignored) for a human to look at.

Chromium comes from the system (``tools/ensure-chromium``, which the README's test command runs,
installs Debian's when missing); Playwright drives it through ``executable_path``.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest

from ._lab import CHROMIUM_ARGS, Lab, Notebook, find_chromium

from playwright.sync_api import expect, sync_playwright

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "artifacts" / "browser"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab-root")
    for name in ("01_encrypt_decrypt.ipynb", "04_rotation_aliases_deletion.ipynb"):
        shutil.copy(REPO / "notebooks" / name, root / name)
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


def open_notebook(page, lab, name) -> Notebook:
    nb = Notebook(page, lab, name, SHOTS)
    nb.open_and_run()
    assert nb.errors() == [], f"{name} showed errors when run in JupyterLab"
    return nb


def test_flow_diagram_steps_in_the_browser_as_the_kernel_says(page, lab):
    nb = open_notebook(page, lab, "01_encrypt_decrypt.ipynb")
    flow = page.locator(".kms-teach-encrypt-flow")
    expect(flow).to_be_visible()
    index, count = map(int, nb.python("print(flow.index, len(flow.steps))").split())
    assert index == 0 and count >= 4, "a Decrypt flow has at least application, KMS, authorization, key store"
    expect(flow).to_contain_text(f"step 1 of {count}")
    before_svg = flow.locator(".kms-teach-flow-diagram").inner_html()
    nb.shot(flow, "01-flow-step-1")

    next_button = flow.locator(".kms-teach-next")
    next_button.click()
    expect(flow).to_contain_text(f"step 2 of {count}")
    next_button.click()
    expect(flow).to_contain_text(f"step 3 of {count}")

    # The kernel moved with the clicks, and the page shows the step the kernel holds.
    box, title, returning = nb.python(
        "print(flow.current.box, flow.current.title, flow.current.returning, sep='\\n')").splitlines()
    assert nb.python("print(flow.index)").strip() == "2"
    expect(flow.locator(".kms-teach-flow-step")).to_contain_text(title)
    if returning == "False":
        expect(flow.locator(".kms-teach-flow-box.kms-teach-current")).to_have_attribute("data-box", box)
    assert flow.locator(".kms-teach-flow-diagram").inner_html() != before_svg
    nb.shot(flow, "01-flow-step-3")

    flow.locator(".kms-teach-back").click()
    expect(flow).to_contain_text(f"step 2 of {count}")
    assert nb.python("print(flow.index)").strip() == "1"


def test_rotation_timeline_and_key_state_machine_respond_to_clicks(page, lab):
    # Cell by cell, as a learner reads it: section 4 of this notebook deletes the timeline's key.
    nb = Notebook(page, lab, "04_rotation_aliases_deletion.ipynb", SHOTS)
    nb.open()
    timeline_cell = nb.run_through("timeline = RotationTimeline(")
    assert nb.errors() == []

    # --- the rotation timeline: a sample, a year on the clock, a new backing key, the sample still decrypts
    timeline = page.locator(".kms-teach-rotation-timeline")
    expect(timeline).to_be_visible()
    before = int(nb.python("print(len(timeline.materials))"))
    expect(timeline).to_contain_text(f"{before} backing key(s)")
    image_before = timeline.locator(".kms-teach-rotation-figure").get_attribute("src")
    nb.shot(timeline, "04-timeline-before")

    timeline.locator(".kms-teach-encrypt-sample").click()
    expect(timeline.locator(".kms-teach-rotation-table")).to_contain_text("#1")
    pinned = nb.python("print(timeline.samples[0].key_material_id)").strip()
    timeline.locator(".kms-teach-advance").click()
    expect(timeline).to_contain_text(f"{before + 1} backing key(s)")
    assert int(nb.python("print(len(timeline.materials))")) == before + 1
    current = nb.python("print(timeline.current_key_material_id)").strip()
    assert current != pinned, "advancing a rotation period must make a new backing key current"
    timeline.locator(".kms-teach-decrypt-samples").click()
    expect(timeline.locator(".kms-teach-rotation-table")).to_contain_text(f"ok, with {pinned[:12]}")
    assert timeline.locator(".kms-teach-rotation-figure").get_attribute("src") != image_before
    table = timeline.locator(".kms-teach-rotation-table").inner_text()
    assert table.count("…") >= before + 1 and pinned[:16] in table and current[:16] in table
    nb.shot(timeline, "04-timeline-after-a-year")

    # --- on through the notebook (the clicks above moved the clock a year; the lessons still hold)
    nb.run_from(timeline_cell + 1)
    assert nb.errors() == [], "the rest of the notebook failed after the timeline was used"

    # --- the key state machine: a transition KMS makes, then one it refuses with AWS's error
    machine = page.locator(".kms-teach-key-state-machine")
    expect(machine).to_be_visible()
    expect(machine.locator(".kms-teach-key-info")).to_contain_text("Enabled")
    machine.locator(".kms-teach-disable").click()
    expect(machine.locator(".kms-teach-key-info")).to_contain_text("Disabled")
    state = nb.python("print(kms.describe_key(KeyId=machine.key_id)['KeyMetadata']['KeyState'])").strip()
    assert state == "Disabled"

    machine.locator(".kms-teach-cancel-deletion").click()
    expect(machine.locator(".kms-teach-last-call")).to_contain_text("refused")
    last_call = nb.python("print(machine.last_call)").strip()
    code = re.search(r"refused: (\w+)", last_call)
    assert code and code.group(1) == "KMSInvalidStateException"
    expect(machine.locator(".kms-teach-last-call")).to_contain_text("KMSInvalidStateException")
    # The refusal left the key as it was, on both sides.
    expect(machine.locator(".kms-teach-key-info")).to_contain_text("Disabled")
    nb.shot(machine, "04-state-machine-refused")
    page.screenshot(path=str(SHOTS / "04-page.png"))


def test_quiz_answers_clicked_in_the_browser_are_saved_and_graded(page, lab):
    from kms_teach import grading

    name = "quiz_kms-exam.ipynb"
    shutil.copy(REPO / "exercises" / name, lab.root / name)
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
    expect(page.locator(".jp-RenderedText", has_text="2 of 37 answered")).to_be_visible()
    nb.shot(fips, "quiz-fips-feedback")

    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    saved = lab.root / name
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and "2 of 37 answered" not in saved.read_text():
        time.sleep(0.25)
    report = grading.grade(saved)
    by_task = {t.task: t for t in report.tasks}
    assert report.assignment == "quiz_kms-exam" and report.score == 1 and report.max_score == 37
    assert by_task["limit"].passed and not by_task["fips"].passed and "Level 3" in by_task["fips"].message
