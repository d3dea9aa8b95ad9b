"""Property-based: random and mutated byte strings into every reader give either a clean
EventFileError or correct events (equal to what SpikingJelly's readers decode from the same
bytes), never another exception, a crash or a hang (hypothesis deadlines; AEDAT 4 decodes in a
child process with its own deadline)."""
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spikingjelly.datasets.utils import load_aedat_v3, load_ATIS_bin

from host.eventfiles import EventFileError, read_aedat4, write_aedat4
from host.eventfiles import aedat4 as a4
from host.eventfiles.aedat2 import SPECIAL_BITS, decode_aedat2, encode_aedat2
from host.eventfiles.aedat3 import PACKET, POLARITY, decode_aedat3, encode_aedat3
from host.eventfiles.nmnist import decode_nmnist, encode_nmnist

FUZZ = settings(max_examples=120, deadline=2000, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def events(width, height, t_max, max_size=40):
    ev = st.tuples(st.integers(0, width - 1), st.integers(0, height - 1), st.integers(0, 1), st.integers(0, t_max))
    return st.lists(ev, max_size=max_size).map(lambda e: sorted(e, key=lambda v: v[3]))


def columns(evs):
    a = np.array(evs, dtype=np.int64).reshape(-1, 4)
    return a[:, 0], a[:, 1], a[:, 2], a[:, 3]


@st.composite
def mutated(draw, valid: bytes):
    """A valid file changed a little: cut, bytes flipped / inserted / deleted -- or random bytes."""
    raw = bytearray(valid)
    kind = draw(st.sampled_from(["cut", "flip", "insert", "delete", "random", "magic+random"]))
    if kind == "cut":
        return bytes(raw[:draw(st.integers(0, len(raw)))])
    if kind == "random":
        return draw(st.binary(max_size=300))
    if kind == "magic+random":
        return bytes(raw[:draw(st.integers(0, min(len(raw), 64)))]) + draw(st.binary(max_size=300))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(0, len(raw) - 1)))
        if kind == "flip" and raw:
            raw[at] ^= draw(st.integers(1, 255))
        elif kind == "insert":
            raw[at:at] = draw(st.binary(min_size=1, max_size=9))
        elif raw:
            del raw[at:at + draw(st.integers(1, 9))]
    return bytes(raw)


def check(ev, width=None, height=None):
    n = len(ev)
    assert ev.x.shape == ev.y.shape == ev.p.shape == ev.t.shape == (n,)
    assert ev.x.dtype in (np.uint8, np.uint16) and ev.y.dtype == ev.x.dtype
    assert ev.p.dtype == np.uint8 and ev.t.dtype == np.int64
    if n:
        assert ev.x.max() < ev.width and ev.y.max() < ev.height and ev.p.max() <= 1
        assert np.all(np.diff(ev.t) >= 0)
    if width is not None:
        assert ev.sensor_size == (width, height)


def decode_or_refuse(decode, raw):
    try:
        return decode(raw)
    except EventFileError as e:
        assert "expected" in str(e) and (e.offset is None or 0 <= e.offset <= len(raw))
        return None


def as_file(raw: bytes, suffix: str) -> Path:
    f = Path(tempfile.mkdtemp(prefix="syna_fuzz_")) / f"f{suffix}"
    f.write_bytes(raw)
    return f


# ----------------------------------------------------------------------------- N-MNIST
@FUZZ
@given(st.data(), events(34, 34, (1 << 23) - 1))
def test_nmnist_fuzz(data, evs):
    valid = encode_nmnist(*columns(evs))
    ev = decode_nmnist(valid)
    assert np.array_equal(ev.t, columns(evs)[3]) and np.array_equal(ev.x, columns(evs)[0])
    raw = data.draw(mutated(valid))
    ev = decode_or_refuse(decode_nmnist, raw)
    if ev is not None:
        check(ev, 34, 34)
        sj = load_ATIS_bin(as_file(raw, ".bin"))
        for k in "xypt":
            assert np.array_equal(getattr(ev, k), sj[k]), k


# ----------------------------------------------------------------------------- AEDAT 2.0
@FUZZ
@given(st.data(), events(128, 128, (1 << 32) - 1))
def test_aedat2_fuzz(data, evs):
    valid = encode_aedat2(*columns(evs))
    ev = decode_aedat2(valid)
    assert np.array_equal(ev.y, columns(evs)[1]) and np.array_equal(ev.p, columns(evs)[2])
    raw = data.draw(mutated(valid))
    ev = decode_or_refuse(decode_aedat2, raw)
    if ev is not None:
        check(ev, 128, 128)
        # oracle: the body's big-endian words one by one (jAER's DVS128 view, special events dropped)
        body = raw[_header_end(raw):]
        want = [(127 - ((a >> 1) & 0x7F), (a >> 8) & 0x7F, 1 - (a & 1), t)
                for a, t in struct.iter_unpack(">II", body) if not a & SPECIAL_BITS]
        assert [tuple(map(int, e)) for e in zip(ev.x, ev.y, ev.p, ev.t)] == want


