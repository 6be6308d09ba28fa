"""Where attachment bytes live: ``STORAGE=local`` (``UPLOAD_DIR``, the default) or ``STORAGE=s3``.

Several app servers cannot share one machine's disk, so production may keep the bytes in any
S3-compatible store (AWS S3, MinIO, Ceph …) through boto3: ``S3_BUCKET``, ``S3_ENDPOINT_URL`` (empty
for AWS), ``S3_PREFIX`` (``attachments/``) and the standard ``AWS_ACCESS_KEY_ID`` /
``AWS_SECRET_ACCESS_KEY`` / ``AWS_DEFAULT_REGION`` variables (or an instance role). The rows, access
rules and download headers do not change with the backend: :mod:`marketplace.attachments` and the
``/files/<id>`` view only call :func:`get_storage`.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any, Protocol

from flask import Flask, current_app

_EXTENSION = "marketplace.storage"


class Storage(Protocol):
    """The four operations attachments need."""

    def save(self, name: str, data: bytes, content_type: str) -> None: ...

    def open(self, name: str) -> IO[bytes]: ...

    def delete(self, name: str) -> None: ...

    def path(self, name: str) -> Path | None: ...


class LocalStorage:
    """Files in one folder on this machine (the app's ``UPLOAD_DIR`` unless a folder is given)."""

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else None

    def _folder(self) -> Path:
        folder = self.folder or Path(current_app.config["UPLOAD_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def save(self, name: str, data: bytes, content_type: str) -> None:
        (self._folder() / name).write_bytes(data)

    def open(self, name: str) -> IO[bytes]:
        return (self._folder() / name).open("rb")

    def delete(self, name: str) -> None:
        (self._folder() / name).unlink(missing_ok=True)

    def path(self, name: str) -> Path | None:
        """The file on disk (served with ``send_file``'s conditional and range support)."""
        return self._folder() / name


class S3Storage:
    """Objects ``<prefix><name>`` in one bucket of an S3-compatible store."""

    def __init__(self, bucket: str, endpoint_url: str | None = None, prefix: str = "attachments/",
                 client: Any = None) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix
        self.client = client or boto3.client(
            "s3", endpoint_url=endpoint_url,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30))

    def _key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def save(self, name: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(name), Body=data, ContentType=content_type)

    def open(self, name: str) -> IO[bytes]:
        """A stream of the object's bytes (botocore's ``StreamingBody``; read in chunks, never all at once)."""
        return self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"]

    def delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(name))

    def path(self, name: str) -> Path | None:
        return None


def make_storage(config: dict[str, Any]) -> Storage:
    """The backend the configuration names (refuses an unknown one or S3 without a bucket)."""
    kind = config.get("STORAGE", "local")
    if kind == "local":
        return LocalStorage()
    if kind == "s3":
        if not config.get("S3_BUCKET"):
            raise RuntimeError("STORAGE=s3 needs S3_BUCKET")
        return S3Storage(config["S3_BUCKET"], config.get("S3_ENDPOINT_URL"), config.get("S3_PREFIX", "attachments/"))
    raise RuntimeError(f"unknown STORAGE={kind!r} (use 'local' or 's3')")


def get_storage(app: Flask | None = None) -> Storage:
    """This application's attachment storage."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    storage = app.extensions.get(_EXTENSION)
    if storage is None:
        storage = app.extensions[_EXTENSION] = make_storage(app.config)
    return storage


def init_app(app: Flask) -> None:
    """Check the storage settings at start-up (a wrong ``STORAGE`` fails now, not at the first upload)."""
    get_storage(app)
