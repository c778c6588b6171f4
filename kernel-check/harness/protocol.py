"""The serial protocol spoken with kernel-check/guest/init, and the parsing of
what the guest prints into stable JSON.

Host -> guest: one line "<seq> <verb> [args]".
Guest -> host, per command:
    @@SLABSIM BEGIN <seq> <verb>@@
    body lines
    @@SLABSIM DMESG <seq>@@
    kernel log lines (dmesg -c)
    @@SLABSIM END <seq> rc=<n>@@
and once after boot: @@SLABSIM READY probe_rc=<n> [probe_error=...] release=<r>@@.
Anything outside markers (boot log, a panic) is kept in serial.log only.
"""

import errno
import os
import re

READY_RE = re.compile(r"^@@SLABSIM READY (.*)@@$")
BEGIN_RE = re.compile(r"^@@SLABSIM BEGIN (\d+) (\S+)@@$")
DMESG_RE = re.compile(r"^@@SLABSIM DMESG (\d+)@@$")
END_RE = re.compile(r"^@@SLABSIM END (\d+) rc=(-?\d+)@@$")
# dmesg's "[    1.234567] " prefix: dropped so that outputs compare across runs.
DMESG_TIME_RE = re.compile(r"^\[\s*\d+\.\d+\]\s?")

# glibc's strerror() texts (busybox-static is linked with glibc, as is Python)
# mapped back to errno values; busybox prints them after "write error: " or
# "can't create PATH: ".
_STRERROR = {os.strerror(e): e for e in sorted(errno.errorcode, reverse=True)}
_STRERROR["nonexistent directory"] = errno.ENOENT  # busybox's own wording


class ProtocolError(Exception):
    pass


def errno_from_text(text):
    """-errno for a busybox error message, or -EIO when unrecognised."""
    text = text.strip()
    for candidate in (text, text.rsplit(": ", 1)[-1]):
        if candidate in _STRERROR:
            return -_STRERROR[candidate]
    return -errno.EIO


def errno_name(rc):
    """"-EBUSY" for -16, "0" for 0: the text form used in the output."""
    if rc == 0:
        return "0"
    return "-" + errno.errorcode.get(-rc, str(-rc))


def parse_kv(line):
    """'rc=0 cache=a n=3' -> {'rc': 0, 'cache': 'a', 'n': 3}; the last key
    takes the rest of the line if it holds spaces (error=... texts)."""
    out = {}
    tokens = line.strip().split(" ")
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        if "=" not in tok:
            continue
        key, value = tok.split("=", 1)
        # An error text may contain spaces: glue tokens without '='.
        while key == "error" and i < len(tokens) and "=" not in tokens[i]:
            value += " " + tokens[i]
            i += 1
        out[key] = _scalar(value)
    return out


def _scalar(value):
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


class Reply:
    def __init__(self, seq, verb):
        self.seq = seq
        self.verb = verb
        self.body = []
        self.kernel_log = []
        self.rc = None


class ReplyParser:
    """Feeds on serial lines; returns finished Replies. Robust to noise lines
    between replies (they are ignored, the serial log keeps them)."""

    def __init__(self):
        self.ready = None
        self._cur = None
        self._in_dmesg = False

    def feed(self, line):
        line = line.rstrip("\r\n")
        m = READY_RE.match(line)
        if m and self._cur is None:
            self.ready = parse_kv(m.group(1))
            return None
        m = BEGIN_RE.match(line)
        if m:
            self._cur = Reply(int(m.group(1)), m.group(2))
            self._in_dmesg = False
            return None
        if self._cur is None:
            return None
        m = DMESG_RE.match(line)
        if m:
            self._in_dmesg = True
            return None
        m = END_RE.match(line)
        if m:
            reply = self._cur
            if int(m.group(1)) != reply.seq:
                raise ProtocolError(
                    f"reply END {m.group(1)} does not match BEGIN {reply.seq}")
            reply.rc = int(m.group(2))
            self._cur = None
            return reply
        if self._in_dmesg:
            self._cur.kernel_log.append(DMESG_TIME_RE.sub("", line))
        else:
            self._cur.body.append(line)
        return None


# ---- dumps ---------------------------------------------------------------

def parse_cpulist(text):
    """'0-2,5' -> [0, 1, 2, 5]; '' -> []."""
    out = []
    for part in text.strip().split(","):
        if not part:
            continue
        if "-" in part:
            lo, hi = part.split("-", 1)
            out.extend(range(int(lo), int(hi) + 1))
        else:
            out.append(int(part))
    return out


def _meminfo_line(line):
    # "Node 0 MemTotal:       524288 kB"
    m = re.match(r"^Node \d+ (\S+):\s+(\d+)(?: (kB))?$", line.strip())
    if not m:
        return None, None
    key = m.group(1) + ("_kB" if m.group(3) else "")
    return key, int(m.group(2))


