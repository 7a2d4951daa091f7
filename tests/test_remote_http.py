"""HTTP byte sources against real servers on 127.0.0.1: correctness, request counts, faults.

Two servers: werkzeug's own Range implementation (via pytest-httpserver; independent of ours) for
plain correctness, and our scripted :class:`RangeServer` for request logs and fault injection.
Every test compares bytes with a local read of the same file.
"""

from __future__ import annotations

import os
import threading

import pytest

from bioformats_ext.errors import RemoteError, TruncatedFileError
from bioformats_ext.io import open_source
from bioformats_ext.io.cache import CachedSource
from loopback import RangeServer

DATA = os.urandom(1_000_003)
SMALL = os.urandom(5000)
FAST = {"retries": 3, "backoff": 0.01, "max_backoff": 0.05, "timeout": 5}


@pytest.fixture
def local(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(DATA)
    with open_source(path) as source:
        yield source


@pytest.fixture
def server():
    with RangeServer({"data.bin": DATA, "small.bin": SMALL, "empty.bin": b""}) as srv:
        yield srv


@pytest.fixture
def other_server():
    with RangeServer({"moved/data.bin": DATA}) as srv:
        yield srv


def gets(srv: RangeServer) -> list[str | None]:
    return [r.range for r in srv.requests("GET")]


RANGES = [(0, 10), (123_456, 70_000), (999_990, 13), (500_000, 1), (65_530, 20), (300_000, 0)]


# -- werkzeug's independent Range implementation ----------------------------------------------


@pytest.fixture
def werkzeug_server():
    from pytest_httpserver import HTTPServer
    from werkzeug import Response

    def handler(request):
        response = Response(DATA, mimetype="application/octet-stream")
        return response.make_conditional(request, accept_ranges=True, complete_length=len(DATA))

    srv = HTTPServer(host="127.0.0.1", port=0)
    srv.expect_request("/data.bin").respond_with_handler(handler)
    srv.start()
    try:
        yield srv
    finally:
        srv.clear()
        srv.stop()


def test_werkzeug_server_equal_to_local(werkzeug_server, local):
    url = werkzeug_server.url_for("/data.bin")
    with open_source(url, block_size=16384) as remote:
        assert remote.size == local.size
        assert remote.read_many(RANGES) == local.read_many(RANGES)
        for offset in range(0, len(DATA), 97_001):
            assert remote.read_upto(offset, 40_000) == local.read_upto(offset, 40_000)
        assert remote.stats.requests == len(werkzeug_server.log)
        ranges = [req.headers.get("Range") for req, _ in werkzeug_server.log]
        assert all(r and r.startswith("bytes=") for r in ranges)


# -- request accounting ------------------------------------------------------------------------


def test_open_is_one_request_and_reads_match(server, local):
    with open_source(server.url("data.bin"), max_connections=1) as remote:
        assert isinstance(remote, CachedSource)
        assert remote.size == len(DATA)
        assert gets(server) == ["bytes=0-65535"] and remote.stats.requests == 1
        assert remote.read(0, 4000) == DATA[:4000]  # inside the prefetched block
        assert remote.stats.requests == 1
        assert remote.read_many(RANGES) == local.read_many(RANGES)
        cold = remote.stats.requests
        assert cold == len(server.requests())
        assert remote.read_many(RANGES) == local.read_many(RANGES)  # warm: no requests
        assert remote.stats.requests == cold == len(server.requests())
        assert remote.stats.bytes_fetched >= sum(n for _, n in RANGES)
    # one keep-alive connection served everything
    assert len({r.client_port for r in server.requests()}) == 1


def test_read_many_coalesces_into_one_request(server):
    with open_source(server.url("data.bin"), block_size=4096, merge_gap=8192) as remote:
        server.clear_log()
        wanted = [(400_000, 100), (400_050, 5000), (405_000, 3000), (409_000, 10), (415_000, 1)]
        assert remote.read_many(wanted) == [DATA[o : o + n] for o, n in wanted]
        assert gets(server) == [f"bytes={397_312}-{(415_000 // 4096 + 1) * 4096 - 1}"]
        assert remote.stats.requests == 2


def test_options_flow_through_open_source(server):
    with open_source(server.url("data.bin"), block_size=1000, cache_size=0,
                     headers={"X-Test": "yes"}, **FAST) as remote:
        assert gets(server) == ["bytes=0-999"]
        remote.read(5000, 10)
        remote.read(5000, 10)
        assert remote.stats.requests == 3 == len(server.requests())  # cache disabled
        assert all(r.headers.get("X-Test") == "yes" for r in server.requests())
    with pytest.raises(TypeError):
        open_source(server.url("data.bin"), no_such_option=1)


def test_basic_auth_from_url(server):
    url = server.url("small.bin").replace("http://", "http://user:p%40ss@")
    with open_source(url) as remote:
        assert remote.read(0, 10) == SMALL[:10]
        assert "***" in remote.name and "p%40ss" not in remote.name
    import base64

    expected = "Basic " + base64.b64encode(b"user:p@ss").decode()
    assert server.requests()[0].headers["Authorization"] == expected


def test_empty_and_tiny_files(server):
    with open_source(server.url("empty.bin")) as remote:
        assert remote.size == 0 and remote.read(0, 0) == b""
        with pytest.raises(TruncatedFileError):
            remote.read(0, 1)
    with open_source(server.url("small.bin")) as remote:
        assert remote.size == len(SMALL) and remote.read(0, len(SMALL)) == SMALL
        assert remote.stats.requests == 1


def test_concurrent_readers_share_one_source(server, local):
    remote = open_source(server.url("data.bin"), block_size=8192)
    errors = []

    def work(seed):
        try:
            for i in range(30):
                offset = (seed * 7919 + i * 104_729) % (len(DATA) - 5000)
                assert remote.read(offset, 5000) == local.read(offset, 5000)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    remote.close()
    assert not errors


def test_idle_connection_closed_by_server_is_reopened():
    with RangeServer({"data.bin": DATA}) as srv:
        srv.fail("drop")  # the first response's connection is then closed, as an idle timeout does
        with open_source(srv.url("data.bin"), **FAST) as remote:
            assert remote.read(500_000, 10) == DATA[500_000:500_010]
            assert remote.stats.retries == 0
            assert len({r.client_port for r in srv.requests()}) == 2


# -- faults ------------------------------------------------------------------------------------


def test_500s_then_success(server, local):
    with open_source(server.url("data.bin"), **FAST) as remote:
        server.fail("500", "503")
        assert remote.read(700_000, 1000) == local.read(700_000, 1000)
        assert [r.status for r in server.requests()] == [206, 500, 503, 206]
        assert remote.stats.requests == 4 and remote.stats.retries == 2


def test_persistent_5xx_is_a_remote_error_after_bounded_retries(server):
    slept: list[float] = []
    with open_source(server.url("data.bin"), **FAST, sleep=slept.append) as remote:
        server.fail(*["502"] * 10)
        with pytest.raises(RemoteError, match="4 attempt"):
            remote.read(700_000, 1000)
        assert slept == [0.01, 0.02, 0.04]  # exponential backoff, no sleep after the last try
        assert len(server.requests()) == 1 + 4  # open + first try + 3 retries
        assert remote.stats.requests == 5


def test_total_retry_time_is_bounded(server):
    now = [0.0]  # a fake clock that only the retry sleeps advance

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds
    slept: list[float] = []
    with open_source(server.url("data.bin"), retries=50, backoff=0.1, max_backoff=0.4,
                     max_retry_time=0.5, clock=lambda: now[0], sleep=sleep) as remote:
        server.fail(*["500"] * 50)
        with pytest.raises(RemoteError):
            remote.read(700_000, 1000)
    # 0.1 + 0.2 fit the 0.5 s budget; the next delay (0.4) would end past it, so the error comes
    # instead of a sleep: three attempts after the open request, not fifty
    assert slept == [0.1, 0.2]
    assert len(server.requests()) == 1 + 3


def test_connection_reset_is_retried(server, local):
    with open_source(server.url("data.bin"), **FAST) as remote:
        server.fail("reset", "reset")
        assert remote.read(800_000, 100) == local.read(800_000, 100)
        assert remote.stats.requests == len(server.requests()) == 4


def test_truncated_body_resumes_where_it_stopped(server, local):
    with open_source(server.url("data.bin"), block_size=65536, **FAST) as remote:
        server.fail("truncate")
        assert remote.read(131_072, 65536) == local.read(131_072, 65536)
        first, second = gets(server)[1:]
        assert first == "bytes=131072-196607"
        assert second == f"bytes={131_072 + 32_768}-196607"  # only the missing half again
        assert remote.stats.retries == 1


def test_truncated_first_response(server):
    server.fail("truncate")
    with open_source(server.url("data.bin"), **FAST) as remote:
        assert remote.read(0, 65536) == DATA[:65536]


def test_slow_response_times_out_then_succeeds():
    # Not a duration assertion: the server stalls 1.0 s, the client gives up after 0.3 s, and
    # the test counts retries. A normal reply from the loopback server takes milliseconds, so
    # the 0.3 s limit leaves a wide margin on a loaded machine.
    with RangeServer({"data.bin": DATA}, slow_seconds=1.0) as srv:
        with open_source(srv.url("data.bin"), retries=2, backoff=0.01, timeout=0.3) as remote:
            srv.fail("slow")
            assert remote.read(300_000, 10) == DATA[300_000:300_010]
            # one retry: the first attempt timed out (0.3 s) instead of waiting for the slow reply
            assert remote.stats.retries == 1
            srv.fail("slow", "slow", "slow")
            with pytest.raises(RemoteError, match="TimeoutError|timed out"):
                remote.read(600_000, 10)


def test_server_without_range_support(server):
    server.ranges = False
    with pytest.raises(RemoteError, match="ignored the Range header.*allow_full_download"):
        open_source(server.url("data.bin"))
    # the file is larger than the allowed download: still an error
    with pytest.raises(RemoteError, match="exceeds max_full_download"):
        open_source(server.url("data.bin"), allow_full_download=True, max_full_download=1000)
    server.clear_log()
    with open_source(server.url("data.bin"), allow_full_download=True) as remote:
        assert remote.read_many(RANGES) == [DATA[o : o + n] for o, n in RANGES]
        assert remote.stats.requests == 1 == len(server.requests())
    # a file smaller than the first block: a 200 is exactly what we asked for
    with open_source(server.url("small.bin")) as remote:
        assert remote.read(0, len(SMALL)) == SMALL


def test_range_ignored_mid_file(server):
    with open_source(server.url("data.bin"), **FAST) as remote:
        server.fail("norange")
        with pytest.raises(RemoteError, match="ignored the Range header"):
            remote.read(500_000, 10)


def test_416(server):
    server.fail("416")
    with pytest.raises(RemoteError, match="416"):
        open_source(server.url("data.bin"), **FAST)
    server.fail("416")
    with open_source(server.url("data.bin"), allow_full_download=True, **FAST) as remote:
        assert remote.read(900_000, 100) == DATA[900_000:900_100]
        assert [r.range for r in server.requests()][-2:] == ["bytes=0-65535", None]
    with open_source(server.url("data.bin"), **FAST) as remote:
        server.fail("416")
        with pytest.raises(RemoteError, match="416") as info:
            remote.read(900_000, 100)
        assert info.value.status == 416


def test_wrong_content_range_is_never_accepted(server):
    with open_source(server.url("data.bin"), **FAST) as remote:
        server.fail("wrongrange")
        with pytest.raises(RemoteError, match="refusing possibly wrong bytes"):
            remote.read(500_000, 10)
        assert remote.read(500_000, 10) == DATA[500_000:500_010]  # next time is fine


def test_shorter_206_is_completed(server, local):
    with open_source(server.url("data.bin"), **FAST) as remote:
        server.fail("short")
        assert remote.read(262_144, 65536) == local.read(262_144, 65536)
        assert gets(server)[1:] == ["bytes=262144-327679", "bytes=294912-327679"]
        assert remote.stats.retries == 0


def test_file_changed_under_us(server):
    with open_source(server.url("data.bin"), **FAST) as remote:
        server.fail("etag")
        with pytest.raises(RemoteError, match="changed.*ETag"):
            remote.read(500_000, 10)
        server.files["data.bin"] = DATA + b"more"
        with pytest.raises(RemoteError, match="changed.*size"):
            remote.read(600_000, 10)


def test_not_found_is_immediate(server):
    with pytest.raises(RemoteError, match="404") as info:
        open_source(server.url("missing.bin"), **FAST)
    assert info.value.status == 404
    assert len(server.requests()) == 1  # 4xx is not retried


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_followed_and_remembered(server, status, local):
    server.redirect("old.bin", "/data.bin", status)
    with open_source(server.url("old.bin")) as remote:
        assert [(r.path, r.status) for r in server.requests()] == [("old.bin", status),
                                                                   ("data.bin", 206)]
        assert remote.read(400_000, 10) == local.read(400_000, 10)
        assert [r.path for r in server.requests()][2:] == ["data.bin"]  # straight to the target
        assert remote.stats.requests == 3


def test_redirect_to_another_host_drops_credentials(server, other_server, local):
    server.redirect("data.bin", other_server.url("moved/data.bin"))
    with open_source(server.url("data.bin"), headers={"Authorization": "Bearer x",
                                                      "X-Keep": "1"}) as remote:
        assert remote.read_many(RANGES) == local.read_many(RANGES)
        assert len(server.requests()) == 1
        assert remote.stats.requests == 1 + len(other_server.requests())
    assert server.requests()[0].headers["Authorization"] == "Bearer x"
    for r in other_server.requests():
        assert "Authorization" not in r.headers and r.headers["X-Keep"] == "1"


def test_stale_redirect_target_falls_back_to_origin(server, other_server):
    server.redirect("data.bin", other_server.url("moved/data.bin"))
    with open_source(server.url("data.bin"), **FAST) as remote:
        del other_server.files["moved/data.bin"]  # the pre-signed target expired
        server.redirects.clear()  # ... and the origin now serves the file itself
        assert remote.read(900_000, 10) == DATA[900_000:900_010]


def test_redirect_loop(server):
    server.redirect("a", "/b")
    server.redirect("b", "/a")
    with pytest.raises(RemoteError, match="redirects"):
        open_source(server.url("a"), max_redirects=5)
    assert len(server.requests()) == 6


def test_unsupported_content_encoding(server):
    from pytest_httpserver import HTTPServer
    from werkzeug import Response

    srv = HTTPServer(host="127.0.0.1", port=0)
    srv.expect_request("/gz").respond_with_response(
        Response(b"xx", status=206, headers={"Content-Range": "bytes 0-1/2",
                                             "Content-Encoding": "gzip"}))
    srv.start()
    try:
        with pytest.raises(RemoteError, match="Content-Encoding"):
            open_source(srv.url_for("/gz"))
    finally:
        srv.clear()
        srv.stop()


def test_open_first_finds_companion_files(server, tmp_path):
    from bioformats_ext.io import open_first

    server.files["data.bin.csi"] = SMALL
    found = open_first([server.url("data.bin.bai"), server.url("data.bin.csi"),
                        server.url("data.bai")], **FAST)
    assert found is not None and found.read(0, len(SMALL)) == SMALL
    assert [(r.path, r.status) for r in server.requests()] == [("data.bin.bai", 404),
                                                               ("data.bin.csi", 206)]
    assert found.stats.requests == 1  # the probe fetched the whole small index
    assert open_first([server.url("nope.bai")]) is None
    local = tmp_path / "x.csi"
    local.write_bytes(SMALL)
    assert open_first([tmp_path / "x.bai", local]).read(0, 5) == SMALL[:5]
    server.fail(*["500"] * 10)
    with pytest.raises(RemoteError):
        open_first([server.url("data.bin.csi")], **FAST)


def test_unknown_total_falls_back_to_head():
    from pytest_httpserver import HTTPServer
    from werkzeug import Response

    def handler(request):
        if request.method == "HEAD":
            return Response(DATA)  # werkzeug sends the headers only
        first, last = request.headers["Range"][6:].split("-")
        first, last = int(first), min(int(last), len(DATA) - 1)
        return Response(DATA[first : last + 1], status=206,
                        headers={"Content-Range": f"bytes {first}-{last}/*"})

    srv = HTTPServer(host="127.0.0.1", port=0)
    srv.expect_request("/d").respond_with_handler(handler)
    srv.start()
    try:
        with open_source(srv.url_for("/d")) as remote:
            assert remote.size == len(DATA)
            assert [req.method for req, _ in srv.log] == ["GET", "HEAD"]
            assert remote.read_many(RANGES) == [DATA[o : o + n] for o, n in RANGES]
    finally:
        srv.clear()
        srv.stop()


def test_disjoint_runs_are_fetched_on_parallel_connections(local):
    with RangeServer({"data.bin": DATA}, latency=0.05) as srv:
        with open_source(srv.url("data.bin"), block_size=4096, merge_gap=0) as remote:
            srv.clear_log()
            wanted = [(100_000, 10), (300_000, 10), (500_000, 10), (700_000, 10), (900_000, 10)]
            assert remote.read_many(wanted) == local.read_many(wanted)
            assert remote.stats.requests == 1 + 5 == 1 + len(srv.requests())
            assert len({r.client_port for r in srv.requests()}) == 4  # max_connections
            assert sorted(r.range for r in srv.requests()) == sorted(
                f"bytes={o // 4096 * 4096}-{o // 4096 * 4096 + 4095}" for o, _ in wanted)
        with open_source(srv.url("data.bin"), block_size=4096, merge_gap=0,
                         max_connections=1) as remote:
            srv.clear_log()
            assert remote.read_many(wanted) == local.read_many(wanted)
            assert len({r.client_port for r in srv.requests()}) == 1


def test_parallel_fetch_failure_is_reported(server):
    with open_source(server.url("data.bin"), block_size=4096, merge_gap=0, **FAST) as remote:
        server.fail(*["404"] * 3)
        with pytest.raises(RemoteError, match="404"):
            remote.read_many([(100_000, 10), (300_000, 10), (500_000, 10)])
        assert remote.read_many([(100_000, 10), (300_000, 10)]) == [DATA[100_000:100_010],
                                                                   DATA[300_000:300_010]]


def test_random_faults_never_give_wrong_bytes(server, local):
    """A seeded soak: random reads under random faults give the right bytes or a RemoteError."""
    import random

    rng = random.Random(1234)
    faults = ["500", "503", "reset", "truncate", "short", "wrongrange", "416", "norange", "etag"]
    outcomes = {"ok": 0, "error": 0}
    for _ in range(40):
        with open_source(server.url("data.bin"), block_size=rng.choice([4096, 65536]),
                         merge_gap=rng.choice([0, 100_000]), retries=2, backoff=0.001,
                         max_backoff=0.002, timeout=5) as remote:
            server.fail(*rng.choices(faults, k=rng.randrange(0, 4)))
            wanted = []
            for _ in range(rng.randrange(1, 6)):
                offset = rng.randrange(0, len(DATA))
                wanted.append((offset, rng.randrange(0, min(200_000, len(DATA) - offset) + 1)))
            try:
                got = remote.read_many(wanted)
            except RemoteError:
                outcomes["error"] += 1
            else:
                assert got == local.read_many(wanted)
                outcomes["ok"] += 1
            server.clear_faults()
    assert outcomes["ok"] > 10 and outcomes["error"] > 0


def test_https_with_a_trusted_self_signed_certificate(tmp_path, local):
    """The https:// path: TLS on loopback with a certificate made here (IP SAN 127.0.0.1)."""
    import datetime
    import ipaddress
    import ssl

    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_file, key_file)
    with RangeServer({"data.bin": DATA}, ssl_context=server_context) as srv:
        url = srv.url("data.bin")
        assert url.startswith("https://")
        client_context = ssl.create_default_context(cafile=str(cert_file))
        with open_source(url, ssl_context=client_context) as remote:
            assert remote.read_many(RANGES) == local.read_many(RANGES)
            assert remote.stats.requests == len(srv.requests())
        # without trusting the certificate: a typed error, not an ssl exception
        srv.clear_log()
        with pytest.raises(RemoteError, match="certificate verification failed"):
            open_source(url, retries=3)
        assert srv.requests() == []  # not retried (and the handshake never reached HTTP)


