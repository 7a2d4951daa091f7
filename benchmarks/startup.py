"""Benchmark: start-up time of ``bioformats-ext --help`` and ``bioformats-ext index``.

    python benchmarks/startup.py [--rounds N]

Issue 17 target: both start in <= 0.15 s. Each command runs as a fresh interpreter (median of
N rounds, alternating with the floor ``python -c pass`` and ``python -c "import numpy"`` so load
spikes hit all alike); it also prints the cumulative ``-X importtime`` of ``bioformats_ext``
modules. The machine's load average is printed next to the numbers. ``BIOFORMATS_EXT_ROOT=dir``
measures another checkout; ``--compare DIR`` runs another checkout (e.g. the commit before the
lazy imports) in the same alternating rounds and prints its rows marked ``[compare]``. The number
of modules each command imports is printed too (a load-independent measure).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.environ.get("BIOFORMATS_EXT_ROOT") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _env(root: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _run(args: list[str], root: str = ROOT) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, *args], env=_env(root), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, cwd=root)  # cwd: ``-m`` puts it first on sys.path
    return time.perf_counter() - t0


def _module_count(args: list[str], root: str) -> int:
    """Modules imported by a command (load-independent): lines of ``-X importtime``."""
    proc = subprocess.run([sys.executable, "-X", "importtime", *args], env=_env(root),
                          capture_output=True, text=True, cwd=root)
    return sum(1 for line in proc.stderr.splitlines() if line.startswith("import time:")) - 1


def _import_us(args: list[str]) -> dict[str, int]:
    """Cumulative import time (microseconds) of top-level imports, from ``-X importtime``."""
    proc = subprocess.run([sys.executable, "-X", "importtime", *args], env=ENV,
                          capture_output=True, text=True, cwd=ROOT)
    out: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line[len("import time:"):].split("|")
        if cumulative.strip().isdigit():
            out.setdefault(name.strip(), int(cumulative) if not name.startswith("  ") else 0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--compare", metavar="DIR",
                    help="another checkout (e.g. before the lazy imports), run in the same rounds")
    opts = ap.parse_args()
    sys.path.insert(0, ROOT)
    from bioformats_ext import examples

    tmp = tempfile.mkdtemp()
    bam = os.path.join(tmp, "example.bam")
    shutil.copy(examples.path("example.bam"), bam)
    cases = {
        "python -c pass (floor)": ["-c", "pass"],
        "python -c 'import numpy'": ["-c", "import numpy"],
        "bioformats-ext --help": ["-m", "bioformats_ext.cli", "--help"],
        "bioformats-ext index --help": ["-m", "bioformats_ext.cli", "index", "--help"],
        "bioformats-ext index example.bam": ["-m", "bioformats_ext.cli", "index", bam],
    }
    roots = {"": ROOT}
    if opts.compare:
        roots["[compare] "] = opts.compare
        for name in [k for k in cases if k.startswith("bioformats-ext")]:
            cases["[compare] " + name] = cases[name]
    times: dict[str, list[float]] = {k: [] for k in cases}
    load0 = os.getloadavg()
    for _ in range(opts.rounds):
        for name, args in cases.items():
            root = opts.compare if name.startswith("[compare]") else ROOT
            times[name].append(_run(args, root))
    load1 = os.getloadavg()
    print(f"load average before {load0[0]:.1f} after {load1[0]:.1f} (cores: {os.cpu_count()})")
    floor = statistics.median(times["python -c pass (floor)"])
    print(f"{'command':46s} {'median s':>9s} {'min s':>7s} {'minus floor':>12s} {'modules':>8s}")
    for name, ts in times.items():
        med = statistics.median(ts)
        root = opts.compare if name.startswith("[compare]") else ROOT
        count = _module_count(cases[name], root) if "bioformats-ext" in name else ""
        print(f"{name:46s} {med:9.3f} {min(ts):7.3f} {med - floor:12.3f} {count!s:>8s}")
    for label, args in (("--help", ["-m", "bioformats_ext.cli", "--help"]),
                        ("index x.bam", ["-m", "bioformats_ext.cli", "index", bam])):
        imports = _import_us(args)
        total = sum(v for k, v in imports.items() if k not in ("site", "encodings"))  # top level
        heavy = [k for k in ("numpy", "Bio", "pysam", "zstandard", "pyarrow") if k in imports]
        print(f"-X importtime {label}: all imports after site {total / 1e3:.1f} ms; "
              f"heavy top-level imports: {', '.join(heavy) or 'none'}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
