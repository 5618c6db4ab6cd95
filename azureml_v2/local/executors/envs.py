"""Job environments on the local workspace: an Azure ML environment becomes a Python interpreter on this machine.

- No environment, or an image without a conda file: the host interpreter (the one running the runner), with a
  one-line notice; nothing is built.
- A conda file (or pip requirements text in its place): a virtual environment under ``<home>/envs/<hash>/venv``,
  keyed by a hash of the normalised pip requirements and the host Python, built once with uv (``python -m venv``
  and pip when uv is missing). ``build.log`` beside it keeps the whole build; the ``ready`` marker is written
  last, atomically, so an interrupted or failed build is redone by the next job; a file lock makes concurrent
  jobs that need the same environment build it once.
- A docker build context needs a docker engine, which the local workspace does not use.

Conda files are read as pip requirements: ``python=X.Y`` is not installed (the host Python runs, with a notice
when X.Y differs), ``pip`` is ignored, channels are ignored with a notice, conda package names become PyPI names
(``_RENAMES``), conda-only system packages are skipped with a notice (``_CONDA_ONLY``), ``name=1.2`` becomes
``name==1.2.*`` (conda's fuzzy match), build strings are dropped, and the ``pip:`` list is taken as is (options such
as ``--extra-index-url`` included).

Curated Azure ML environments map to local equivalents (:func:`curated`), matched on the name in the ``azureml``
registry (``AzureML-`` stripped from workspace references); ``X.Y`` is the version in the name:

======================================  =================================================================
curated name                            local equivalent (pip packages, on the host Python)
======================================  =================================================================
``sklearn-X.Y[-...]``                   scikit-learn~=X.Y.0, pandas, numpy, scipy, joblib, mlflow-skinny
``lightgbm-X.Y[-...]``                  lightgbm~=X.Y.0, scikit-learn, pandas, numpy, mlflow-skinny
                                        (numpy<2 below lightgbm 4)
``tensorflow-X.Y[-...]``                tensorflow~=X.Y.0, mlflow-skinny (runs on the CPU here)
``[acpt-]pytorch-X.Y[-...]``            torch~=X.Y.0, torchvision, mlflow-skinny (runs on the CPU here)
``minimal-...``                         mlflow-skinny
======================================  =================================================================

e.g. ``azureml:AzureML-sklearn-1.5@latest``, ``azureml:AzureML-sklearn-1.5:3``,
``azureml://registries/azureml/environments/sklearn-1.5/labels/latest``,
``azureml:AzureML-acpt-pytorch-2.8-cuda12.6@latest``, ``azureml:AzureML-tensorflow-2.16-cuda12@latest``.
Other names are not curated here: :func:`curated` returns None and ``prepare(None, ...)`` runs the job on the host
interpreter with a notice.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

_HOST = f"{sys.version_info.major}.{sys.version_info.minor}"
_KEY_FORMAT = 1  # bump when the layout of an environment folder or the normalisation changes
_TAIL_LINES = 15

# Conda package names whose PyPI name differs.
_RENAMES = {
    "pytorch": "torch", "pytorch-cpu": "torch", "pytorch-gpu": "torch", "py-xgboost": "xgboost",
    "py-xgboost-cpu": "xgboost", "py-lightgbm": "lightgbm", "pytables": "tables", "msgpack-python": "msgpack",
    "matplotlib-base": "matplotlib", "py-opencv": "opencv-python", "opencv": "opencv-python",
    "python-graphviz": "graphviz", "ruamel_yaml": "ruamel.yaml", "pyqt": "PyQt5", "tensorflow-gpu": "tensorflow",
}
# Conda packages that are system libraries or toolchains, not Python packages on PyPI.
_CONDA_ONLY = frozenset({
    "cudatoolkit", "cuda-toolkit", "cuda", "cuda-version", "cudnn", "nccl", "pytorch-cuda", "cpuonly", "mkl",
    "mkl-include", "blas", "openblas", "libblas", "liblapack", "openmpi", "mpich", "libgcc", "libgcc-ng",
    "libstdcxx-ng", "libgomp", "gcc", "gxx", "gcc_linux-64", "gxx_linux-64", "compilers", "c-compiler",
    "cxx-compiler", "make", "git", "openssl", "ca-certificates", "nodejs", "r-base",
})

# Patterns are kept as strings and compiled on first use (re's cache), so that importing this module stays cheap.
_CURATED = (  # (name pattern, pip packages with {v} for the version in the name)
    (r"sklearn-(\d+\.\d+)(?:-.*)?",
     ("scikit-learn~={v}.0", "pandas", "numpy", "scipy", "joblib", "mlflow-skinny")),
    (r"lightgbm-([0-3]\.\d+)(?:-.*)?",  # lightgbm 3 predates numpy 2
     ("lightgbm~={v}.0", "scikit-learn", "pandas", "numpy<2", "mlflow-skinny")),
    (r"lightgbm-(\d+\.\d+)(?:-.*)?",
     ("lightgbm~={v}.0", "scikit-learn", "pandas", "numpy", "mlflow-skinny")),
    (r"tensorflow-(\d+\.\d+)(?:-.*)?", ("tensorflow~={v}.0", "mlflow-skinny")),
    (r"(?:acpt-)?pytorch-(\d+\.\d+)(?:-.*)?", ("torch~={v}.0", "torchvision", "mlflow-skinny")),
    (r"minimal-.*", ("mlflow-skinny",)),
)
_NAME = r"[A-Za-z0-9][A-Za-z0-9._\-]*"
_CURATED_REF = (
    rf"(?i)^(?:azureml:)?(?://|/subscriptions/\S+?/)registries/azureml/environments/(?:azureml-)?(?P<registry>{_NAME})"
    r"(?:/(?:versions|labels)/[^/\s]+)?$"
    rf"|^(?:azureml:)?(?:/subscriptions/\S+?/workspaces/[^/\s]+/environments/)?azureml-(?P<workspace>{_NAME})"
    r"(?::[^/:@\s]+|@[^/:@\s]+|/versions/[^/\s]+)?$")
_CONDA_DEP = r"^(?:[^:\s]+::)?(?P<name>[A-Za-z0-9_.\-]+)\s*(?P<spec>.*)$"


class EnvironmentBuildError(Exception):
    """An environment could not be made ready; the message names the cause (and quotes the build log's tail)."""


@dataclass(frozen=True)
class PythonEnv:
    """The interpreter a job runs with: put `bin_dir` first on PATH; show `notice` (one line) in the job's log."""

    python: str
    bin_dir: str
    notice: str | None
    cached: bool


def prepare(environment: dict | None, home: Path, *, log: TextIO, also: tuple[str, ...] = ()) -> PythonEnv:
    """Make the interpreter for an EnvironmentVersion's REST `properties` ready (None: no environment), with the
    pip requirements `also` added (a scoring server the environment lacks)."""
    if environment is None:
        return _host("no environment", Path(home), log, also)
    if environment.get("build"):
        raise EnvironmentBuildError(_docker_message(environment["build"]))
    if not environment.get("condaFile"):
        return _host(f"image {environment.get('image') or '(none)'}", Path(home), log, also)
    requirements, notice = pip_requirements(environment)
    return _virtual_env(sorted({*requirements, *also}, key=lambda line: (not line.startswith("-"), line)), notice,
                        Path(home), log)


def requirement_name(line: str) -> str:
    """The normalised project name of a pip requirement line ('' for an option line)."""
    m = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._\-]*)", line)
    return re.sub(r"[-_.]+", "-", m.group(1)).lower() if m and not line.startswith("-") else ""