def _counted(text):
    """SLUB sysfs counters: '12 N0=6 N1=6' -> {'total': 12, 'N0': 6, 'N1': 6};
    slabs_cpu_partial's '3(3) C0=1(1)' keeps its text."""
    tokens = text.split()
    if not tokens or not re.fullmatch(r"-?\d+", tokens[0]):
        return text
    out = {"total": int(tokens[0])}
    for tok in tokens[1:]:
        if "=" not in tok:
            return text
        k, v = tok.split("=", 1)
        if not re.fullmatch(r"-?\d+", v):
            return text
        out[k] = int(v)
    return out


SLABINFO_FIELDS = ["active_objs", "num_objs", "objsize", "objperslab",
                   "pagesperslab", "limit", "batchcount", "sharedfactor",
                   "active_slabs", "num_slabs", "sharedavail"]


def parse_slabinfo_row(row):
    parts = row.replace(":", " ").split()
    name = parts[0]
    nums = [p for p in parts[1:] if re.fullmatch(r"-?\d+", p)]
    if len(nums) != len(SLABINFO_FIELDS):
        return name, row
    return name, dict(zip(SLABINFO_FIELDS, (int(n) for n in nums)))


def parse_file_lines(lines):
    """'path:content' lines (grep -H '') -> {path: [content lines]}, in order;
    'link:path' lines -> a list under the key 'links'."""
    files = {}
    links = []
    for line in lines:
        if line.startswith("link:"):
            links.append(line[5:])
            continue
        if ":" not in line:
            continue
        path, content = line.split(":", 1)
        files.setdefault(path, []).append(content)
    return files, links


def _path_value(path, contents):
    base = path.rsplit("/", 1)[-1]
    text = "\n".join(contents)
    if path.startswith("/sys/devices/system/node/"):
        if base == "meminfo":
            out = {}
            for line in contents:
                k, v = _meminfo_line(line)
                if k:
                    out[k] = v
            return out
        if base == "numastat":
            return {line.split()[0]: int(line.split()[1])
                    for line in contents if len(line.split()) == 2}
        if base == "distance":
            return [int(x) for x in text.split()]
        if base in ("cpulist", "possible", "online", "has_memory",
                    "has_normal_memory", "has_cpu", "has_high_memory"):
            return parse_cpulist(text)
    if base in ("block_size_bytes", "phys_index"):
        return int(text.strip(), 16)  # printed in hex, without 0x
    if path.startswith("/sys/kernel/slab/"):
        return _counted(text.strip()) if base in (
            "slabs", "partial", "objects", "objects_partial", "total_objects",
            "cpu_slabs", "slabs_cpu_partial") else _scalar(text.strip())
    if len(contents) == 1:
        return _scalar(contents[0].strip())
    return contents


def parse_dump(lines, items):
    """The body of a 'dump' reply -> {item: {...}} keyed by sysfs paths."""
    files, links = parse_file_lines(lines)
    out = {}
    for item in items:
        if item == "nodes":
            out["nodes"] = {p: _path_value(p, c) for p, c in files.items()
                            if p.startswith("/sys/devices/system/node/")}
        elif item == "blocks":
            section = {p: _path_value(p, c) for p, c in files.items()
                       if p.startswith("/sys/devices/system/memory/")}
            # memoryN/nodeM links: the node of each block, by block path.
            for link in links:
                block, node = link.rsplit("/", 1)
                section[block + "/node"] = int(node[4:])
            out["blocks"] = dict(sorted(section.items(), key=_block_sort_key))
        elif item.startswith("slab:"):
            name = item[5:]
            prefix = f"/sys/kernel/slab/{name}/"
            section = {p: _path_value(p, c) for p, c in files.items()
                       if p.startswith(prefix)}
            section["exists"] = bool(section)
            for row in files.get("/proc/slabinfo", []):
                if row.startswith("#"):
                    continue
                row_name, parsed = parse_slabinfo_row(row)
                if row_name == name:
                    section["/proc/slabinfo"] = parsed
            out[item] = section
        elif item == "boot_log":
            out["boot_log"] = [DMESG_TIME_RE.sub("", line) for line in
                               files.get("/tmp/boot.log", [])]
        elif item == "slabinfo":
            rows = {}
            for row in files.get("/proc/slabinfo", []):
                if row.startswith("#") or row.startswith("slabinfo -"):
                    continue
                name, parsed = parse_slabinfo_row(row)
                rows[name] = parsed
            out["slabinfo"] = {"/proc/slabinfo": rows}
    return out


def _block_sort_key(item):
    m = re.search(r"/memory(\d+)/", item[0])
    return (int(m.group(1)) if m else -1, item[0])


CACHE_NAME_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
