"""Every subcommand in ``cli.COMMANDS`` meets user errors with ONE line on stderr, no traceback.

The command list is read from ``cli.COMMANDS`` so subcommands added later are covered without
editing this file: each is run with a missing input file, a directory as input, a text file of
the wrong kind, and an unknown option.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bioformats_ext import cli

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bioformats_ext" / "data"
UCSC = Path(__file__).parent / "data" / "ucsc-bigbed"
COMMANDS = sorted(cli.COMMANDS)
MISSING = "no-such-input.bb"
# argument shapes that cover every subcommand's positionals (input first)
SHAPES = [["{x}"], ["{x}", "out.x"], ["{x}", "chr1", "0", "100", "1"], ["{x}", "{x}", "out.x"],
          ["-d", "{x}"], ["-c", "{x}"]]


def run(capsys, argv):
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as exc:  # argparse usage errors and -h
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()  # capsysbinary: commands may write binary data
    return code, out.decode(errors="replace"), err.decode(errors="replace")


def assert_one_line(code, err, argv):
    assert code in (1, 2), (argv, code, err)  # 2: usage error (argparse), 1: bad input
    assert "Traceback" not in err, (argv, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, (argv, err)
    return lines[0]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("name", [c for c in COMMANDS if c != "demo"])
def test_missing_input_is_one_line_naming_the_file(name, capsysbinary, workdir):
    named = 0
    for shape in SHAPES:
        argv = [name, *(a.format(x=MISSING) for a in shape)]
        code, _, err = run(capsysbinary, argv)
        if code == 0:
            continue  # e.g. -h-like shapes; nothing to report
        line = assert_one_line(code, err, argv)
        assert line.startswith(f"bioformats-ext {name}") or line.startswith(f"bioformats-ext {name} "), line
        if code == 1 and MISSING in line:
            named += 1
        assert sorted(os.listdir(workdir)) == [], (argv, os.listdir(workdir))  # no partial output
    assert named, f"{name}: no argument shape reported the missing file {MISSING}"


@pytest.mark.parametrize("name", [c for c in COMMANDS if c != "demo"])
def test_directory_and_wrong_content_inputs(name, capsysbinary, workdir):
    (workdir / "adir").mkdir()
    for bad in ("adir", "garbage.txt"):
        for shape in SHAPES:
            (workdir / "garbage.txt").write_bytes(b"\x00\x01 not a genomics file\n" * 3)
            argv = [name, *(a.format(x=bad) for a in shape)]
            code, _, err = run(capsysbinary, argv)
            if code != 0:
                assert_one_line(code, err, argv)
            for leftover in workdir.iterdir():
                assert ".tmp-" not in leftover.name, (argv, leftover)


@pytest.mark.parametrize("name", COMMANDS)
def test_unknown_option_is_usage_error(name, capsysbinary, workdir):
    argv = [name, "--no-such-option", MISSING, "out.x"]
    code, _, err = run(capsysbinary, argv)
    line = assert_one_line(code, err, argv)
    assert code == 2 and "no-such-option" in line, (code, line)


@pytest.mark.parametrize("name", COMMANDS)
def test_help_prints_usage_and_exits_0(name, capsysbinary, workdir):
    code, out, err = run(capsysbinary, [name, "-h"])
    assert code == 0 and "usage" in out.lower() and not err
    assert sorted(os.listdir(workdir)) == []  # -h never runs the command


BAD_VALUES = {
    "bigbedtobed": [
        [DATA / "genes.bb", "stdout", "-chrom=chr7", "-start=520000", "-end=500000"],
        [DATA / "genes.bb", "stdout", "-chrom=chr7", "-start=abc"],
        [DATA / "genes.bb", "stdout", "-start=-5", "-chrom=chr7"],
        [DATA / "genes.bb", "stdout", "-header", "-tsv"],
        [DATA / "genes.bb", "stdout", "-range=chr7"],
    ],
    "bigbedsummary": [
        [DATA / "genes.bb", "chr7", "100", "0", "1"],
        [DATA / "genes.bb", "chr7", "0", "100", "zero"],
        [DATA / "genes.bb", "chr7", "0", "100", "0"],
        [DATA / "genes.bb", "chr7", "0", "100", "1", "-type=median"],
    ],
    "bedtobigbed": [
        ["-type=bed12", UCSC / "bed6.bed", UCSC / "hg38.chrom.sizes", "out.bb"],
        ["-type=bedX", UCSC / "bed6.bed", UCSC / "hg38.chrom.sizes", "out.bb"],
        ["-blockSize=x", UCSC / "bed6.bed", UCSC / "hg38.chrom.sizes", "out.bb"],
        [UCSC / "bed6.bed", UCSC / "bed6.bed", "out.bb"],  # BED given as chrom.sizes
    ],
    "bigbednameditems": [[DATA / "genes.bb", "x", "stdout", "-field=nosuch"]],
    "index": [["-m", "99", DATA / "genes.bb"], [DATA / "genes.bb"]],
    "tabix": [["-p", "nosuch", DATA / "example.vcf"], [DATA / "example.vcf"],
              ["-p", "vcf", DATA / "genes.bb"]],
    "bgzip": [["-l", "99", "-c", DATA / "example.vcf"], ["-d", "-c", DATA / "example.vcf"],
              ["-b", "x", "-c", DATA / "example.vcf"]],
    "bgzip2": [["-l", "x", DATA / "example.vcf"], ["-d", "-c", DATA / "genes.bb"]],
}


@pytest.mark.parametrize("name", sorted(BAD_VALUES))
def test_bad_option_values_and_wrong_files(name, capsysbinary, workdir):
    if name not in cli.COMMANDS:
        pytest.skip(f"{name} not in this build")
    for argv in BAD_VALUES[name]:
        code, _, err = run(capsysbinary, [name, *argv])
        assert_one_line(code, err, argv)
    assert not [p for p in os.listdir(workdir) if p != "adir"]


def test_reversed_coordinates_messages(capsysbinary, workdir):
    code, _, err = run(capsysbinary, ["bigbedtobed", DATA / "genes.bb", "stdout", "-chrom=chr7",
                                "-start=520000", "-end=500000"])
    assert code == 1 and "start=520000 > end=500000" in err
    code, _, err = run(capsysbinary, ["bigbedsummary", DATA / "genes.bb", "chr7", "100", "0", "1"])
    assert code == 1 and "chr7:100-0" in err


def test_bed12_type_on_bed6_names_file_and_line_not_autosql(capsysbinary, workdir):
    code, _, err = run(capsysbinary, ["bedtobigbed", "-type=bed12", UCSC / "bed6.bed",
                                UCSC / "hg38.chrom.sizes", "out.bb"])
    line = assert_one_line(code, err, "bedtobigbed")
    assert "bed6.bed" in line and "line 1" in line and "bed12" in line and "6" in line
    assert "autoSql" not in line
    assert not (workdir / "out.bb").exists()


def _subprocess(args, env_extra=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("BIOFORMATS_EXT_DEBUG", None)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "bioformats_ext.cli", *args],
                          capture_output=True, text=True, env=env)


def test_debug_flag_and_environment_show_the_traceback(tmp_path):
    missing = str(tmp_path / MISSING)
    plain = _subprocess(["bigbedtobed", missing, "stdout"])
    assert plain.returncode == 1 and "Traceback" not in plain.stderr
    assert plain.stderr.strip() == f"bioformats-ext bigbedtobed: {missing}: No such file or directory"
    debug = _subprocess(["--debug", "bigbedtobed", missing, "stdout"])
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "FileNotFoundError" in debug.stderr
    env = _subprocess(["bigbedtobed", missing, "stdout"], {"BIOFORMATS_EXT_DEBUG": "1"})
    assert "Traceback" in env.stderr


def test_demo_help_does_not_run_the_demo(capsysbinary):
    code, out, _ = run(capsysbinary, ["demo", "-h"])
    assert code == 0 and "usage: bioformats-ext demo" in out and "==" not in out