def pip_requirements(environment: dict) -> tuple[list[str], str | None]:
    """The normalised pip requirements (options first, each part sorted) an environment's conda file turns
    into, and the one-line notice about what of it the local workspace does not honour."""
    conda = environment.get("condaFile")
    doc = _parse_conda(conda) if isinstance(conda, str) else conda
    notes: list[str] = []
    if isinstance(doc, dict):
        lines = _from_conda(doc, notes)
    elif isinstance(conda, str):
        lines = _pip_lines(conda.splitlines())
    else:
        raise EnvironmentBuildError(f"condaFile must be conda YAML or pip requirements text, not {conda!r}")
    options = sorted({line for line in lines if line.startswith("-")})
    packages = sorted({line for line in lines if not line.startswith("-")})
    return options + packages, "; ".join(notes) or None


def curated(reference: str) -> dict | None:
    """The local equivalent of a curated Azure ML environment (REST `properties` with an inline conda file),
    or None when `reference` names no curated environment known here (see the module's table)."""
    m = re.match(_CURATED_REF, reference.strip())
    if not m:
        return None
    name = m.group("registry") or m.group("workspace")
    for pattern, packages in _CURATED:
        found = re.fullmatch(pattern, name.lower())
        if found:
            version = found.group(1) if found.groups() else ""
            conda = (f"name: AzureML-{name}\ndependencies:\n  - pip:\n"
                     + "".join(f"      - {p.format(v=version)}\n" for p in packages))
            return {"description": f"Local equivalent of the curated environment AzureML-{name}.",
                    "condaFile": conda, "osType": "Linux"}
    return None


