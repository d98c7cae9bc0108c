"""`make mutation`: mutation testing of the modules whose rules are the product, as a score per module.

mutmut (pinned in the dev extras; configured under ``[tool.mutmut]`` in pyproject.toml) changes the code one
small edit at a time (a flipped comparison, an off-by-one, a dropped argument) and runs the tests that reach the
changed function. A mutant the tests do not notice *survived*: a behaviour nothing checks. This script runs
mutmut, groups the verdicts by module, subtracts the survivors listed in ``bench/mutation-equivalent.toml`` (each
with why no test can tell it apart from the original), and writes ``bench/results/mutation.json`` with each
module's score and every remaining survivor's diff. It exits 1 when a module scores under :data:`MIN_SCORE`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import write_result

ROOT = Path(__file__).resolve().parents[1]
MUTMUT = str(Path(sys.executable).parent / "mutmut")
EQUIVALENT_FILE = ROOT / "bench" / "mutation-equivalent.toml"
MIN_SCORE = 0.80
# The modules the issue names; a mutant belongs to the first prefix its name starts with.
MODULES = ("lakehouse.core", "lakehouse.quality.reconcile", "lakehouse.quality.counts",
           "lakehouse.quality.baseline", "lakehouse.iceberg.snapshots", "lakehouse.iceberg.retention",
           "lakehouse.etl.wap", "lakehouse.serving.redis_publish", "lakehouse.orchestration.lease")
KILLED = {"killed", "timeout", "caught by type check", "segfault"}


@dataclass
class ModuleScore:
    """Verdicts of one module's mutants; ``equivalent``: survivors documented as behaving like the original."""

    verdicts: Counter[str] = field(default_factory=Counter)
    equivalent: int = 0
    survivors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.verdicts.values())

    @property
    def killed(self) -> int:
        return sum(n for verdict, n in self.verdicts.items() if verdict in KILLED)

    @property
    def score(self) -> float:
        judged = self.total - self.equivalent
        return round(self.killed / judged, 4) if judged else 1.0

    @property
    def raw_score(self) -> float:
        """Killed over every mutant, the equivalent ones counted as survivors."""
        return round(self.killed / self.total, 4) if self.total else 1.0

    def as_json(self) -> dict[str, Any]:
        return {"mutants": self.total, "killed": self.killed, "equivalent": self.equivalent, "score": self.score,
                "raw_score": self.raw_score,
                "verdicts": dict(sorted(self.verdicts.items())), "survivors": self.survivors}


def module_of(mutant: str) -> str:
    for module in MODULES:
        if mutant.startswith(module + "."):
            return module
    raise ValueError(f"mutant {mutant} is in none of the measured modules")


def run_mutmut(children: int) -> None:
    """mutmut's own run; it keeps its verdicts in ``mutants/`` and re-tests only what changed since."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run([MUTMUT, "run", "--max-children", str(children)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        raise SystemExit(f"mutation: mutmut run failed ({result.returncode}):\n{result.stderr[-3000:]}")


def verdicts() -> dict[str, tuple[str, Path]]:
    """``{mutant: (verdict, source file)}`` as mutmut stored them under ``mutants/`` (its own reader: the
    pinned mutmut's ``mutation.data`` module, which ``mutmut results`` prints from)."""
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.stats import status_by_exit_code
    from mutmut.utils.file_utils import walk_mutatable_files

    found: dict[str, tuple[str, Path]] = {}
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        found.update({name: (status_by_exit_code[code], path) for name, code in data.exit_code_by_key.items()})
    return found


def diff_of(mutant: str, path: Path) -> str:
    """The mutated lines (``mutmut show`` prints the same diff)."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    lines = get_diff_for_mutant(mutant, path=path).splitlines()
    return "\n".join(line for line in lines if line.startswith(("+", "-")) and not line.startswith(("+++", "---")))


def load_equivalent() -> dict[str, str]:
    """``{mutant: why it cannot be told apart}`` — reviewed by hand, re-checked on every run (a listed mutant
    that is now killed, or gone, is reported so the list does not rot)."""
    return dict(tomllib.loads(EQUIVALENT_FILE.read_text())["equivalent"]) if EQUIVALENT_FILE.is_file() else {}


def score(found: dict[str, str], equivalent: dict[str, str]) -> tuple[dict[str, ModuleScore], list[str]]:
    """Verdicts per module, and the listed equivalents that no longer survive."""
    modules = {m: ModuleScore() for m in MODULES}
    for mutant, verdict in sorted(found.items()):
        module = modules[module_of(mutant)]
        module.verdicts[verdict] += 1
        if verdict == "survived" and mutant in equivalent:
            module.equivalent += 1
        elif verdict not in KILLED:
            module.survivors.append(mutant)
    stale = sorted(m for m in equivalent if found.get(m) != "survived")
    return modules, stale


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mutation", description=__doc__.split("\n")[0])
    parser.add_argument("--children", type=int, default=os.cpu_count() or 2, help="mutants tested at once")
    parser.add_argument("--report-only", action="store_true", help="score the verdicts of the last run")
    args = parser.parse_args()
    if not args.report_only:
        run_mutmut(args.children)
    equivalent = load_equivalent()
    os.chdir(ROOT)  # mutmut reads its config and verdicts relative to the working directory
    found = verdicts()
    modules, stale = score({name: verdict for name, (verdict, _) in found.items()}, equivalent)
    report = {"min_score": MIN_SCORE, "modules": {m: s.as_json() for m, s in modules.items()},
              "survivor_diffs": {m: diff_of(m, found[m][1]) for s in modules.values() for m in s.survivors},
              "equivalent": equivalent, "stale_equivalent": stale}
    path = write_result("mutation", report)
    for name, module in modules.items():
        print(f"{name:36} {module.score:7.1%}  {module.killed}/{module.total - module.equivalent} killed, "
              f"{len(module.survivors)} left, {module.equivalent} equivalent ({module.raw_score:.1%} of all)")
    print(f"  -> {path}")
    low = [name for name, module in modules.items() if module.score < MIN_SCORE]
    if stale:
        print(f"mutation: listed as equivalent but no longer surviving (remove them): {', '.join(stale)}")
    if low:
        print(f"mutation: under {MIN_SCORE:.0%}: {', '.join(low)}")
    return 1 if low or stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