@FUZZ
@given(st.data(), events(346, 260, (1 << 32) - 1))
def test_aedat2_davis_fuzz(data, evs):
    """DAVIS346 files ('# AEChip: Davis346B'): the events of the records one by one (jAER's DAVIS
    extractor: polarity events of bit 31 and bit 10 clear), or a clean refusal."""
    valid = encode_aedat2(*columns(evs), chip="Davis346B")
    assert np.array_equal(decode_aedat2(valid).y, columns(evs)[1])
    raw = data.draw(mutated(valid))
    ev = decode_or_refuse(decode_aedat2, raw)
    if ev is not None:
        check(ev)
        if ev.sensor_size == (346, 260):
            body = raw[_header_end(raw):]
            want = [(345 - ((a >> 12) & 0x3FF), (a >> 22) & 0x1FF, (a >> 11) & 1, t)
                    for a, t in struct.iter_unpack(">II", body) if not a & 0x80000400]
            assert [tuple(map(int, e)) for e in zip(ev.x, ev.y, ev.p, ev.t)] == want


@FUZZ
@given(st.data(), events(128, 128, (1 << 32) - 1, max_size=120))
def test_aedat2_block_reader_fuzz_equals_the_whole_file_decoder(data, evs):
    """read_aedat2's block path (blocks of 2 events here) gives exactly what decode_aedat2 gives on
    the same bytes: the same events, or the same error at the same offset."""
    from host.eventfiles import aedat2 as a2
    raw = data.draw(mutated(encode_aedat2(*columns(evs))))
    f = as_file(raw, ".aedat")
    old = a2.BLOCK, a2.HEAD_READ
    a2.BLOCK, a2.HEAD_READ = 2, 256
    try:
        got = _events_or_error(a2.read_aedat2, f)
    finally:
        a2.BLOCK, a2.HEAD_READ = old
    want = _events_or_error(lambda g: decode_aedat2(raw, g), f)
    if isinstance(want, tuple):
        assert got == want
    else:
        assert not isinstance(got, tuple) and got.skipped == want.skipped
        for k in "xypt":
            assert np.array_equal(getattr(got, k), getattr(want, k)) and getattr(got, k).dtype == getattr(want, k).dtype


def _events_or_error(read, f):
    try:
        return read(f)
    except EventFileError as e:
        return str(e), e.offset


def _header_end(raw: bytes) -> int:
    """Where the events start: after the leading '#' lines, or after jAER's '#End Of ASCII Header'."""
    pos = 0
    while pos < len(raw) and raw[pos] == ord("#"):
        end = raw.index(b"\n", pos) + 1
        line, pos = raw[pos + 1:end], end
        if line.strip().lower() == b"end of ascii header":
            break
    return pos


# ----------------------------------------------------------------------------- AEDAT 3.1
def _packets_full(raw: bytes) -> bool:
    """Every polarity packet holds as many events as it has room for (what SpikingJelly assumes)."""
    pos = raw.index(b"#!END-HEADER\r\n") + 14
    while pos < len(raw):
        etype, _, size, _, _, cap, num, _ = PACKET.unpack_from(raw, pos)
        if etype == POLARITY and num != cap:
            return False
        pos += PACKET.size + cap * size
    return True


@FUZZ
@given(st.data(), events(128, 128, (1 << 33), max_size=30), st.integers(1, 8))
def test_aedat3_fuzz(data, evs, per_packet):
    evs = sorted(evs, key=lambda e: e[3])
    valid = encode_aedat3(*columns(evs), packet_events=per_packet)
    ev = decode_aedat3(valid)
    assert np.array_equal(ev.t, columns(evs)[3]) and np.array_equal(ev.x, columns(evs)[0])
    raw = data.draw(mutated(valid))
    ev = decode_or_refuse(decode_aedat3, raw)
    if ev is not None:
        check(ev)
        if not ev.skipped.get("invalid") and _packets_full(raw):
            sj = load_aedat_v3(as_file(raw, ".aedat"))
            for k in "xypt":
                assert np.array_equal(getattr(ev, k), sj[k].reshape(-1).astype(np.int64)), k


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_after_each_magic(blob):
    for magic, decode in ((b"#!AER-DAT2.0\r\n", decode_aedat2), (b"#!AER-DAT3.1\r\n", decode_aedat3),
                          (b"", decode_nmnist)):
        ev = decode_or_refuse(decode, magic + blob)
        if ev is not None:
            check(ev)


# ----------------------------------------------------------------------------- AEDAT 4.0 (library, isolated)
@pytest.fixture(scope="module")
def aedat4_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    t = np.sort(rng.integers(0, 100_000, 60))
    return write_aedat4(tmp_path_factory.mktemp("a4") / "ok.aedat4", rng.integers(0, 64, 60),
                        rng.integers(0, 48, 60), rng.integers(0, 2, 60), t, sensor_size=(64, 48)).read_bytes()


@settings(max_examples=15, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_aedat4_fuzz_never_crashes_the_caller(data, aedat4_file):
    raw = data.draw(mutated(aedat4_file))
    old = a4.DEADLINE_S
    a4.DEADLINE_S = 10.0
    try:
        ev = decode_or_refuse(lambda r: read_aedat4(as_file(r, ".aedat4")), raw)
    finally:
        a4.DEADLINE_S = old
    if ev is not None:
        check(ev)


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_aedat4_in_process_fuzz_raises_only_event_file_errors_naming_the_file(data, aedat4_file):
    """isolate=False: every corrupt variant is an EventFileError naming the file (the decoder's own
    RuntimeError / PanicException never escapes), or correct-looking events."""
    raw = data.draw(mutated(aedat4_file))
    f = as_file(raw, ".aedat4")
    try:
        ev = read_aedat4(f, isolate=False)
    except EventFileError as e:
        assert str(e).startswith(f"{f}: ") and "expected" in str(e) and (e.offset is None or 0 <= e.offset <= len(raw))
    else:
        check(ev)
