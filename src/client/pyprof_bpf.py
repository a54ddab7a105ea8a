# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Profile a region of this program with the pyprof-bpf agent, without root.

    import pyprof_bpf

    pyprof_bpf.start("region.svg")
    region()
    pyprof_bpf.stop()                 # returns "region.svg", complete

    result = pyprof_bpf.go(fn, *args, **kwargs)

    with pyprof_bpf.profile("out.pb.gz"):
        region()

The agent (`pyprof-bpf serve`, run as root) samples; this module only asks it
to, over its control socket ($PYPROF_BPF_SOCKET, else /run/pyprof-bpf.sock).
The profile file is opened here, with this program's rights, and its
descriptor handed to the agent, which writes the profile into it; its format
comes from the file name's extension, as for `pyprof-bpf -o FILE`.

One pure-Python file, no dependencies, CPython 3.8 and later.  Errors are
RuntimeError with one line saying what to do.
"""
import array
import os
import socket
import threading

__all__ = ["start", "stop", "running", "go", "profile", "DEFAULT_SOCKET"]

DEFAULT_SOCKET = "/run/pyprof-bpf.sock"
_LINE_MAX = 4096

_lock = threading.Lock()
_run = None  # (socket, path, reader) while profiling


def _forget_in_child():
    """A forked child is not profiling: its parent is (their socket is
    one)."""
    global _run, _lock
    _lock = threading.Lock()
    if _run is not None:
        try:
            _run[0].close()
        except OSError:
            pass
        _run = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


def _socket_path():
    return os.environ.get("PYPROF_BPF_SOCKET") or DEFAULT_SOCKET


class _Lines:
    """Reply lines (and the bytes after "data N") from the agent."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise RuntimeError("the pyprof-bpf agent closed the connection "
                               "(it stopped?): the profile may be incomplete")
        self.buf += chunk

    def line(self):
        while b"\n" not in self.buf:
            if len(self.buf) > _LINE_MAX:
                raise RuntimeError("the pyprof-bpf agent sent a line too long")
            self._fill()
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode("utf-8", "replace")

    def data(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data


def _answer(lines):
    """The text after "ok", or RuntimeError with the agent's line."""
    line = lines.line()
    if line == "ok" or line.startswith("ok "):
        return line[3:]
    if line.startswith("error "):
        raise RuntimeError(line[6:])
    raise RuntimeError(f"unexpected answer from the pyprof-bpf agent: {line!r}")


def _connect():
    path = _socket_path()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except (FileNotFoundError, ConnectionRefusedError):
        sock.close()
        raise RuntimeError(
            f"the pyprof-bpf agent is not running (nothing answers on {path}): "
            f"start it as root with `pyprof-bpf serve --socket-group GROUP` "
            f"(or `systemctl start pyprof-bpf`), or set PYPROF_BPF_SOCKET "
            f"to its socket") from None
    except PermissionError:
        sock.close()
        raise RuntimeError(
            f"permission denied on {path}: join the group the agent was "
            f"given with `pyprof-bpf serve --socket-group GROUP`") from None
    except OSError as e:
        sock.close()
        raise RuntimeError(f"cannot reach the pyprof-bpf agent at {path}: "
                           f"{e.strerror or e}") from None
    return sock


def _request(sock, words, fd=None):
    line = (" ".join(words) + "\n").encode("utf-8")
    if len(line) > _LINE_MAX:
        raise RuntimeError("request too long: give a shorter file name")
    if fd is None:
        sock.sendall(line)
    else:
        # SCM_RIGHTS: the agent writes into the file this program opened.
        sent = sock.sendmsg([line], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                      array.array("i", [fd]))])
        if sent < len(line):
            sock.sendall(line[sent:])


def start(path=None, *, frequency=99, native=False, mode="cpu",
          threads="all"):
    """Starts profiling this process: every thread and its descendants
    (threads="all") or only the calling thread (threads="current"), until
    stop().  Sampling is on when this returns.  path is the profile file,
    its format from its extension (default pyprof-bpf-PID.folded);
    frequency in Hz; native merges native frames in; mode "cpu" or
    "wall"."""
    global _run
    if mode not in ("cpu", "wall"):
        raise ValueError(f"mode must be 'cpu' or 'wall', not {mode!r}")
    if threads not in ("all", "current"):
        raise ValueError(f"threads must be 'all' or 'current', not {threads!r}")
    if isinstance(frequency, bool) or not isinstance(frequency, int) or \
            not 1 <= frequency <= 10000:
        raise ValueError(f"frequency must be a whole number from 1 to 10000, "
                         f"not {frequency!r}")
    with _lock:
        if _run is not None:
            raise RuntimeError("profiling already in progress: call stop() "
                               "first")
        if path is None:
            path = f"pyprof-bpf-{os.getpid()}.folded"
        path = os.fspath(path)
        sock = _connect()
        f = None
        try:
            existed = os.path.exists(path)
            try:
                f = open(path, "wb")
            except OSError as e:
                raise RuntimeError(f"cannot open {path}: {e.strerror}") \
                    from None
            # No pid: the agent knows this process from the socket, in
            # its own pid namespace (a container's pids are not its).
            words = ["start", f"frequency={frequency}",
                     f"native={int(bool(native))}", f"mode={mode}"]
            if threads == "current":
                words.append(f"tid={threading.get_native_id()}")
            words.append("name=" + os.path.basename(path).replace("\n", "_"))
            lines = _Lines(sock)
            try:
                try:
                    _request(sock, words, f.fileno())
                    _answer(lines)
                except OSError as e:
                    raise RuntimeError(f"the pyprof-bpf agent went away: "
                                       f"{e.strerror or e}") from None
            except BaseException:
                f.close()
                f = None
                if not existed:
                    try:
                        os.unlink(path)
                    except OSError:
                        pass
                raise
        except BaseException:
            sock.close()
            raise
        finally:
            if f is not None:
                f.close()  # the agent holds its own copy
        _run = (sock, path, lines)


def stop():
    """Stops profiling; returns the profile's path once it is complete."""
    global _run
    with _lock:
        if _run is None:
            raise RuntimeError("profiling is not in progress: call start() "
                               "first")
        sock, path, lines = _run
        _run = None
        try:
            _request(sock, ["stop"])
            _answer(lines)
        except OSError as e:
            raise RuntimeError(f"the pyprof-bpf agent went away: "
                               f"{e.strerror or e}") from None
        finally:
            sock.close()
        return path


def running():
    """Whether start() was called and stop() not yet."""
    return _run is not None


def go(fn, *args, **kwargs):
    """Runs fn(*args, **kwargs) profiled (to pyprof-bpf-PID.folded) and
    returns its result."""
    start()
    try:
        return fn(*args, **kwargs)
    finally:
        stop()


class profile:
    """with pyprof_bpf.profile("out.svg", frequency=199): ...  The
    arguments are start()'s."""

    def __init__(self, path=None, **kwargs):
        self.path = path
        self.kwargs = kwargs

    def __enter__(self):
        start(self.path, **self.kwargs)
        return self

    def __exit__(self, *exc):
        self.path = stop()
        return False
