"""Interrupted-write checks (issue 11, defect 7): SIGKILL writers at each commit step and at
random times, with and without an older file at the target, and check that no crash leaves new
data beside an old index (or old data beside a new one), a partial file at a final name, or --
after the next write -- a stale temporary file.

Writers run in forked children (no interpreter start-up per kill), so many kills are cheap.
``python tests/crash_writers.py 30`` runs the full count (>= 30 kills per writer per crash
point, with and without an old file); the test suite runs a few per combination.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bioformats_ext.io import atomic  # noqa: E402

STEPS = ["closed", "old-removed", "data-renamed", "index-renamed"]
CONTIG = 5_000_000


def _vcf(index: str) -> Callable[[Path, int, int], tuple[str, str | None]]:
    def write(target: Path, gen: int, n: int) -> tuple[str, str | None]:
        from bioformats_ext.vcf import VcfWriter

        header = (f"##fileformat=VCFv4.2\n##generation={gen}\n"
                  f"##contig=<ID=chr1,length={CONTIG}>\n"
                  "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        with VcfWriter(target, header, index=index) as w:
            w.write_many([f"chr1\t{i * 3 + gen}\t.\tA\tC\t.\t.\t.\n" for i in range(1, n)])
        return str(target), f"{target}.{index}"
    return write


def _bam(index: str) -> Callable[[Path, int, int], tuple[str, str | None]]:
    def write(target: Path, gen: int, n: int) -> tuple[str, str | None]:
        from bioformats_ext.bam import BamWriter

        with BamWriter(target, [("chr1", CONTIG)], index=index) as w:
            w.write_many([f"r{i}\t0\tchr1\t{i * 3 + gen}\t60\t4M\t*\t0\t0\tACGT\tIIII\n"
                          for i in range(1, n)])
        return str(target), f"{target}.{index}"
    return write


def _bigbed(target: Path, gen: int, n: int) -> tuple[str, str | None]:
    from bioformats_ext.bbi.write import BigBedWriter

    with BigBedWriter(target, {"chr1": CONTIG}) as w:
        w.write_records([("chr1", i * 3 + gen, i * 3 + gen + 2, None) for i in range(1, n)])
    return str(target), None


WRITERS: dict[str, tuple[str, Callable[[Path, int, int], tuple[str, str | None]]]] = {
    "vcf+tbi": ("x.vcf.gz", _vcf("tbi")),
    "vcf+csi": ("x.vcf.gz", _vcf("csi")),
    "bam+bai": ("x.bam", _bam("bai")),
    "bigbed": ("x.bb", _bigbed),
}

INDEX_EXT = {"vcf+tbi": "tbi", "vcf+csi": "csi", "bam+bai": "bai"}


def _child(kind: str, target: Path, gen: int, n: int, step: str | None) -> None:
    """Runs in the forked child: write, and SIGKILL ourselves at ``step`` if given."""
    if step is not None:
        def hook(name: str) -> None:
            if name == step:
                os.kill(os.getpid(), signal.SIGKILL)
        atomic.crash_hook = hook
    try:
        WRITERS[kind][1](target, gen, n)
    finally:
        os._exit(0)


def write_in_child(kind: str, target: Path, gen: int, n: int, step: str | None = None,
                   kill_after: float | None = None) -> int:
    """Fork a writer; returns its wait status. ``kill_after``: SIGKILL it after that many s."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        _child(kind, target, gen, n, step)
    if kill_after is not None:
        time.sleep(kill_after)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _, status = os.waitpid(pid, 0)
    return status


def expected(kind: str, where: Path, n: int) -> dict[int, tuple[bytes, bytes | None]]:
    """The complete files of generations 1 and 2 (writers are deterministic)."""
    out = {}
    for gen in (1, 2):
        d = where / f"gen{gen}"
        d.mkdir(exist_ok=True)
        data, index = WRITERS[kind][1](d / WRITERS[kind][0], gen, n)
        out[gen] = (Path(data).read_bytes(), None if index is None else Path(index).read_bytes())
    return out


def state(target: Path, index: Path | None, gens: dict[int, tuple[bytes, bytes | None]]
          ) -> tuple[int | None, int | None]:
    """(generation of the data, generation of the index) at the final names; None = absent.
    A file that is neither generation fails the check (a partial file at a final name)."""
    def which(path: Path | None, k: int) -> int | None:
        if path is None or not path.exists():
            return None
        data = path.read_bytes()
        for gen, files in gens.items():
            if files[k] == data:
                return gen
        raise AssertionError(f"{path} is neither the old nor the new file (partial write)")
    return which(target, 0), which(index, 1)


def run(kind: str, where: Path, kills: int, n: int = 3000, seed: int = 0) -> dict[str, int]:
    """All crash points x (with, without an old file) x ``kills``; returns kills per point."""
    rng = random.Random(seed)
    gens = expected(kind, where, n)
    name = WRITERS[kind][0]
    has_index = gens[1][1] is not None
    points = (STEPS if has_index else ["closed", "data-renamed"]) + ["random"]
    done: dict[str, int] = {}
    for point in points:
        for old in (False, True):
            for k in range(kills):
                d = where / f"{point}-{int(old)}-{k}"
                d.mkdir()
                target = d / name
                index = Path(f"{target}.{INDEX_EXT[kind]}") if has_index else None
                if old:
                    WRITERS[kind][1](target, 1, n)
                if point == "random":
                    status = write_in_child(kind, target, 2, n, kill_after=rng.uniform(0, 0.4))
                else:
                    status = write_in_child(kind, target, 2, n, step=point)
                    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, \
                        (kind, point, status)
                data_gen, index_gen = state(target, index, gens)
                if index_gen is not None:  # an index is only ever next to its own data
                    assert data_gen == index_gen, (kind, point, old, data_gen, index_gen)
                if not old:
                    assert data_gen in (None, 2)
                # the next write to the same target removes the killed writer's temporary files
                WRITERS[kind][1](target, 2, n)
                leftovers = [p.name for p in d.iterdir() if ".tmp-" in p.name]
                assert not leftovers, (kind, point, leftovers)
                assert state(target, index, gens) == (2, 2 if has_index else None)
                done[point] = done.get(point, 0) + 1
    return done


if __name__ == "__main__":
    import tempfile

    kills = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    for kind in WRITERS:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.time()
            counts = run(kind, Path(tmp), kills)
            print(f"{kind}: kills per crash point (with and without an old file): {counts}, "
                  f"no stale pairing, no partial file, no leftover temporary file "
                  f"({time.time() - t0:.1f} s)")
