"""A quiz from a question bank, in two modes; the answers are saved in the notebook for grading.

* **practice** (``Quiz("kms-exam", ...)``): each Check gives feedback at once. The bank, key and
  all, ships with the package: a practice quiz is for learning, never for marks a learner could
  want to forge.
* **exam** (``Quiz.exam(EXAM, ...)``, as ``kms-teach assign`` writes it): the questions come from
  the notebook (no key, no feedback); Save answer records an answer and nothing is checked until
  the instructor grades the saved notebook against the bank kept with the assignments.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from pathlib import Path

import ipywidgets as W

from .._model import DEFAULT_ACCOUNT
from ..grading._quiz import ANSWERS_MIME, Question, Verdict, bank_from_spec, check, load_bank
from ._base import BLUE, BLUE_BG, GREEN, GREEN_BG, GREY, INK, RED, RED_BG, View, button, esc

__all__ = ["Quiz"]

PLACEHOLDER = "YOUR NAME"

# The first checked answer of each question of a one-try quiz, per bank, for this kernel: a quiz
# made again (with another student name, say) keeps those questions locked.
_CHECKED: dict[str, dict[str, object]] = {}


def _policy_text(raw: dict) -> str:
    """An engine question's key policy as the learner reads it: indented JSON, the account as in the course."""
    return json.dumps(raw["policy"], indent=2).replace("ACCOUNT", DEFAULT_ACCOUNT)


def _context(raw: dict) -> str:
    context = raw.get("encryption_context")
    return f" (the request's encryption context: {json.dumps(context)})" if context else ""


def _without_verdict(feedback: str) -> str:
    """Feedback without a leading "Right"/"Right:"/"Right." of its own: the widget says "Right." once."""
    return re.sub(r"^\s*right\s*[.:!,-]?\s*", "", feedback, count=1, flags=re.IGNORECASE)


def _named(student) -> bool:
    return isinstance(student, str) and bool(student.strip()) and student.strip().upper() != PLACEHOLDER


