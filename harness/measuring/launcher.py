"""check-memory's launcher: forks the measured command, reaps its whole tree, reports.

Run as `python -I -S launcher.py` by `memcheck.py` (isolated, no site: the fewer pages this
process has, the lower the floor the command inherits, since execve carries the old address
space's high-water mark into the new program's `ru_maxrss`: fs/exec.c `exec_mmap()`,
getrusage(2)). It reads its spec from stdin, NUL-separated: our pid, the report fd, the cgroup's
`cgroup.procs` (or empty), the argument count, the arguments, then KEY=VALUE items. Only `os`
and the C `_signal` are imported before the fork (`signal` pulls in `enum`, and every page here
is a page the command's `ru_maxrss` starts from); ctypes and resource come after. No
`from __future__` import, for the same reason.
"""

import _signal
import errno
import os
import time
from _signal import SIGHUP, SIGINT, SIGKILL, SIGTERM


class Stop(Exception):
    pass


def read_spec():
    chunks = []
    while chunk := os.read(0, 1 << 16):
        chunks.append(chunk)
    fields = b"".join(chunks).split(b"\0")
    count = int(fields[3])
    argv = fields[4:4 + count]
    env = dict(item.split(b"=", 1) for item in fields[4 + count:] if b"=" in item)
    return int(fields[0]), int(fields[1]), fields[2], argv, env


def candidates(name, env):
    # execvp(3)'s search, as subprocess does it: the command's own PATH, else os.defpath
    if b"/" in name:
        return [name]
    path = env.get(b"PATH", b"/bin:/usr/bin")
    return [(d + b"/" if d else b"") + name for d in path.split(b":")]


def own_hwm_kb():
    status = os.read(fd := os.open("/proc/self/status", os.O_RDONLY), 1 << 14)
    os.close(fd)
    line = next(x for x in status.splitlines() if x.startswith(b"VmHWM:"))
    return int(line.split()[1])


def run_command(go_r, err_w, argv, paths, env):
    if os.read(go_r, 1) != b"g":
        return  # the launcher gave up before the start
    os.setsid()  # its own session and process group, killed as one when it ends
    for name in ("SIGPIPE", "SIGXFSZ"):  # Python ignores these; ignored stays ignored over exec
        _signal.signal(getattr(_signal, name), _signal.SIG_DFL)
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    try:  # fault in the code execve runs (argv and env conversion) before reading the floor,
        os.execve(b"", argv, env)  # so the pages the real execve touches are counted (ENOENT)
    except OSError:
        pass
    own_hwm_kb()  # the same for the reading's own code
    os.write(err_w, b"F%d\n" % own_hwm_kb())  # the floor: what execve folds into ru_maxrss
    error = None
    for path in paths:
        try:
            os.execve(path, argv, env)
        except OSError as exc:  # like execvp(3): the first error other than "not here" wins
            if error is None or error in (errno.ENOENT, errno.ENOTDIR):
                error = exc.errno
    os.write(err_w, b"E%d\n" % error)


def children():
    me = os.getpid()
    try:
        with open(f"/proc/{me}/task/{me}/children", "rb") as listing:
            return [int(pid) for pid in listing.read().split()]
    except OSError:  # no CONFIG_PROC_CHILDREN: scan /proc for our children
        found = []
        for entry in os.listdir("/proc"):
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    if int(stat.read().rsplit(b")", 1)[1].split()[1]) == me:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
        return found


def on_signal(signum, frame):
    raise Stop(signum)


def setup(harness_pid, procs, pid, report):
    import ctypes
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    if prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER: orphans come to us, not init
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), "prctl(PR_SET_CHILD_SUBREAPER)")
    prctl(1, SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG: if the harness dies, clean up anyway
    for signum in (SIGTERM, SIGINT, SIGHUP):  # SIGTERM is the harness's timeout
        _signal.signal(signum, on_signal)
    if os.getppid() != harness_pid:
        raise Stop(SIGTERM)  # the harness died before PDEATHSIG was set
    if procs:
        try:
            with open(procs, "wb", buffering=0) as cgroup:
                cgroup.write(b"%d" % pid)  # before it runs: the new cgroup charges all it uses
        except OSError as exc:
            report["cgroup_error"] = exc.errno

MARKS = {b"F": "floor_kb", b"E": "exec_errno", b"X": "child_error"}


def read_child(err_r, report):
    data = b""
    while chunk := os.read(err_r, 64):
        data += chunk  # EOF: execve succeeded (close-on-exec) or the child gave up
    for line in data.split():
        report[MARKS[line[:1]]] = int(line[1:])


def wait_for(pid, reaped):
    while True:
        # look before reaping: while the command is a zombie its process group id cannot be
        # reused, so killing the group can only hit what the command left behind
        dead = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)
        if dead.si_pid == pid:
            try:
                os.killpg(pid, SIGKILL)
            except OSError:
                pass
        status = os.wait4(dead.si_pid, 0)[1]
        reaped.append(dead.si_pid)
        if dead.si_pid == pid:
            return status


def sweep(reaped):
    # every descendant left is ours (subreaper) or becomes ours when its parent dies: kill
    # what we have, reap one, repeat until none is left; wait4 adds each to RUSAGE_CHILDREN
    for signum in (SIGTERM, SIGINT, SIGHUP):
        _signal.signal(signum, _signal.SIG_IGN)
    while True:
        for child in children():
            try:
                os.kill(child, SIGKILL)
            except OSError:
                pass
        try:
            reaped.append(os.wait4(-1, 0)[0])
        except ChildProcessError:
            return


def main():
    harness_pid, report_fd, procs, argv, env = read_spec()
    os.set_inheritable(report_fd, False)
    paths = candidates(argv[0], env)
    go_r, go_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(go_w)
            os.close(err_r)
            run_command(go_r, err_w, argv, paths, env)
        except BaseException:
            os.write(err_w, b"X1\n")  # our own failure, never to pass for the command's
        finally:
            os._exit(127)
    os.close(go_r)
    os.close(err_w)
    report, reaped, ended = {}, [], 0
    try:
        try:
            setup(harness_pid, procs, pid, report)
        except (OSError, ImportError) as exc:
            report["setup_error"] = str(exc)
            raise Stop(0) from None
        started = time.monotonic_ns()
        os.write(go_w, b"g")
        os.close(go_w)
        read_child(err_r, report)
        report["status"] = wait_for(pid, reaped)
        report["duration_ns"] = time.monotonic_ns() - started
        ended = len(reaped)
    except Stop as stop:
        report["stopped"] = stop.args[0]
    finally:
        sweep(reaped)
    report["left_behind"] = len(reaped) - ended if ended else 0
    import resource
    report["maxrss_kb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    report["reaped"] = ",".join(map(str, reaped))
    os.write(report_fd, "\n".join(f"{k}={v}" for k, v in report.items()).encode())



if __name__ == "__main__":
    main()
