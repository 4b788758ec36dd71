#!/usr/bin/env python3
"""A small Tidewire protocol v1 client, written from docs/protocol.md alone.

Standard library only (Python 3.11). The Connection class below is a complete, if minimal,
client: streaming frame decoder, HELLO exchange, multiplexed REQUESTs matched to replies by
request id, PING/PONG (answering the server's PINGs and a heartbeat of our own), CANCEL, and
GOAWAY bookkeeping.

Run as a self-check against a running reference server:

    python3 docs/examples/python_client.py HOST PORT

It prints one line per check and a final line "N passed, M failed"; the exit code is 1 if any
check failed. No socket read waits longer than 5 s, so the script cannot hang.
"""

from __future__ import annotations

import json
import random
import socket
import struct
import sys
import threading
import time

# --------------------------------------------------------------------------------------------
# Constants (spec section 16)
# --------------------------------------------------------------------------------------------

MAGIC = b"TW"  # 0x54 0x57
VERSION = 1
HEADER = struct.Struct(">2sBBQI")  # magic, version, type, request id (u64), length (u32)
HEADER_LEN = HEADER.size  # 16

HELLO, REQUEST, RESPONSE, ERROR, PING, PONG, CANCEL, GOAWAY, REQUEST_EXT = range(1, 10)
TYPE_NAMES = {HELLO: "HELLO", REQUEST: "REQUEST", RESPONSE: "RESPONSE", ERROR: "ERROR",
              PING: "PING", PONG: "PONG", CANCEL: "CANCEL", GOAWAY: "GOAWAY", REQUEST_EXT: "REQUEST_EXT"}

MIN_FRAME_SIZE = 4096
MAX_FRAME_SIZE = 1 << 30
OWN_MAX_FRAME_SIZE = 16 * 1024 * 1024  # the payload size we accept (what we announce)
PRE_HELLO_LIMIT = 65536  # limit before the peer's HELLO: min(own maxFrameSize, 64 KiB)

# Error codes (section 7)
PROTOCOL_ERROR, UNSUPPORTED_VERSION, FRAME_TOO_LARGE, UNAUTHENTICATED = 1, 2, 3, 4
UNKNOWN_OP, BAD_REQUEST, INTERNAL, OVERLOADED, NOT_PROCESSED, RESPONSE_TOO_LARGE = 10, 11, 12, 13, 14, 15
DEADLINE_EXCEEDED = 16

READ_TIMEOUT = 5.0  # every socket read gives up after this; also our "peer is dead" timeout
HEARTBEAT_INTERVAL = 2.0  # send a PING after this long without reading anything (section 9.2)
AGENT = "tidewire-python-example/1.0"


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------

class ProtocolViolation(Exception):
    """The peer broke the protocol; the connection is unusable."""


class ConnectionLost(Exception):
    """The connection ended (or was declared dead) before the call finished: outcome unknown."""


class RemoteError(Exception):
    """An ERROR frame: request-level (request_id > 0) or connection-level (request_id == 0)."""

    def __init__(self, request_id: int, code: int, message: str):
        super().__init__(f"ERROR({request_id}) code {code}: {message}")
        self.request_id, self.code, self.message = request_id, code, message


# --------------------------------------------------------------------------------------------
# Framing (sections 2 and 4)
# --------------------------------------------------------------------------------------------

class Frame:
    __slots__ = ("type", "id", "payload")

    def __init__(self, ftype: int, request_id: int, payload: bytes = b""):
        self.type, self.id, self.payload = ftype, request_id, payload

    def __repr__(self) -> str:
        return f"{TYPE_NAMES.get(self.type, self.type)}({self.id}) {self.payload[:60]!r}"


def encode_frame(ftype: int, request_id: int, payload: bytes = b"") -> bytes:
    return HEADER.pack(MAGIC, VERSION, ftype, request_id, len(payload)) + payload


