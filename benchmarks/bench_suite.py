"""Benchmark (not a test): the README's test command now against the suite as it was before the wings.

Run from the repository root on a quiet machine (it takes 15-20 minutes on two cores):
    .venv/bin/python benchmarks/bench_suite.py [--base dacae16] [--skip-base]

Back to back, on the same machine:
  1. base: a detached worktree of `--base` (the commit before issue 8's work), its own venv with
     its test extras, and its README command (`python -m pytest`), serial as it then was;
  2. same tests: the current suite restricted to the tests that existed at the base (their node ids,
     collected there; two were renamed since and are mapped), run with today's settings;
  3. now: the README command on the current checkout, every test.
For each: wall time, CPU time of all processes (user + system), tests passed, and the load average
before and after; then the ratios of 2 and 3 to 1. Exit status 1 if a run failed.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GIT = shutil.which("git") or "git"
PYTEST = ["-m", "pytest", "-q", "-p", "no:cacheprovider"]
# Renamed since the base (same test, new name): old node id -> new node id.
_SIGNIN, _LAYERING = "tests/ui/test_signin.py::", "tests/unit/test_layering.py::"
RENAMED = {
    _SIGNIN + "test_administrators_never_sign_in_nor_reach_the_keyring": _SIGNIN
    + "test_admin_never_signs_in_another_administrator_does_and_acts_in_users",
    _LAYERING + "test_screens_do_not_import_the_sdk": _LAYERING + "test_only_the_device_wing_imports_the_sdk",
}


@dataclass(frozen=True)
class Run:
    name: str
    wall: float
    cpu: float
    summary: str
    ok: bool
    load: tuple[float, float]


def run_quietly(cmd: list[str], cwd: Path | None = None, *, check: bool = True) -> str:
    """Our own interpreter, git and pip with arguments of ours: stdout, stderr kept out of the way."""
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=check)  # noqa: S603
    return proc.stdout


def timed(name: str, cmd: list[str], cwd: Path) -> Run:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load0 = os.getloadavg()[0]
    start = time.perf_counter()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)  # noqa: S603
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = [line for line in proc.stdout.splitlines() if " passed" in line or " failed" in line]
    summary = lines[-1].strip("= ") if lines else proc.stdout[-300:]
    return Run(name, wall, cpu, summary, proc.returncode == 0, (load0, os.getloadavg()[0]))


def collect(python: Path, cwd: Path) -> list[str]:
    out = run_quietly([str(python), *PYTEST, "--collect-only"], cwd, check=False)
    return sorted({line.strip() for line in out.splitlines() if "::" in line})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="dacae16", help="the commit to compare with (default: dacae16)")
    parser.add_argument("--skip-base", action="store_true", help="only the current runs (no ratios)")
    args = parser.parse_args()
    python = Path(sys.executable)
    runs: list[Run] = []
    base_ids: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-suite-") as tmp:
        if not args.skip_base:
            base = Path(tmp) / "base"
            run_quietly([GIT, "worktree", "add", "--detach", str(base), args.base], REPO)
            try:
                run_quietly([sys.executable, "-m", "venv", str(base / ".venv")])
                base_python = base / ".venv" / "bin" / "python"
                print(f"installing {args.base} into its own venv ...", file=sys.stderr)
                run_quietly([str(base_python), "-m", "pip", "install", "-q", ".[test]"], base)
                base_ids = [RENAMED.get(i, i) for i in collect(base_python, base)]
                print("running the base suite ...", file=sys.stderr)
                runs.append(timed(f"base {args.base} (README command)", [str(base_python), *PYTEST], base))
            finally:
                run_quietly([GIT, "worktree", "remove", "--force", str(base)], REPO, check=False)
                shutil.rmtree(base, ignore_errors=True)
        if base_ids:
            print("running the same tests now ...", file=sys.stderr)
            id_file = Path(tmp) / "ids"
            # Parametrised ids are passed without their parameters (the shell-safe form): a test's
            # parameters are the same now as then, which the counts printed below show.
            id_file.write_text("\n".join(sorted({i.split("[")[0] for i in base_ids})) + "\n")
            ids = id_file.read_text().split()
            runs.append(
                timed(f"now, the {len(base_ids)} tests of the base", [str(python), *PYTEST, *ids], REPO)
            )
        print("running the README command now ...", file=sys.stderr)
        runs.append(timed("now (README command), every test", [str(python), *PYTEST], REPO))

    print(f"{'run':44} {'wall s':>7} {'CPU s':>7} {'load':>11}  result")
    for run in runs:
        load = f"{run.load[0]:.1f}->{run.load[1]:.1f}"
        print(f"{run.name:44} {run.wall:7.1f} {run.cpu:7.1f} {load:>11}  {run.summary}")
    if not args.skip_base and runs:
        for run in runs[1:]:
            wall, cpu = run.wall / runs[0].wall, run.cpu / runs[0].cpu
            print(f"ratio {run.name} / base: wall {wall:.2f}, CPU {cpu:.2f}")
    return 0 if all(run.ok for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
