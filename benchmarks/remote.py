"""Remote region queries: requests and time per query over loopback HTTP with injected latency.

Serves a 200,000-record bigBed from ``RangeServer`` (tests/loopback.py) on 127.0.0.1
with a fixed delay per request (default 20 ms, a same-continent round trip) and runs 100 random
region queries with ``bioformats_ext.bigbed``:

* local       the file on disk (the reference; also pyBigWig on the same file when installed)
* http warm   one open, then the queries in sequence (R-tree nodes and blocks stay cached)
* http cold   a fresh source and reader per query (every query pays open + tree + data)
* http again  the same queries once more on the warm source (should cost 0 requests)

"wait floor" is requests x latency: the time a client spends just waiting on round trips.

Request counts come from the server's log and from ``source.stats`` (checked to agree).  With
``--raw`` (or when the bigBed reader is not importable) it benchmarks raw ``read_many`` patterns
instead.  ``--quick`` runs a small file and 20 queries.

    python benchmarks/remote.py [--quick] [--records N] [--queries N] [--latency SECONDS]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"
sys.path.insert(0, str(HERE))

from bioformats_ext.io import open_source  # noqa: E402
sys.path.insert(0, str(HERE.parent / "tests"))  # the test-only loopback server
from loopback import RangeServer  # noqa: E402


# -- data ----------------------------------------------------------------------------------------


def make_bigbed(records: int) -> Path:
    """The benchmark bigBed: the bigBed helper's cached generator when present, else our own
    BED12 written with pybigtools (cached under benchmarks/_work/)."""
    try:
        import bigbed_data  # benchmarks/bigbed_data.py (Biopython-written, UCSC-like layout)

        return Path(bigbed_data.cached_bigbed(records, seed=1))
    except ImportError:
        pass
    WORK.mkdir(exist_ok=True)
    path = WORK / f"remote_bench_{records}.bb"
    if path.exists():
        return path
    import pybigtools

    rng = random.Random(7)
    chroms = {f"chr{i}": 250_000_000 - i * 8_000_000 for i in range(1, 11)}
    per_chrom = records // len(chroms)
    rows = []
    for index, (chrom, length) in enumerate(chroms.items()):
        n = per_chrom + (records - per_chrom * len(chroms) if index == 0 else 0)
        for i, start in enumerate(sorted(rng.randrange(0, length - 20_000) for _ in range(n))):
            width = rng.randrange(200, 20_000)
            exons = rng.randrange(1, 6)
            sizes = ",".join(str(max(1, width // (2 * exons))) for _ in range(exons)) + ","
            starts = ",".join(str(k * (width // exons)) for k in range(exons)) + ","
            rows.append((chrom, start, start + width,
                         f"item{index}_{i}\t{rng.randrange(1000)}\t{'+-'[i % 2]}\t{start}\t"
                         f"{start + width}\t0\t{exons}\t{sizes}\t{starts}"))
    tmp = path.with_name(f"{path.stem}.tmp-{os.getpid()}.bb")
    pybigtools.open(str(tmp), "w").write(chroms, iter(rows))
    os.replace(tmp, path)
    return path


def random_regions(chroms: dict[str, int], count: int, seed: int = 11) -> list[tuple[str, int, int]]:
    rng = random.Random(seed)
    names = sorted(chroms)
    regions = []
    for _ in range(count):
        chrom = rng.choice(names)
        width = rng.choice([1_000, 10_000, 100_000, 1_000_000])
        start = rng.randrange(0, max(1, chroms[chrom] - width))
        regions.append((chrom, start, start + width))
    return regions


# -- measurements --------------------------------------------------------------------------------


def run_queries(bb, regions) -> tuple[list[int], list[list], float]:
    source = bb.source
    per_query = []
    results = []
    t0 = time.perf_counter()
    for chrom, start, end in regions:
        before = source.stats.requests
        results.append(list(bb.records(chrom, start, end)))
        per_query.append(source.stats.requests - before)
    return per_query, results, time.perf_counter() - t0


def row(name, open_requests, per_query, seconds, n_records, baseline, floor=None):
    """One table row; ``floor`` is the pure waiting time (all requests x injected latency)."""
    mean = statistics.mean(per_query) if per_query else 0.0
    return (name, str(open_requests), f"{mean:.2f}", str(max(per_query, default=0)),
            str(sum(per_query)), f"{seconds:.3f}", "-" if floor is None else f"{floor:.2f}",
            f"{seconds / baseline:.1f}x", str(n_records))


def bench_bigbed(args) -> list[tuple]:
    from bioformats_ext import bigbed

    path = make_bigbed(args.records)
    data = path.read_bytes()
    rows = []
    with bigbed.open(path) as bb:
        chroms = dict(bb.chroms)
        n_items = len(bb)
        regions = random_regions(chroms, args.queries)
        t0 = time.perf_counter()
        local_open = bb.source.stats.requests
        per_query, expected, seconds = run_queries(bb, regions)
        local_seconds = seconds + 0.0
    found = sum(map(len, expected))
    print(f"# {path.name}: {n_items} records, {len(data):,} bytes; {len(regions)} queries "
          f"returning {found} records; latency {args.latency * 1000:.0f} ms per request",
          file=sys.stderr)
    base = max(local_seconds, 1e-9)
    rows.append(row("local (bioformats_ext)", local_open, per_query, local_seconds, found, base))
    try:
        import pyBigWig

        bw = pyBigWig.open(str(path))
        t0 = time.perf_counter()
        got = 0
        for chrom, start, end in regions:
            got += len(bw.entries(chrom, start, end) or [])
        seconds = time.perf_counter() - t0
        bw.close()
        rows.append(("local (pyBigWig)", "-", "-", "-", "-", f"{seconds:.3f}", "-",
                     f"{seconds / base:.1f}x", str(got)))
    except ImportError:
        pass

    with RangeServer({"bench.bb": data}, latency=args.latency) as server:
        url = server.url("bench.bb")
        # warm: one source, queries in sequence, then the same queries again
        t0 = time.perf_counter()
        bb = bigbed.open(open_source(url))
        open_seconds = time.perf_counter() - t0
        open_requests = bb.source.stats.requests
        per_query, results, seconds = run_queries(bb, regions)
        assert results == expected, "remote results differ from local"
        rows.append(row("http warm", open_requests, per_query, seconds + open_seconds,
                        sum(map(len, results)), base,
                        (open_requests + sum(per_query)) * args.latency))
        per_query, results, seconds = run_queries(bb, regions)
        assert results == expected
        rows.append(row("http again (same queries)", "-", per_query, seconds,
                        sum(map(len, results)), base, sum(per_query) * args.latency))
        assert bb.source.stats.requests == len(server.requests()), "stats disagree with server log"
        bb.close()
        # cold: a fresh reader per query
        server.clear_log()
        opens, per_query, total, found_cold = [], [], 0.0, 0
        for region in regions:
            t0 = time.perf_counter()
            cold = bigbed.open(open_source(url))
            opens.append(cold.source.stats.requests)
            q, results, _ = run_queries(cold, [region])
            total += time.perf_counter() - t0
            per_query.extend(q)
            found_cold += len(results[0])
            cold.close()
        assert found_cold == found
        assert sum(opens) + sum(per_query) == len(server.requests())
        rows.append(row(f"http cold (open {max(opens)} + query)", max(opens), per_query, total,
                        found_cold, base, (sum(opens) + sum(per_query)) * args.latency))
    return rows


def bench_raw(args) -> list[tuple]:
    """Without the bigBed reader: typical index-then-data patterns through read_many."""
    size = 8_000_000 if args.quick else 64_000_000
    data = random.Random(3).randbytes(size)
    rng = random.Random(5)
    patterns = []
    for _ in range(args.queries):
        node = rng.randrange(0, size - 200_000)
        data_start = rng.randrange(0, size - 400_000)
        blocks = [(data_start + k * 9000, 8000) for k in range(rng.randrange(1, 30))]
        patterns.append([[(0, 64), (node, 4096)], blocks])
    WORK.mkdir(exist_ok=True)
    local_path = WORK / f"remote_raw_{size}.bin"
    if not local_path.exists() or local_path.stat().st_size != size:
        local_path.write_bytes(data)
    rows = []
    base = None
    with RangeServer({"raw.bin": data}, latency=args.latency) as server:
        for name, target, options in (
            ("local file", local_path, {}),
            ("http, 64 KiB blocks", None, {}),
            ("http, no cache/coalescing, 1 conn", None,
             {"block_size": 512, "cache_size": 0, "merge_gap": 0, "max_readahead": 0,
              "max_connections": 1}),
        ):
            server.clear_log()
            src = open_source(target if target is not None else server.url("raw.bin"), **options)
            opened = src.stats.requests
            per_query = []
            t0 = time.perf_counter()
            for steps in patterns:
                before = src.stats.requests
                for ranges in steps:
                    got = src.read_many(ranges)
                    assert got == [data[o : o + n] for o, n in ranges]
                per_query.append(src.stats.requests - before)
            seconds = time.perf_counter() - t0
            base = base or max(seconds, 1e-9)
            rows.append(row(name, opened, per_query, seconds, 0, base,
                            None if target is not None else
                            (opened + sum(per_query)) * args.latency))
            src.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small file, 20 queries")
    parser.add_argument("--records", type=int, default=None)
    parser.add_argument("--queries", type=int, default=None)
    parser.add_argument("--latency", type=float, default=0.020, help="seconds per request")
    parser.add_argument("--raw", action="store_true", help="benchmark read_many patterns only")
    args = parser.parse_args(argv)
    args.records = args.records or (20_000 if args.quick else 200_000)
    args.queries = args.queries or (20 if args.quick else 100)
    rows = None
    if not args.raw:
        try:
            rows = bench_bigbed(args)
        except ImportError as exc:
            print(f"# bigBed reader unavailable ({exc}); benchmarking raw read_many patterns",
                  file=sys.stderr)
    if rows is None:
        rows = bench_raw(args)
    header = ("mode", "open req", "req/query", "max", "total req", "seconds", "wait floor",
              "vs local", "records")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