def encode_request_payload(op: str, body: bytes) -> bytes:
    """u8 opLen, op (UTF-8), then the body bytes untouched (section 4.1)."""
    op_bytes = op.encode("utf-8")
    if not 1 <= len(op_bytes) <= 255:
        raise ValueError(f"op must be 1..255 bytes of UTF-8, got {len(op_bytes)}")
    return bytes([len(op_bytes)]) + op_bytes + body


def encode_request_ext_payload(op: str, timeout_ms: int, metadata: list[tuple[str, bytes]], body: bytes) -> bytes:
    """REQUEST_EXT payload (section 4.6): op prefix, u32 timeout ms (0 = none), u16 metadata
    length, entries (u8 keyLen, key, u16 valueLen, value), then the body."""
    entries = b""
    for key, value in metadata:
        k = key.encode("ascii")
        if not 1 <= len(k) <= 255 or any(c not in b"abcdefghijklmnopqrstuvwxyz0123456789-_." for c in k):
            raise ValueError(f"bad metadata key {key!r}")
        entries += bytes([len(k)]) + k + struct.pack(">H", len(value)) + value
    prefix = encode_request_payload(op, b"")
    return prefix + struct.pack(">IH", timeout_ms, len(entries)) + entries + body


class FrameDecoder:
    """Incremental decoder: feed() it whatever recv() returned, get back complete frames.

    Header fields are validated as soon as their bytes arrive (section 2.3), and the length is
    checked against the limit before any payload is buffered for it.
    """

    def __init__(self, max_payload: int):
        self.max_payload = max_payload
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames = []
        while True:
            buf = self._buf
            if len(buf) >= 1 and buf[0] != MAGIC[0] or len(buf) >= 2 and buf[1] != MAGIC[1]:
                raise ProtocolViolation(f"bad magic {bytes(buf[:2]).hex(' ')}")
            if len(buf) >= 3 and buf[2] != VERSION:
                raise ProtocolViolation(f"unsupported header version {buf[2]}")
            if len(buf) >= 4 and buf[3] not in TYPE_NAMES:
                raise ProtocolViolation(f"unknown frame type {buf[3]:#04x}")
            if len(buf) < HEADER_LEN:
                return frames
            _, _, ftype, request_id, length = HEADER.unpack_from(buf)
            if length > self.max_payload:
                raise ProtocolViolation(f"frame length {length} over the limit {self.max_payload}")
            if len(buf) < HEADER_LEN + length:
                return frames
            frames.append(Frame(ftype, request_id, bytes(buf[HEADER_LEN:HEADER_LEN + length])))
            del buf[:HEADER_LEN + length]

    def check_eof(self) -> None:
        """Call at end of stream: leftover bytes mean the stream ended inside a frame."""
        if self._buf:
            raise ProtocolViolation(f"stream ended inside a frame ({len(self._buf)} bytes pending)")


# --------------------------------------------------------------------------------------------
# Payload helpers (sections 3.2, 3.5)
# --------------------------------------------------------------------------------------------

def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def parse_hello(payload: bytes) -> dict:
    try:
        hello = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ProtocolViolation(f"HELLO is not JSON: {e}") from None
    if not isinstance(hello, dict):
        raise ProtocolViolation("HELLO is not a JSON object")
    version, max_frame = hello.get("version"), hello.get("maxFrameSize")
    in_flight = hello.get("maxInFlight", 0)
    if not _is_int(version) or not 1 <= version <= 255:
        raise ProtocolViolation(f"HELLO version {version!r} malformed")
    if version != VERSION:
        raise ProtocolViolation(f"server speaks version {version}, we speak {VERSION}")
    if not _is_int(max_frame) or not MIN_FRAME_SIZE <= max_frame <= MAX_FRAME_SIZE:
        raise ProtocolViolation(f"HELLO maxFrameSize {max_frame!r} malformed")
    if not _is_int(in_flight) or not 0 <= in_flight <= 2**31 - 1:
        raise ProtocolViolation(f"HELLO maxInFlight {in_flight!r} malformed")
    return hello


