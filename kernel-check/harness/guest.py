"""One QEMU guest: boot, serial commands, QMP, and a guaranteed kill."""

import os
import queue
import signal
import subprocess
import tempfile
import threading
import time

from .protocol import ProtocolError, ReplyParser
from .qmp import QMP, QMPError


class GuestError(Exception):
    pass


# Always added after the machine's own kernel_cmdline: the console the
# harness reads, and panic=-1 (reboot at once) which -no-reboot turns into a
# QEMU exit, so a panic ends the run instead of hanging it.
BASE_CMDLINE = ["console=ttyS0", "panic=-1"]


class Guest:
    def __init__(self, machine, vmlinuz, initrd, serial_log, deadline,
                 stderr_log, commands_log=None, quiet=True):
        self.machine = machine
        self.vmlinuz = vmlinuz
        self.initrd = initrd
        self.serial_log_path = serial_log
        self.deadline = deadline  # overall, time.monotonic()
        self.proc = None
        self.qmp = None
        self.tmpdir = tempfile.mkdtemp(prefix="slabsim-kc-")
        self.qmp_path = os.path.join(self.tmpdir, "qmp.sock")
        self.lines = queue.Queue()
        self.parser = ReplyParser()
        self.seq = 0
        self.ready = None
        self.stderr_path = stderr_log
        self.quiet = quiet
        # What the host sent, one line per command (the guest does not echo).
        self.commands_log = open(commands_log, "w") if commands_log else None
        self._reader = None
        self.argv = None
        self.cmdline = None
        # SLABSIM_QEMU: another binary speaking the same serial/QMP protocol
        # (the tests' stub guest).
        self.qemu = os.environ.get("SLABSIM_QEMU", "qemu-system-x86_64")

    # -- lifecycle ---------------------------------------------------------
    def start(self):
        # `quiet` (console loglevel 4: warnings and errors still reach
        # serial.log) saves about 7 s of emulated 8250 output per boot under
        # TCG; the whole log stays readable with the boot_log dump item.
        self.cmdline = " ".join(list(self.machine.get("kernel_cmdline", [])) +
                                BASE_CMDLINE + (["quiet"] if self.quiet else []))
        self.argv = ([self.qemu] + list(self.machine["machine_args"])
                     + ["-kernel", self.vmlinuz, "-initrd", self.initrd,
                        "-append", self.cmdline,
                        # No default NIC/VGA/etc. to probe; serial on stdio
                        # (pipes), QMP on a socket, no HMP monitor.
                        "-nodefaults", "-display", "none", "-monitor", "none",
                        "-serial", "stdio", "-no-reboot",
                        "-qmp", f"unix:{self.qmp_path},server=on,wait=off"])
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=self._stderr,
                                     start_new_session=True)
        self._reader = threading.Thread(target=self._read_serial, daemon=True)
        self._reader.start()

    def _read_serial(self):
        with open(self.serial_log_path, "wb") as log:
            buf = b""
            fd = self.proc.stdout.fileno()
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    break
                log.write(chunk)
                log.flush()
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    self.lines.put(line.decode("utf-8", "replace"))
            if buf:
                self.lines.put(buf.decode("utf-8", "replace"))
        self.lines.put(None)  # EOF: QEMU exited

    def qemu_stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace").strip()[-2000:]
        except OSError:
            return ""

    def _exited(self, what):
        # The serial pipe's EOF can come before QEMU is reaped.
        try:
            rc = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            rc = None
        msg = f"{what}: QEMU exited (status {rc})"
        err = self.qemu_stderr()
        if err:
            msg += f"; its stderr: {err}"
        return GuestError(msg)

    def _next_line(self, step_deadline, what):
        deadline = min(step_deadline, self.deadline)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise GuestError(f"{what}: timed out" + (
                " (overall timeout)" if self.deadline <= step_deadline else ""))
        try:
            line = self.lines.get(timeout=remaining)
        except queue.Empty:
            raise GuestError(f"{what}: timed out after "
                             f"{remaining:.0f} s waiting for the guest" + (
                                 " (overall timeout)"
                                 if self.deadline <= step_deadline else "")
                             ) from None
        if line is None:
            raise self._exited(what)
        return line

    def wait_ready(self, timeout):
        """Waits for /init's READY marker, then connects QMP."""
        deadline = time.monotonic() + timeout
        while self.parser.ready is None:
            self.parser.feed(self._next_line(deadline, "boot (waiting for "
                                             "the guest's READY marker)"))
        self.ready = self.parser.ready
        try:
            self.qmp = QMP.connect(self.qmp_path, min(deadline + 10,
                                                      self.deadline))
        except QMPError as e:
            raise GuestError(f"boot: {e}") from None
        return self.ready

    def command(self, verb, args, timeout, what):
        """Sends "<seq> <verb> <args>" on the serial console; returns the
        Reply (body, kernel_log, rc)."""
        self.seq += 1
        line = f"{self.seq} {verb} {args}".rstrip() + "\n"
        # The guest tty is canonical: keep a line well under 4095 bytes.
        if len(line) > 3000:
            raise GuestError(f"{what}: command line too long")
        if self.commands_log:
            self.commands_log.write(line)
            self.commands_log.flush()
        try:
            self.proc.stdin.write(line.encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._exited(what) from None
        deadline = time.monotonic() + timeout
        while True:
            try:
                reply = self.parser.feed(self._next_line(deadline, what))
            except ProtocolError as e:
                raise GuestError(f"{what}: {e}") from None
            if reply is not None:
                if reply.seq != self.seq:
                    continue  # a late reply to an earlier command
                return reply

    def close(self):
        """Kills QEMU (its whole session) whatever state it is in."""
        if self.qmp is not None:
            self.qmp.close()
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc is not None:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            for f in (self.proc.stdin, self.proc.stdout):
                try:
                    f.close()
                except (OSError, AttributeError):
                    pass
        if self._reader is not None:
            self._reader.join(timeout=5)
        try:
            self._stderr.close()
        except AttributeError:
            pass
        if self.commands_log:
            self.commands_log.close()
            self.commands_log = None
        for n in ("qmp.sock",):
            try:
                os.unlink(os.path.join(self.tmpdir, n))
            except OSError:
                pass
        try:
            os.rmdir(self.tmpdir)
        except OSError:
            pass
