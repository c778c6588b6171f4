"""Finding the kernel, building slabsim_probe.ko and the initramfs, cached by
content: a second run with the same sources, headers and busybox rebuilds
nothing."""

import glob
import hashlib
import os
import shutil
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
KCHECK = os.path.dirname(HERE)  # kernel-check/
REPO = os.path.dirname(KCHECK)
PROBE_DIR = os.path.join(KCHECK, "probe")
INIT = os.path.join(KCHECK, "guest", "init")
# The collector users run on their machines, run in the guest for the check.
COLLECT = os.path.join(os.path.dirname(KCHECK), "scripts", "collect-machine")
BUSYBOX = "/bin/busybox"


class BuildError(Exception):
    pass


HINT = "run scripts/install-deps --kernel-check"


def kernel_cache_root():
    """Where install-deps --kernel-check puts the kernel package (outside the
    repository, so that a clean build/ does not download it again)."""
    env = os.environ.get("SLABSIM_KERNEL_CACHE")
    if env:
        return env
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache")
    return os.path.join(base, "slabsim", "kernel")


def kernel_abi():
    """The ABI of Debian's current kernel: linux-image-amd64 depends on
    linux-image-<abi> (apt-cache reads local lists, no network). Overridden
    by SLABSIM_KERNEL_ABI."""
    env = os.environ.get("SLABSIM_KERNEL_ABI")
    if env:
        return env
    # The ABI install-deps --kernel-check chose (apt-cache takes 2-3 s on a
    # loaded 2-core machine; this is one small file).
    try:
        with open(os.path.join(kernel_cache_root(), "current")) as f:
            abi = f.read().strip()
        if abi:
            return abi
    except OSError:
        pass
    try:
        out = subprocess.run(["apt-cache", "depends", "linux-image-amd64"],
                             capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Depends: linux-image-"):
            return line.split("linux-image-", 1)[1].strip()
    # No apt lists: take the one kernel already in the cache, if any.
    found = sorted(d for d in os.listdir(kernel_cache_root()) if os.path.isdir(
        os.path.join(kernel_cache_root(), d))) if os.path.isdir(
        kernel_cache_root()) else []
    if len(found) == 1:
        return found[0]
    raise BuildError(f"cannot tell the kernel ABI (apt-cache depends "
                     f"linux-image-amd64 gave nothing); set SLABSIM_KERNEL_ABI "
                     f"or {HINT}")


def headers_dir(abi):
    return f"/usr/src/linux-headers-{abi}"


def missing_prerequisites(abi=None):
    """Human-readable list of what is missing to boot the guest; [] if all
    is there. Used by the CLI and to skip the end-to-end test."""
    missing = []
    for tool in ("qemu-system-x86_64", "gcc-12", "make", "cpio", "gzip"):
        if shutil.which(tool) is None:
            missing.append(tool)
    if not os.path.exists(BUSYBOX):
        missing.append("busybox-static (/bin/busybox)")
    try:
        abi = abi or kernel_abi()
    except BuildError as e:
        return missing + [str(e)]
    if not os.path.isdir(headers_dir(abi)):
        missing.append(f"linux-headers-{abi}")
    if not find_kernel_deb(abi) and not os.path.exists(vmlinuz_path(abi)):
        missing.append(f"linux-image-{abi}-unsigned .deb in "
                       f"{os.path.join(kernel_cache_root(), abi)}")
    return missing


def vmlinuz_path(abi):
    return os.path.join(kernel_cache_root(), abi, f"vmlinuz-{abi}")


def find_kernel_deb(abi):
    debs = sorted(glob.glob(os.path.join(
        kernel_cache_root(), abi, f"linux-image-{abi}-unsigned_*.deb")))
    return debs[-1] if debs else None


def ensure_vmlinuz(abi):
    """Extracts boot/vmlinuz-<abi> from the downloaded .deb once (never
    installs it: the host's /boot is not touched)."""
    target = vmlinuz_path(abi)
    if os.path.exists(target):
        return target
    deb = find_kernel_deb(abi)
    if not deb:
        raise BuildError(f"no linux-image-{abi}-unsigned .deb in "
                         f"{os.path.dirname(target)}; {HINT}")
    with tempfile.TemporaryDirectory(dir=os.path.dirname(target)) as tmp:
        # dpkg-deb --fsys-tarfile | tar: only the one file is written out.
        tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb],
                               stdout=subprocess.PIPE)
        rc = subprocess.run(["tar", "-x", "-C", tmp,
                             f"./boot/vmlinuz-{abi}"], stdin=tar.stdout).returncode
        tar.stdout.close()
        if tar.wait() != 0 or rc != 0:
            raise BuildError(f"cannot extract boot/vmlinuz-{abi} from {deb}")
        os.replace(os.path.join(tmp, "boot", f"vmlinuz-{abi}"), target)
    return target


