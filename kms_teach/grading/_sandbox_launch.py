"""Outside the sandbox, first: join the submission's control groups, then exec bubblewrap.

Run by the grader's Python without site (``python -I -S _sandbox_launch.py --cgroup DIR ... -- bwrap
...``): writing its own PID to each group's ``cgroup.procs`` before exec puts bubblewrap, the kernel
and every process they ever start in the groups, so the limits bind them all and killing the
groups' members ends them all.
"""

import os
import sys


def main(argv):
    split = argv.index("--")
    for option, folder in zip(argv[:split:2], argv[1:split:2]):
        if option != "--cgroup":
            raise SystemExit(f"_sandbox_launch: unknown option {option}")
        with open(os.path.join(folder, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))
    command = argv[split + 1:]
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
