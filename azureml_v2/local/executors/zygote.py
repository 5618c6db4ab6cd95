"""A warm interpreter of one job environment (a "zygote"): it imports, once, the installed modules that the jobs of
the environment use, then forks one job process per request, which starts in milliseconds instead of seconds.

    <environment python> zygote.py serve NAME STATE_DIR PADDING
    <environment python> zygote.py learn RECORD ARGV0 KIND TARGET [ARG ...]

It runs in the job environment's interpreter, which need not have azureml_v2 installed: it is run as a script and
uses the standard library only. :mod:`.warm` (the runner's side) starts and talks to it.

``serve`` listens on the abstract Unix socket NAME (this user's peers only). A request is one JSON line
``{"kind": "script"|"module"|"code", "target", "args", "argv0", "cwd", "env", "modules", "marker"}`` sent with
four descriptors: the job's stdout, its stderr, a status pipe the child writes its exit code to, and a go pipe it
waits on; then one more for each number in the request's optional ``"keep"``: the child holds it at that number
(as ``subprocess.Popen``'s ``pass_fds`` would). The zygote imports the requested modules it has not tried yet, checks itself (below), forks, and answers
``{"pid", "rss_kb"}`` (or ``{"cold": reason}``: run the job the usual way), then ``{"exit": code}`` when it reaps
the child. The child makes itself the job's process: its own session and process group, the job's descriptors,
working folder, environment (as ``bash -c`` would pass it), ``sys.argv``, a fresh ``__main__``, and its command line
and job marker rewritten in place where ``ps`` and supervision read them; it runs the user's code only once the
runner says go (after recording it), and exits as Python would (threads joined, atexit run).

Safety: a module whose import leaves a thread running across a fork (threads of a library that winds them down
before a fork, as OpenBLAS does, are fine: a probe fork tells; so are the allocator threads in FORK_SAFE_THREADS)
or a descriptor open is an offender: it is written
to ``denied.json`` and the zygote exits; the next zygote of the environment does not import it. A zygote over its
memory bound (AZUREML_V2_WARM_MAX_MB, default 2048) writes ``refused.json`` and exits; one idle for
AZUREML_V2_WARM_IDLE seconds (default 1800) with no child left exits. A job whose own folder holds a module named
as one imported here (its `datasets.py`, where another project's run taught the zygote the installed `datasets`)
is answered cold: cold, it imports its own.

``learn`` runs a command cold as the interpreter would, and records in RECORD (JSON) the installed modules
(standard library and site-packages, never the job's own code) it imported: what a zygote preloads for it.
"""
import builtins
import fcntl
import importlib
import json
import os
import runpy
import select
import signal
import socket
import struct
import sys
import sysconfig
import time
import types

MARKER = "AZUREML_V2_JOB"  # the job marker of core.processes, rewritten in place in a child's environment block
_PAD = " "
_MAX_KEEP = 8  # descriptors a request may ask a child to keep beyond its own four


# -- the job's process (a forked child, or a cold process when learning)

def _run_main(kind, target, args):
    """Run the job's `__main__` as `python script.py`, `python -m module` or `python -c code` would -> exit code."""
    try:
        if kind == "module":
            sys.argv = ["-m", *args]
            sys.path[0] = os.getcwd()
            runpy._run_module_as_main(target)  # what `python -m` itself calls
        elif kind == "code":
            sys.argv = ["-c", *args]
            sys.path[0] = ""
            _exec_main("<string>", target, None)
        else:
            path = os.path.abspath(target)
            sys.argv = [target, *args]
            sys.path[0] = os.path.dirname(path)
            try:
                with open(path, "rb") as f:
                    source = f.read()
            except OSError as exc:
                print(f"{sys.executable}: can't open file {path!r}: [Errno {exc.errno}] {exc.strerror}",
                      file=sys.stderr)
                return 2
            _exec_main(path, source, path)
        return 0
    except SystemExit as exc:
        return _exit_code(exc)
    except KeyboardInterrupt:
        sys.excepthook(*sys.exc_info()[:2], sys.exc_info()[2].tb_next)
        return -signal.SIGINT
    except BaseException as exc:  # noqa: BLE001 - reported as the interpreter reports an uncaught exception
        sys.excepthook(type(exc), exc, exc.__traceback__.tb_next)  # without this frame, as a cold process shows it
        return 1