def _digest(parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else p.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def _file_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def build_dir():
    return os.environ.get("SLABSIM_KERNEL_CHECK_BUILD") or os.path.join(
        REPO, "build", "kernel-check")


def build_probe(abi, log):
    """slabsim_probe.ko for <abi>, built with gcc-12 by kbuild into
    build/kernel-check/probe-<hash>/; the hash covers the sources, the ABI
    and the headers' config."""
    sources = sorted(f for f in os.listdir(PROBE_DIR)
                     if f.endswith((".c", ".h")) or f in ("Kbuild", "Makefile"))
    hdr = headers_dir(abi)
    if not os.path.isdir(hdr):
        raise BuildError(f"no kernel headers in {hdr}; {HINT}")
    key = _digest([abi, _file_bytes(os.path.join(hdr, ".config"))] +
                  [n.encode() + _file_bytes(os.path.join(PROBE_DIR, n))
                   for n in sources])
    out = os.path.join(build_dir(), f"probe-{key}")
    ko = os.path.join(out, "slabsim_probe.ko")
    if os.path.exists(ko):
        return ko, False
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for n in sources:
        shutil.copy(os.path.join(PROBE_DIR, n), tmp)
    proc = subprocess.run(["make", "-C", hdr, f"M={tmp}", "CC=gcc-12",
                           "modules"], capture_output=True, text=True)
    with open(log, "w") as f:
        f.write(proc.stdout + proc.stderr)
    if proc.returncode != 0 or not os.path.exists(
            os.path.join(tmp, "slabsim_probe.ko")):
        raise BuildError(f"building slabsim_probe.ko failed (see {log}):\n"
                         + (proc.stderr or proc.stdout)[-2000:])
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return ko, True


def build_initramfs(ko):
    """A gzip'ed newc cpio: busybox-static, /init, the probe module
    (slabsim_probe.ko needs no other module) and scripts/collect-machine.
    Cached by content."""
    key = _digest([_file_bytes(INIT), _file_bytes(ko), _file_bytes(BUSYBOX),
                   _file_bytes(COLLECT)])
    out = os.path.join(build_dir(), f"initrd-{key}.cpio.gz")
    if os.path.exists(out):
        return out, False
    os.makedirs(build_dir(), exist_ok=True)
    with tempfile.TemporaryDirectory(dir=build_dir()) as root:
        for d in ("bin", "proc", "sys", "dev", "tmp"):
            os.mkdir(os.path.join(root, d))
        shutil.copy(BUSYBOX, os.path.join(root, "bin", "busybox"))
        shutil.copy(INIT, os.path.join(root, "init"))
        os.chmod(os.path.join(root, "init"), 0o755)
        shutil.copy(ko, os.path.join(root, "slabsim_probe.ko"))
        shutil.copy(COLLECT, os.path.join(root, "collect-machine"))
        os.chmod(os.path.join(root, "collect-machine"), 0o755)
        names = []
        for dirpath, dirnames, filenames in os.walk(root):
            for n in sorted(dirnames) + sorted(filenames):
                names.append(os.path.relpath(os.path.join(dirpath, n), root))
        tmp = out + ".tmp"
        with open(tmp, "wb") as f:
            # -R 0:0: owned by root in the guest whoever builds it.
            cpio = subprocess.Popen(["cpio", "-o", "-H", "newc", "-R", "0:0",
                                     "--quiet"], cwd=root,
                                    stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE)
            gz = subprocess.Popen(["gzip", "-1", "-n"], stdin=cpio.stdout,
                                  stdout=f)
            cpio.stdout.close()
            cpio.stdin.write(("\n".join(names) + "\n").encode())
            cpio.stdin.close()
            if cpio.wait() != 0 or gz.wait() != 0:
                raise BuildError("cpio | gzip failed building the initramfs")
        os.replace(tmp, out)
    return out, True
