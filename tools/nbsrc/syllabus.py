"""The syllabus: every notebook with its goal, time and exercise (a notebook of Markdown only)."""

from ._cells import md
from ._course import COURSE, QUIZ, exercise_name

FILENAME = "syllabus.ipynb"
COURSE_NOTEBOOK = False  # no objectives or self-check: it is the map of the course, not a lesson


def _table() -> str:
    rows = ["| # | notebook | you will be able to | time | exercise |", "|---|---|---|---|---|"]
    for item in COURSE:
        if item.exercise:
            exercise = f"[{exercise_name(item)}]({item.exercise}): {item.exercise_title} (~{item.exercise_minutes} min)"
        else:
            exercise = f"practice: {item.practice} ([quiz]({QUIZ}))"
        rows.append(f"| {item.number} | [{item.title}]({item.filename}) | {item.goal} | ~{item.minutes} min | "
                    f"{exercise} |")
    return "\n".join(rows)


def cells():
    total = sum(c.minutes + c.exercise_minutes for c in COURSE)
    return [
        md(f"""
            # Syllabus: AWS Key Management Service, hands-on

            Eight notebooks, each a lesson you run yourself against a simulated AWS that lives in the notebook
            (no AWS account, no cost, nothing leaves your machine), each followed by an exercise. Work through
            them in order: every notebook uses what the ones before it taught. All together about
            {total // 60} hours {total % 60} minutes, notebooks and exercises.
        """),
        md(_table()),
        md(f"""
            ## How to work

            - **Open a notebook, then run it from the top** (Shift+Enter runs a cell and moves on). Read the text
              before each cell and guess what it will print. *Kernel → Restart Kernel and Run All Cells* always
              brings a notebook back to a clean start: every notebook builds its own small cloud.
            - **Play with the widgets.** They make real calls on the notebook's cloud and show what KMS answered;
              before the notebook runs they show a picture of what they will look like.
            - **Check yourself**: each notebook ends with a self-check whose answers are hidden until you open
              them, then a "Next" cell with links to its exercise and to the next notebook.
            - **Do the exercise.** Each has three tasks of rising difficulty with a self-check under each;
              hidden checks run when it is graded (`kms-teach grade`, see the project README).
            - **Finish with the quiz**, [quiz_kms-exam.ipynb]({QUIZ}): exam-style questions on every part of
              the course, with feedback on every answer.

            Your work is yours: `kms-teach course` gives you a copy of the course in a folder of your own, so
            your edits never touch the project's files.

            Start with [00 · Start here]({COURSE[0].filename}).
        """),
    ]
