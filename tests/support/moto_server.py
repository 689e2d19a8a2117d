"""A real S3-compatible server on loopback (moto in server mode), for object-storage tests."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from llmstats.analytics.demo.litellm_proxy import free_port


@contextmanager
def moto_s3() -> Iterator[str]:
    """Yield the endpoint URL of a fresh moto server; stop it afterwards."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(endpoint + "/moto-api/", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(10)


def s3_env(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def create_bucket(endpoint: str, bucket: str) -> None:
    request = urllib.request.Request(f"{endpoint}/{bucket}", method="PUT")
    urllib.request.urlopen(request, timeout=5).read()


def use_fresh_bucket(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new bucket on `endpoint`, the S3 environment set for it, LLMSTATS_DATA_DIR
    pointing into it; returns that s3:// data dir."""
    for key, value in s3_env(endpoint).items():
        monkeypatch.setenv(key, value)
    name = f"llm-{uuid.uuid4().hex[:12]}"
    create_bucket(endpoint, name)
    uri = f"s3://{name}/fleet"
    monkeypatch.setenv("LLMSTATS_DATA_DIR", uri)
    return uri
