"""A worker process of a parallel job: loads the entry script, calls its ``init()`` once, then ``run(mini_batch)``
for each mini-batch its engine sends, and ``shutdown()`` (when defined) at the end.

    <environment python> parallel_worker.py CONFIG_JSON

It runs in the job's environment interpreter, which need not have azureml_v2 installed: it is run as a script and
uses the standard library only (pandas when the input is a table or run() returns a DataFrame, as on Azure ML).
Tasks arrive as JSON lines on the ``tasks`` descriptor; answers leave as JSON lines on ``answers``:
``{"ready": pid}`` after init(), ``{"done": i, "items", "results", "seconds"}`` once mini-batch i's results are
committed, ``{"error": i, "message"}`` when run() raised, ``{"init_error": message}``. A mini-batch's results are
committed atomically: written to a temporary file, then renamed to ``<parts>/<i>.part`` (its first line a ``#``
and a JSON header, then the rows), so a mini-batch run twice still leaves one part. The process dies with its
engine (PR_SET_PDEATHSIG on Linux, or its pidfd when a warm interpreter forked it; end of the tasks stream
elsewhere).
"""
import importlib.util
import json
import logging
import os
import signal
import sys
import time
import traceback


def _die_with_parent(parent):
    if os.getppid() != parent:  # forked by a warm interpreter (warm starts), or the engine died already
        _die_with(parent)
        return
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the closed tasks stream ends the worker between mini-batches
    if os.getppid() != parent:  # the engine died before the line above
        os._exit(1)


def _die_with(engine):
    """Die as soon as the engine (not this process's parent) ends: a thread waits on its pidfd."""
    import select
    import threading

    try:
        pidfd = os.pidfd_open(engine)
    except (OSError, AttributeError):  # it ended (or not Linux, where nothing forks a worker warm)
        os._exit(1)

    def watch():
        select.select([pidfd], [], [])
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="engine-watch", daemon=True).start()


def _load(entry_script):
    folder = os.path.dirname(entry_script)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = os.path.splitext(os.path.basename(entry_script))[0]
    spec = importlib.util.spec_from_file_location(name, entry_script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    if not callable(getattr(module, "run", None)):
        raise AttributeError(f"the entry script {os.path.basename(entry_script)} defines no run(mini_batch) function")
    return module


def _table(pieces, options):
    """A mini-batch of rows: each piece's bytes read with its header line in front, as one DataFrame."""
    import io

    import pandas as pd

    frames = []
    for path, start, end, header in pieces:
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read(end - start)
            if header is not None:
                f.seek(header[1])
                data = f.read(header[2] - header[1]) + b"\n" + data
        frame = pd.read_csv(io.BytesIO(data), sep=options["delimiter"], encoding=options["encoding"],
                            header=0 if header is not None else None)
        if header is None:
            frame.columns = [f"Column{n + 1}" for n in range(frame.shape[1])]
        frames.append(frame)
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _rows(result, with_header):
    """run()'s return -> (number of results, the rows' text, the header line or None). A DataFrame's rows are
    written space-separated as Azure ML's append_row does; any other iterable's items one per line."""
    if result is None:
        return 0, "", None
    if hasattr(result, "to_csv") and hasattr(result, "columns"):
        header = result.head(0).to_csv(sep=" ", index=False).rstrip("\r\n") if with_header else None
        return len(result), result.to_csv(sep=" ", header=False, index=False), header
    items = list(result)
    return len(items), "".join(f"{item}\n" for item in items), None


def _commit(parts, index, meta, text):
    tmp = os.path.join(parts, f"{index}.part.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write("#" + json.dumps(meta) + "\n")
        f.write(text)
    os.replace(tmp, os.path.join(parts, f"{index}.part"))


def main(config):
    _die_with_parent(config["parent"])
    answers = os.fdopen(config["answers"], "wb", buffering=0)

    def answer(message):
        answers.write(json.dumps(message).encode() + b"\n")

    logging.basicConfig(level=getattr(logging, str(config.get("logging_level", "INFO")).upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sys.argv = [config["entry_script"], *config["argv"]]
    try:
        module = _load(config["entry_script"])
        if callable(getattr(module, "init", None)):
            module.init()
    except BaseException:  # noqa: BLE001 - reported to the engine, which fails the job with it
        answer({"init_error": traceback.format_exc()})
        return 1
    answer({"ready": os.getpid()})
    rows_wanted, with_header = config["append_row"], config["header"]
    with os.fdopen(config["tasks"], "rb") as tasks:
        for line in tasks:
            task = json.loads(line)
            index = task["index"]
            started = time.monotonic()
            try:
                if "files" in task:
                    batch = task["files"]
                else:
                    batch = _table(task["pieces"], config["table"])
                items = len(batch)
                results, text, header = _rows(module.run(batch), with_header and rows_wanted)
            except Exception:  # noqa: BLE001 - a failed mini-batch, counted and maybe tried again by the engine
                answer({"error": index, "message": traceback.format_exc()})
                continue
            seconds = time.monotonic() - started
            meta = {"items": items, "results": results, "seconds": round(seconds, 6), "header": header}
            _commit(config["parts"], index, meta, text if rows_wanted else "")
            answer({"done": index, "items": items, "results": results, "seconds": seconds})
    if callable(getattr(module, "shutdown", None)):
        module.shutdown()
    return 0


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        sys.exit(main(json.load(f)))
