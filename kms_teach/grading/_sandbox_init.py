"""First code run inside the sandbox: set the resource limits, then become the Jupyter kernel.

Run as a script by the sandbox's Python (``python _sandbox_init.py --limit NAME=N ... -- -m MODULE ARGS``,
or ``-- SCRIPT ARGS``); it
imports nothing of kms_teach, so the limits hold before any of the learner's code can run. Limits
set here bind every process the learner's code starts (children inherit them).
RLIMIT_NPROC is set here, inside the sandbox's own user namespace, and not before: set outside, it
would count every process of the grading user on the machine.
"""

import resource
import runpy
import sys

NAMES = {"as": resource.RLIMIT_AS, "cpu": resource.RLIMIT_CPU, "nofile": resource.RLIMIT_NOFILE,
         "fsize": resource.RLIMIT_FSIZE, "nproc": resource.RLIMIT_NPROC, "core": resource.RLIMIT_CORE}


def main(argv):
    split = argv.index("--")
    for option, spec in zip(argv[:split:2], argv[1:split:2]):
        if option != "--limit":
            raise SystemExit(f"_sandbox_init: unknown option {option}")
        name, _, value = spec.partition("=")
        soft, _, hard = value.partition(":")
        resource.setrlimit(NAMES[name], (int(soft), int(hard or soft)))
    rest = argv[split + 1:]
    if not rest or (rest[0] == "-m" and len(rest) < 2):
        raise SystemExit("_sandbox_init: expected -- -m MODULE ARGS, or -- SCRIPT ARGS")
    del sys.path[0]  # this script's folder: not a place to import from
    if rest[0] == "-m":
        sys.argv = [rest[1]] + rest[2:]
        runpy.run_module(rest[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = rest
        sys.path.insert(0, __import__("os").path.dirname(rest[0]))
        runpy.run_path(rest[0], run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
