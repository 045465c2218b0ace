"""The retail seed's serving shape, as `make bench-service`'s baseline: one uvicorn process whose FastAPI
handler calls Ultralytics' ``YOLO(onnx-fp32).predict`` on each upload (no queue, no workers)."""

import sys
from typing import Annotated

import cv2
import numpy as np
import uvicorn
from fastapi import FastAPI, File, UploadFile

import hub.base.offline

hub.base.offline.configure()
from ultralytics import YOLO  # noqa: E402

model = YOLO(sys.argv[1], task="detect")
app = FastAPI()


@app.post("/predict")
def predict(image: Annotated[UploadFile, File()]) -> dict:
    frame = cv2.imdecode(np.frombuffer(image.file.read(), np.uint8), cv2.IMREAD_COLOR)
    result = model.predict(frame, imgsz=int(sys.argv[3]), conf=0.25, iou=0.7, verbose=False, device="cpu")[0]
    return {"boxes": result.boxes.xyxy.tolist(), "conf": result.boxes.conf.tolist()}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
