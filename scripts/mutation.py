"""Mutation testing of the pure domain: mutmut over src/lifecycle against tests/unit.

mutmut records, per function, which tests reached it; a mutant then runs only those tests. Here
that set is narrowed to the unit tests that are about the function's module (MODULE_TESTS and
tests/unit/test_lifecycle_<module>.py), so a mutant of `gates` is judged by the gate tables and
not by every graph test that happens to pass through a gate. A module with no mapping (a new
one) is judged by the unit test files that import it, or, when none does, by every unit test
that reached it. A function the narrowing leaves without a test is reported with the files that
did reach it, so a stale mapping reads as one, not as untested code. Mutants mypy --strict
refuses are counted as caught without running the tests (MUTATION_TYPECHECK=0 runs them too).

Exit 0 when every mutant is killed or allowed, 1 when a mutant lives that nobody allowed: a
survivor, one no selected test reached, or a suspicious one. Messages are pinned by the tests
(they compare whole verdicts and error texts), so a reworded message is killed, not allowed; the
few mutants that provably behave the same are in scripts/mutation-allowed.txt, each with the
reason. Arguments name modules to run alone; MUTATION_JOBS sets the workers (default: cores).
Started at idle priority (``chrt --idle 0``, as scripts/test runs it beside pytest), mutmut's
wall-clock limit may read a mutant starved of CPU as a timeout: the timed-out mutants are then
judged again at normal priority, so every verdict is one a run at normal priority gives.
mutmut's own log is mutants/mutmut.log. This drives mutmut 3 from inside (its config object and
its stats hook), which is why pyproject pins it below 4.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = ROOT / "src" / "lifecycle"
ALLOWED = ROOT / "scripts" / "mutation-allowed.txt"
UNIT = ROOT / "tests" / "unit"
# Unit tests mutmut's run leaves out (pyproject's --ignore): they judge no mutant.
UNJUDGING = {"test_code_shape.py"}

# Module -> the unit test files that pin its behaviour (besides test_lifecycle_<module>.py).
MODULE_TESTS: dict[str, list[str]] = {
    "approval": [],
    "errors": ["test_api_errors.py"],
    "redaction": [],
    "gates": [
        "test_gates.py",
        "test_monitor_decisions.py",
        "test_lifecycle_non_finite.py",
        "test_lifecycle_comparing_gates.py",
    ],
    "latency": ["test_gateway_stats.py", "test_monitor_decisions.py"],
    "metrics": [
        "test_gates.py",
        "test_shared_values.py",
        "test_lifecycle_non_finite.py",
        "test_lifecycle_comparing_gates.py",
    ],
    "monitor": [
        "test_monitor_decisions.py",
        "test_monitor_judgement.py",
        "test_lifecycle_stale_figures.py",
        "test_lifecycle_warm_target.py",  # act_order
    ],
    "names": ["test_lifecycle_names.py"],
    "ports": ["test_routing.py", "test_shared_values.py"],
    "records": [],
    "recovery": [],
    "rollback": ["test_gates.py"],
    "rollback_plan": ["test_rollback_plans.py"],
    "rollout": ["test_rollout_plans.py", "test_rollback_plans.py"],
    "route_stages": [],
    "routing": ["test_routing.py", "test_rollout_plans.py", "test_rollback_plans.py"],
    "stages": ["test_stages.py"],
    "strategies": ["test_strategies.py"],
}

OK_STATUSES = {"killed", "timeout", "caught by type check"}


def domain_modules() -> list[str]:
    """Every module of the domain, so a new one is mutated without editing this script."""
    return sorted(p.stem for p in DOMAIN.glob("*.py") if p.stem != "__init__")


def importers(module: str) -> list[str]:
    """The unit test files that import ``module`` (``from lifecycle.<module> import`` or
    ``import lifecycle.<module>``): a new module's own tests, before anyone maps it."""
    pattern = re.compile(
        rf"^\s*(from\s+lifecycle\.{module}\s+import|import\s+lifecycle\.{module}\b)", re.M
    )
    return sorted(
        path.name
        for path in UNIT.glob("test_*.py")
        if path.name not in UNJUDGING and pattern.search(path.read_text())
    )


def selected_files(module: str) -> list[str] | None:
    """The test files that judge `module`'s mutants, or None for every unit test."""
    own = f"test_lifecycle_{module}.py"
    files = list(MODULE_TESTS[module] if module in MODULE_TESTS else importers(module))
    if (UNIT / own).exists() and own not in files:
        files.append(own)
    if module not in MODULE_TESTS and not files:
        return None
    return [f"tests/unit/{name}" for name in files]


