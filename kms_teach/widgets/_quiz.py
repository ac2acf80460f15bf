"""A quiz from a question bank: per-answer feedback, answers saved in the notebook for grading."""

from __future__ import annotations

import json
import re
from pathlib import Path

import ipywidgets as W

from ..grading._quiz import ANSWERS_MIME, Question, Verdict, check, load_bank
from ._base import GREEN, GREEN_BG, GREY, INK, RED, RED_BG, View, button, esc

__all__ = ["Quiz"]


class Quiz(View):
    """Questions from a bank, each with a control and a Check button that gives feedback at once.

    ``Quiz(bank="kms-exam", student=None, seed=None, questions=None, one_try=False)``. ``student`` (a
    name or ID) or ``seed`` fixes a per-student order of questions and options. ``questions`` picks
    question ids (default: the whole bank). With ``one_try=True`` a checked question is locked, as in
    a graded quiz. ``answer(qid, value)`` answers from code (what the buttons do).

    Every answer is also saved **in the notebook**: the quiz keeps an output of type
    ``application/vnd.kms-teach.quiz-answers+json`` up to date, which JupyterLab stores when the
    notebook is saved and ``kms-teach grade`` scores against the bank. With ``keep=True`` (default)
    they are also kept in ``.kms-teach/quiz-<bank>-<student>.json`` beside the notebook, so running the
    cell again brings them back. The state is ``.answers`` and ``.verdicts``; the view renders them.
    """

    def __init__(self, bank: str = "kms-exam", *, student: str | None = None, seed: int | str | None = None,
                 questions: list[str] | None = None, one_try: bool = False, keep: bool = True):
        super().__init__(None)
        self.bank = load_bank(bank)
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
        self.one_try = one_try
        self.answers: dict[str, object] = {}
        self.verdicts: dict[str, Verdict] = {}
        # Re-running the cell must not lose what was answered (the saved output would be replaced):
        # the answers are also kept in a file beside the notebook, and read back here.
        slug = re.sub(r"[^a-z0-9]+", "-", str(self.student or "anonymous").lower()).strip("-") or "anonymous"
        self.keep_path = Path(".kms-teach") / f"quiz-{self.bank.name}-{slug}.json" if keep else None
        self._handle = None
        self.controls: dict[str, W.Widget] = {}
        self.feedback: dict[str, W.HTML] = {}
        self.check_buttons: dict[str, W.Button] = {}
        rows = []
        for n, q in enumerate(self.questions, start=1):
            rows.append(self._row(n, q))
        self.summary = W.HTML()
        self.summary.add_class("kms-teach-quiz-summary")
        self.widget = W.VBox([W.HTML(f"<h3 style='margin:4px 0'>{esc(self.bank.title)}</h3>"), *rows, self.summary,
                              self.error_area])
        self.widget.add_class("kms-teach-quiz")
        self._restore()
        self._draw()

    # ------------------------------------------------------------------ building

    def _row(self, n: int, q: Question) -> W.Widget:
        prompt = W.HTML(f"<div style='margin-top:8px'><b>{n}.</b> {esc(q.prompt)}"
                        f"<span style='color:{GREY}'> ({q.points} point{'s' if q.points != 1 else ''})</span></div>")
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
        check_button = button("Check", icon="check", css="kms-teach-quiz-check")
        check_button.on_click(lambda _b, q=q: self._act(lambda: self.answer(q.id, self._read(q)), refresh=False))
        feedback = W.HTML()
        feedback.add_class("kms-teach-quiz-feedback")
        self.controls[q.id], self.feedback[q.id], self.check_buttons[q.id] = control, feedback, check_button
        box = W.VBox([prompt, control, W.HBox([check_button]), feedback])
        box.add_class("kms-teach-quiz-question")
        box.add_class(f"kms-teach-quiz-{q.id}")
        return box

    def _read(self, q: Question):
        control = self.controls[q.id]
        if q.multiple:
            return [o.id for o, box in zip(q.options, control.children) if box.value]
        return control.value

    # ------------------------------------------------------------------ answering

    def answer(self, qid: str, value) -> Verdict:
        """Record ``value`` as the answer to ``qid``, check it, show the feedback and save the answers."""
        q = next((q for q in self.questions if q.id == qid), None)
        if q is None:
            raise ValueError(f"this quiz has no question {qid!r}")
        if self.one_try and qid in self.verdicts:
            raise ValueError(f"question {qid!r} was already checked; this quiz allows one try")
        if q.type == "numeric" and isinstance(value, str):
            value = value.strip()
        verdict = check(q, value)
        self.answers[qid] = value
        self.verdicts[qid] = verdict
        self._draw()
        self._save()
        return verdict

    @property
    def score(self) -> tuple[int, int]:
        got = sum(q.points for q in self.questions if self.verdicts.get(q.id) and self.verdicts[q.id].correct)
        return got, sum(q.points for q in self.questions)

    def payload(self) -> dict:
        """What is saved in the notebook (and graded): the bank, who, and each answer by question id."""
        return {"bank": self.bank.name, "student": self.student, "seed": self.seed,
                "questions": [q.id for q in self.questions], "answers": dict(self.answers)}

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
                self.keep_path.write_text(json.dumps(self.payload(), indent=1), encoding="utf-8")
            except OSError as exc:  # a read-only folder: the notebook output still holds the answers
                self._show_error(exc)

    def _restore(self) -> None:
        if self.keep_path is None or not self.keep_path.exists():
            return
        try:
            kept = json.loads(self.keep_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return  # unreadable: start afresh rather than fail the cell
        if kept.get("bank") != self.bank.name:
            return
        for q in self.questions:
            if q.id in kept.get("answers", {}):
                value = kept["answers"][q.id]
                self.answers[q.id], self.verdicts[q.id] = value, check(q, value)
                self._show_in_control(q, value)

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
            verdict = self.verdicts.get(q.id)
            box = self.feedback[q.id]
            if verdict is None:
                box.value = ""
            else:
                colour, bg, word = (GREEN, GREEN_BG, "Right") if verdict.correct else (RED, RED_BG, "Not quite")
                lines = "<br>".join(esc(line) for line in verdict.feedback.splitlines() if line)
                box.value = (f"<div style='background:{bg};color:{INK};padding:4px 10px;border-left:5px solid "
                             f"{colour}'><b style='color:{colour}'>{word}.</b> {lines}</div>")
            if self.one_try and verdict is not None:
                self.check_buttons[q.id].disabled = True
        got, total = self.score
        self.summary.value = (f"<div style='margin-top:10px'><b>{got} / {total}</b> points so far; "
                              f"{len(self.answers)} of {len(self.questions)} answered. Your answers are saved in "
                              f"the notebook when you save it.</div>")

    def _refresh(self) -> None:
        self._draw()

    def text(self) -> str:
        got, total = self.score
        out = [f"Quiz {self.bank.name}: {len(self.questions)} questions, {got}/{total} points so far"]
        for n, q in enumerate(self.questions, start=1):
            out.append(f"{n}. {q.prompt}")
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
