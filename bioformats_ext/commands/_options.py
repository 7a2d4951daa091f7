"""Option parsing in the UCSC style (``-name=value``, ``-flag``) shared by the subcommands.

UCSC tools (bedToBigBed, bigBedToBed, ...) take ``-option=value``; htslib tools take ``-c`` /
``-m 14``. Subcommands mirroring UCSC use :func:`parse_ucsc`; htslib-style ones use argparse.
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager
from typing import Any, BinaryIO, Callable, Iterator

from ..errors import BioformatsError


class UsageError(BioformatsError):
    """Bad command line (exit status 2, as argparse)."""


def wrong_arguments(usage: str) -> UsageError:
    """A one-line "wrong number of arguments" error quoting the ``usage:`` line of ``usage``."""
    lines = usage.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith("usage:"):
            rest = line.strip()[len("usage:"):].strip()
            if not rest and i + 1 < len(lines):
                rest = lines[i + 1].strip()
            return UsageError(f"wrong number of arguments; usage: {rest}\n{usage}")
    return UsageError(f"wrong number of arguments\n{usage}")


class ArgumentParser(argparse.ArgumentParser):
    """argparse with a one-line error (``prog: message (see -h)``), exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        print(f"{self.prog}: {message} (see {self.prog} -h)", file=sys.stderr)
        raise SystemExit(2)


def parse_ucsc(argv: list[str], options: dict[str, Callable[[str], Any] | None],
               usage: str) -> tuple[list[str], dict[str, Any]]:
    """Split ``argv`` into positionals and ``-name=value`` / ``-flag`` options.

    ``options`` maps a lower-case option name to a converter (``int``, ``str``) or ``None`` for a
    flag. Unknown options raise :class:`UsageError` with ``usage`` appended.
    """
    positional: list[str] = []
    values: dict[str, Any] = {}
    for arg in argv:
        if arg in ("-h", "-help", "--help"):
            print(usage)
            raise SystemExit(0)
        if arg.startswith("-") and len(arg) > 1 and not arg[1].isdigit():
            name, eq, raw = arg.lstrip("-").partition("=")
            key = name.lower()
            matches = [k for k in options if k.lower() == key]
            if not matches:
                raise UsageError(f"unknown option {arg!r}\n{usage}")
            key = matches[0]
            convert = options[key]
            if convert is None:
                if eq:
                    raise UsageError(f"option -{key} takes no value\n{usage}")
                values[key] = True
            else:
                if not eq:
                    raise UsageError(f"option -{key} needs a value (-{key}=...)\n{usage}")
                try:
                    value = convert(raw)
                except ValueError:
                    raise UsageError(f"bad value for -{key}: {raw!r}\n{usage}") from None
                if getattr(convert, "multi", False):
                    values.setdefault(key, []).append(value)
                else:
                    values[key] = value
        else:
            positional.append(arg)
    return positional, values


def progress(iterable, total: int | None = None, desc: str = "", unit: str = "rec"):
    """Wrap ``iterable`` in a tqdm bar when stderr is a terminal and tqdm is installed."""
    if not sys.stderr.isatty():
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, total=total, desc=desc, unit=unit, unit_scale=True, leave=False)


class _CountingReader:
    """A binary handle whose reads advance a progress bar by the bytes read."""

    def __init__(self, handle: BinaryIO, bar) -> None:
        self._handle = handle
        self.bar = bar

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self.bar.update(len(data))
        return data

    def __getattr__(self, name: str):
        return getattr(self._handle, name)


@contextmanager
def progress_bytes(handle: BinaryIO, desc: str = "") -> Iterator[Any]:
    """Yield ``handle``, wrapped so that reading it moves a byte-based tqdm bar (terminal only)."""
    if not sys.stderr.isatty():
        yield handle
        return
    try:
        from tqdm import tqdm
    except ImportError:
        yield handle
        return
    try:
        total = os.fstat(handle.fileno()).st_size or None
    except (AttributeError, OSError, ValueError):
        total = None
    with tqdm(total=total, desc=desc, unit="B", unit_scale=True, leave=False) as bar:
        yield _CountingReader(handle, bar)


@contextmanager
def progress_position(total: int, desc: str = "") -> Iterator["Callable[[int], None] | None"]:
    """Yield a callback ``update(position)`` driving a byte-based tqdm bar (terminal only),
    or None when there is no terminal / tqdm, so callers skip the calls entirely."""
    if not sys.stderr.isatty():
        yield None
        return
    try:
        from tqdm import tqdm
    except ImportError:
        yield None
        return
    with tqdm(total=total, desc=desc, unit="B", unit_scale=True, leave=False) as bar:
        def update(position: int) -> None:
            bar.update(position - bar.n)

        yield update