def narrow_tests(tests_by_function: dict[str, set[str]]) -> dict[str, list[str]]:
    """Keep, for each mutated function, only the tests selected for its module. Returns the
    functions the narrowing left with no test, each with the test files that did reach it."""
    selection = {module: selected_files(module) for module in domain_modules()}
    unjudged: dict[str, list[str]] = {}
    for function, tests in tests_by_function.items():
        module = next((m for m in selection if function.startswith(f"lifecycle.{m}.")), None)
        files = selection.get(module) if module else None
        # pytest cannot select a test by an id with escaped unicode in it (the chat parser's
        # junk inputs); those never judge a domain mutant better than the tables do.
        kept = {t for t in tests if "\\" not in t}
        if files is not None:
            kept = {t for t in kept if t.split("::", 1)[0] in files}
        if tests and not kept:
            unjudged[function] = sorted({t.split("::", 1)[0] for t in tests})
        tests.clear()
        tests.update(kept)
    return unjudged


def read_allowed() -> dict[str, str]:
    """Allowed survivors: `mutant-id  reason` per line, `#` starts a comment."""
    allowed: dict[str, str] = {}
    for raw in ALLOWED.read_text().splitlines() if ALLOWED.exists() else []:
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        mutant, _, reason = line.partition(" ")
        if not reason.strip():
            sys.exit(f"mutation: {ALLOWED.name}: {mutant} has no reason")
        allowed[mutant] = reason.strip()
    return allowed


def mypy_cache() -> Path:
    """mypy's cache for the mutated tree, apart from the project's own so neither invalidates
    the other; the first one starts from a copy of the project's (its dependencies are the same)."""
    own, cache = ROOT / ".mypy_cache", ROOT / ".mypy_cache" / "mutants"
    if not cache.exists() and own.is_dir():
        shutil.copytree(own, cache, ignore=shutil.ignore_patterns("mutants"))
    return cache


def run_mutmut(
    modules: list[str], max_children: int, unjudged: dict[str, list[str]], names: list[str]
) -> None:
    """Run mutmut over ``modules`` with the narrowed test selection (only the mutants ``names``
    when given: judged again); ``unjudged`` gets the functions the narrowing left with no test
    (narrow_tests)."""
    import mutmut.__main__ as mm

    config = mm.config()
    config.only_mutate = [f"src/lifecycle/{module}.py" for module in modules]
    # Hypothesis' 200 ms deadline would fail a table test that merely waited for the CPU (the
    # run beside pytest is at idle priority): a mutant is judged by what it computes; one that
    # makes a test slow for ever is still caught by mutmut's own timeout.
    if "--hypothesis-profile=mutation" not in config.pytest_add_cli_args:
        config.pytest_add_cli_args = [*config.pytest_add_cli_args, "--hypothesis-profile=mutation"]
    # A mutant mypy --strict refuses could never be merged (CI type-checks src), so it counts
    # as caught and is not run: about half of them, which halves the run. MUTATION_TYPECHECK=0
    # runs them against the tests too (the tests alone kill them all as well; slower).
    if os.environ.get("MUTATION_TYPECHECK", "1") != "0":
        config.type_check_command = [
            sys.executable,
            "-m",
            "mypy",
            "--output",
            "json",
            "--no-warn-unused-ignores",
            "--cache-dir",
            str(mypy_cache()),
            "-p",
            "lifecycle",
        ]
    # Coverage is collected with the selected tests only (every unit test when a module has
    # no mapping), then narrowed per module once mutmut has recorded who reached what.
    selections = [selected_files(module) for module in modules]
    if all(files is not None for files in selections):
        config.pytest_add_cli_args_test_selection = sorted(
            {f for files in selections for f in files or []}
        )
    original = mm.collect_or_load_stats

    def collect_then_narrow(*args: object, **kwargs: object) -> None:
        original(*args, **kwargs)  # type: ignore[arg-type]
        unjudged.update(narrow_tests(mm.state().tests_by_mangled_function_name))

    mm.collect_or_load_stats = collect_then_narrow
    try:
        mm.cli.main(["run", "--max-children", str(max_children), *names], standalone_mode=False)
    finally:
        mm.collect_or_load_stats = original