def _exec_main(filename, source, path):
    from importlib.machinery import SourceFileLoader

    main = types.ModuleType("__main__")
    main.__dict__.update({"__builtins__": builtins, "__annotations__": {}})
    if path is not None:
        main.__dict__.update({"__file__": path, "__cached__": None, "__loader__": SourceFileLoader("__main__", path)})
    sys.modules["__main__"] = main
    exec(compile(source, filename, "exec"), main.__dict__)  # noqa: S102 - the job's own code, as python runs it


def _exit_code(exc):
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _finish(code):
    """End the process as the interpreter does after `__main__`: join threads, run atexit, flush."""
    import atexit
    import threading

    try:
        threading._shutdown()
    except BaseException:  # noqa: BLE001, S110 - an interrupted wait still ends the process
        pass
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    if code == -signal.SIGINT:  # as the interpreter: die of the signal
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    return code


def _installed_roots():
    paths = sysconfig.get_paths()
    roots = {paths["stdlib"], paths["platstdlib"], paths["purelib"], paths["platlib"]}
    roots |= {p for p in sys.path if p.endswith(("site-packages", "dist-packages"))}
    return tuple(os.path.realpath(r) + os.sep for r in roots if r)


def _learned(skip):
    """The installed modules imported so far, in import order (never one from `skip`: the job's own folders)."""
    roots, names = _installed_roots(), []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if name == "__main__" or not isinstance(path, str):
            continue
        path = os.path.realpath(path)
        if path.startswith(roots) and not path.startswith(skip):
            names.append(name)
    return names


def learn(record, argv0, kind, target, args):
    own = {os.path.realpath(os.getcwd()) + os.sep}
    if kind == "script":
        own.add(os.path.dirname(os.path.realpath(target)) + os.sep)
    _rewrite_proc({"kind": kind, "target": target, "args": args, "argv0": argv0})
    before = set(sys.modules)
    code = _run_main(kind, target, args)
    try:
        modules = [m for m in _learned(tuple(own)) if m not in before]
        with open(record + ".tmp", "w", encoding="utf-8") as f:
            json.dump({"modules": modules}, f)
        os.replace(record + ".tmp", record)
    except OSError:
        pass  # nothing learned: the next cold run tries again
    os._exit(_finish(code) & 0xFF)


# -- the zygote

def _log(message):
    sys.stderr.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} zygote {os.getpid()}: {message}\n")
    sys.stderr.flush()


def _rss_kb():
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))
    except (OSError, StopIteration, ValueError):
        return 0


# Native threads that are safe across a fork by their own design: jemalloc (pyarrow's allocator, which mlflow's
# import loads) handles fork itself, and its background purging thread is simply absent in the child.
FORK_SAFE_THREADS = frozenset({"jemalloc_bg_thd"})


def _threads():
    """This process's threads, the main one included, less those in FORK_SAFE_THREADS."""
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return 1
    count = 0
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/comm", encoding="utf-8", errors="replace") as f:
                safe = f.read().strip() in FORK_SAFE_THREADS
        except OSError:  # ended meanwhile
            continue
        count += not safe
    return max(count, 1)


def _fds():
    return set(os.listdir("/proc/self/fd"))


