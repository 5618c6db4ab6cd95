"""The local spark runner: runs one spark job of a local workspace with Apache Spark's own `spark-submit`, from
the pyspark package, in local mode.

    python -m azureml_v2.local.executors.spark --home H --workspace WS --job NAME

It is the command runner (claim, code snapshot, environment, inputs and outputs, logs, cancel, outputs stored,
status) with spark-submit in place of `bash -c`: `--master local[N]`, N cores from the executor settings bounded by
this machine's; `--py-files`, `--jars`, `--files`, `--archives` and every `--conf` as given; the entry file (or
class, from the first jar) with `args` filled. Spark reads and writes its data itself, so every data input is given
as its path on this machine whatever its mode (Azure ML takes only `direct`), and each output as the folder or
file stored as the job's output when the application ends. The driver is the only JVM here: cluster-sizing
settings (executor instances, memory, dynamic allocation; serverless instance types; an attached pool) cannot
apply and are named in a notice at the top of std_log.txt.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shlex
import signal
import sys
from pathlib import Path

from ..core.checks import spark_unavailable
from ..core.executors import executor_main
from ..core.workspace import LOCAL_COMPUTE
from .command import JobError, Runner, substitute

_CLUSTER_KEYS = ("spark.executor.instances", "spark.executor.memory", "spark.dynamicAllocation.")
_SIZE = re.compile(r"^(\d+)([kmgt]?)b?$", re.IGNORECASE)
_UNITS = {"": 1 << 20, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}  # Spark reads a bare number as MiB


class SparkRunner(Runner):
    """Runs spark job `name` of workspace `ws` in the local workspace at `home`."""

    JOB_TYPE = "Spark"
    PROGRAM = "spark-submit"

    def _check_compute(self, doc: dict) -> None:
        resources = doc.get("resources") or {}
        if resources.get("instanceType") or resources.get("runtimeVersion"):
            self.notice(f"serverless Spark ({resources.get('instanceType') or 'any size'}, runtime "
                        f"{resources.get('runtimeVersion') or 'default'}) runs here on pyspark {_pyspark_version()}")
        compute = (doc.get("computeId") or LOCAL_COMPUTE).rstrip("/").rsplit("/", 1)[-1].removeprefix("azureml:")
        if compute != LOCAL_COMPUTE:
            self.notice(f"compute '{compute}' (a Spark pool) is not on this machine: the local workspace runs the "
                        "job here")
        if doc.get("identity"):
            self.notice(f"identity {doc['identity'].get('identityType')}: the job reads and writes this machine's "
                        "files as the local user")

    def _inputs(self, spec: dict) -> tuple[dict[str, str], dict[str, str]]:
        """Each data input as its path on this machine (Spark cannot read azureml:// URIs): any mode is direct."""
        values, env = {}, {}
        for key, item in spec.items():
            if item.get("jobInputType") == "literal":
                values[key] = str(item.get("value", ""))
                continue
            values[key] = env[f"AZURE_ML_INPUT_{key}"] = str(self._path(item.get("uri") or "", f"input {key!r}",
                                                                        key))
        return values, env

    def _plan(self, doc: dict, inputs: dict[str, str], outputs: dict[str, Path]) -> list:
        problem = spark_unavailable()
        if problem:
            raise JobError(problem)
        conf = {k: str(v) for k, v in (doc.get("conf") or {}).items() if v is not None}
        cores, notice = local_cores(conf, os.cpu_count() or 1)
        if notice:
            self.notice(notice)
        argv = [str(_spark_home() / "bin" / "spark-submit"), "--master", f"local[{cores}]", "--name", self.name]
        self._memory_notice(conf)
        entry = doc.get("entry") or {}
        jars = [self._local(j, "jars") for j in doc.get("jars") or ()]
        if entry.get("sparkJobEntryType") == "SparkJobScalaEntry":
            if not jars:
                raise JobError(f"entry.class_name {entry.get('className')}: the class's jar must be listed in jars "
                               "(the first jar is the application)")
            application, jars = jars[0], jars[1:]
            argv += ["--class", entry.get("className") or ""]
        else:
            application = self._local(entry.get("file") or "", "entry.file")
        lists = (("--py-files", "pyFiles"), ("--files", "files"), ("--archives", "archives"))
        for flag, items in (("--jars", jars), *((flag, [self._local(i, key) for i in doc.get(key) or ()])
                                                  for flag, key in lists)):
            if items:
                argv += [flag, ",".join(items)]
        for key, value in conf.items():
            argv += ["--conf", f"{key}={value}"]
        argv += [application, *self._args(doc.get("args"), inputs, outputs)]
        self.log(f"spark-submit: {shlex.join(argv)}")
        return [(argv, {}, ["std_log.txt"])]

    def _env(self, bin_dir: str, input_env: dict, outputs: dict[str, Path]) -> dict[str, str]:
        env = super()._env(bin_dir, input_env, outputs)
        python = os.path.join(bin_dir, "python")
        # the job environment's Python runs the driver and the workers; SPARK_HOME spares spark-submit its search;
        # the driver's ports (its UI, the block manager) listen on loopback only, as the job's MLflow server does
        env.update({"PYSPARK_PYTHON": python, "PYSPARK_DRIVER_PYTHON": python, "SPARK_HOME": str(_spark_home())})
        env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        return env

    # -- settings

    def _memory_notice(self, conf: dict[str, str]) -> None:
        cluster = [k for k in conf if k.startswith(_CLUSTER_KEYS)]
        if cluster:
            self.notice(f"{', '.join(cluster)} size a cluster: here the executors are threads of the driver's JVM "
                        f"(heap: spark.driver.memory, {conf.get('spark.driver.memory', '1g')})")
        memory = _bytes(conf.get("spark.driver.memory", ""))
        total = _physical_memory()
        if memory and total and memory > total:
            conf["spark.driver.memory"] = f"{total * 3 // 4 >> 20}m"
            self.notice(f"spark.driver.memory {memory >> 20} MiB is more than this machine's {total >> 20} MiB: "
                        f"the driver gets {conf['spark.driver.memory']}")

    # -- paths and arguments

    def _local(self, item: str, what: str) -> str:
        """A file the application names (entry, py_files, jars, files, archives): a path in the code, a local
        path, or data this machine holds (azureml:// URIs); `#alias` kept for files and archives."""
        path, alias = (item.split("#", 1) + [""])[:2] if what in ("files", "archives") else (item, "")
        if "://" in path:
            resolved = self._path(path, what)
        else:
            resolved = self.wd / path
            if not resolved.exists():
                raise JobError(f"{what}: {path} is not in the job's code ({self.wd})")
        return str(resolved) + (f"#{alias}" if alias else "")

    @staticmethod
    def _args(args: str | None, inputs: dict[str, str], outputs: dict[str, Path]) -> list[str]:
        if not args:
            return []
        quoted = {k: shlex.quote(v) for k, v in inputs.items()}
        text = substitute(args, quoted, {k: shlex.quote(str(p)) for k, p in outputs.items()})
        try:
            return shlex.split(text)
        except ValueError as exc:
            raise JobError(f"args: {exc} in {text!r}") from None


def local_cores(conf: dict[str, str], machine: int) -> tuple[int, str | None]:
    """The N of local[N]: executor instances (the dynamic maximum) x executor cores, at most `machine` cores; and
    the notice when the machine has fewer."""
    def number(key: str) -> int:
        value = conf.get(key, "")
        return int(value) if value.isdigit() and int(value) > 0 else 1

    dynamic = conf.get("spark.dynamicAllocation.enabled", "").lower() == "true"
    wanted = number("spark.dynamicAllocation.maxExecutors" if dynamic else "spark.executor.instances") \
        * number("spark.executor.cores")
    if wanted > machine:
        return machine, f"the executors ask for {wanted} cores and this machine has {machine}: local[{machine}]"
    return wanted, None


def _spark_home() -> Path:
    spec = importlib.util.find_spec("pyspark")  # not imported: the runner needs its files, not the library
    return Path(spec.submodule_search_locations[0])


def _pyspark_version() -> str:
    text = (_spark_home() / "version.py").read_text(encoding="utf-8")
    found = re.search(r"""__version__.*?=\s*["']([^"']+)""", text)
    return found.group(1) if found else "(unknown version)"


def _bytes(size: str) -> int | None:
    m = _SIZE.match(size.strip())
    return int(m.group(1)) * _UNITS[m.group(2).lower()] if m else None


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return None


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a stopped runner still ends its job
    return executor_main(SparkRunner, "azureml_v2.local.executors.spark", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
