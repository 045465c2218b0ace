"""Run by build/venv-label-studio-sdk's Python (`make install-clients`): reads `hub predict --format labelstudio`'s
files with label-studio-sdk's own LabelInterface, as Label Studio reads them, and validates every prediction.

    build/venv-label-studio-sdk/bin/python tests/clients/label_studio_check.py OUT/labelstudio_config.xml OUT/labelstudio.json

Prints one JSON object (the interface's labels, the tasks, the boxes and each error found); exits 1 on errors.
"""

import json
import sys

from label_studio_sdk.label_interface import LabelInterface

config, tasks = sys.argv[1], json.load(open(sys.argv[2]))
interface = LabelInterface(open(config).read())
errors, boxes = [], 0
for n, task in enumerate(tasks):
    for prediction in task["predictions"]:
        boxes += len(prediction["result"])
        errors += [f"task {n}: {e}" for e in interface.validate_prediction(prediction, return_errors=True)]
print(json.dumps({"labels": list(interface.get_control("label").labels), "tasks": len(tasks), "boxes": boxes,
                  "errors": errors}))
sys.exit(1 if errors else 0)