class Zygote:
    def __init__(self, name, state):
        self.state = state
        self.tried = set(sys.modules)
        self.denied = set(_read_json(os.path.join(state, "denied.json"), []))
        self.max_kb = int(os.environ.get("AZUREML_V2_WARM_MAX_MB", "2048")) * 1024
        self.idle = float(os.environ.get("AZUREML_V2_WARM_IDLE", "1800"))
        self.children = {}  # pid -> the connection its exit code goes to
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind("\0" + name)
        self.listener.listen(64)
        self.wake_r, wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(wake_w, False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(wake_w)
        self.own_fds = {str(self.listener.fileno()), str(self.wake_r), str(wake_w)}

    def serve(self):
        last = time.monotonic()
        while True:
            ready = select.select([self.listener, self.wake_r], [], [], 5.0)[0]
            if self.wake_r in ready:
                try:
                    os.read(self.wake_r, 4096)
                except BlockingIOError:
                    pass
            self.reap()
            if self.listener in ready:
                conn = self.listener.accept()[0]
                last = time.monotonic()
                if not self.handle(conn):
                    break
            elif not self.children and time.monotonic() - last > self.idle:
                _log(f"idle for {self.idle:g} s: exiting")
                break
            elif not os.path.isdir(self.state):  # its workspace was deleted
                break
        self.listener.close()
        while self.children:  # their exit codes still go to their runners
            time.sleep(0.05)
            self.reap()

    def reap(self):
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.children.pop(pid, None)
            if conn is not None:
                _send(conn, {"exit": os.waitstatus_to_exitcode(status)})
                conn.close()

    def handle(self, conn):
        """Answer one request -> whether to go on serving."""
        fds = []
        try:
            uid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
            if uid != os.getuid():
                conn.close()
                return True
            conn.settimeout(10)
            data, fds, _, _ = socket.recv_fds(conn, 1 << 20, 4 + _MAX_KEEP)
            while not data.endswith(b"\n"):
                more = conn.recv(1 << 20)
                if not more:
                    raise OSError("the request ended early")
                data += more
            request = json.loads(data)
            keep = request.get("keep", [])
            if len(fds) != 4 + len(keep) or not all(isinstance(n, int) and n > 2 for n in keep):
                raise OSError(f"{len(fds)} descriptors sent, {4 + len(keep)} expected (keep {keep})")
        except (OSError, ValueError) as exc:
            _log(f"bad request: {exc}")
            for fd in fds:
                os.close(fd)
            conn.close()
            return True
        cold = self.preload(request["modules"], {str(fd) for fd in fds} | {str(conn.fileno())})
        if cold is None and _rss_kb() > self.max_kb:
            cold = f"the warm interpreter uses {_rss_kb() // 1024} MB, over its bound of {self.max_kb // 1024} MB"
            _write_json(os.path.join(self.state, "refused.json"), {"reason": cold})
        if cold is not None:
            _log(cold)
            _send(conn, {"cold": cold})
            conn.close()
            for fd in fds:
                os.close(fd)
            return False
        own = _shadowing(request)
        if own is not None:  # this job alone runs cold: the zygote stays as it is for the others
            _send(conn, {"cold": f"the job's own module {own!r} is named as one the warm interpreter imported"})
            conn.close()
            for fd in fds:
                os.close(fd)
            return True
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        pid = os.fork()
        if pid == 0:
            self.become(request, fds, conn)
        for fd in fds:
            os.close(fd)
        if _send(conn, {"pid": pid, "rss_kb": _rss_kb()}):
            self.children[pid] = conn
        else:  # the runner went away: its job runs elsewhere or not at all; the child never got its go
            os.kill(pid, signal.SIGKILL)
            conn.close()
        return True

    def preload(self, modules, allowed_fds):
        """Import what was not tried yet; None, or why the zygote cannot serve (an offender was found)."""
        baseline = _fds() | self.own_fds | allowed_fds
        for name in modules:
            if name in self.tried or any(name == d or name.startswith(d + ".") for d in self.denied):
                continue
            self.tried.add(name)
            try:
                importlib.import_module(name)
            except BaseException as exc:  # noqa: BLE001 - a module that does not import is not preloaded
                _log(f"not preloaded: {name}: {type(exc).__name__}: {exc}")
                continue
            problem = self.offence(baseline)
            if problem:
                self.denied.add(name)
                _write_json(os.path.join(self.state, "denied.json"), sorted(self.denied))
                return f"importing {name} {problem}: it is not preloaded from now on"
        return None

    @staticmethod
    def offence(baseline):
        """What the imports so far left that a fork cannot carry safely (None: nothing)."""
        opened = sorted(_fds() - baseline, key=int)
        if opened:
            targets = []
            for fd in opened:
                try:
                    targets.append(os.readlink(f"/proc/self/fd/{fd}"))
                except OSError:
                    targets.append(fd)
            return f"left descriptor(s) open ({', '.join(targets)})"
        if _threads() > 1:
            pid = os.fork()  # a library that winds its threads down before a fork (pthread_atfork) is fork-safe
            if pid == 0:
                os._exit(0)
            os.waitpid(pid, 0)
            if _threads() > 1:
                return f"left {_threads() - 1} thread(s) running across a fork"
        return None

    def become(self, request, fds, conn):
        """In the child: become the job's process, wait for the runner's go, run `__main__`, exit."""
        out, err, status, go, *passed = fds
        code = 1
        try:
            for sock in (self.listener, conn, *self.children.values()):
                sock.detach()  # closed below: their objects must not close a descriptor number the job reuses
            os.setsid()
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(out, 1)
            os.dup2(err, 2)
            numbers = request.get("keep", [])
            # above every number asked for first, so that placing one never overwrites another still to place
            floor = max([*numbers, 2]) + 1
            status, go, *passed = (fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, floor) for fd in (status, go, *passed))
            for fd, number in zip(passed, numbers):
                os.dup2(fd, number)  # inheritable, as pass_fds leaves it
            keep = sorted({status, go, *numbers})
            for low, high in zip([2, *keep], [*keep, 1 << 16]):
                os.closerange(low + 1, high)
            os.chdir(request["cwd"])
            env = dict(request["env"])
            if "LC_CTYPE" in os.environ and "LC_CTYPE" not in env and "LC_ALL" not in env and "LANG" not in env:
                env["LC_CTYPE"] = os.environ["LC_CTYPE"]  # the locale coercion this interpreter did at start-up
            os.environ.clear()
            os.environ.update(env)
            _rewrite_proc(request)
            if "numpy.random" in sys.modules:  # a cold process seeds numpy's global generator afresh
                sys.modules["numpy.random"].seed()
            if os.read(go, 1) != b"1":  # the runner did not record this process: its job runs elsewhere
                os._exit(0)
            os.close(go)
            code = _finish(_run_main(request["kind"], request["target"], request["args"]))
        finally:
            try:
                os.write(status, str(code).encode())
            finally:
                os._exit(code & 0xFF)