def _host(what: str, home: Path, log: TextIO, also: tuple[str, ...] = ()) -> PythonEnv:
    """This machine's Python with the packages beside it, seen through a virtual environment of its own so
    that a job's `pip install` lands there and never in the environment azureml_v2 runs in."""
    return _virtual_env(sorted(also), f"{what}: running on this machine's Python {_HOST} (no docker)", home, log,
                        host_packages=True)


def _see_host_packages(venv: Path) -> None:
    """Make the host's site-packages importable in `venv` (after its own), with a `pip` that installs into it."""
    import site  # import-time budget: envs is imported by the client, which never builds
    dirs = [d for d in site.getsitepackages() + [site.getusersitepackages()] if os.path.isdir(d)]
    purelib = next(venv.glob("lib/python*/site-packages"))
    # an `import` line in a .pth file runs at start-up: addsitedir also reads the host's own .pth files
    (purelib / "_azureml_v2_host.pth").write_text(
        "import site; " + "; ".join(f"site.addsitedir({d!r})" for d in dirs) + "\n", encoding="utf-8")
    for name in ("pip", "pip3"):
        script = venv / "bin" / name
        script.write_text(f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom pip._internal.cli.main import main\n"
                          "sys.exit(main())\n", encoding="utf-8")
        script.chmod(0o755)


def _docker_message(build: dict) -> str:
    context = build.get("contextUri") or "(no context)"
    if _docker_answers():
        return (f"docker build context {context}: running jobs in a docker build context is not supported on "
                "the local workspace yet; use an image with a conda file")
    return (f"docker build context {context} needs docker, which does not answer on this machine; "
            "use an image with a conda file instead")