class Quiz(View):
    """Questions from a bank, each with a control and a button.

    ``Quiz(bank="kms-exam", student=None, seed=None, questions=None, one_try=False, keep=True)`` is a
    practice quiz: **Check** gives feedback at once. ``student`` (a name or ID) or ``seed`` fixes a
    per-student order of questions and options. ``questions`` picks question ids (default: the whole
    bank); the saved answers say which, and grading scores those. With ``one_try=True`` a checked
    question is locked, in this quiz and in any quiz of the same bank made again in this kernel,
    whatever the student name. ``answer(qid, value)`` answers from code (what the buttons do).

    ``Quiz.exam(EXAM, student=...)`` is an exam: ``EXAM`` is the key-free question list of an exam
    notebook; **Save answer** records, nothing is checked or scored here.

    Every answer is also saved **in the notebook**: the quiz keeps an output of type
    ``application/vnd.kms-teach.quiz-answers+json`` up to date, which JupyterLab stores when the
    notebook is saved and ``kms-teach grade`` scores. With ``keep=True`` (default) and a student name,
    they are also kept in ``.kms-teach/quiz-<bank>-<student>.json`` beside the notebook, and a quiz
    made again for exactly that name brings them back (never for another name, nor for an unnamed
    quiz: on a shared lab account, each student's answers stay theirs). The state is ``.answers`` and
    ``.verdicts``; the view renders them.
    """

    def __init__(self, bank: str = "kms-exam", *, student: str | None = None, seed: int | str | None = None,
                 questions: list[str] | None = None, one_try: bool = False, keep: bool = True, _exam: dict | None = None):
        super().__init__(None)
        self.mode = "exam" if _exam is not None else "practice"
        self.bank = bank_from_spec(_exam) if _exam is not None else load_bank(bank)
        self.student = student
        self.seed = seed if seed is not None else student
        ordered = self.bank.shuffled(self.seed)
        if questions is not None:
            wanted = set(questions)
            unknown = wanted - {q.id for q in ordered}
            if unknown:
                raise ValueError(f"no such questions in {self.bank.name}: {', '.join(sorted(unknown))}")
            ordered = [q for q in ordered if q.id in wanted]
        self.questions: list[Question] = ordered
        self.one_try = bool(one_try) and self.mode == "practice"
        self.answers: dict[str, object] = {}
        self.verdicts: dict[str, Verdict] = {}
        self.restored: str = ""
        self.keep_path = None
        if keep and _named(student):
            slug = re.sub(r"[^a-z0-9]+", "-", student.strip().lower()).strip("-") or "student"
            self.keep_path = Path(".kms-teach") / f"quiz-{self.bank.name}-{slug}.json"
        self._handle = None
        self.controls: dict[str, W.Widget] = {}
        self.feedback: dict[str, W.HTML] = {}
        self.check_buttons: dict[str, W.Button] = {}
        rows = [self._row(n, q) for n, q in enumerate(self.questions, start=1)]
        self.summary = W.HTML()
        self.summary.add_class("kms-teach-quiz-summary")
        heading = ("Exam: " if self.mode == "exam" else "") + self.bank.title
        # the shared view style: questions and feedback at a reading line height, not a control's 28 px
        self.widget = self._frame([W.HTML(f"<h3 style='margin:4px 0'>{esc(heading)}</h3>"), *rows, self.summary,
                                   self.error_area], "kms-teach-quiz")
        self.widget.add_class(f"kms-teach-quiz-{self.mode}")
        self._restore()
        if self.one_try:
            for qid, value in _CHECKED.get(self.bank.name, {}).items():
                q = self._question(qid)
                if q is not None:
                    self.answers[qid], self.verdicts[qid] = value, check(q, value)
                    self._show_in_control(q, value)
        self._draw()

    @classmethod
    def exam(cls, spec: dict, *, student: str | None = None, seed: int | str | None = None, keep: bool = True) -> "Quiz":
        """An exam from the key-free questions an exam notebook holds: answers are recorded, not checked."""
        return cls(student=student, seed=seed, keep=keep, _exam=spec)

    # ------------------------------------------------------------------ building

    def _question(self, qid: str) -> Question | None:
        return next((q for q in self.questions if q.id == qid), None)

    def _row(self, n: int, q: Question) -> W.Widget:
        extra = ""
        # An engine question asks about "this key policy": show it, in practice and in an exam alike.
        raw = self.bank.raw.get(q.id, {})
        if raw.get("policy"):
            extra = (f"<div style='color:{GREY};margin-top:2px'>The key policy{_context(raw)}:</div>"
                     f"<pre class='kms-teach-quiz-policy' style='font-size:11px;line-height:1.35;background:#f7f7f7;"
                     f"color:{INK};padding:4px;margin:2px 0;white-space:pre-wrap'>{esc(_policy_text(raw))}</pre>")
        prompt = W.HTML(f"<div style='margin-top:8px'><b>{n}.</b> {esc(q.prompt)}"
                        f"<span style='color:{GREY}'> ({q.points} point{'s' if q.points != 1 else ''})</span>"
                        f"</div>{extra}")
        if q.type == "single":
            control = W.RadioButtons(options=[(o.text, o.id) for o in q.options], value=None,
                                     layout=W.Layout(width="auto"))
        elif q.multiple:
            control = W.VBox([W.Checkbox(description=o.text, value=False, indent=False,
                                         layout=W.Layout(width="auto")) for o in q.options])
        elif q.type == "numeric":
            control = W.Text(placeholder=f"a number{' of ' + q.unit if q.unit else ''}", layout=W.Layout(width="220px"))
        else:
            control = W.Text(placeholder="your answer", layout=W.Layout(width="320px"))
        control.add_class("kms-teach-quiz-control")
        if self.mode == "exam":
            action = button("Save answer", icon="save", css="kms-teach-quiz-save")
        else:
            action = button("Check", icon="check", css="kms-teach-quiz-check")
        action.on_click(lambda _b, q=q: self._act(lambda: self.answer(q.id, self._read(q)), refresh=False))
        feedback = W.HTML()
        feedback.add_class("kms-teach-quiz-feedback")
        self.controls[q.id], self.feedback[q.id], self.check_buttons[q.id] = control, feedback, action
        box = W.VBox([prompt, control, W.HBox([action]), feedback])
        box.add_class("kms-teach-quiz-question")
        box.add_class(f"kms-teach-quiz-{q.id}")
        return box

    def _read(self, q: Question):
        control = self.controls[q.id]
        if q.multiple:
            return [o.id for o, box in zip(q.options, control.children) if box.value]
        return control.value

    # ------------------------------------------------------------------ answering

    def answer(self, qid: str, value) -> Verdict | None:
        """Record ``value`` as the answer to ``qid`` and save the answers; in practice, also check
        it and show the feedback (the verdict is returned; an exam returns None)."""
        q = self._question(qid)
        if q is None:
            raise ValueError(f"this quiz has no question {qid!r}")
        if self.one_try and (qid in self.verdicts or qid in _CHECKED.get(self.bank.name, {})):
            raise ValueError(f"question {qid!r} was already checked; this quiz allows one try")
        if q.type == "numeric" and isinstance(value, str):
            value = value.strip()
        self.answers[qid] = value
        verdict = None
        if self.mode == "practice":
            verdict = check(q, value)
            self.verdicts[qid] = verdict
            if self.one_try:
                _CHECKED.setdefault(self.bank.name, {})[qid] = value
        self._draw()
        self._save()
        return verdict

    @property
    def score(self) -> tuple[int, int]:
        """(points so far, points of the questions asked); an exam scores nothing here: (0, total)."""
        got = sum(q.points for q in self.questions if self.verdicts.get(q.id) and self.verdicts[q.id].correct)
        return got, sum(q.points for q in self.questions)

    def payload(self) -> dict:
        """What is saved in the notebook (and graded): the bank, who, which questions, each answer."""
        return {"bank": self.bank.name, "mode": self.mode, "student": self.student, "seed": self.seed,
                "questions": [q.id for q in self.questions], "one_try": self.one_try, "answers": dict(self.answers)}

    def _saved_bundle(self) -> dict:
        n = len(self.answers)
        return {ANSWERS_MIME: self.payload(),
                "text/plain": f"Quiz answers saved in this notebook: {n} of {len(self.questions)} answered "
                              f"(kms-teach grade scores them)."}

    def _save(self) -> None:
        if self._handle is not None:
            self._handle.update(self._saved_bundle(), raw=True)
        if self.keep_path is not None:
            try:
                self.keep_path.parent.mkdir(exist_ok=True)
                kept = {**self.payload(), "saved_at": _dt.datetime.now().isoformat(timespec="seconds")}
                self.keep_path.write_text(json.dumps(kept, indent=1), encoding="utf-8")
            except OSError as exc:  # a read-only folder: the notebook output still holds the answers
                self._show_error(exc)

    def _restore(self) -> None:
        if self.keep_path is None or not self.keep_path.exists():
            return
        try:
            kept = json.loads(self.keep_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return  # unreadable: start afresh rather than fail the cell
        # Exactly this student's answers to this bank, in this mode: a name that merely maps to the
        # same file ("Ada L." and "ada-l") is someone else.
        if not isinstance(kept, dict) or kept.get("bank") != self.bank.name or kept.get("student") != self.student \
                or kept.get("mode", "practice") != self.mode or not isinstance(kept.get("answers"), dict):
            return
        count = 0
        for q in self.questions:
            if q.id in kept["answers"]:
                value = kept["answers"][q.id]
                self.answers[q.id] = value
                if self.mode == "practice":
                    self.verdicts[q.id] = check(q, value)
                    if self.one_try:
                        _CHECKED.setdefault(self.bank.name, {}).setdefault(q.id, value)
                self._show_in_control(q, value)
                count += 1
        if count:
            self.restored = (f"Brought back {count} answer{'s' if count != 1 else ''} saved for {self.student}"
                             f"{' on ' + str(kept.get('saved_at')).replace('T', ' at ') if kept.get('saved_at') else ''}"
                             f" (kept in {self.keep_path}). Not you? Put your own name in the cell and run it again.")

    def _show_in_control(self, q: Question, value) -> None:
        control = self.controls[q.id]
        try:
            if q.multiple:
                chosen = value if isinstance(value, list) else []
                for o, box in zip(q.options, control.children):
                    box.value = o.id in chosen
            elif q.type == "single":
                control.value = value if value in [o.id for o in q.options] else None
            else:
                control.value = "" if value is None else str(value)
        except Exception:  # a kept value the control refuses: the answer is still recorded
            pass

    # ------------------------------------------------------------------ drawing

    def _draw(self) -> None:
        for q in self.questions:
            box = self.feedback[q.id]
            if self.mode == "exam":
                box.value = ("" if q.id not in self.answers else
                             f"<div style='background:{BLUE_BG};color:{INK};padding:4px 10px;border-left:5px solid "
                             f"{BLUE}'>Answer recorded. You may change it until you hand in.</div>")
                continue
            verdict = self.verdicts.get(q.id)
            if verdict is None:
                box.value = ""
            else:
                colour, bg, word = (GREEN, GREEN_BG, "Right") if verdict.correct else (RED, RED_BG, "Not quite")
                said = _without_verdict(verdict.feedback) if verdict.correct else verdict.feedback
                lines = "<br>".join(esc(line) for line in said.splitlines() if line)
                box.value = (f"<div style='background:{bg};color:{INK};padding:4px 10px;border-left:5px solid "
                             f"{colour}'><b style='color:{colour}'>{word}.</b> {lines}</div>")
            if self.one_try and verdict is not None:
                self.check_buttons[q.id].disabled = True
        notes = []
        if self.restored:
            notes.append(esc(self.restored))
        if not _named(self.student):
            notes.append("Put your name in the cell (student=...) so your answers are kept if the kernel restarts.")
        if self.mode == "exam":
            head = (f"<b>{len(self.answers)} of {len(self.questions)}</b> answered. Your answers are graded after "
                    "the exam; they are saved in the notebook when you save it.")
        else:
            got, total = self.score
            head = (f"<b>{got} / {total}</b> points so far; {len(self.answers)} of {len(self.questions)} answered. "
                    "Your answers are saved in the notebook when you save it.")
        self.summary.value = (f"<div style='margin-top:10px'>{head}</div>"
                              + "".join(f"<div style='color:{GREY}'>{n}</div>" for n in notes))

    def _refresh(self) -> None:
        self._draw()

    def text(self) -> str:
        if self.mode == "exam":
            out = [f"Exam {self.bank.name}: {len(self.questions)} questions, {len(self.answers)} answered"]
        else:
            got, total = self.score
            out = [f"Quiz {self.bank.name}: {len(self.questions)} questions, {got}/{total} points so far"]
        for n, q in enumerate(self.questions, start=1):
            out.append(f"{n}. {q.prompt}")
            raw = self.bank.raw.get(q.id, {})
            if raw.get("policy"):
                out.append(f"   The key policy{_context(raw)}:")
                out.extend("   " + line for line in _policy_text(raw).splitlines())
            for o in q.options:
                out.append(f"   - {o.text}")
        return "\n".join(out)

    def _ipython_display_(self):
        from IPython.display import display

        display(self._repr_mimebundle_(), raw=True)
        # The answers' output: kept up to date by display-id updates, stored when the notebook is saved.
        self._handle = display(self._saved_bundle(), raw=True, display_id=True)

    def saved_json(self) -> str:
        return json.dumps(self.payload(), sort_keys=True)