def _shadowing(request):
    """A module of the job's own folder (its `sys.path[0]`) named as a module imported here (None: none): started
    cold, the job imports its own; forked from here, it would get the one imported."""
    folder = request["cwd"]
    if request["kind"] == "script":
        folder = os.path.dirname(os.path.realpath(os.path.join(folder, request["target"])))
    try:
        entries = os.listdir(folder)
    except OSError:
        return None
    for entry in entries:
        name = entry.partition(".")[0]
        if name in sys.modules and name != "__main__" and (
                entry in (name + ".py", name + ".pyc") or entry.endswith(".so")
                or os.path.isfile(os.path.join(folder, entry, "__init__.py"))):
            return name
    return None


def _rewrite_proc(request):
    """Make /proc/self/cmdline the job's command and the job marker in /proc/self/environ the job's folder, in place
    (their areas are the zygote's own, padded for this): `ps` and supervision (core.processes.kill_marked) read
    them."""
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        arg_start, arg_end, env_start, env_end = (int(fields[i]) for i in (45, 46, 47, 48))
        kind, target = request["kind"], request["target"]
        head = [target] if kind == "script" else ["-m" if kind == "module" else "-c", target]
        cmdline = b"\0".join(a.encode() for a in [request["argv0"], *head, *request["args"]]) + b"\0"
        with open("/proc/self/mem", "r+b", buffering=0) as mem:
            size = arg_end - arg_start
            mem.seek(arg_start)
            mem.write(cmdline[:size - 1].ljust(size, b"\0"))
            mem.seek(env_start)
            block = mem.read(env_end - env_start)
            padded = f"{MARKER}={_PAD}".encode()
            at = 0 if block.startswith(padded) else block.find(b"\0" + padded) + 1
            if (at > 0 or block.startswith(padded)) and request.get("marker"):
                entry = f"{MARKER}=".encode()
                width = block.index(b"\0", at) - at
                mem.seek(env_start + at)
                mem.write((entry + request["marker"].encode())[:width].ljust(width, b"\0"))
    except (OSError, ValueError, IndexError):
        pass  # not Linux: the job's process group still holds the process


def _send(conn, message):
    try:
        conn.sendall(json.dumps(message).encode() + b"\n")
        return True
    except OSError:
        return False


def _read_json(path, default):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def _write_json(path, value):
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(value, f)
    os.replace(path + ".tmp", path)


def main(argv):
    if argv[:1] == ["learn"]:
        learn(argv[1], argv[2], argv[3], argv[4], argv[5:])
    elif argv[:1] == ["serve"]:
        Zygote(argv[1], argv[2]).serve()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
