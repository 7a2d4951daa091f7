"""Run a fuzz campaign: ``python -m fuzz.run --count 100000 --seed 1``.

Inputs are generated here, deterministically from ``--seed`` and the input number (input ``i``
is the same whatever ``--count`` or ``--jobs``), written to a scratch directory and run by
worker subprocesses (:mod:`fuzz.worker`) under an address-space limit (``--mem`` GiB) and a CPU
budget per input (``--cpu`` s); the parent kills a worker that exceeds ``--timeout`` wall
seconds (a hang) and starts a new one. Many inputs go through one worker, so start-up is paid
once per worker, not per input.

The report (stdout, and ``--report`` JSON) counts outcomes per target -- ``accepted``,
``typed`` (a ``BioformatsError``), ``untyped`` (anything else), ``hang``, ``memory`` -- and lists
each distinct untyped/hang/memory site with an input number; ``--replay N`` re-creates input N
in ``--keep`` for debugging. ``--keep DIR`` also saves every bad input there.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from . import mutate
from .targets import TARGETS, Target

REPO = Path(__file__).resolve().parent.parent
BAD = ("untyped", "hang", "memory", "crash")


class Campaign:
    def __init__(self, seed: int, names: list[str]):
        self.seed = seed
        self.targets: list[Target] = [TARGETS[n] for n in names]
        self.cases = {t.name: t.seeds() for t in self.targets}
        for t in self.targets:
            if not self.cases[t.name]:
                raise SystemExit(f"fuzz: target {t.name} has no seeds")
        self.weights = [t.weight for t in self.targets]

    def make(self, i: int) -> tuple[Target, dict[str, bytes], str]:
        """Input ``i``: (target, files, the member that was mutated)."""
        rng = random.Random(f"{self.seed}:{i}")
        target = rng.choices(self.targets, self.weights)[0]
        case = dict(rng.choice(self.cases[target.name]))
        members = [m for m in case if m in target.mutators]
        member = rng.choice(members)
        case[member] = mutate.stack(rng, case[member], target.mutators[member])
        return target, case, member


class Worker:
    def __init__(self, slot: int, scratch: Path, mem: float, cpu: float):
        self.dir = scratch / f"w{slot}"
        self.dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                   OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fuzz.worker", "--mem", str(mem), "--cpu", str(cpu)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=REPO,
            env=env, text=True, bufsize=1)
        self.job: dict[str, Any] | None = None
        self.deadline = 0.0
        self.done = 0

    def send(self, job_id: int, target: str, files: dict[str, bytes], timeout: float) -> None:
        case = self.dir / "case"
        if case.exists():
            shutil.rmtree(case)
        case.mkdir()
        paths = {}
        for name, data in files.items():
            p = case / name
            p.write_bytes(data)
            paths[name] = str(p)
        self.job = {"id": job_id, "target": target, "files": paths}
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(self.job) + "\n")
        self.proc.stdin.flush()
        self.deadline = time.monotonic() + timeout

    def kill(self) -> None:
        try:
            self.proc.kill()
        except ProcessLookupError:
            pass
        self.proc.wait()


def run(count: int, seed: int, names: list[str], jobs: int = 1, timeout: float = 30.0,
        cpu: float = 10.0, mem: float = 2.0, keep: str | None = None, start: int = 0,
        progress: bool = False, recycle: int = 5000) -> dict[str, Any]:
    campaign = Campaign(seed, names)
    scratch = Path(tempfile.mkdtemp(prefix="bioformats-fuzz-"))
    counts: dict[str, Counter] = defaultdict(Counter)
    sites: dict[str, dict[str, Any]] = {}
    t0 = time.monotonic()
    workers = [Worker(k, scratch, mem, cpu) for k in range(jobs)]
    sel = selectors.DefaultSelector()
    for w in workers:
        sel.register(w.proc.stdout, selectors.EVENT_READ, w)  # type: ignore[arg-type]
    pending = iter(range(start, start + count))
    made: dict[int, tuple[str, str]] = {}
    finished = 0

    def record(w: Worker, result: dict[str, Any]) -> None:
        nonlocal finished
        job_id = result["id"]
        target, member = made.pop(job_id)
        outcome = result["outcome"]
        counts[target][outcome] += 1
        finished += 1
        if outcome in BAD:
            key = f"{target}: {result.get('site')}"
            entry = sites.setdefault(key, {"outcome": outcome, "count": 0, "inputs": [],
                                           "error": result.get("error"), "member": member,
                                           "step": result.get("step")})
            entry["count"] += 1
            if len(entry["inputs"]) < 5:
                entry["inputs"].append(job_id)
            if keep and w.job is not None:
                dest = Path(keep) / f"{job_id}-{target}-{outcome}"
                shutil.copytree(Path(w.job["files"][member]).parent, dest, dirs_exist_ok=True)
        if progress and finished % 1000 == 0:
            rate = finished / (time.monotonic() - t0)
            print(f"fuzz: {finished}/{count} inputs, {rate:.1f}/s, bad so far: "
                  f"{sum(c[o] for c in counts.values() for o in BAD)}", file=sys.stderr,
                  flush=True)

    def feed(w: Worker) -> bool:
        job_id = next(pending, None)
        if job_id is None:
            w.job = None
            return False
        if w.done >= recycle:
            restart(w)
        target, files, member = campaign.make(job_id)
        made[job_id] = (target.name, member)
        w.send(job_id, target.name, files, timeout)
        w.done += 1
        return True

    def restart(w: Worker) -> None:
        sel.unregister(w.proc.stdout)  # type: ignore[arg-type]
        w.kill()
        fresh = Worker(workers.index(w), scratch, mem, cpu)
        w.proc, w.done = fresh.proc, 0
        sel.register(w.proc.stdout, selectors.EVENT_READ, w)  # type: ignore[arg-type]

    try:
        active = [w for w in workers if feed(w)]
        while active:
            now = time.monotonic()
            wait = max(0.0, min(w.deadline for w in active) - now)
            events = sel.select(timeout=wait)
            for key, _ in events:
                w = key.data
                line = w.proc.stdout.readline()
                if not line:  # the worker died without answering
                    job = w.job
                    assert job is not None
                    rc = w.proc.poll()
                    record(w, {"id": job["id"], "outcome": "crash",
                               "site": f"worker exit {rc}", "error": None, "step": None})
                    restart(w)
                else:
                    record(w, json.loads(line))
                if not feed(w):
                    active.remove(w)
            now = time.monotonic()
            for w in list(active):
                if w.job is not None and now > w.deadline and w not in [k.data for k, _ in events]:
                    record(w, {"id": w.job["id"], "outcome": "hang",
                               "site": f"wall clock > {timeout}s", "error": None, "step": None})
                    restart(w)
                    if not feed(w):
                        active.remove(w)
    finally:
        for w in workers:
            w.kill()
        shutil.rmtree(scratch, ignore_errors=True)
    elapsed = time.monotonic() - t0
    totals: Counter = Counter()
    for c in counts.values():
        totals.update(c)
    return {"seed": seed, "count": count, "start": start, "jobs": jobs, "elapsed_s": round(elapsed, 1),
            "inputs_per_s": round(finished / elapsed, 1) if elapsed else None,
            "loadavg": [round(x, 2) for x in os.getloadavg()], "mem_gib": mem, "cpu_s": cpu,
            "timeout_s": timeout, "totals": dict(totals),
            "per_target": {t: dict(c) for t, c in sorted(counts.items())},
            "owners": {t.name: t.owner for t in campaign.targets},
            "bad_sites": sites}


def format_report(report: dict[str, Any]) -> str:
    outcomes = ["accepted", "typed", "untyped", "hang", "memory", "crash"]
    lines = [f"fuzz campaign: seed {report['seed']}, {report['count']} inputs, "
             f"{report['elapsed_s']} s ({report['inputs_per_s']}/s, load average "
             f"{report['loadavg']}), limits {report['mem_gib']} GiB / {report['cpu_s']} s CPU / "
             f"{report['timeout_s']} s wall",
             f"{'target':<12}" + "".join(f"{o:>10}" for o in outcomes)]
    for target, c in report["per_target"].items():
        lines.append(f"{target:<12}" + "".join(f"{c.get(o, 0):>10}" for o in outcomes))
    lines.append(f"{'total':<12}" + "".join(f"{report['totals'].get(o, 0):>10}" for o in outcomes))
    for key, entry in sorted(report["bad_sites"].items(), key=lambda kv: -kv[1]["count"]):
        lines.append(f"  {entry['outcome']:>8} x{entry['count']:<5} {key} "
                     f"(step {entry['step']}, inputs {entry['inputs']}): {entry['error']}")
    return "\n".join(lines)


def replay(campaign: Campaign, i: int, dest: str) -> None:
    target, files, member = campaign.make(i)
    os.makedirs(dest, exist_ok=True)
    for name, data in files.items():
        Path(dest, name).write_bytes(data)
    print(f"input {i}: target {target.name}, mutated {member}, files in {dest}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fuzz.run", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", type=int, default=0, help="number of the first input")
    ap.add_argument("--targets", default="all", help="comma-separated names, or 'all'")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes")
    ap.add_argument("--timeout", type=float, default=30.0, help="wall seconds per input")
    ap.add_argument("--cpu", type=float, default=10.0, help="CPU seconds per input")
    ap.add_argument("--mem", type=float, default=2.0, help="address-space limit (GiB)")
    ap.add_argument("--report", help="write the JSON report here")
    ap.add_argument("--keep", help="save bad inputs (or the --replay input) here")
    ap.add_argument("--replay", type=int, help="only re-create input N in --keep")
    ap.add_argument("--progress", action="store_true")
    args = ap.parse_args(argv)
    names = list(TARGETS) if args.targets == "all" else args.targets.split(",")
    if args.replay is not None:
        replay(Campaign(args.seed, names), args.replay, args.keep or f"fuzz-input-{args.replay}")
        return 0
    report = run(args.count, args.seed, names, args.jobs, args.timeout, args.cpu, args.mem,
                 args.keep, args.start, args.progress)
    print(format_report(report))
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