def parse_error(frame: Frame) -> RemoteError:
    try:
        obj = json.loads(frame.payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        obj = None
    if not isinstance(obj, dict) or not _is_int(obj.get("code")):
        raise ProtocolViolation(f"malformed ERROR payload {frame.payload[:100]!r}")
    message = obj.get("message", "")
    return RemoteError(frame.id, obj["code"], message if isinstance(message, str) else str(message))


# --------------------------------------------------------------------------------------------
# Calls and the connection
# --------------------------------------------------------------------------------------------

class Call:
    """One REQUEST; finished by a RESPONSE, an ERROR, or the connection's end."""

    def __init__(self, request_id: int, op: str, body: bytes):
        self.id, self.op, self.body = request_id, op, body
        self.reply: bytes | None = None  # RESPONSE payload (b"" means JSON null)
        self.error: Exception | None = None
        self.arrival = -1  # position among the replies read on this connection
        self._done = threading.Event()

    def _finish(self, reply: bytes | None = None, error: Exception | None = None) -> None:
        self.reply, self.error = reply, error
        self._done.set()

    def done(self) -> bool:
        return self._done.is_set()

    def result(self, timeout: float = READ_TIMEOUT) -> bytes:
        """The RESPONSE body; raises RemoteError, ConnectionLost or TimeoutError."""
        if not self._done.wait(max(0.0, timeout)):
            raise TimeoutError(f"no reply to request {self.id} ({self.op}) within {timeout} s")
        if self.error is not None:
            raise self.error
        return self.reply


class Connection:
    """One Tidewire connection. Thread-safe; one reader thread and one heartbeat thread."""

    def __init__(self, host: str, port: int, agent: str = AGENT):
        self.sock = socket.create_connection((host, port), timeout=READ_TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._write_lock = threading.Lock()  # serialises writes and orders request ids
        self._last_id = 0  # highest request id written
        self._pending: dict[int, Call] = {}  # id -> Call, registered before the bytes are written
        self._pings: dict[int, threading.Event] = {}
        self._next_nonce = 1
        self._replies_read = 0
        self._closed = threading.Event()
        self.failure: Exception | None = None  # why the connection ended, if it did
        self.late_responses = 0
        self.goaway_last_id: int | None = None
        self.last_read = time.monotonic()
        self._decoder = FrameDecoder(min(OWN_MAX_FRAME_SIZE, PRE_HELLO_LIMIT))

        try:
            self.server_hello, early_frames = self._handshake(agent)
        except BaseException:
            self.sock.close()
            raise
        self._decoder.max_payload = OWN_MAX_FRAME_SIZE
        self.server_max_frame = self.server_hello["maxFrameSize"]
        self.server_max_in_flight = self.server_hello.get("maxInFlight", 0)
        # Keep at most maxInFlight requests outstanding (0 = nothing announced: no local cap).
        self._slots = (threading.BoundedSemaphore(self.server_max_in_flight)
                       if self.server_max_in_flight > 0 else None)
        self._reader = threading.Thread(target=self._read_loop, args=(early_frames,),
                                        name="tidewire-reader", daemon=True)
        self._reader.start()
        self._heartbeat = threading.Thread(target=self._heartbeat_loop, name="tidewire-heartbeat",
                                           daemon=True)
        self._heartbeat.start()

    # ---- handshake (section 5.1) ------------------------------------------------------------

    def _handshake(self, agent: str) -> tuple[dict, list[Frame]]:
        hello = {"version": VERSION, "maxFrameSize": OWN_MAX_FRAME_SIZE, "maxInFlight": 0,
                 "agent": agent}
        self.sock.sendall(encode_frame(HELLO, 0, json.dumps(hello).encode("utf-8")))
        deadline = time.monotonic() + READ_TIMEOUT
        while True:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            data = self.sock.recv(65536)  # socket.timeout if the server says nothing
            self.sock.settimeout(READ_TIMEOUT)
            if not data:
                raise ConnectionLost("server closed the connection during the handshake")
            frames = self._decoder.feed(data)
            if frames:
                break
        self.last_read = time.monotonic()
        first = frames[0]
        if first.type == ERROR:  # refusal (section 5.8)
            raise parse_error(first)
        if first.type == GOAWAY:
            raise ConnectionLost("server refused the connection with GOAWAY (shutting down)")
        if first.type != HELLO:
            raise ProtocolViolation(f"expected HELLO, got {first}")
        self.server_hello_raw = first.payload
        return parse_hello(first.payload), frames[1:]

    # ---- writing ----------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        with self._write_lock:
            self._write_locked(data)

    def _write_locked(self, data: bytes) -> None:
        if self.failure is not None:
            raise ConnectionLost(f"connection is closed: {self.failure}")
        self.sock.sendall(data)

    def start(self, op: str, body: bytes | str = b"", timeout_ms: int | None = None,
              metadata: list[tuple[str, bytes]] | None = None) -> Call:
        """Write a REQUEST and return its Call at once (no waiting for the reply). With a timeout
        or metadata, and a server whose HELLO announces "metadata", a REQUEST_EXT (section 4.6)."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        ext = (timeout_ms is not None or metadata) and isinstance(self.server_hello.get("metadata"), dict)
        if ext:
            limits = self.server_hello["metadata"]
            if len(metadata or []) > limits["maxEntries"]:
                raise ValueError("more metadata entries than the server accepts")
            payload = encode_request_ext_payload(op, timeout_ms or 0, metadata or [], body)
            if len(payload) - len(encode_request_payload(op, body)) - 6 > limits["maxBytes"]:
                raise ValueError("more metadata bytes than the server accepts")
        else:
            payload = encode_request_payload(op, body)
        if len(payload) > self.server_max_frame:
            raise ValueError(f"request payload {len(payload)} > server maxFrameSize")
        if self.goaway_last_id is not None:
            raise ConnectionLost("server sent GOAWAY: no new requests on this connection")
        if self._slots is not None and not self._slots.acquire(timeout=READ_TIMEOUT):
            raise TimeoutError("no in-flight slot freed within the timeout")
        with self._write_lock:
            # The id is taken under the write lock so ids rise in wire order (section 6.1),
            # and the call is registered before its bytes can reach the server (section 6.4).
            self._last_id += 1
            call = Call(self._last_id, op, body)
            self._pending[call.id] = call
            try:
                self._write_locked(encode_frame(REQUEST_EXT if ext else REQUEST, call.id, payload))
            except BaseException:
                self._pending.pop(call.id, None)
                self._release_slot()
                raise
        return call

    def call(self, op: str, body: bytes | str = b"", timeout: float = READ_TIMEOUT) -> bytes:
        """Send a REQUEST and wait for its reply; CANCEL it if the wait times out."""
        c = self.start(op, body)
        try:
            return c.result(timeout)
        except TimeoutError:
            self.cancel(c)
            raise

    def cancel(self, call: Call) -> None:
        """Stop waiting for a call and tell the server (section 10). A reply that still
        arrives is dropped as a late response."""
        with self._write_lock:
            if self._pending.pop(call.id, None) is None:
                return  # already answered
            self._write_locked(encode_frame(CANCEL, call.id))
        # The CANCEL is written before anything can reuse the slot (section 8).
        self._release_slot()
        call._finish(error=ConnectionLost(f"request {call.id} cancelled"))

    def ping(self, nonce: int | None = None, timeout: float = READ_TIMEOUT) -> None:
        """Send PING(nonce) and wait for the PONG carrying the same nonce."""
        with self._write_lock:
            if nonce is None:
                nonce = self._next_nonce
                self._next_nonce += 1
            event = self._pings.setdefault(nonce, threading.Event())
            event.ponged = False
            self._write_locked(encode_frame(PING, nonce))
        if not event.wait(timeout):
            raise TimeoutError(f"no PONG for nonce {nonce:#x} within {timeout} s")
        if not event.ponged:
            raise ConnectionLost(f"connection ended: {self.failure}")

    def _release_slot(self) -> None:
        if self._slots is not None:
            self._slots.release()

    # ---- reading ----------------------------------------------------------------------------

    def _read_loop(self, early_frames: list[Frame]) -> None:
        try:
            for f in early_frames:
                self._dispatch(f)
            while not self._closed.is_set():
                try:
                    data = self.sock.recv(65536)
                except socket.timeout:
                    raise ConnectionLost(f"nothing read for {READ_TIMEOUT} s: peer declared dead")
                if not data:
                    self._decoder.check_eof()
                    raise ConnectionLost("server closed the connection")
                self.last_read = time.monotonic()
                for f in self._decoder.feed(data):
                    self._dispatch(f)
        except Exception as e:  # noqa: BLE001 - any failure ends the connection
            self._fail(e)

    def _dispatch(self, f: Frame) -> None:
        if f.type in (RESPONSE, ERROR):
            if f.id == 0:
                if f.type == ERROR:  # connection-level error: the server closes next
                    raise parse_error(f)
                raise ProtocolViolation("RESPONSE with request id 0")
            error = parse_error(f) if f.type == ERROR else None
            with self._write_lock:
                if f.id > self._last_id:
                    raise ProtocolViolation(f"reply for request {f.id}, never issued")
                call = self._pending.pop(f.id, None)
            if call is None:  # cancelled, timed out or answered already: drop (table 6.4)
                self.late_responses += 1
                return
            self._release_slot()
            call.arrival = self._replies_read
            self._replies_read += 1
            call._finish(reply=f.payload if error is None else None, error=error)
        elif f.type == PING:
            self._write(encode_frame(PONG, f.id))
        elif f.type == PONG:
            event = self._pings.pop(f.id, None)
            if event is not None:  # unknown nonces are ignored (section 3.7)
                event.ponged = True
                event.set()
        elif f.type == GOAWAY:
            self.goaway_last_id = f.id  # replies for ids <= f.id still come; send no new REQUEST
        else:
            raise ProtocolViolation(f"unexpected frame from the server: {f}")

    def _heartbeat_loop(self) -> None:
        """PING after HEARTBEAT_INTERVAL without reading anything; the reader's 5 s recv timeout
        declares the peer dead. This also keeps the server's idle timeout from firing."""
        last_ping = 0.0
        while not self._closed.wait(0.25):
            now = time.monotonic()
            if now - self.last_read >= HEARTBEAT_INTERVAL and now - last_ping >= HEARTBEAT_INTERVAL:
                last_ping = now
                try:
                    with self._write_lock:
                        nonce = self._next_nonce
                        self._next_nonce += 1
                        self._write_locked(encode_frame(PING, nonce))
                except Exception:  # noqa: BLE001 - the reader reports the failure
                    return

    # ---- closing ----------------------------------------------------------------------------

    def _fail(self, reason: Exception) -> None:
        """Close the connection and fail every pending call (outcome unknown)."""
        with self._write_lock:
            if self.failure is None:
                self.failure = reason
            pending, self._pending = self._pending, {}
            pings, self._pings = self._pings, {}
        self._closed.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for call in pending.values():
            call._finish(error=reason if isinstance(reason, RemoteError)
                         else ConnectionLost(f"connection ended: {reason}"))
        for event in pings.values():
            event.set()

    def close(self) -> None:
        self._fail(ConnectionLost("closed by the client"))
        self._reader.join(READ_TIMEOUT)
        self._heartbeat.join(READ_TIMEOUT)

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# Self-check against a reference server (built-in ops of section 13)
# --------------------------------------------------------------------------------------------

class CheckFailed(Exception):
    pass


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise CheckFailed(what)


def expect_remote_error(call: Call, code: int, message: str | None = None) -> RemoteError:
    try:
        body = call.result()
    except RemoteError as e:
        expect(e.request_id == call.id, f"ERROR for id {e.request_id}, expected {call.id}")
        expect(e.code == code, f"expected code {code}, got {e.code} ({e.message!r})")
        if message is not None:
            expect(e.message == message, f"expected message {message!r}, got {e.message!r}")
        return e
    raise CheckFailed(f"expected ERROR {code}, got RESPONSE {body[:100]!r}")


def check_encoding(host: str, port: int) -> str:
    """Offline: our encoder reproduces the byte examples of sections 4.2, 4.3 and 4.4."""
    req = encode_frame(REQUEST, 1, encode_request_payload("echo", b'{"val":"hi"}'))
    expect(req == bytes.fromhex("54 57 01 02 00 00 00 00 00 00 00 01 00 00 00 11 04 65 63 68 6f"
                                " 7b 22 76 61 6c 22 3a 22 68 69 22 7d"), "REQUEST example 4.2")
    hello = encode_frame(HELLO, 0, json.dumps({"version": 1, "maxFrameSize": 16777216,
                                               "maxInFlight": 0, "agent": "x"},
                                              separators=(",", ":")).encode())
    expect(len(hello) == 81 and hello[:16].hex() == "54570101000000000000000000000041",
           "HELLO example 4.3")
    expect(encode_frame(CANCEL, 3) == bytes.fromhex("54570107000000000000000300000000"),
           "CANCEL example 4.4")
    # decoding one byte at a time must give the same frames as decoding all at once
    stream = req + encode_frame(PING, 1) + hello
    dec = FrameDecoder(PRE_HELLO_LIMIT)
    frames = [f for b in stream for f in dec.feed(bytes([b]))]
    expect([(f.type, f.id, len(f.payload)) for f in frames]
           == [(REQUEST, 1, 17), (PING, 1, 0), (HELLO, 0, 65)], "byte-by-byte decoding")
    ext = encode_frame(REQUEST_EXT, 1, encode_request_ext_payload("echo", 250, [("tenant", b"acme")], b'{"val":"hi"}'))
    expect(ext.hex(" ") == ("54 57 01 09 00 00 00 00 00 00 00 01 00 00 00 24 04 65 63 68 6f 00 00 00 fa 00 0d"
                            " 06 74 65 6e 61 6e 74 00 04 61 63 6d 65 7b 22 76 61 6c 22 3a 22 68 69 22 7d"),
           "REQUEST_EXT example 4.6")
    for bad, why in ((b"GE", "magic"), (b"TW\x02", "version"), (b"TW\x01\x0a", "type"),
                     (HEADER.pack(MAGIC, 1, RESPONSE, 1, PRE_HELLO_LIMIT + 1), "length")):
        try:
            FrameDecoder(PRE_HELLO_LIMIT).feed(bad)
            raise CheckFailed(f"decoder accepted a bad {why}")
        except ProtocolViolation:
            pass
    return "spec examples 4.2/4.3/4.4/4.6 reproduced; bad magic/version/type/length rejected early"


def check_handshake(host: str, port: int) -> str:
    with Connection(host, port) as conn:
        h = conn.server_hello
        expect(h["version"] == 1, f"version {h['version']}")
        expect(_is_int(h.get("maxInFlight")) and h["maxInFlight"] >= 1,
               f"maxInFlight {h.get('maxInFlight')!r}")
        spec_example = (b'{"version":1,"maxFrameSize":16777216,"maxInFlight":1024,'
                        b'"agent":"tidewire-server/0.1","checksum":"crc32c",'
                        b'"metadata":{"maxEntries":32,"maxBytes":8192}}')  # 3.2, defaults
        same = "byte-identical to" if conn.server_hello_raw == spec_example else "differs from"
        return (f"server HELLO version={h['version']} maxFrameSize={h['maxFrameSize']} "
                f"maxInFlight={h['maxInFlight']} agent={h.get('agent', '')!r} "
                f"({same} the spec's default-settings example)")


def check_seed_scenario(host: str, port: int) -> str:
    with Connection(host, port) as conn:
        for body in (b'{"Uid":"pixel-1","Val":"pixelpig!"}', b'{"Uid":"pixel-1","Val":"another pig!"}'):
            reply = conn.call("echo", body)
            expect(reply == body, f"echo returned {reply!r} for {body!r}")
        return "two echoes on one connection, replies byte-identical to the requests"


def check_out_of_order(host: str, port: int) -> str:
    with Connection(host, port) as conn:
        slow = conn.start("sleep", b'{"millis":300}')
        fast = conn.start("sleep", b'{"millis":10}')
        echo = conn.start("echo", b"{}")
        deadline = time.monotonic() + READ_TIMEOUT  # one bound for all three replies
        results = {c.id: c.result(deadline - time.monotonic()) for c in (slow, fast, echo)}
        expect(results[slow.id] == b'{"millis":300}', f"sleep 300 replied {results[slow.id]!r}")
        expect(results[fast.id] == b'{"millis":10}', f"sleep 10 replied {results[fast.id]!r}")
        expect(results[echo.id] == b"{}", f"echo replied {results[echo.id]!r}")
        order = [c.id for c in sorted((slow, fast, echo), key=lambda c: c.arrival)]
        expect(order == [echo.id, fast.id, slow.id], f"reply order {order}")
        return f"sent ids {slow.id},{fast.id},{echo.id}; replies arrived as {order}"


def check_fail_op(host: str, port: int) -> str:
    with Connection(host, port) as conn:
        e = expect_remote_error(conn.start("fail", b'{"code":1042,"message":"nope"}'), 1042, "nope")
        expect(conn.call("echo", b"1") == b"1", "connection unusable after a request-level ERROR")
        return f"ERROR({e.request_id}) code={e.code} message={e.message!r}; connection still open"


def check_unknown_op(host: str, port: int) -> str:
    with Connection(host, port) as conn:
        e = expect_remote_error(conn.start("no-such-op", b"{}"), UNKNOWN_OP)
        expect(conn.call("echo", b"2") == b"2", "connection unusable after UNKNOWN_OP")
        return f"ERROR({e.request_id}) code={e.code} (UNKNOWN_OP) message={e.message!r}"


def check_ping(host: str, port: int) -> str:
    nonce = 0xFEEDFACECAFEBEEF  # any 64-bit value, top bit set on purpose (section 3.6)
    with Connection(host, port) as conn:
        t0 = time.monotonic()
        conn.ping(nonce)
        return f"PONG({nonce:#x}) after {(time.monotonic() - t0) * 1000:.1f} ms"


def check_cancel(host: str, port: int) -> str:
    with Connection(host, port) as conn:
        sleeper = conn.start("sleep", b'{"millis":5000}')
        sent_at = time.monotonic()
        conn.cancel(sleeper)
        expect(conn.call("echo", b'"after cancel"') == b'"after cancel"', "echo after CANCEL")
        # Stay on the connection past the moment the sleep would have answered (heartbeat PINGs
        # keep it alive), then make sure no reply for the cancelled id ever came.
        time.sleep(max(0.0, sent_at + 5.5 - time.monotonic()))
        expect(conn.call("echo", b"3") == b"3", "connection alive after waiting")
        expect(conn.late_responses == 0,
               f"{conn.late_responses} reply(ies) arrived for the cancelled request")
        return f"no reply for cancelled request {sleeper.id} within 5.5 s; echo answered"


def check_protocol_violation(host: str, port: int) -> str:
    frames, eof = [], False
    with socket.create_connection((host, port), timeout=READ_TIMEOUT) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        dec = FrameDecoder(PRE_HELLO_LIMIT)
        try:
            while True:
                data = sock.recv(65536)  # socket.timeout after 5 s of silence
                if not data:
                    dec.check_eof()
                    eof = True
                    break
                frames += dec.feed(data)
        except ConnectionResetError:
            raise CheckFailed(f"connection reset (frames read before it: {frames})") from None
    expect(len(frames) == 1, f"expected exactly one frame, got {frames}")
    f = frames[0]
    expect(f.type == ERROR and f.id == 0, f"expected ERROR(0), got {f}")
    e = parse_error(f)
    expect(e.code == PROTOCOL_ERROR, f"expected code {PROTOCOL_ERROR}, got {e.code}")
    expect(eof, "no end of stream")
    return f"ERROR(0) code={e.code} message={e.message!r}, then end of stream"


def check_concurrent(host: str, port: int) -> str:
    seed = random.randrange(1 << 32)
    rng = random.Random(seed)
    alphabet = "abcxyz 0123456789-_\"\\/\n\té߀🐷"

    def random_body(i: int) -> bytes:
        kind = rng.randrange(6)
        if kind == 0:
            return b""  # empty body = JSON null; echo gives an empty RESPONSE payload
        if kind == 1:
            return str(rng.randint(-10**12, 10**12)).encode()
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 3000)))
        return json.dumps({"i": i, "text": text, "x": rng.random()}, ensure_ascii=kind == 2).encode()

    with Connection(host, port) as conn:
        bodies = [random_body(i) for i in range(200)]
        calls = [conn.start("echo", b) for b in bodies]
        expect([c.id for c in calls] == list(range(1, 201)), "ids are not 1..200")
        deadline = time.monotonic() + 2 * READ_TIMEOUT  # one bound for all 200 replies
        bad = [c.id for c, b in zip(calls, bodies) if c.result(deadline - time.monotonic()) != b]
        expect(not bad, f"wrong payloads for ids {bad[:10]}")
        in_order = sum(1 for c in calls if c.arrival == c.id - 1)
        return (f"200 pipelined echoes ({sum(map(len, bodies))} body bytes, seed {seed}) all matched;"
                f" {200 - in_order} arrived out of send order")


