"""An exam in a real browser: the questions without their key, answers recorded without feedback,
saved by JupyterLab and scored by kms-teach grade against the instructor's bank.

Uses the browser tests' throw-away JupyterLab and Debian's Chromium (``tools/ensure-chromium``).
Screenshots go to ``artifacts/browser/``.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from ..browser._lab import CHROMIUM_ARGS, Lab, Notebook, find_chromium

from playwright.sync_api import expect, sync_playwright

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "artifacts" / "browser"
NAME = "quiz_kms-final.ipynb"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("exam-root")
    shutil.copy(REPO / "exercises" / NAME, root / NAME)
    server = Lab(tmp_path_factory.mktemp("exam-home"), root)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def page(lab):
    chromium = find_chromium()
    if chromium is None:
        pytest.fail("no Chromium found: run tools/ensure-chromium (Debian: apt-get install chromium)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(30_000)
        yield context.new_page()
        browser.close()


def test_an_exam_records_clicked_answers_without_feedback_and_grades_them(page, lab):
    from kms_teach import grading

    nb = Notebook(page, lab, NAME, SHOTS)
    nb.open()
    page.evaluate("""() => { const c = window.jupyterapp.shell.currentWidget.content.widgets[2];
                              const m = c.model.sharedModel;
                              m.setSource(m.getSource().replace('YOUR NAME', 'ada')); }""")
    nb.open_and_run_current()
    exam = page.locator(".kms-teach-quiz-exam")
    expect(exam).to_be_visible()
    assert page.locator(".kms-teach-quiz-check").count() == 0  # no Check button: nothing is checked

    reencrypt = exam.locator(".kms-teach-quiz-exam-reencrypt")
    reencrypt.get_by_text("never leaves it").click()  # right
    reencrypt.locator(".kms-teach-quiz-save").click()
    expect(reencrypt.locator(".kms-teach-quiz-feedback")).to_contain_text("Answer recorded")
    rotation = exam.locator(".kms-teach-quiz-exam-rotation-min")
    rotation.locator(".kms-teach-quiz-control input").fill("365")  # wrong
    rotation.locator(".kms-teach-quiz-save").click()
    expect(rotation.locator(".kms-teach-quiz-feedback")).to_contain_text("Answer recorded")
    for feedback in (reencrypt, rotation):
        text = feedback.locator(".kms-teach-quiz-feedback").inner_text()
        assert "Right" not in text and "Not quite" not in text
    expect(exam.locator(".kms-teach-quiz-summary")).to_contain_text("2 of 12")
    nb.shot(reencrypt, "exam-recorded")
    page.screenshot(path=str(SHOTS / "exam-page.png"))

    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    saved = lab.root / NAME
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and "2 of 12 answered" not in saved.read_text():
        time.sleep(0.25)
    report = grading.grade(saved)
    by_task = {t.task: t for t in report.tasks}
    assert report.assignment == "quiz_kms-final" and report.max_score == 14 and report.score == 1
    assert by_task["exam-reencrypt"].passed and not by_task["exam-rotation-min"].passed
