"""Bio.Align format modules (installed into Biopython's format table on ``import bioformats_ext``)."""
