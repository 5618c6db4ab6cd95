"""Cutting a parallel job's input into mini-batches, and its failure limits (no process)."""
from __future__ import annotations

import pytest

from azureml_v2.local.executors.minibatch import (DEFAULT_BYTES, DEFAULT_FILES, Files, InputError, Limits, Table,
                                                  Tally, mini_batch_size, read_input, run_options, split)


@pytest.mark.parametrize("value, tabular, expected", [
    (None, False, DEFAULT_FILES), (None, True, DEFAULT_BYTES), (3, False, 3), ("10", False, 10),
    ("10kb", True, 10 * 1024), ("1MB", True, 1024 ** 2), ("2gb", True, 2 * 1024 ** 3), (1024, True, 1024)])
def test_mini_batch_size_is_a_count_or_a_size(value, tabular, expected):
    assert mini_batch_size(value, tabular) == expected


@pytest.mark.parametrize("value", ["0", "ten", "10 tb", "-1", "1.5mb", True])
def test_a_bad_mini_batch_size_says_what_is_expected(value):
    with pytest.raises(InputError, match="mini_batch_size .* positive number"):
        mini_batch_size(value, True)


def test_a_folder_is_its_files_in_path_order_cut_by_count(tmp_path):
    for name in ("b.txt", "a.txt", "sub/c.txt", "sub/d.txt", "e.txt"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("x")
    data = read_input(tmp_path, "uri_folder")
    assert isinstance(data, Files)
    batches = split(data, 2)
    assert [[p.rsplit("/", 2)[-1] if "sub" not in p else "sub/" + p.rsplit("/", 1)[-1] for p in b]
            for b in batches] == [["a.txt", "b.txt"], ["e.txt", "sub/c.txt"], ["sub/d.txt"]]


def _table(tmp_path, text: str, mltable: str | None = None, name="data.csv"):
    (tmp_path / name).write_bytes(text.encode())
    (tmp_path / "MLTable").write_text(mltable or f"paths:\n  - file: ./{name}\ntransformations:\n"
                                                "  - read_delimited:\n      delimiter: ','\n      encoding: utf8\n"
                                                "      header: all_files_same_headers\n")
    return read_input(tmp_path, "mltable")


def _read(piece) -> bytes:
    with open(piece.path, "rb") as f:
        f.seek(piece.start)
        return f.read(piece.end - piece.start)


def test_a_table_is_cut_at_record_boundaries_every_size_bytes(tmp_path):
    rows = [f"{n},{n * n}\n" for n in range(100)]
    data = _table(tmp_path, "a,b\n" + "".join(rows))
    assert isinstance(data, Table) and data.header == "all_files_same_headers"
    batches = split(data, 64)
    text = b"".join(_read(p) for batch in batches for p in batch).decode()
    assert text == "".join(rows)  # every record once, in order, without the header
    assert all(sum(p.end - p.start for p in b) >= 64 for b in batches[:-1])
    assert all(sum(p.end - p.start for p in b) < 64 + 8 for b in batches)  # cut at the first record past the size
    header = batches[0][0].header
    assert _read(type(batches[0][0])(header[0], header[1], header[2], None)) == b"a,b"


def test_quoted_line_breaks_stay_in_one_record_with_support_multi_line(tmp_path):
    mltable = ("paths:\n  - file: ./q.csv\ntransformations:\n  - read_delimited:\n      support_multi_line: true\n")
    data = _table(tmp_path, 'a,b\n1,"x\ny"\n2,z\n', mltable, name="q.csv")
    batches = split(data, 1)
    assert [_read(b[0]) for b in batches] == [b'1,"x\ny"\n', b"2,z\n"]


def test_headers_follow_the_mltable_header_mode(tmp_path):
    (tmp_path / "p1.csv").write_text("a,b\n1,2\n")
    (tmp_path / "p2.csv").write_text("3,4\n")
    mltable = ("paths:\n  - pattern: ./p*.csv\ntransformations:\n  - read_delimited:\n"
               "      header: from_first_file\n")
    (tmp_path / "MLTable").write_text(mltable)
    pieces = [p for b in split(read_input(tmp_path, "mltable"), 1) for p in b]
    assert [_read(p) for p in pieces] == [b"1,2\n", b"3,4\n"]
    assert {p.header[0] for p in pieces} == {str(tmp_path / "p1.csv")}  # the first file's header for both
    (tmp_path / "MLTable").write_text(mltable.replace("from_first_file", "no_header"))
    pieces = [p for b in split(read_input(tmp_path, "mltable"), 100) for p in b]
    assert [(_read(p), p.header) for p in pieces] == [(b"a,b\n1,2\n", None), (b"3,4\n", None)]


def test_an_mltable_without_a_reader_is_files(tmp_path):
    (tmp_path / "x.bin").write_bytes(b"\0")
    (tmp_path / "MLTable").write_text("paths:\n  - file: ./x.bin\n")
    assert read_input(tmp_path, "mltable") == Files((str(tmp_path / "x.bin"),))


@pytest.mark.parametrize("mltable, message", [
    ("paths: []\n", "non-empty list of paths"),
    ("paths:\n  - file: ./missing.csv\n", "file './missing.csv' does not exist"),
    ("paths:\n  - url: x\n", r"paths\[0\] must be one of"),
    ("paths:\n  - file: https://host/x.csv\n", "is remote"),
    ("paths:\n  - file: ./d.csv\ntransformations:\n  - read_parquet: {}\n", "'read_parquet' is not supported"),
    ("paths:\n  - file: ./d.csv\ntransformations:\n  - read_delimited:\n      header: sometimes\n",
     "header 'sometimes' is not one of"),
    ("paths:\n  - file: ./d.csv\ntransformations:\n  - read_delimited:\n      encoding: klingon\n",
     "encoding 'klingon'"),
])
def test_an_mltable_the_local_workspace_cannot_read_is_one_clear_error(tmp_path, mltable, message):
    (tmp_path / "d.csv").write_text("a\n1\n")
    (tmp_path / "MLTable").write_text(mltable)
    with pytest.raises(InputError, match=message):
        read_input(tmp_path, "mltable")


def test_a_uri_file_is_rows_unless_files_are_asked_for(tmp_path):
    (tmp_path / "t.tsv").write_text("a\tb\n1\t2\n")
    assert read_input(tmp_path / "t.tsv", "uri_file") == Table((str(tmp_path / "t.tsv"),), delimiter="\t")
    assert read_input(tmp_path / "t.tsv", "uri_file", "files") == Files((str(tmp_path / "t.tsv"),))


def test_the_mini_batch_threshold_is_passed_only_by_more_failures():
    tally = Tally(10, Limits(mini_batch_error_threshold=1))
    tally.add(0, 5, 5)
    tally.add(1, 5, 0, "ValueError: no")
    assert tally.exceeded() is None and tally.failed == 1 and tally.failed_items == 5
    tally.add(2, 5, 3)  # fewer results than items: a failed mini-batch, its missing items failed
    assert tally.failed == 2 and tally.failed_items == 7
    assert "2 mini-batch(es) failed, more than mini_batch_error_threshold 1" in tally.exceeded()
    assert tally.first_error == "mini-batch 1: ValueError: no"


def test_minus_one_ignores_every_failure_and_items_have_their_own_threshold():
    ignoring = Tally(3)
    for n in range(3):
        ignoring.add(n, 2, 0, "boom")
    assert ignoring.exceeded() is None and ignoring.summary()["failed"] == 3
    items = Tally(3, Limits(error_threshold=2))
    items.add(0, 2, 1)
    assert items.exceeded() is None
    items.add(1, 2, 0, "boom")
    assert "3 item(s) failed, more than error_threshold 2" in items.exceeded()


def test_allowed_failed_percent_is_a_share_of_all_mini_batches():
    tally = Tally(10, Limits(allowed_failed_percent=10))
    tally.add(0, 1, 0, "x")
    assert tally.exceeded() is None
    tally.add(1, 1, 0, "x")
    assert "2 of 10 mini-batches failed, more than --allowed_failed_percent 10" in tally.exceeded()


def test_retries_are_the_attempts_after_the_first():
    limits = Limits(max_retries=2)
    assert [limits.retry(attempt) for attempt in range(4)] == [True, True, False, False]
    assert not Limits(max_retries=0).retry(0)


def test_the_run_steps_own_options_are_read_from_program_arguments():
    options = run_options("--model /m --error_threshold 5 --allowed_failed_percent 30 --verbose "
                          "--append_row_dataframe_header True")
    assert options == {"model": "/m", "error_threshold": "5", "allowed_failed_percent": "30",
                       "append_row_dataframe_header": "True"}
    with pytest.raises(InputError, match="cannot be split"):
        run_options("--x 'open")


def test_the_corpus_parallel_pipelines_mltable_is_cut_as_its_10kb_node_asks(corpus_root):
    # header: all_files_same_headers: the first line names the columns (here the first sample's values)
    folder = corpus_root / "cli/jobs/pipelines/iris-batch-prediction-using-parallel/neural-iris-mltable"
    data = read_input(folder, "mltable")
    assert data == Table((str(folder / "iris.csv"),), ",", "utf-8", "all_files_same_headers")
    batches = split(data, mini_batch_size("10kb", True))
    records = b"".join(_read(p) for batch in batches for p in batch)
    assert len(batches) == 8 and records.count(b"\n") == 74 and not records.startswith(b"5.09999")
