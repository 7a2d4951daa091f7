"""The demo runs on the bundled data and shows real results."""

from __future__ import annotations

import subprocess
import sys

from bioformats_ext.cli import main
from bioformats_ext.commands.demo import data_path


def test_demo_runs(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "uc003sir.1" in out and "covered=" in out
    assert "['name4', 'name5']" in out        # zero-length item found at the boundary
    assert "bioformats_ext.align.bigbed.AlignmentIterator" in out
    assert "10 alignments -> ['genes.bam', 'genes.bam.bai']" in out
    assert "['uc003sir.1', 'uc003sis.1', 'uc003sit.1']" in out   # BAM region query
    assert "40 records -> ['calls.vcf.gz', 'calls.vcf.gz.tbi']" in out
    assert "chr7:298414 del17" in out         # reached only through INFO/END
    assert "Done." in out


def test_bundled_data_present():
    for name in ("bigbedtest.bb", "genes.bb", "example.vcf", "PROVENANCE.md"):
        assert data_path(name).exists()


def test_demo_console_script():
    result = subprocess.run([sys.executable, "-m", "bioformats_ext.cli", "demo"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Done." in result.stdout
