"""The WARC recorder (:mod:`newscrawler.warc.recorder`, no Scrapy): exact records and index,
rotation by size, recovery of a killed writer's file, failed writes, UTC timestamps."""

from __future__ import annotations

import gzip
import io
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from newscrawler.warc.recorder import WarcRecorder, complete_members_end
from newscrawler.warc.records import HttpExchange
from tests.warc.records import WARC_NAME_RE, Rec, index_lines, read_warc, warc_files


def _exchange(i: int, body: bytes = b"", **kw: Any) -> HttpExchange:
    fields: dict[str, Any] = {
        "url": f"http://127.0.0.1:8000/NewsData/GetNewsText.do?id=NW2022051024000000{i:02d}",
        "status": 200,
        "body": body or json.dumps({"n": i, "text": "正文" * 50}).encode("utf-8"),
        "response_headers": [(b"Content-Type", b"application/json; charset=utf-8"), (b"Server", b"test")],
        "request_headers": [(b"User-Agent", b"newscrawler/test"), (b"Accept-Encoding", b"gzip")],
        "ip_address": "127.0.0.1",
    }
    return HttpExchange(**{**fields, **kw})


def test_recorder_writes_exact_records_and_index(tmp_path: Path) -> None:
    gz_body = gzip.compress(b'{"text": "<p>x</p>"}', mtime=0)
    exchanges = [
        _exchange(1),
        _exchange(
            2,
            body=gz_body,
            status=503,
            response_headers=[(b"Content-Encoding", b"gzip"), (b"Set-Cookie", "a=é".encode())],
        ),
        _exchange(3, body=b"\x00\xff" * 100, reason="Custom Reason"),
    ]
    with WarcRecorder(tmp_path, info={"software": "test", "operator": "me"}) as recorder:
        assert recorder.recover() == []
        locations = [recorder.write(x) for x in exchanges]
        assert recorder.current_path is not None and recorder.current_path.name.endswith(".warc.gz.open")
    [path] = warc_files(tmp_path)
    assert all(loc.filename == path.name for loc in locations)
    records = check_structure_without_ua(tmp_path)
    responses = [r for r in records if r.type == "response"]
    assert [r.payload for r in responses] == [x.body for x in exchanges]
    assert [r.statusline for r in responses] == ["200 OK", "503 Service Unavailable", "200 Custom Reason"]
    assert responses[1].header("Content-Encoding") == "gzip"
    # header bytes are written as given (warcio would %-encode non-ASCII values)
    raw = gzip.decompress(path.read_bytes())
    assert "Set-Cookie: a=é\r\n".encode() in raw
    assert [(r.offset, r.length) for r in responses] == [(loc.offset, loc.length) for loc in locations]
    info = records[0].payload.decode()
    assert "operator: me\r\n" in info and "conformsTo: " in info


def check_structure_without_ua(directory: Path) -> list[Rec]:
    records = []
    for path in warc_files(directory):
        recs = read_warc(path)
        assert recs[0].type == "warcinfo"
        for response, request in zip(recs[1::2], recs[2::2], strict=True):
            assert (response.type, request.type) == ("response", "request")
            assert request.concurrent_to == response.record_id
            assert request.header("Host") == "127.0.0.1:8000"
        records += recs
    lines = index_lines(directory)
    responses = [r for r in records if r.type == "response"]
    assert [(f["filename"], int(f["offset"]), int(f["length"])) for _, _, f in lines] == [
        (r.file, r.offset, r.length) for r in responses
    ]
    return records


def test_recorder_rotates_by_size(tmp_path: Path) -> None:
    with WarcRecorder(tmp_path, max_size=2500, info={"software": "test"}) as recorder:
        for i in range(8):
            recorder.write(_exchange(i))
    files = warc_files(tmp_path)
    assert len(files) >= 3
    for path in files:
        assert WARC_NAME_RE.fullmatch(path.name)
        recs = read_warc(path)
        assert recs[0].type == "warcinfo" and len(recs) >= 3
        if len(recs) > 3:  # a file holding one exchange may exceed the limit, never more
            assert path.stat().st_size <= 2500
    responses = [r for r in check_structure_without_ua(tmp_path) if r.type == "response"]
    assert len(responses) == 8


