"""Arrow / pandas tables built from columnar decoders (optional extra ``frames``).

Readers decode a batch of records into numpy columns and offset buffers; this package turns
those into Arrow arrays without creating a Python object per record, so ``to_pandas`` on a
million records costs a few C passes. pyarrow is imported lazily: the rest of the package works
without it, and asking for a table without it names the extra to install.
"""

from __future__ import annotations

from .arrow import (arrow_table, concat_string_arrays, dictionary_column, require_pyarrow,
                    select_columns, split_fields, string_array_from_spans, to_pandas)
from .autosql import arrow_type, autosql_column, autosql_schema

__all__ = ["require_pyarrow", "string_array_from_spans", "concat_string_arrays", "split_fields",
           "dictionary_column", "arrow_table", "select_columns", "to_pandas",
           "arrow_type", "autosql_column", "autosql_schema"]
