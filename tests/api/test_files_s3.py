"""Files kept in an S3-compatible bucket (``OPENRUNS_S3_BUCKET``): the API stores uploads
there and streams downloads from it, the worker's ``file`` step reads from it, and a bucket
that cannot be reached is a 503 that says so, never a 500 or a lost file."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from openruns.settings import Settings
from tests.api.test_files import upload
from tests.helpers.api import create_process, start_run, wait_for_state
from tests.helpers.apps import api_client
from tests.helpers.s3 import new_bucket, object_keys, s3_client, unreachable_endpoint, with_bucket


@pytest.fixture
def settings(settings: Settings, s3_endpoint: str) -> Settings:
    """The suite's settings with files in a bucket of their own."""
    return with_bucket(settings, s3_endpoint, new_bucket(s3_endpoint))


async def test_upload_download_and_the_file_step_go_through_the_bucket(
    api: httpx.AsyncClient, settings: Settings, s3_endpoint: str, worker: object
) -> None:
    assert settings.s3_bucket is not None
    data = b"name,total\nAda,36\n" + b"x,1\n" * 300_000  # over a MiB: streamed
    stored = await upload(api, "ledger é.csv", data)
    sha256 = hashlib.sha256(data).hexdigest()
    assert stored["sha256"] == sha256 and stored["size"] == len(data)
    assert object_keys(s3_endpoint, settings.s3_bucket) == [f"openruns/files/{sha256[:2]}/{sha256}"]
    assert not (settings.data_dir / "files").exists()  # nothing on the API's disk

    content = await api.get(f"/v2/files/{stored['id']}/content")
    assert content.status_code == 200 and content.content == data
    assert content.headers["content-type"].startswith("text/csv")
    assert content.headers["x-content-type-options"] == "nosniff"
    assert content.headers["content-length"] == str(len(data))
    assert (
        content.headers["content-disposition"] == "attachment; filename*=utf-8''ledger%20%C3%A9.csv"
    )

    small = await upload(api, "people.csv", b"name;age\nAda;36\n")
    process = await create_process(
        api,
        {
            "steps": [{"id": "read", "uses": "file", "with": {"file_id": "{{ run.file_ids[0] }}"}}],
            "outputs": {"rows": "{{ steps.read }}"},
        },
    )
    run = await start_run(api, process["id"], file_ids=[small["id"]])
    done = await wait_for_state(api, run["id"])
    assert done["state"] == "Succeeded", done
    assert done["outputs"] == {"rows": [{"name": "Ada", "age": "36"}]}


async def test_an_object_gone_from_the_bucket_is_a_404(
    api: httpx.AsyncClient, settings: Settings, s3_endpoint: str
) -> None:
    assert settings.s3_bucket is not None
    stored = await upload(api, "a.txt", b"soon gone")
    [key] = object_keys(s3_endpoint, settings.s3_bucket)
    s3_client(s3_endpoint).delete_object(Bucket=settings.s3_bucket, Key=key)
    response = await api.get(f"/v2/files/{stored['id']}/content")
    assert response.status_code == 404
    assert "not in the bucket" in response.json()["message"]


async def test_a_bucket_out_of_reach_is_a_503_and_health_says_so(
    settings: Settings, database: object
) -> None:
    down = unreachable_endpoint()
    unreachable = settings.model_copy(update={"s3_endpoint_url": down})
    async with api_client(unreachable) as api:
        response = await api.post("/v2/files", files={"file": ("a.txt", b"keep me")})
        assert response.status_code == 503, response.text
        assert "cannot be reached" in response.json()["message"]
        listed = await api.get("/v2/health")
        assert listed.status_code == 503
        assert any(d.startswith("file store:") for d in listed.json()["details"])


async def test_a_file_step_whose_bytes_are_gone_fails_for_good(
    api: httpx.AsyncClient, settings: Settings, s3_endpoint: str, worker: object
) -> None:
    assert settings.s3_bucket is not None
    stored = await upload(api, "gone.csv", b"a,b\n1,2\n")
    [key] = object_keys(s3_endpoint, settings.s3_bucket)
    s3_client(s3_endpoint).delete_object(Bucket=settings.s3_bucket, Key=key)
    process = await create_process(
        api,
        {"steps": [{"id": "read", "uses": "file", "with": {"file_id": "{{ run.file_ids[0] }}"}}]},
    )
    run = await start_run(api, process["id"], file_ids=[stored["id"]])
    done = await wait_for_state(api, run["id"])
    assert done["state"] == "Failed", done  # not retried forever
    assert done["error"]["step"] == "read"
    assert "missing from the file store" in done["error"]["message"]