def _docker_answers() -> bool:
    import shutil  # import-time budget (as every import in a function here)
    import subprocess
    docker = shutil.which("docker")
    if not docker:
        return False
    try:
        return subprocess.run([docker, "info"], capture_output=True, timeout=10, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _parse_conda(text: str):
    import yaml  # import-time budget: only a conda file needs a YAML parser
    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        if any(re.match(r"^\s*[A-Za-z_]+:(\s|$)", line) for line in text.splitlines()):
            raise EnvironmentBuildError(f"the conda file is not valid YAML: {exc}") from None
        return None  # not YAML at all: pip requirements text


def _pip_lines(lines) -> list[str]:
    out = []
    for line in lines:
        if not isinstance(line, str):
            raise EnvironmentBuildError(f"conda file: pip requirement {line!r} is not a string")
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if line:
            out.append(line)
    return out


def _from_conda(doc: dict, notes: list[str]) -> list[str]:
    channels = doc.get("channels") or []
    if channels:
        notes.append(f"conda channels {', '.join(map(str, channels))} ignored (packages come from PyPI)")
    deps = doc.get("dependencies") or []
    if not isinstance(deps, list):
        raise EnvironmentBuildError("conda file: `dependencies` must be a list")
    lines, skipped = [], []
    for dep in deps:
        if isinstance(dep, dict) and set(dep) == {"pip"} and isinstance(dep["pip"], list | None):
            lines += _pip_lines(dep["pip"] or [])
            continue
        m = re.match(_CONDA_DEP, dep.strip()) if isinstance(dep, str) else None
        if not m:
            raise EnvironmentBuildError(f"conda file: unsupported dependency {dep!r}")
        name, spec = m.group("name").lower(), _conda_version(m.group("spec"))
        if name == "python":
            asked = re.match(r"^(?:==)?(\d+\.\d+)", spec.removesuffix(".*"))
            if asked and asked.group(1) != _HOST:
                notes.append(f"Python {asked.group(1)} asked for, running on this machine's Python {_HOST}")
        elif name in _CONDA_ONLY:
            skipped.append(name)
        elif name != "pip":
            lines.append(_RENAMES.get(name, name) + spec)
    if skipped:
        notes.append(f"conda-only packages skipped: {', '.join(skipped)}")
    return lines


def _conda_version(spec: str) -> str:
    """A conda version spec as pip's: `=1.2` and `1.2` are prefix matches (`==1.2.*`); build strings go."""
    spec = re.sub(r"\[.*\]\s*$", "", spec).strip()
    if not spec:
        return ""
    if spec.startswith("==") or spec[0] in "<>!~":
        return re.split(r"(?<=[^=<>!~])=|\s", spec, maxsplit=1)[0]  # drop `=build` / ` build`
    version = re.split(r"[=\s]", spec.lstrip("="), maxsplit=1)[0].rstrip("*").rstrip(".")
    return f"=={version}.*" if version else ""


def _key(requirements: list[str], host_packages: bool = False) -> str:
    spec = json.dumps({"format": _KEY_FORMAT, "python": _HOST, "base": sys.base_prefix,
                       "requirements": requirements, **({"host": sys.prefix} if host_packages else {})})
    return hashlib.sha256(spec.encode()).hexdigest()[:20]


def _virtual_env(requirements: list[str], notice: str | None, home: Path, log: TextIO,
                 host_packages: bool = False) -> PythonEnv:
    key = _key(requirements, host_packages)
    root = home / "envs" / key
    python = root / "venv" / "bin" / "python"
    ready = root / "ready"

    def result(cached: bool) -> PythonEnv:
        return PythonEnv(str(python), str(python.parent), notice, cached)

    if ready.exists() and python.exists():
        return result(True)
    import fcntl  # import-time budget: only a build takes the lock
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _say(log, f"environment {key}: waiting for another job that is building it")
            fcntl.flock(lock, fcntl.LOCK_EX)
        if ready.exists() and python.exists():
            return result(True)
        _build(root, key, requirements, log, host_packages)
    return result(False)


def _uv() -> str | None:
    try:
        from uv import find_uv_bin  # optional extra: uv builds faster than pip
        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        import shutil  # import-time budget
        return shutil.which("uv")


def _say(log: TextIO, line: str, *more: TextIO) -> None:
    for out in (log, *more):
        out.write(line + "\n")
        out.flush()


def _build(root: Path, key: str, requirements: list[str], log: TextIO, host_packages: bool = False) -> None:
    import shlex  # import-time budget: only a build needs these
    import shutil
    import subprocess
    import time

    start = time.monotonic()
    venv = root / "venv"
    python = venv / "bin" / "python"
    shutil.rmtree(venv, ignore_errors=True)  # what an interrupted or failed build left
    (root / "ready").unlink(missing_ok=True)
    listing = root / "requirements.txt"
    listing.write_text("".join(f"{line}\n" for line in requirements), encoding="utf-8")
    uv = _uv()
    if uv:
        tool = "uv"
        steps = [[uv, "venv", str(venv), "--python", sys.executable, "--no-python-downloads", "--no-project"],
                 [uv, "pip", "install", "--python", str(python), "-r", str(listing)]]
    else:  # the host's pip installs into the new environment: seeding it with its own pip takes seconds
        import importlib.util  # import-time budget
        if importlib.util.find_spec("pip") is None:
            raise EnvironmentBuildError(f"environment {key}: neither uv nor pip is installed beside {sys.executable}"
                                        " to build it; install uv (pip install uv)")
        tool = "pip (uv is not installed)"
        steps = [[sys.executable, "-m", "venv", "--without-pip", str(venv)],
                 [sys.executable, "-m", "pip", "--python", str(python), "install", "--disable-pip-version-check",
                  "-r", str(listing)]]
    if not requirements:
        steps.pop()
    env = {**os.environ, "NO_COLOR": "1", "UV_NO_PROGRESS": "1", "PIP_PROGRESS_BAR": "off"}
    build_log = root / "build.log"
    with open(build_log, "w", encoding="utf-8") as out:
        _say(log, f"environment {key}: building with {tool}, {len(requirements)} requirement(s), in {root}", out)
        for step in steps:
            _say(log, "$ " + shlex.join(step), out)
            tail: list[str] = []
            try:
                proc = subprocess.Popen(step, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        errors="replace", cwd=root, env=env)
            except OSError as exc:
                raise EnvironmentBuildError(f"environment {key}: cannot run {step[0]}: {exc}") from None
            with proc:
                for line in proc.stdout:
                    line = line.rstrip("\n")
                    _say(log, line, out)
                    tail = (tail + [line])[-_TAIL_LINES:]
            if proc.returncode:
                command = " ".join(os.path.basename(part) for part in step[:3] if not part.startswith("--"))
                raise EnvironmentBuildError(
                    f"environment {key}: building failed: `{command}` exited with code {proc.returncode}; "
                    f"last lines of {build_log}:\n" + "\n".join(tail))
        if host_packages:
            _see_host_packages(venv)
        marker = root / "ready.tmp"
        marker.write_text(json.dumps({"requirements": requirements, "python": sys.version.split()[0],
                                      "tool": tool, "seconds": round(time.monotonic() - start, 3)}),
                          encoding="utf-8")
        os.replace(marker, root / "ready")
        _say(log, f"environment {key}: ready in {time.monotonic() - start:.1f} s", out)