def check_deadline_and_metadata(host: str, port: int) -> str:
    with Connection(host, port) as conn:
        if not isinstance(conn.server_hello.get("metadata"), dict):
            return "server announces no metadata: skipped"
        reply = json.loads(conn.start("metadata", b"", timeout_ms=1500,
                                      metadata=[("tenant", b"acme"), ("k-bin", b"\x00\xff")]).result())
        expect(reply == {"timeoutMillis": 1500, "metadata": [["tenant", "acme"], ["k-bin", "AP8="]]},
               f"metadata op replied {reply}")
        # a deadline that passes while the handler runs: ERROR 16, the handler is cancelled
        late = conn.start("sleep", b'{"millis":5000}', timeout_ms=100)
        err = expect_remote_error(late, DEADLINE_EXCEEDED)
        # malformed metadata (an upper-case key): ERROR 11 for that request, the connection goes on
        bad = encode_request_ext_payload("echo", 0, [("k", b"v")], b"1")
        bad = bad[:1 + 4 + 6 + 1] + b"K" + bad[1 + 4 + 6 + 2:]
        if conn._slots is not None:
            expect(conn._slots.acquire(timeout=READ_TIMEOUT), "an in-flight slot")
        with conn._write_lock:
            conn._last_id += 1
            call = Call(conn._last_id, "echo", b"1")
            conn._pending[call.id] = call
            conn._write_locked(encode_frame(REQUEST_EXT, call.id, bad))
        expect_remote_error(call, BAD_REQUEST)
        expect(conn.call("echo", b"2") == b"2", "echo after the malformed request")
        return f"deadline and metadata reached the handler; a spent deadline gave {err.code}; bad key gave 11"


CHECKS = [
    ("encoding", check_encoding),
    ("a handshake", check_handshake),
    ("b seed scenario", check_seed_scenario),
    ("c out-of-order replies", check_out_of_order),
    ("d fail op", check_fail_op),
    ("e unknown op", check_unknown_op),
    ("f ping/pong", check_ping),
    ("g cancel", check_cancel),
    ("h protocol violation", check_protocol_violation),
    ("j deadline and metadata", check_deadline_and_metadata),
    ("i 200 concurrent requests", check_concurrent),
]


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(f"usage: {argv[0]} HOST PORT", file=sys.stderr)
        return 2
    host, port = argv[1], int(argv[2])
    passed = failed = 0
    started = time.monotonic()
    for name, check in CHECKS:
        t0 = time.monotonic()
        try:
            detail = check(host, port)
            passed += 1
            status = "PASS"
        except Exception as e:  # noqa: BLE001 - report and go on with the next check
            failed += 1
            status, detail = "FAIL", f"{type(e).__name__}: {e}"
        print(f"{status} {name}: {detail} [{(time.monotonic() - t0) * 1000:.0f} ms]", flush=True)
    print(f"total {time.monotonic() - started:.1f} s", flush=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
