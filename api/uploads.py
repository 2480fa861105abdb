"""Reading uploaded model files with a size cap, so a huge upload never fills memory."""

from __future__ import annotations

from fastapi import HTTPException, UploadFile, status

_CHUNK_BYTES = 1 << 20


async def read_upload(file: UploadFile, max_bytes: int) -> bytes:
    """The upload's bytes; HTTP 413 past ``max_bytes``, 400 when empty."""
    if file.size is not None and file.size > max_bytes:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            detail=f"upload {file.filename!r} is {file.size} bytes; the limit is {max_bytes}",
        )
    chunks: list[bytes] = []
    total = 0
    while chunk := await file.read(_CHUNK_BYTES):
        total += len(chunk)
        if total > max_bytes:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE,
                detail=f"upload {file.filename!r} exceeds the limit of {max_bytes} bytes",
            )
        chunks.append(chunk)
    if not total:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            detail=f"upload {file.filename!r} is empty: expected a .tflite model",
        )
    return b"".join(chunks)
