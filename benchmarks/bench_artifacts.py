"""Artifacts benchmark: snapshot hash vs plain sha256, cost of an ignored node_modules, blob upload vs raw SDK.

Run: python benchmarks/bench_artifacts.py [--quick]. Timings are the best of several warm runs.
The blob part uses Azurite as the tests do (AZURITE_BLOB_URL, 127.0.0.1:10000 or `azurite-blob`).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROUNDS = 9  # blob upload rounds; Azurite timings vary a lot on a busy machine
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from azureml_v2._artifacts.snapshot import take_snapshot  # noqa: E402
from azureml_v2._artifacts.storage import _workers, open_container, upload_snapshot  # noqa: E402


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def write_tree(root: Path, count: int, size: int, fanout: int = 50) -> None:
    block = os.urandom(size)
    for i in range(count):
        path = root / f"d{i // fanout:03d}" / f"f{i:05d}.dat"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(block[i % 7:] + block[:i % 7])


def cases(full: list[tuple[int, int]], quick: bool) -> list[tuple[str, int, int]]:
    """(label, file count, file size) for each case; a tenth of the files with --quick."""
    out = []
    for count, size in full:
        count = max(1, count // 10) if quick else count
        unit = f"{size >> 20} MiB" if size >= 1 << 20 else f"{size >> 10} KiB"
        out.append((f"{count:,} files x {unit}", count, size))
    return out


def plain_sha256(paths: list[str]) -> str:
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()


def plain_sha256_of(contents: list[bytes]) -> str:
    h = hashlib.sha256()
    for data in contents:
        h.update(data)
    return h.hexdigest()


def bench_hash(base: Path, quick: bool) -> list[tuple]:
    rows = []
    for name, count, size in cases([(5000, 4 << 10), (500, 64 << 10), (8, 32 << 20)], quick):
        root = base / f"hash-{count}-{size}"
        write_tree(root, count, size)
        paths = [f.path for f in take_snapshot(root).files]
        repeat = 5 if size > 1 << 20 else 15
        contents = [Path(p).read_bytes() for p in paths]
        memory = plain = ours = 1e9
        for _ in range(repeat):  # interleaved, so that a busy spell of the machine hits all three
            memory = min(memory, best(lambda: plain_sha256_of(contents), 1))
            plain = min(plain, best(lambda: plain_sha256(paths), 1))
            ours = min(ours, best(lambda: take_snapshot(root).content_hash, 1))
        total = count * size
        rows.append((name, f"{total / memory / 1e6:,.0f}", f"{total / plain / 1e6:,.0f}", f"{total / ours / 1e6:,.0f}",
                     f"{ours / plain:.2f}x"))
    return rows


def bench_ignored(base: Path) -> list[tuple]:
    root = base / "project"
    write_tree(root / "src", 50, 2 << 10)
    (root / ".gitignore").write_text("node_modules/\n")
    without = best(lambda: take_snapshot(root).content_hash, 15)
    write_tree(root / "node_modules", 5000, 64, fanout=100)
    with_nm = best(lambda: take_snapshot(root).content_hash, 15)
    return [("50 files", f"{without * 1e3:.2f}"), ("+ 5,000 ignored in node_modules", f"{with_nm * 1e3:.2f}"),
            ("added cost (ms)", f"{(with_nm - without) * 1e3:.2f}")]


def blob_rounds(base: Path, quick: bool, rounds: int = ROUNDS) -> list[tuple[str, int, list[dict]]] | str:
    """Upload to Azurite: (case, bytes, [{contender: seconds} per round]), or why it was skipped."""
    from support.azurite import azurite, connection_string

    out = []
    with azurite() as url:
        if url is None:
            return "skipped: Azurite is not available"
        conn = connection_string(url)

        def fresh():
            container = open_container(f"bench-{uuid.uuid4().hex[:12]}", connection_string=conn)
            container.create_container()
            return container

        for name, count, size in cases([(300, 64 << 10), (4, 16 << 20)], quick):
            root = base / f"blob-{count}-{size}" / "src"
            write_tree(root, count, size)
            snap = take_snapshot(root)
            snap.content_hash  # hashed before timing: identity is needed before any upload
            files = [(f"raw/{f.name}", f.path, f.size) for f in snap.files]

            def raw_parallel():
                container = fresh()

                def put(item):
                    blob, path, length = item
                    with open(path, "rb") as fh:
                        container.upload_blob(blob, fh, length=length, overwrite=True)
                with ThreadPoolExecutor(_workers()) as pool:
                    list(pool.map(put, files))

            def raw_sequential():
                container = fresh()
                for blob, path, length in files:
                    with open(path, "rb") as fh:
                        container.upload_blob(blob, fh, length=length, overwrite=True)

            def ours():
                upload_snapshot(snap, fresh(), show_progress=False)

            def ours_with_snapshot():
                upload_snapshot(take_snapshot(root), fresh(), show_progress=False)

            contenders = (raw_sequential, raw_parallel, ours, ours_with_snapshot)
            out.append((name, snap.total_size,
                         [{fn.__name__: best(fn, 1) for fn in contenders} for _ in range(rounds)]))
    return out


def bench_blob(base: Path, quick: bool) -> list[tuple] | str:
    measured = blob_rounds(base, quick)
    if isinstance(measured, str):
        return measured
    rows = []
    for name, total, rounds in measured:
        mbps = {key: total / min(r[key] for r in rounds) / 1e6 for key in rounds[0]}
        # ratios per round (contenders of a round share the machine's mood), median over rounds
        ratio = statistics.median(r["raw_parallel"] / r["ours"] for r in rounds)
        ratio_snap = statistics.median(r["raw_parallel"] / r["ours_with_snapshot"] for r in rounds)
        rows.append((name, f"{mbps['raw_sequential']:.1f}", f"{mbps['raw_parallel']:.1f}", f"{mbps['ours']:.1f}",
                     f"{ratio:.2f}x", f"{ratio_snap:.2f}x"))
    return rows


def table(title: str, header: tuple, rows) -> None:
    print(f"\n{title}")
    if isinstance(rows, str):
        print(f"  {rows}")
        return
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  " + "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(row, widths))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the data, for a smoke run")
    quick = parser.parse_args().quick
    with tempfile.TemporaryDirectory(prefix="bench-artifacts-") as tmp:
        base = Path(tmp)
        table("Walk + ignore rules + content hash (202208) vs plain sha256 of the same bytes, MB/s",
              ("data", "sha256 in memory", "sha256 of the files", "ours", "ours/files time"), bench_hash(base, quick))
        table("Walk + hash of a small project, ms", ("folder", "ms"), bench_ignored(base))
        table(f"Upload to Azurite, MB/s ({_workers()} threads; ours = hashed snapshot, +snap = walk+hash too)",
              ("data", "raw seq", "raw par", "ours", "ours/raw par (median)", "+snap/raw par"), bench_blob(base, quick))


if __name__ == "__main__":
    main()
