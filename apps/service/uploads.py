"""The one file of a multipart request (the image of ``/v1/detect``, the clip of ``/v1/videos``, Roboflow's v0 file)."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import FormData, UploadFile

from apps.service.errors import ServiceError


async def form_file(request: Request, names: tuple[str, ...], *, max_fields: int = 20) -> tuple[UploadFile, FormData]:
    """The upload in the first of ``names`` the form has, and the whole form (its other fields).

    Raises:
        ServiceError: 422 when the form has none of them as a file.
    """
    form = await request.form(max_files=1, max_fields=max_fields)
    upload = next((form.get(n) for n in names if form.get(n) is not None), None)
    if upload is None or isinstance(upload, str):
        raise ServiceError(422, f"the form has no file field '{names[0]}'")
    return upload, form