def leave_idle_priority() -> bool:
    """Move this process from idle to normal priority; whether it ran at idle priority."""
    if not hasattr(os, "SCHED_IDLE") or os.sched_getscheduler(0) != os.SCHED_IDLE:
        return False
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    return True


def quietly(log: Path, run: Callable[[], None]) -> None:
    """Run ``run`` with mutmut's progress (and its forked workers' output) in ``log``; show the
    log's tail if it fails."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    code: object = 0
    with log.open("w") as out:
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
        try:
            run()
        except SystemExit as exc:
            code = exc.code
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
    if code not in (0, None):
        tail = log.read_text(errors="replace").replace("\r", "\n").splitlines()[-40:]
        print("\n".join(tail), file=sys.stderr)
        sys.exit(f"mutation: mutmut stopped with {code}; the whole log is {log}")


def results() -> dict[str, str]:
    """Every mutant's status as mutmut names it."""
    from mutmut.__main__ import SourceFileMutationData, status_by_exit_code, walk_mutatable_files

    statuses: dict[str, str] = {}
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        for mutant, code in data.exit_code_by_key.items():
            statuses[mutant] = status_by_exit_code[code]
    return statuses


def diff(mutant: str) -> str:
    """What the mutant changed, as ``mutmut show`` prints it."""
    from mutmut.__main__ import find_mutant, get_diff_for_mutant

    lines = get_diff_for_mutant(mutant, path=find_mutant(mutant).path).splitlines()
    return "\n".join(
        f"      {line}" for line in lines if line[:1] in "+-" and line[:3] not in ("+++", "---")
    )


def function_of(mutant: str) -> str:
    """The mutated function's name as mutmut records the tests that reached it."""
    from mutmut.__main__ import mangled_name_from_mutant_name

    return mangled_name_from_mutant_name(mutant)


def main(argv: list[str]) -> int:
    os.chdir(ROOT)
    modules = argv or domain_modules()
    unknown = sorted(set(modules) - set(domain_modules()))
    if unknown:
        sys.exit(f"mutation: no such module in src/lifecycle: {', '.join(unknown)}")
    # A fresh copy every time: mutmut keeps old verdicts otherwise, and a survivor from a stale
    # run must not hide behind a cache.
    shutil.rmtree("mutants", ignore_errors=True)
    started = time.monotonic()
    jobs = int(os.environ.get("MUTATION_JOBS", os.cpu_count() or 2))
    unjudged: dict[str, list[str]] = {}
    quietly(ROOT / "mutants" / "mutmut.log", lambda: run_mutmut(modules, jobs, unjudged, []))
    statuses = results()
    timeouts = sorted(m for m, s in statuses.items() if s == "timeout")
    if timeouts and leave_idle_priority():
        print(f"mutation: judging {len(timeouts)} timed-out mutants again at normal priority")
        again = ROOT / "mutants" / "mutmut-timeouts.log"
        quietly(again, lambda: run_mutmut(modules, jobs, unjudged, timeouts))
        statuses = results()
    allowed = read_allowed()

    alive = sorted(m for m, s in statuses.items() if s not in OK_STATUSES)
    unallowed = [m for m in alive if m not in allowed]
    # A partial run (modules named) cannot tell a gone mutant from one it did not generate.
    stale = sorted(
        m for m in allowed if statuses.get(m) in OK_STATUSES or (m not in statuses and not argv)
    )
    counts = ", ".join(f"{n} {s}" for s, n in Counter(statuses.values()).most_common())
    print(f"mutation: {len(statuses)} mutants of {', '.join(modules)}")
    print(f"mutation: {counts} in {time.monotonic() - started:.0f} s")
    for mutant in alive:
        if mutant in allowed:
            print(f"  allowed {statuses[mutant]}: {mutant}: {allowed[mutant]}")
    for mutant in unallowed:
        print(f"  {statuses[mutant].upper()}: {mutant}  (mutmut show {mutant})")
        print(diff(mutant))
        reached = unjudged.get(function_of(mutant))
        if reached:
            print(
                f"      no selected test; reached by {', '.join(reached)}: map them in MODULE_TESTS"
            )
    for mutant in stale:
        print(f"  STALE: {mutant} is allowed but not alive; remove it from {ALLOWED.name}")
    if unallowed or stale:
        print(
            f"mutation: FAILED: {len(unallowed)} mutants live that nobody allowed, "
            f"{len(stale)} stale allowances"
        )
        return 1
    print(f"mutation: OK: every mutant is killed or allowed ({len(alive)} allowed)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
