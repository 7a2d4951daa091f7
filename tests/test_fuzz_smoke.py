"""A 2,000-input fuzz run (issue 11): every reader entry point in worker subprocesses under a
2 GiB address-space limit and a CPU budget; no untyped error, hang, memory blow-up or crash.

The full campaign is ``python -m fuzz.run --count 100000 --seed 1`` (docs/reliability.md).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from fuzz.run import format_report, run  # noqa: E402
from fuzz.targets import TARGETS  # noqa: E402

COUNT = int(os.environ.get("FUZZ_SMOKE_COUNT", "2000"))


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS / ITIMER_PROF semantics")
def test_fuzz_smoke_2000_inputs():
    names = [name for name, target in TARGETS.items() if target.owner == "reliability"]
    report = run(COUNT, seed=1, names=names, jobs=2, timeout=120, cpu=20, mem=2.0)
    text = format_report(report)
    totals = report["totals"]
    assert sum(totals.values()) == COUNT, text
    for bad in ("untyped", "hang", "memory", "crash"):
        assert totals.get(bad, 0) == 0, text
    # the harness exercises something: both accepted and refused inputs in every target
    for name in names:
        counts = report["per_target"][name]
        assert counts.get("typed", 0) > 0, (name, text)
    assert totals.get("accepted", 0) > COUNT // 20, text


def test_registry_plugs_in_a_new_target(tmp_path):
    """New readers join with one register() call (see fuzz/targets.py)."""
    from fuzz import mutate
    from fuzz.targets import Target, register
    from fuzz.worker import run_one

    seen = []
    target = register(Target("probe", lambda: [{"x.bin": b"abc"}], {"x.bin": mutate.GENERIC},
                             lambda files: [lambda: seen.append(open(files["x.bin"], "rb").read())]))
    try:
        path = tmp_path / "x.bin"
        path.write_bytes(b"abc")
        result = run_one({"id": 1, "target": "probe", "files": {"x.bin": str(path)}}, 5.0)
        assert result["outcome"] == "accepted" and seen == [b"abc"]
    finally:
        TARGETS.pop(target.name)