def test_streaming_whole_file_uses_readahead(server):
    from bioformats_ext.io.source import iter_chunks

    with open_source(server.url("data.bin"), block_size=16384, max_readahead=1 << 20) as remote:
        assert b"".join(iter_chunks(remote, 0, 20_000)) == DATA
        # 1,000,003 bytes in 20 KB reads: read-ahead doubles up to 1 MiB per request
        assert remote.stats.requests == len(server.requests()) <= 10


def test_random_reads_equal_local_property(local):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    with RangeServer({"data.bin": DATA}) as srv:

        @settings(max_examples=40, deadline=None)
        @given(
            ranges=st.lists(st.tuples(st.integers(0, len(DATA)), st.integers(0, 150_000)),
                            min_size=1, max_size=8),
            block_size=st.sampled_from([1000, 4096, 65536]),
            merge_gap=st.sampled_from([0, 50_000]),
        )
        def check(ranges, block_size, merge_gap):
            ranges = [(o, min(n, len(DATA) - o)) for o, n in ranges]
            with open_source(srv.url("data.bin"), block_size=block_size,
                             merge_gap=merge_gap) as remote:
                assert remote.read_many(ranges) == local.read_many(ranges)
                before = remote.stats.requests
                assert remote.read_many(ranges[::-1]) == local.read_many(ranges[::-1])
                assert remote.stats.requests == before

        check()
