"""Plugin registration: entry points -> Bio.Align._modules, lazily and idempotently."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run_python(code: str, extra_path: str | None = None) -> str:
    env_code = ""
    if extra_path:
        env_code = f"import sys; sys.path.insert(0, {extra_path!r})\n"
    out = subprocess.run([sys.executable, "-c", env_code + textwrap.dedent(code)],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_import_is_cheap_and_registers_when_bio_align_arrives():
    out = run_python("""
        import sys
        import bioformats_ext
        assert 'Bio.Align' not in sys.modules, 'import bioformats_ext must not import Bio.Align'
        assert 'numpy' not in sys.modules
        from Bio import Align
        print(repr(Align._modules['bigbed']))
    """)
    assert "bioformats_ext.align.bigbed" in out


def test_registers_when_bio_align_already_imported():
    out = run_python("""
        from Bio import Align
        import bioformats_ext
        print(repr(Align._modules['bigbed']))
    """)
    assert "bioformats_ext.align.bigbed" in out


def test_registered_formats_lists_our_modules():
    import bioformats_ext

    formats = bioformats_ext.registered_formats()
    assert formats["bigbed"] == "bioformats_ext.align.bigbed"


def test_install_is_idempotent():
    from Bio import Align

    import bioformats_ext.align.registry as registry

    registry.install()
    # Bio.Align._modules is Biopython's format table, the seam install() writes to (Biopython
    # has no public lookup); the assertion is on what Biopython will dispatch to.
    first = Align._modules["bigbed"]
    registry.install()
    registry.install_into(Align)
    assert Align._modules["bigbed"] is first


def test_other_distributions_in_the_group_are_registered(tmp_path):
    # A fake installed distribution declaring a format in our entry-point group.
    dist = tmp_path / "fakefmt-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fakefmt\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[bioformats_ext.align_formats]\nFakeFmt = fakefmt_module\n")
    (tmp_path / "fakefmt_module.py").write_text(textwrap.dedent("""
        from Bio.Align import interfaces
        class AlignmentIterator(interfaces.AlignmentIterator):
            fmt = "fakefmt"
            def _read_header(self, stream):
                pass
            def _read_next_alignment(self, stream):
                return None
    """))
    (tmp_path / "empty.txt").write_text("")
    out = run_python(f"""
        import bioformats_ext
        from Bio import Align
        print(bioformats_ext.registered_formats()['fakefmt'])
        alignments = Align.parse({str(tmp_path / 'empty.txt')!r}, 'FAKEFMT')
        print(type(alignments).__module__, len(list(alignments)))
    """, extra_path=str(tmp_path))
    assert out.splitlines() == ["fakefmt_module", "fakefmt_module 0"]
