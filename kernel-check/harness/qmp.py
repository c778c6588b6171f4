"""A minimal QMP client (QEMU Machine Protocol: one JSON object per line over
a Unix socket). Replies to commands are {"return": ...} or {"error": ...};
asynchronous events ({"event": ..., "timestamp": ...}) may arrive between
them and are kept for wait_event()."""

import json
import socket
import time


class QMPError(Exception):
    pass


class QMP:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.events = []

    @classmethod
    def connect(cls, path, deadline):
        """Connects to QEMU's `-qmp unix:PATH,server=on,wait=off`, retrying
        until the socket exists; reads the greeting, negotiates."""
        last = None
        while time.monotonic() < deadline:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                break
            except OSError as e:
                last = e
                s.close()
                time.sleep(0.05)
        else:
            raise QMPError(f"cannot connect to QMP socket {path}: {last}")
        q = cls(s)
        greeting = q._read_message(deadline)
        if "QMP" not in greeting:
            raise QMPError(f"unexpected QMP greeting {greeting!r}")
        q.execute("qmp_capabilities", deadline=deadline)
        return q

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _read_message(self, deadline):
        while b"\n" not in self.buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise QMPError("timed out waiting for QMP")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise QMPError("timed out waiting for QMP") from None
            if not chunk:
                raise QMPError("QMP connection closed by QEMU")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        line = line.strip()
        if not line:
            return self._read_message(deadline)
        try:
            return json.loads(line)
        except json.JSONDecodeError as e:
            raise QMPError(f"bad QMP message {line[:200]!r}: {e}") from None

    def execute(self, command, arguments=None, deadline=None):
        """Sends one command; returns its "return" value, raises QMPError on
        {"error": ...}. Events read meanwhile go to self.events."""
        if deadline is None:
            deadline = time.monotonic() + 30
        msg = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read_message(deadline)
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                err = reply["error"]
                raise QMPError(f"{command}: {err.get('class')}: "
                               f"{err.get('desc')}")
            if "return" in reply:
                return reply["return"]

    def wait_event(self, name, deadline, match=None):
        """The first event NAME (with data matching `match`) received since
        the last drain, or None at the deadline."""
        while True:
            for ev in self.events:
                if ev.get("event") == name and (
                        match is None or match(ev.get("data", {}))):
                    return ev
            if time.monotonic() >= deadline:
                return None
            try:
                self.events.append(self._read_message(deadline))
            except QMPError as e:
                if "timed out" in str(e):
                    return None
                raise

    def _poll(self):
        """Reads whatever QEMU has already sent, without waiting."""
        self.sock.setblocking(False)
        try:
            while True:
                try:
                    chunk = self.sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    break
                if not chunk:
                    break
                self.buf += chunk
        finally:
            self.sock.setblocking(True)
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            if line.strip():
                try:
                    self.events.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise QMPError(f"bad QMP message {line[:200]!r}: {e}") from None

    def drain_events(self):
        """The events received so far (those QEMU sent but the client had
        not read yet included), forgetting them."""
        self._poll()
        events, self.events = self.events, []
        return events