def test_recover_cuts_incomplete_tail_renames_and_reindexes(tmp_path: Path) -> None:
    live = tmp_path / "live"
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    recorder = WarcRecorder(live, info={"software": "test"})
    for i in range(3):
        recorder.write(_exchange(i))
    assert recorder.current_path is not None
    partial = WarcRecorder(tmp_path / "other", info={"software": "test"})
    extra = partial.write(_exchange(9))
    partial.close()
    member = warc_files(tmp_path / "other")[0].read_bytes()[extra.offset : extra.offset + extra.length]
    # what a killed writer leaves: its .open file with half a record at the end, and an
    # index missing the last line
    leftover = crashed / recorder.current_path.name
    shutil.copyfile(recorder.current_path, leftover)
    with leftover.open("ab") as handle:
        handle.write(member[: len(member) // 2])
    lines = (live / "index.cdxj").read_text("utf-8").splitlines()
    (crashed / "index.cdxj").write_text("\n".join(lines[:-1]) + "\n", "utf-8")
    recorder.close()

    [final] = WarcRecorder(crashed).recover()
    assert final.name == leftover.name.removesuffix(".open")
    assert not leftover.exists()
    records = check_structure_without_ua(crashed)
    assert len([r for r in records if r.type == "response"]) == 3
    assert final.read_bytes() == warc_files(live)[0].read_bytes()
    # nothing left to recover
    assert WarcRecorder(crashed).recover() == []


def test_recover_leaves_a_live_writers_file_alone(tmp_path: Path) -> None:
    writer = WarcRecorder(tmp_path, info={"software": "test"})
    writer.write(_exchange(1))
    other = WarcRecorder(tmp_path, info={"software": "test"})
    assert other.recover() == []
    assert writer.current_path is not None and writer.current_path.exists()
    writer.write(_exchange(2))
    writer.close()
    assert len([r for r in check_structure_without_ua(tmp_path) if r.type == "response"]) == 2


def test_failed_write_is_cut_off_and_writing_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import newscrawler.warc.recorder as warc_module

    real = warc_module._write_all

    def disk_full(handle: Any, data: bytes) -> None:
        real(handle, data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    with WarcRecorder(tmp_path, info={"software": "test"}) as recorder:
        recorder.write(_exchange(1))
        monkeypatch.setattr(warc_module, "_write_all", disk_full)
        with pytest.raises(OSError):
            recorder.write(_exchange(2))
        monkeypatch.setattr(warc_module, "_write_all", real)
        recorder.write(_exchange(3))
    responses = [r for r in check_structure_without_ua(tmp_path) if r.type == "response"]
    assert [r.uri[-2:] for r in responses] == ["01", "03"]


def test_complete_members_end_stops_at_garbage(tmp_path: Path) -> None:
    with WarcRecorder(tmp_path, info={"software": "test"}) as recorder:
        recorder.write(_exchange(1))
    data = warc_files(tmp_path)[0].read_bytes()
    assert complete_members_end(io.BytesIO(data)) == len(data)
    assert complete_members_end(io.BytesIO(data + b"garbage")) == len(data)
    assert complete_members_end(io.BytesIO(data + gzip.compress(b"not a warc"))) == len(data)
    assert complete_members_end(io.BytesIO(data[:-3])) < len(data) - 3


def test_warc_timestamps_are_utc(tmp_path: Path) -> None:
    when = datetime(2022, 5, 10, 1, 2, 3, 456789, tzinfo=UTC)
    with WarcRecorder(tmp_path, info={"software": "test"}, clock=lambda: when) as recorder:
        recorder.write(_exchange(1, date=when))
    [path] = warc_files(tmp_path)
    assert path.name == "newscrawler-20220510010203456-00000.warc.gz"
    [(_, stamp, _)] = index_lines(tmp_path)
    assert stamp == "20220510010203"
    assert b"WARC-Date: 2022-05-10T01:02:03.456789Z" in gzip.decompress(path.read_bytes())
