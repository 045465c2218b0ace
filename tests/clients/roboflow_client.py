"""Roboflow's own Python client (inference-sdk), unchanged, against the service: run in its own venv (its pins
conflict with ours: numpy<2.4, supervision<0.31, opencv-python<=4.13), made by `make install-clients`.

    build/venv-inference-sdk/bin/python tests/clients/roboflow_client.py '{"url": ..., "key": ..., ...}'

Prints one JSON object: each call's answer, or for a refused call the client's error and its status code.
"""

import asyncio
import json
import sys

from inference_sdk import InferenceConfiguration, InferenceHTTPClient
from inference_sdk.http.errors import HTTPCallErrorError


def client(spec: dict, key: str | None = None, transport: str | None = None, batch: int = 1) -> InferenceHTTPClient:
    """``batch``: images per v1 request (the client's ``max_batch_size``; over 1 it sends the list form)."""
    config = InferenceConfiguration(confidence_threshold=spec["conf"], iou_threshold=spec["iou"],
                                    max_detections=300, api_key_transport=transport or spec.get("transport"),
                                    max_batch_size=batch)
    c = InferenceHTTPClient(api_url=spec["url"], api_key=key or spec["key"])
    c.configure(config)
    return c


def refused(call) -> dict:
    try:
        call()
    except HTTPCallErrorError as exc:
        return {"error": type(exc).__name__, "status": exc.status_code, "message": exc.api_message}
    return {"error": None}


def main() -> None:
    spec = json.loads(sys.argv[1])
    model, images = spec["model"], spec["images"]
    v0, v1 = client(spec).select_api_v0(), client(spec).select_api_v1()
    out = {
        "v0_one": v0.infer(images[0], model_id=model),
        "v0_list": v0.infer(images, model_id=model),
        "v1_one": v1.infer(images[0], model_id=model),
        "v1_list": v1.infer(images, model_id=model),
        "v1_batch": client(spec, batch=8).select_api_v1().infer(images, model_id=model),
        "v0_async": asyncio.run(client(spec).select_api_v0().infer_async(images[0], model_id=model)),
        "v1_async": asyncio.run(client(spec).select_api_v1().infer_async(images, model_id=model)),
        "registry": v1.list_loaded_models().to_dict(),
        "load": v1.load_model(model_id=model).to_dict(),
        "describe": v1.get_model_description(model_id=model).to_dict(),
        "info": v1.get_server_info().to_dict(),
        "header": client(spec, transport="header").select_api_v1().infer(images[0], model_id=model),
        "header_v0": client(spec, transport="header").select_api_v0().infer(images[0], model_id=model),
        "variant": v1.infer(images[0], model_id=f"{model}@{spec['variant']}") if spec.get("variant") else None,
        "unknown_model": refused(lambda: client(spec).select_api_v0().infer(images[0], model_id="nobody/nothing")),
        "unload": refused(lambda: v1.unload_model(model_id=model)),
    }
    if spec.get("wrong_key"):
        out["wrong_key_v0"] = refused(lambda: client(spec, key=spec["wrong_key"]).select_api_v0().infer(
            images[0], model_id=model))
        out["wrong_key_v1"] = refused(lambda: client(spec, key=spec["wrong_key"]).select_api_v1().infer(
            images[0], model_id=model))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
