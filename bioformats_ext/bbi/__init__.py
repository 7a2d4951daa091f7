"""BBI (bigBed) internals: byte layouts, header, autoSql, B+ tree, R-tree, blocks, zoom summaries.

Nothing here imports :mod:`bioformats_ext.align` or the CLI; the reader yields plain tuples and the
adapters build Biopython objects on top.
"""
