"""Start-up stays cheap: the CLI and light commands do not import numpy / Biopython (issue 17).

Timing is measured by ``benchmarks/startup.py``; here we check the cause (what gets imported),
which does not depend on the machine's load.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEAVY = ("numpy", "Bio", "pysam", "zstandard", "pyarrow", "pandas")


def _modules_after(code: str) -> set[str]:
    env = {**os.environ, "PYTHONPATH": ROOT}
    probe = code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("code", [
    "import bioformats_ext.cli",
    "import bioformats_ext.commands.index",
    "from bioformats_ext.cli import main\n"
    "try:\n    main(['index', '--help'])\nexcept SystemExit:\n    pass",
])
def test_cli_start_imports_nothing_heavy(code):
    loaded = _modules_after(code)
    assert not [m for m in loaded if m.split(".")[0] in HEAVY]
    assert "bioformats_ext.bam.alignment_file" not in loaded


def test_index_command_loads_only_the_indexer():
    loaded = _modules_after("import bioformats_ext.bam.index")
    assert "numpy" in loaded  # sanity: the probe sees real imports
    assert not {"bioformats_ext.bam.alignment_file", "bioformats_ext.bam.writer", "Bio"} & loaded


@pytest.mark.parametrize("package", ["bioformats_ext.bam", "bioformats_ext.tabix", "bioformats_ext.bgzf",
                                     "bioformats_ext.coindex", "bioformats_ext.index"])
def test_lazy_packages_export_every_public_name(package):
    module = importlib.import_module(package)
    for name in module.__all__:
        value = getattr(module, name)
        assert getattr(value, "__name__", name) in (name, "open") or not callable(value)
    assert set(module.__all__) <= set(dir(module))
    with pytest.raises(AttributeError):
        getattr(module, "no_such_name")
    namespace: dict = {}
    exec(f"from {package} import *", namespace)
    assert set(module.__all__) <= set(namespace)


def test_help_of_a_command_loads_no_codec_or_reader():
    """``CMD --help`` parses options and exits: the BGZF reader, codecs and tabix presets (and
    the dataclasses/inspect they pull in) wait until a command really runs."""
    loaded = _modules_after("from bioformats_ext.cli import main\n"
                            "try:\n    main(['index', '--help'])\nexcept SystemExit:\n    pass")
    assert "bioformats_ext.bgzf.strict" in loaded  # sanity: the CLI did run
    assert not {"bioformats_ext.bgzf.reader", "bioformats_ext.codec",
                "bioformats_ext.index.tabix_conf", "dataclasses"} & loaded
