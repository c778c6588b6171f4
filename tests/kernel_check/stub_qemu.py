#!/usr/bin/python3
"""A stand-in for qemu-system-x86_64 that speaks the harness's protocols
(serial markers on stdout, QMP on the -qmp unix socket) without a kernel, so
that the host driver's paths can be tested in a second. STUB_MODE:
  ok      READY, then answers every command (default)
  exit    prints an error on stderr and exits 1 at once
  silent  never becomes ready
  die     READY, then exits in the middle of the first command
  hang    READY, then never answers a command
"""

import json
import os
import socket
import sys
import threading
import time

mode = os.environ.get("STUB_MODE", "ok")


def out(line):
    sys.stdout.write(line + "\r\n")  # a tty's ONLCR
    sys.stdout.flush()


def qmp_server(path):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    conn, _ = srv.accept()
    f = conn.makefile("rwb")

    def send(obj):
        f.write(json.dumps(obj).encode() + b"\n")
        f.flush()

    send({"QMP": {"version": {}, "capabilities": []}})
    sizes = {}
    dimms = {}
    for raw in f:
        msg = json.loads(raw)
        cmd, args = msg["execute"], msg.get("arguments", {})
        if cmd == "object-add":
            sizes[args["id"]] = args["size"]
            send({"return": {}})
        elif cmd == "device_add":
            if args["id"] in dimms:
                send({"error": {"class": "GenericError",
                                "desc": "Duplicate device ID"}})
                continue
            dimms[args["id"]] = sizes[args["memdev"]]
            send({"return": {}})
            # The guest's _OST for the insertion, as QEMU reports it.
            send({"event": "ACPI_DEVICE_OST", "timestamp": {}, "data": {"info": {
                "device": args["id"], "source": 1, "status": 0,
                "slot": "0", "slot-type": "DIMM"}}})
        elif cmd == "query-memory-devices":
            addr = 4 << 30
            devs = []
            for did, size in dimms.items():
                devs.append({"type": "dimm", "data": {
                    "id": did, "addr": addr, "size": size}})
                addr += size
            send({"return": devs})
        elif cmd == "device_del":
            send({"return": {}})
            # An event between replies, as QEMU sends them.
            send({"event": "DEVICE_DELETED", "timestamp": {},
                  "data": {"device": args["id"]}})
            send({"event": "ACPI_DEVICE_OST", "timestamp": {}, "data": {"info": {
                "source": 3, "status": 0, "slot": "0", "slot-type": "DIMM"}}})
            dimms.pop(args["id"], None)
        else:
            send({"return": {}})


def main():
    argv = sys.argv[1:]
    if mode == "exit":
        sys.stderr.write("qemu-system-x86_64: -numa node: bad option\n")
        sys.exit(1)
    qmp = argv[argv.index("-qmp") + 1]
    path = qmp.split(":", 1)[1].split(",")[0]
    threading.Thread(target=qmp_server, args=(path,), daemon=True).start()
    out("[    0.000000] Linux version stub")
    if mode == "silent":
        time.sleep(3600)
    out("@@SLABSIM READY probe_rc=0 release=stub@@")
    for line in sys.stdin:
        seq, _, rest = line.strip().partition(" ")
        verb, _, args = rest.partition(" ")
        if mode == "die":
            out(f"@@SLABSIM BEGIN {seq} {verb}@@")
            sys.exit(0)
        if mode == "hang":
            time.sleep(3600)
        out(f"@@SLABSIM BEGIN {seq} {verb}@@")
        rc = 0
        if verb == "probe":
            words = args.split()
            if words[0] == "alloc":
                out(f"rc=0 cache={words[1]} node={words[2]} cpu={words[3]} "
                    f"requested={words[4]} allocated={words[4]} "
                    f"per_node={words[2]}:{words[4]} runs={words[2]}*{words[4]}")
            else:
                out("rc=-2")
                rc = 1
        elif verb == "write":
            path, _, value = args.partition(" ")
            if value == "busy":
                out(f"path={path} status=1 error=sh: write error: Device or "
                    "resource busy")
                rc = 1
            else:
                out(f"path={path} status=0 error=")
        elif verb == "writeall":
            value, *paths = args.split()
            for p in paths:
                out(f"path={p} status=0 error=")
        elif verb == "shell" and "block_size_bytes" in args:
            out("8000000")
        elif verb == "wait_blocks":
            out("waited_ds=0")
        elif verb == "dump":
            out("/sys/devices/system/node/online:0-2")
            out("/sys/devices/system/node/node2/cpulist:")
        out(f"@@SLABSIM DMESG {seq}@@")
        out(f"[   12.000000] stub: {verb}")
        out(f"@@SLABSIM END {seq} rc={rc}@@")


main()
