# SPDX-License-Identifier: MIT
"""Sanitizer runs: when the build in use ($SUPPORTVPN_BUILD, e.g.
build-asan) was made with AddressSanitizer + UBSan, every process the bed
starts gets options that send ASan, UBSan and LeakSanitizer reports to
files, <bed dir>/sanitizer/report.<program>.<pid>, and the system tests'
fixtures fail the test during which such a file appeared (conftest.py).

openvpn is not instrumented, but the plugin it loads is: the sanitizer
runtime must then be the first library in the process, so openvpn (and
supportvpnd, whose environment openvpn inherits) get it by LD_PRELOAD.
Which runtime that is comes from the plugin itself (ldd), so a normal
build is recognised by having none.

LeakSanitizer runs at every exit of our programs, and of openvpn with the
plugin: openvpn 2.6 leaves no leak of its own there (the whole system
suite under ASan reports none), so there is no suppression. None could be
limited to openvpn's own leaks: LSan suppresses a leak if any frame of its
stack matches, and below every allocation of the plugin lie openvpn's
frames. Should an openvpn update bring leaks of its own, leak detection
would have to be switched off in openvpn, not its module suppressed.
"""

import os
import subprocess

# Runtimes a sanitizer build links: clang's (make check, make asan) and
# gcc's.
RUNTIMES = ("libclang_rt.asan", "libasan.so")
# The exit status of a process that a sanitizer stopped; chosen so that it
# cannot be mistaken for one of our programs' own statuses.
EXITCODE = 86
REPORT = "report"

_runtime_of = {}


def runtime():
    """The sanitizer runtime the build's plugin was linked with (the library
    openvpn must preload), or None: a normal build."""
    from .appliance import plugin_path   # appliance imports core, core us
    so = plugin_path()
    if so not in _runtime_of:
        _runtime_of[so] = _find_runtime(so)
    return _runtime_of[so]


def _find_runtime(so):
    if not os.path.exists(so):
        return None
    r = subprocess.run(["ldd", so], capture_output=True, text=True,
                       timeout=30)
    for line in r.stdout.splitlines():
        words = line.split()
        if (len(words) >= 3 and words[1] == "=>" and
                any(words[0].startswith(n) for n in RUNTIMES)):
            return os.path.realpath(words[2])
    return None


def active():
    return runtime() is not None


def options(log_dir):
    """ASAN_OPTIONS, UBSAN_OPTIONS and LSAN_OPTIONS for a process whose
    reports go to log_dir. A report stops the process (halt_on_error; UBSan
    too, the build has -fno-sanitize-recover=all) with EXITCODE, without a
    core dump (abort_on_error=0). Stacks name files and lines with
    llvm-symbolizer, or binutils' addr2line where that is missing."""
    common = [f"log_path={os.path.join(log_dir, REPORT)}", "log_exe_name=1",
              "halt_on_error=1", "abort_on_error=0", f"exitcode={EXITCODE}",
              "allow_addr2line=1"]
    return {
        "ASAN_OPTIONS": ":".join(common + [
            "detect_leaks=1", "detect_stack_use_after_return=1"]),
        "UBSAN_OPTIONS": ":".join(common + ["print_stacktrace=1"]),
    }


def env(log_dir, preload=False, base=None):
    """The environment for a process of a sanitizer run: `base` (default
    ours) with options(log_dir), and the runtime in LD_PRELOAD if the
    process is or starts an openvpn that loads the plugin."""
    e = dict(os.environ if base is None else base)
    e.update(options(log_dir))
    if preload:
        e["LD_PRELOAD"] = runtime()
    return e


def make_dir(log_dir):
    """The reports' directory; writable by everyone (sticky), as openvpn
    may have dropped to `user nobody` before it exits and reports."""
    os.makedirs(log_dir, exist_ok=True)
    os.chmod(log_dir, 0o1733)
    return log_dir


def reports(log_dir):
    """The report files in log_dir, oldest first."""
    try:
        names = [n for n in os.listdir(log_dir)
                 if n.startswith(REPORT + ".")]
    except FileNotFoundError:
        return []
    paths = [os.path.join(log_dir, n) for n in names]
    return sorted(paths, key=lambda p: os.stat(p).st_mtime)


def describe(paths, lines=40):
    """The first `lines` lines of each report, for a test failure."""
    out = []
    for p in paths:
        try:
            with open(p, errors="replace") as f:
                text = f.read().strip().splitlines()
        except OSError as e:
            text = [f"(cannot read: {e.strerror})"]
        out.append(f"----- {p} -----")
        out.extend(text[:lines])
        if len(text) > lines:
            out.append(f"... ({len(text) - lines} more lines)")
    return "\n".join(out)
