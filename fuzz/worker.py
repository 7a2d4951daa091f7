"""A fuzz worker: a long-lived subprocess that runs many inputs, under resource limits.

Limits are set before anything is imported: ``RLIMIT_AS`` (address space; an allocation a file
can inflate fails with MemoryError instead of taking the machine down) and ``RLIMIT_CPU`` as a
last resort; each input additionally gets a CPU-time budget from ``ITIMER_PROF``, whose signal
interrupts a loop that never ends. The parent enforces a wall-clock timeout on top (a loop stuck
inside C code is killed) and restarts the worker.

Protocol: one JSON object per line on stdin ``{"id", "target", "files"}``; one JSON object per
line on stdout ``{"id", "outcome", "step", "site", "error"}``, outcome one of ``accepted``,
``typed``, ``untyped``, ``hang``, ``memory``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import sys
import traceback
import warnings

RANK = {"accepted": 0, "typed": 1, "untyped": 2, "memory": 3, "hang": 4}


class CpuLimit(BaseException):
    """Raised by the profiling timer: the input used up its CPU budget."""


def _on_timer(signum: int, frame: object) -> None:
    raise CpuLimit()


def site_of(exc: BaseException) -> str:
    """Where an exception was raised: the innermost frame in our package (else the innermost)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "bioformats_ext" in f.filename]
    chosen = ours or frames
    where = "?"
    if chosen:
        f = chosen[-1]
        where = f"{f.filename.split('bioformats_ext/')[-1]}:{f.lineno}"
    return f"{type(exc).__name__} at {where}"


def classify(exc: BaseException) -> str:
    from bioformats_ext.errors import BioformatsError

    if isinstance(exc, CpuLimit):
        return "hang"
    if isinstance(exc, MemoryError):
        return "memory"
    if isinstance(exc, BioformatsError):
        return "typed"
    return "untyped"


def run_one(job: dict, cpu: float) -> dict:
    from fuzz.targets import TARGETS

    target = TARGETS[job["target"]]
    worst: dict = {"outcome": "accepted", "step": None, "site": None, "error": None}
    steps = None
    signal.setitimer(signal.ITIMER_PROF, cpu)
    try:
        steps = target.steps(job["files"])
        for k, step in enumerate(steps):
            try:
                step()
            except (Exception, CpuLimit, MemoryError) as exc:  # noqa: PERF203
                outcome = classify(exc)
                if RANK[outcome] > RANK[worst["outcome"]]:
                    worst = {"outcome": outcome, "step": getattr(step, "__name__", str(k)),
                             "site": site_of(exc), "error": str(exc)[:300]}
                if k == 0 or outcome in ("hang", "memory"):
                    break  # nothing to run without an open file; budgets are spent
    except (Exception, CpuLimit, MemoryError) as exc:
        worst = {"outcome": classify(exc), "step": "setup", "site": site_of(exc),
                 "error": str(exc)[:300]}
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
    worst["id"] = job["id"]
    return worst


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mem", type=float, default=2.0, help="address-space limit, GiB")
    ap.add_argument("--cpu", type=float, default=10.0, help="CPU seconds per input")
    args = ap.parse_args(argv)
    limit = int(args.mem * (1 << 30))
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (min(hard, 7200) if hard > 0 else 7200, hard))
    signal.signal(signal.SIGPROF, _on_timer)
    warnings.simplefilter("ignore")
    import fuzz.targets  # noqa: F401  (warm imports before the first input)
    import bioformats_ext.bigbed  # noqa: F401
    out = sys.stdout
    for line in sys.stdin:
        job = json.loads(line)
        result = run_one(job, args.cpu)
        out.write(json.dumps(result) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.exit(main())
