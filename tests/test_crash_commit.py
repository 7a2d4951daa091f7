"""Defect 7: SIGKILLed writers never leave new data beside an old index (see crash_writers.py;
``python tests/crash_writers.py 30`` is the full run, this is a few kills per crash point)."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import crash_writers  # noqa: E402

KILLS = int(os.environ.get("RELIABILITY_KILLS", "2"))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.parametrize("kind", list(crash_writers.WRITERS))
def test_kill_at_every_commit_step_and_at_random(tmp_path, kind):
    counts = crash_writers.run(kind, tmp_path, KILLS, n=2000, seed=len(kind))
    assert all(v == 2 * KILLS for v in counts.values()), counts
    assert "random" in counts and "closed" in counts


def test_stale_temporaries_of_dead_writers_only_are_removed(tmp_path):
    from bioformats_ext.io.atomic import AtomicFile

    target = tmp_path / "x.bin"
    dead = tmp_path / "x.bin.tmp-999999999-0123abcd"     # no such process
    live = tmp_path / f"x.bin.tmp-{os.getppid()}-0123abcd"  # our parent is alive
    other = tmp_path / "x.bin.tmp-notours"
    for p in (dead, live, other):
        p.write_bytes(b"partial")
    a = AtomicFile(target)
    a.handle.write(b"new")
    a.commit()
    assert not dead.exists() and live.exists() and other.exists()
    assert target.read_bytes() == b"new"


def test_old_index_is_removed_before_new_data_lands(tmp_path):
    """The commit order itself: at the 'old-removed' step the old index is gone while the old
    data is still in place; a writer that writes no index removes a stale one too."""
    from bioformats_ext.io import atomic
    from bioformats_ext.vcf import VcfWriter

    header = "##contig=<ID=chr1,length=100>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    target = tmp_path / "x.vcf.gz"
    with VcfWriter(target, header, index="tbi") as w:
        w.write("chr1\t1\t.\tA\tC\t.\t.\t.\n")
    old = target.read_bytes()
    seen = []

    def hook(step):
        seen.append((step, target.exists() and target.read_bytes() == old,
                     os.path.exists(f"{target}.tbi")))

    atomic.crash_hook = hook
    try:
        with VcfWriter(target, header, index="tbi") as w:
            w.write("chr1\t2\t.\tA\tC\t.\t.\t.\n")
    finally:
        atomic.crash_hook = None
    assert seen == [("closed", True, True), ("old-removed", True, False),
                    ("data-renamed", False, False), ("index-renamed", False, True)]
    with VcfWriter(target, header) as w:   # no index this time: the old .tbi must go
        w.write("chr1\t3\t.\tA\tC\t.\t.\t.\n")
    assert not os.path.exists(f"{target}.tbi")
