"""Files: upload, metadata, download, size limits, references from runs, the ``file`` step."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from openruns.settings import Settings
from tests.helpers.api import create_process, start_run, wait_for_state


async def upload(
    api: httpx.AsyncClient, name: str, data: bytes, content_type: str = ""
) -> dict[str, Any]:
    file: tuple[Any, ...] = (name, data, content_type) if content_type else (name, data)
    response = await api.post("/v2/files", files={"file": file})
    assert response.status_code == 201, response.text
    return response.json()


def blobs(settings: Settings) -> list[Path]:
    return [p for p in (settings.data_dir / "files").rglob("*") if p.is_file()]


async def test_upload_read_download(api: httpx.AsyncClient, settings: Settings) -> None:
    data = bytes(range(256)) * 100
    stored = await upload(api, "../scan.bin", data)
    assert stored["id"].startswith("file-")
    assert stored["filename"] == "scan.bin"  # never a path
    assert stored["size"] == len(data)
    assert stored["sha256"] == hashlib.sha256(data).hexdigest()
    assert stored["content_type"] == "application/octet-stream"

    meta = await api.get(f"/v2/files/{stored['id']}")
    assert meta.status_code == 200 and meta.json() == stored
    content = await api.get(f"/v2/files/{stored['id']}/content")
    assert content.status_code == 200 and content.content == data
    assert 'filename="scan.bin"' in content.headers["content-disposition"]
    assert content.headers["x-content-type-options"] == "nosniff"
    assert content.headers["content-security-policy"] == "default-src 'none'; sandbox"

    again = await upload(api, "copy.bin", data)  # a second file, the same bytes on disk
    assert again["id"] != stored["id"] and again["sha256"] == stored["sha256"]
    assert len(blobs(settings)) == 1

    missing = await api.get("/v2/files/file-nope")
    assert missing.status_code == 404 and "file-nope" in missing.json()["message"]


async def test_size_limit_is_413_and_keeps_nothing(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    settings.max_file_bytes = 100_000
    response = await api.post("/v2/files", files={"file": ("big.bin", b"x" * 200_000)})
    assert response.status_code == 413
    assert "OPENRUNS_MAX_FILE_BYTES" in response.json()["message"]

    # Chunked (no Content-Length): cut off while streaming into the store.
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="s.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()

    async def body() -> AsyncIterator[bytes]:
        yield head
        for _ in range(30):
            yield b"y" * 10_000  # 300 kB, under the header check's slack only if not declared
        yield f"\r\n--{boundary}--\r\n".encode()

    response = await api.post(
        "/v2/files",
        content=body(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 413, response.text
    assert blobs(settings) == []


async def test_bad_uploads_are_422_naming_the_field(api: httpx.AsyncClient) -> None:
    no_file = await api.post("/v2/files", files={"upload": ("a", b"a")})
    assert no_file.status_code == 422
    assert [d["path"] for d in no_file.json()["details"]] == ["file", "upload"]
    extra = await api.post("/v2/files", files={"file": ("a", b"a")}, data={"name": "b.txt"})
    assert extra.status_code == 422, extra.text
    assert extra.json()["details"] == [{"path": "name", "message": "unexpected field"}]
    not_multipart = await api.post("/v2/files", json={"file": "x"})
    assert not_multipart.status_code == 422
    unauthenticated = await api.post(
        "/v2/files", files={"file": ("a", b"a")}, headers={"x-api-key": "wrong"}
    )
    assert unauthenticated.status_code == 401


async def test_runs_refuse_unknown_file_ids(api: httpx.AsyncClient) -> None:
    process = await create_process(api, {"outputs": {"a": 1}})
    known = await upload(api, "a.txt", b"a")
    response = await api.post(
        "/v2/runs",
        json={"process_id": process["id"], "stage": "Draft", "file_ids": [known["id"], "file-x"]},
    )
    assert response.status_code == 422
    assert response.json()["details"] == [
        {"path": "file_ids[1]", "message": "no file with id 'file-x'"}
    ]
    typed = await create_process(
        api, {"inputs": {"scan": {"type": "file"}, "other": {"type": "file"}}, "outputs": {"a": 1}}
    )
    response = await api.post(
        "/v2/runs",
        json={"process_id": typed["id"], "stage": "Draft",
              "inputs": {"scan": "file-nope", "other": known["id"]}},
    )  # fmt: skip
    assert response.status_code == 422, response.text
    assert response.json()["details"] == [
        {"path": "inputs.scan", "message": "no file with id 'file-nope'"}
    ]
    response = await api.post(
        "/v2/runs",
        json={"process_id": typed["id"], "stage": "Draft", "inputs": {"other": known["id"]}},
    )
    assert response.status_code == 201, response.text


READ = {
    "steps": [
        {"id": "csv", "uses": "file", "with": {"file_id": "{{ run.file_ids[0] }}"}},
        {"id": "json", "uses": "file", "with": {"file_id": "{{ run.file_ids[1] }}"}},
        {"id": "text", "uses": "file", "with": {"file_id": "{{ run.file_ids[2] }}"}},
        {"id": "forced", "uses": "file",
         "with": {"file_id": "{{ run.file_ids[2] }}", "format": "json"}},
    ],
    "outputs": {
        "csv": "{{ steps.csv }}", "json": "{{ steps.json }}", "text": "{{ steps.text }}",
        "forced": "{{ steps.forced }}",
    },
}  # fmt: skip


async def test_file_step_parses_csv_json_and_text(api: httpx.AsyncClient, worker: object) -> None:
    csv_file = await upload(api, "people.csv", "\ufeffname;age\nAda;36\nGrace;45\n".encode())
    json_file = await upload(api, "data", json.dumps({"a": [1, 2]}).encode(), "application/json")
    text_file = await upload(api, "note.txt", b'"plain words"')
    process = await create_process(api, READ)
    run = await start_run(
        api, process["id"], file_ids=[csv_file["id"], json_file["id"], text_file["id"]]
    )
    done = await wait_for_state(api, run["id"])
    assert done["state"] == "Succeeded", done
    assert done["outputs"] == {
        "csv": [{"name": "Ada", "age": "36"}, {"name": "Grace", "age": "45"}],
        "json": {"a": [1, 2]},
        "text": '"plain words"',
        "forced": "plain words",
    }
    assert done["file_ids"] == [csv_file["id"], json_file["id"], text_file["id"]]


async def test_file_step_fails_clearly_on_binary(api: httpx.AsyncClient, worker: object) -> None:
    binary = await upload(api, "scan.png", b"\x89PNG\r\n\x1a\n\xff\xfe")
    process = await create_process(api, READ)
    run = await start_run(api, process["id"], file_ids=[binary["id"]])
    done = await wait_for_state(api, run["id"])
    assert done["state"] == "Failed"
    assert done["error"]["step"] == "csv"
    assert "scan.png is not UTF-8 text" in done["error"]["message"]
