"""fsspec sources: S3 through s3fs against moto's server on 127.0.0.1, and memory://."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from bioformats_ext.errors import RemoteError, TruncatedFileError
from bioformats_ext.io import open_source

DATA = os.urandom(700_001)
BIGBED = Path(__file__).parent / "data" / "ucsc-bigbed" / "bed12.bb"
RANGES = [(0, 10), (123_456, 70_000), (699_990, 11), (350_000, 1), (65_530, 20)]


class RequestLog:
    """WSGI middleware: remember (method, path, Range) of every request moto serves."""

    def __init__(self, app):
        self.app = app
        self.entries: list[tuple[str, str, str | None]] = []

    def __call__(self, environ, start_response):
        self.entries.append(
            (environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), environ.get("HTTP_RANGE"))
        )
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def s3():
    pytest.importorskip("s3fs")
    boto3 = pytest.importorskip("boto3")
    from moto.server import ThreadedMotoServer

    with pytest.MonkeyPatch.context() as mp:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            mp.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            mp.delenv(name, raising=False)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            assert host == "127.0.0.1"
            endpoint = f"http://127.0.0.1:{port}"
            log = RequestLog(server._server.app)
            server._server.app = log
            client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
            client.create_bucket(Bucket="bucket")
            client.put_object(Bucket="bucket", Key="dir/data.bin", Body=DATA)
            client.put_object(Bucket="bucket", Key="empty.bin", Body=b"")
            client.put_object(Bucket="bucket", Key="bed12.bb", Body=BIGBED.read_bytes())
            yield endpoint, log
        finally:
            server.stop()


def s3_options(endpoint: str) -> dict:
    return {"storage_options": {"endpoint_url": endpoint, "key": "testing", "secret": "testing",
                                "skip_instance_cache": True, "use_listings_cache": False}}


def test_s3_equal_to_local(s3, tmp_path):
    endpoint, log = s3
    path = tmp_path / "data.bin"
    path.write_bytes(DATA)
    local = open_source(path)
    log.entries.clear()
    with open_source("s3://bucket/dir/data.bin", block_size=16384, **s3_options(endpoint)) as remote:
        assert remote.size == len(DATA)
        assert remote.stats.requests == 1  # HEAD
        assert remote.read_many(RANGES) == local.read_many(RANGES)
        cold = remote.stats.requests
        assert remote.read_many(RANGES) == local.read_many(RANGES)
        assert remote.stats.requests == cold  # cached
        for offset in range(0, len(DATA), 77_777):
            assert remote.read_upto(offset, 30_000) == local.read_upto(offset, 30_000)
        object_requests = [e for e in log.entries if e[1].endswith("/dir/data.bin")]
        assert len(object_requests) == remote.stats.requests
        assert all(e[2] and e[2].startswith("bytes=") for e in object_requests if e[0] == "GET")
    local.close()


def test_s3_coalesced_read_many_is_one_get(s3):
    endpoint, log = s3
    with open_source("s3://bucket/dir/data.bin", block_size=4096, merge_gap=8192,
                     **s3_options(endpoint)) as remote:
        log.entries.clear()
        before = remote.stats.requests
        wanted = [(400_000, 100), (400_050, 5000), (405_000, 3000), (409_000, 10)]
        assert remote.read_many(wanted) == [DATA[o : o + n] for o, n in wanted]
        assert remote.stats.requests - before == 1
        gets = [e for e in log.entries if e[0] == "GET"]
        assert len(gets) == 1


def test_s3_empty_and_missing(s3):
    endpoint, _ = s3
    with open_source("s3://bucket/empty.bin", **s3_options(endpoint)) as remote:
        assert remote.size == 0
        with pytest.raises(TruncatedFileError):
            remote.read(0, 1)
    with pytest.raises(RemoteError, match="FileNotFoundError") as info:
        open_source("s3://bucket/nope.bin", retries=1, backoff=0.01, **s3_options(endpoint))
    assert info.value.status == 404


def test_memory_filesystem():
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    fs.pipe("/bfx-test/data.bin", DATA)
    try:
        with open_source("memory://bfx-test/data.bin", block_size=1000) as remote:
            assert remote.read_many(RANGES) == [DATA[o : o + n] for o, n in RANGES]
            assert remote.read(699_000, 1001) == DATA[699_000:]
        with pytest.raises(TypeError):
            open_source("memory://bfx-test/data.bin", headers={"a": "b"})
    finally:
        fs.rm("/bfx-test", recursive=True)


def test_without_fsspec_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "fsspec", None)
    with pytest.raises(RemoteError, match="needs fsspec"):
        open_source("s3://bucket/x.bb")


def test_bigbed_on_s3(s3):
    bigbed = pytest.importorskip("bioformats_ext.bigbed")
    endpoint, _ = s3
    with bigbed.open(BIGBED) as local:
        expected = list(local.records())
        chrom, size = next(iter(local.chroms.items()))
        region = list(local.records(chrom, 0, size))
    source = open_source("s3://bucket/bed12.bb", **s3_options(endpoint))
    with bigbed.open(source) as remote:
        assert source.stats.requests <= 2  # HEAD + first block
        opened = source.stats.requests
        assert list(remote.records(chrom, 0, size)) == region
        assert source.stats.requests - opened <= 3
        assert list(remote.records()) == expected


def test_fsspec_http_backend_against_loopback():
    pytest.importorskip("aiohttp")
    from loopback import RangeServer

    with RangeServer({"d.bin": DATA}) as server:
        with open_source(server.url("d.bin"), backend="fsspec", block_size=4096,
                         merge_gap=0) as remote:
            assert remote.size == len(DATA)
            assert remote.read_many(RANGES) == [DATA[o : o + n] for o, n in RANGES]
            assert remote.stats.requests == len(server.requests())
            assert all(r.range for r in server.requests() if r.method == "GET")
