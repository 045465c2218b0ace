"""Bring your own data: a synthetic set written out as each labelling tool exports it (by this test, in each
tool's documented shape) imports back to the same labels and classes; `data check` finds each planted flaw."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from training.data.imports import DatasetError, import_dataset
from training.data.layout import SPLITS, read_data_yaml, read_labels, split_images

TOL = 1.01e-6  # labels are written with 6 decimals


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> Path:
    """Ten classes, a few objects an image: the original every export is made from."""
    from training.data import synth_digits

    out = tmp_path_factory.mktemp("digits")
    synth_digits.generate(out, train=6, val=2, test=2, seed=4, progress=False)
    return out


def _original(root: Path) -> tuple[list[str], dict[str, tuple[tuple[int, int], np.ndarray]]]:
    """Class names and, per image file name, its size and labels (class, x1, y1, x2, y2 in pixels)."""
    data = read_data_yaml(root / "data.yaml")
    out = {}
    for split in SPLITS:
        for image in split_images(data, split):
            with Image.open(image) as im:
                w, h = im.size
            out[image.name] = ((w, h), read_labels(image, w, h))
    return data["names"], out


def _imported(data_yaml: Path) -> tuple[list[str], dict[str, np.ndarray], dict[str, str]]:
    """Class names, normalized labels per image name (class, cx, cy, w, h), and each image's split."""
    data = read_data_yaml(data_yaml)
    labels, splits = {}, {}
    for split in SPLITS:
        for image in split_images(data, split):
            text = image.parent.parent.parent / "labels" / split / f"{image.stem}.txt"
            rows = np.loadtxt(text, ndmin=2) if text.read_text().strip() else np.zeros((0, 5))
            labels[image.name] = rows
            splits[image.name] = split
    return data["names"], labels, splits


def _normalized(size: tuple[int, int], lab: np.ndarray) -> np.ndarray:
    w, h = size
    cls, x1, y1, x2, y2 = lab.T
    return np.c_[cls, (x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h]


def _same(original, imported_labels, names_map: dict[int, int] | None = None):
    assert set(imported_labels) == set(original)
    for name, (size, lab) in original.items():
        want = _normalized(size, lab)
        if names_map:
            want[:, 0] = [names_map[int(c)] for c in want[:, 0]]
        got = imported_labels[name]
        key = lambda a: np.lexsort(a.T[::-1])  # noqa: E731  (compare as sets of rows)
        assert got.shape == want.shape, name
        assert np.abs(got[key(got)] - want[key(want)]).max(initial=0) <= TOL, name


def _images_to(root: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        for image in sorted((root / "images" / split).iterdir()):
            shutil.copyfile(image, folder / image.name)


def _coco(root: Path, out: Path, ids: list[int]) -> Path:
    """COCO as tools write it: bbox [x, y, w, h] in pixels, categories with the given (sparse, shuffled) ids."""
    names, original = _original(root)
    _images_to(root, out)
    cats = [{"id": ids[k], "name": n, "supercategory": "digit"} for k, n in enumerate(names)]
    images, annotations = [], []
    for i, (name, ((w, h), lab)) in enumerate(sorted(original.items())):
        images.append({"id": i + 1, "file_name": name, "width": w, "height": h})
        for cls, x1, y1, x2, y2 in lab.tolist():
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "category_id": ids[int(cls)],
                                "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0})
    path = out / "_annotations.coco.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": cats[::-1]}))
    return path


@pytest.mark.parametrize("ids", [list(range(10)), [7, 31, 4, 19, 10, 28, 1, 13, 25, 22]],
                         ids=["zero-based", "sparse and not in name order"])
def test_coco_imports_back_to_the_same_labels_and_class_order(digits, tmp_path, ids):
    names, original = _original(digits)
    _coco(digits, tmp_path / "export", ids)
    data = import_dataset("coco", tmp_path / "export", tmp_path / "out", seed=1)
    got_names, labels, splits = _imported(data)
    by_id = [names[k] for k in np.argsort(ids)]
    assert got_names == by_id  # by category id: the order the labelling tool numbered them
    _same(original, labels, {k: by_id.index(n) for k, n in enumerate(names)})
    assert set(splits.values()) <= set(SPLITS) and "train" in splits.values()
    again = import_dataset("coco", tmp_path / "export", tmp_path / "again", seed=1)
    assert _imported(again)[2] == splits  # the same files and seed give the same split


@pytest.mark.parametrize("order", ["--from FORMAT SOURCE", "SOURCE --from FORMAT"])
def test_the_import_command_takes_its_source_before_or_after_the_format(digits, tmp_path, order):
    """As the README writes it (``--from coco exports/x``) and the other way round: the same dataset."""
    from training.cli import main

    _coco(digits, tmp_path / "export", list(range(10)))
    words = ["--from", "coco", str(tmp_path / "export")]
    if order.startswith("SOURCE"):
        words = words[2:] + words[:2]
    assert main(["data", "import", *words, "--out", str(tmp_path / "out"), "--seed", "1"]) == 0
    cli, api = _imported(tmp_path / "out" / "data.yaml"), _imported(
        import_dataset("coco", tmp_path / "export", tmp_path / "api", seed=1))
    assert (cli[0], cli[2], sorted(cli[1])) == (api[0], api[2], sorted(api[1]))  # names, splits, images


def test_voc_imports_back_with_its_one_based_pixels_and_a_stable_class_order(digits, tmp_path):
    names, original = _original(digits)
    export = tmp_path / "voc"
    _images_to(digits, export / "JPEGImages")
    (export / "Annotations").mkdir()
    for name, ((w, h), lab) in original.items():
        root = ET.Element("annotation")
        ET.SubElement(root, "filename").text = name
        size = ET.SubElement(root, "size")
        for tag, v in (("width", w), ("height", h), ("depth", 3)):
            ET.SubElement(size, tag).text = str(v)
        for cls, x1, y1, x2, y2 in lab.tolist():  # VOC: 1-based, inclusive; floats as some tools write them
            obj = ET.SubElement(root, "object")
            ET.SubElement(obj, "name").text = names[int(cls)]
            box = ET.SubElement(obj, "bndbox")
            for tag, v in (("xmin", x1 + 1), ("ymin", y1 + 1), ("xmax", x2), ("ymax", y2)):
                ET.SubElement(box, tag).text = f"{v:.4f}"
        ET.ElementTree(root).write(export / "Annotations" / f"{Path(name).stem}.xml")
    got_names, labels, _ = _imported(import_dataset("voc", export, tmp_path / "out"))
    assert got_names == sorted(names)  # not the order the loader meets them in
    _same(original, labels, {k: sorted(names).index(n) for k, n in enumerate(names)})


def test_label_studio_imports_back_from_percent_of_the_original_size(digits, tmp_path):
    names, original = _original(digits)
    export = tmp_path / "ls"
    _images_to(digits, export)
    tasks = []
    for i, (name, ((w, h), lab)) in enumerate(sorted(original.items())):
        result = [{"id": f"r{i}-{j}", "type": "rectanglelabels", "from_name": "label", "to_name": "image",
                   "original_width": w, "original_height": h, "image_rotation": 0,
                   "value": {"x": x1 / w * 100, "y": y1 / h * 100, "width": (x2 - x1) / w * 100,
                             "height": (y2 - y1) / h * 100, "rotation": 0, "rectanglelabels": [names[int(c)]]}}
                  for j, (c, x1, y1, x2, y2) in enumerate(lab.tolist())]
        tasks.append({"id": i + 1, "data": {"image": f"/data/upload/1/{i:08x}-{name}"},
                      "annotations": [{"id": i + 1, "result": result}]})
    (export / "project-1.json").write_text(json.dumps(tasks))
    got_names, labels, _ = _imported(import_dataset("labelstudio", export, tmp_path / "out"))
    assert got_names == sorted(names)
    _same(original, labels, {k: sorted(names).index(n) for k, n in enumerate(names)})


def test_cvat_imports_back_from_its_xml(digits, tmp_path):
    names, original = _original(digits)
    export = tmp_path / "cvat"
    _images_to(digits, export / "images")
    root = ET.Element("annotations")
    ET.SubElement(root, "version").text = "1.1"
    labels_el = ET.SubElement(ET.SubElement(ET.SubElement(root, "meta"), "task"), "labels")
    for n in names:
        ET.SubElement(ET.SubElement(labels_el, "label"), "name").text = n
    for i, (name, ((w, h), lab)) in enumerate(sorted(original.items())):
        image = ET.SubElement(root, "image", id=str(i), name=f"images/{name}", width=str(w), height=str(h))
        for c, x1, y1, x2, y2 in lab.tolist():
            ET.SubElement(image, "box", label=names[int(c)], occluded="0", source="manual", xtl=f"{x1:.2f}",
                          ytl=f"{y1:.2f}", xbr=f"{x2:.2f}", ybr=f"{y2:.2f}", z_order="0")
    ET.ElementTree(root).write(export / "annotations.xml")
    got_names, labels, _ = _imported(import_dataset("cvat", export, tmp_path / "out"))
    assert got_names == sorted(names)
    rounded = {k: (size, np.c_[lab[:, :1], lab[:, 1:].round(2)]) for k, (size, lab) in original.items()}
    _same(rounded, labels, {k: sorted(names).index(n) for k, n in enumerate(names)})


def test_a_roboflow_yolo_export_keeps_its_splits(digits, tmp_path):
    names, original = _original(digits)
    export = tmp_path / "rf"
    for split, folder in (("train", "train"), ("val", "valid"), ("test", "test")):
        for kind in ("images", "labels"):
            shutil.copytree(digits / kind / split, export / folder / kind)
    (export / "data.yaml").write_text(yaml.safe_dump({
        "train": "../train/images", "val": "../valid/images", "test": "../test/images", "nc": len(names),
        "names": names}))
    got_names, labels, splits = _imported(import_dataset("yolo", export, tmp_path / "out"))
    assert got_names == names
    _same(original, labels)
    want = {p.name: split for split in SPLITS for p in (digits / "images" / split).iterdir()}
    assert splits == want


def test_rgba_and_palette_images_are_flattened_and_exif_turned(tmp_path):
    export = tmp_path / "ls"
    export.mkdir()
    Image.new("RGBA", (40, 30), (255, 0, 0, 128)).save(export / "a.png")
    Image.new("P", (40, 30)).save(export / "b.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees: 30 x 40
    Image.new("RGB", (40, 30), (0, 255, 0)).save(export / "c.jpg", exif=exif)
    tasks = [{"data": {"image": name}, "annotations": [{"result": [
        {"type": "rectanglelabels", "original_width": w, "original_height": h,
         "value": {"x": 10, "y": 10, "width": 50, "height": 50, "rectanglelabels": ["thing"]}}]}]}
        for name, w, h in (("a.png", 40, 30), ("b.png", 40, 30), ("c.jpg", 30, 40))]
    (export / "export.json").write_text(json.dumps(tasks))
    data = read_data_yaml(import_dataset("labelstudio", export, tmp_path / "out", split=(1.0, 0.0, 0.0)))
    sizes = {}
    for image in split_images(data, "train"):
        with Image.open(image) as im:
            assert im.mode == "RGB" and im.getexif().get(0x0112, 1) == 1
            sizes[image.stem] = im.size
    assert sizes == {"a": (40, 30), "b": (40, 30), "c": (30, 40)}


@pytest.mark.parametrize("fmt,make,says", [
    ("coco", lambda p: p.mkdir(), "no COCO annotations"),
    ("labelstudio", lambda p: (p.mkdir(), (p / "x.json").write_text("{}")), "a list of tasks"),
    ("labelstudio", lambda p: (p.mkdir(), (p / "x.json").write_text('[{"data": {"image": "gone.jpg"}}]')),
     "is not in"),
    ("yolo", lambda p: p.mkdir(), "data.yaml"),
    ("cvat", lambda p: p.mkdir(), "annotations.xml"),
])
def test_a_malformed_export_is_refused_by_name_and_writes_nothing(tmp_path, fmt, make, says):
    make(tmp_path / "export")
    with pytest.raises(DatasetError, match=says):
        import_dataset(fmt, tmp_path / "export", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def _flawed(digits: Path, tmp_path: Path) -> Path:
    root = tmp_path / "flawed"
    shutil.copytree(digits, root)
    data = read_data_yaml(root / "data.yaml")
    data_yaml = root / "data.yaml"
    data_yaml.write_text(data_yaml.read_text().replace(str(digits), str(root)))
    train = split_images(read_data_yaml(data_yaml), "train")
    (train[0]).write_bytes(train[0].read_bytes()[:200])  # a truncated JPEG
    lab = lambda p: p.parent.parent.parent / "labels" / "train" / f"{p.stem}.txt"  # noqa: E731
    lab(train[1]).write_text("42 0.5 0.5 0.1 0.1\n")  # class out of range
    lab(train[2]).write_text("0 0.98 0.5 0.1 0.1\n")  # leaves the image
    lab(train[3]).write_text("0 0.5 0.5 0 0.1\n")  # no width
    lab(train[4]).write_text("")  # no labels
    shutil.copyfile(split_images(read_data_yaml(data_yaml), "test")[0], train[5])  # the same image in two splits
    (root / "labels" / "val" / f"{split_images(read_data_yaml(data_yaml), 'val')[0].stem}.txt").write_text("0 0.5\n")
    assert data["names"]
    return root


def test_data_check_finds_each_planted_flaw_and_passes_a_clean_set(digits, tmp_path):
    from training.data.check import check_dataset

    clean = check_dataset(digits, imgsz=192)
    assert clean.errors == [] and sum(clean.images.values()) == 10 and clean.sizes["median_px"] > 8
    report = check_dataset(_flawed(digits, tmp_path), imgsz=192)
    kinds = {(f.level, f.kind) for f in report.findings}
    for kind in ("image does not open", "class out of range", "box outside the image", "degenerate box",
                 "duplicate image", "malformed label"):
        assert ("error", kind) in kinds, (kind, kinds)
    assert ("warning", "no labels") in kinds
    done = subprocess.run([sys.executable, "-m", "training", "data", "check", str(tmp_path / "flawed"), "--imgsz",
                           "192", "--json", str(tmp_path / "report.json")], capture_output=True, text=True)
    assert done.returncode == 1 and "class out of range" in done.stderr
    assert json.loads((tmp_path / "report.json").read_text())["ok"] is False


def test_data_check_names_the_tiles_that_would_show_objects_too_small_to_see(tmp_path):
    from training.data.check import MIN_PX, check_dataset
    from training.data.layout import Box, prepare, write_data_yaml, write_sample

    prepare(tmp_path)
    boxes = [Box(0, x, 100, x + 12, 112) for x in range(100, 3000, 40)]  # 12 px objects in 4000 x 3000 photos
    write_sample(tmp_path, "train", "photo", np.full((3000, 4000, 3), 90, np.uint8), boxes)
    write_data_yaml(tmp_path, ["product"])
    report = check_dataset(tmp_path, imgsz=640)
    assert report.sizes["small"] == len(boxes) and report.sizes["median_px"] < MIN_PX
    rows, cols = int(report.sizes["tile_rows"]), int(report.sizes["tile_cols"])
    tile_side = max(4000 / (cols - 0.2 * (cols - 1)), 3000 / (rows - 0.2 * (rows - 1)))
    assert 12 * 640 / tile_side >= 2 * MIN_PX  # the named grid shows them at twice the smallest cell
    assert "tiles" in report.table()


def _coco_by_split(root: Path, out: Path) -> Path:
    """COCO as Roboflow exports it: train/, valid/ and test/, each with its images and _annotations.coco.json."""
    data = read_data_yaml(root / "data.yaml")
    names = data["names"]
    for split, folder in (("train", "train"), ("val", "valid"), ("test", "test")):
        (out / folder).mkdir(parents=True)
        images, annotations = [], []
        for i, image in enumerate(split_images(data, split)):
            shutil.copyfile(image, out / folder / image.name)
            with Image.open(image) as im:
                w, h = im.size
            images.append({"id": i, "file_name": image.name, "width": w, "height": h})
            for cls, x1, y1, x2, y2 in read_labels(image, w, h).tolist():
                annotations.append({"id": len(annotations), "image_id": i, "category_id": int(cls),
                                    "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0})
        categories = [{"id": k, "name": n, "supercategory": "none"} for k, n in enumerate(names)]
        (out / folder / "_annotations.coco.json").write_text(
            json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return out


@pytest.mark.slow
def test_a_model_trained_from_the_coco_import_scores_the_original_s_map50(tiny_data, tiny_run, tmp_path):
    """The import changes nothing a model learns from: the tiny set, exported as COCO by split and imported back,
    trains (same settings, same seed) to the original run's mAP50 on the original test split, within 0.005."""
    from tests.conftest import TINY_TRAIN
    from training.evaluate import evaluate_file
    from training.export import Exporter
    from training.train import train

    def map50(run: Path, names: list[str], test: list[Path]) -> float:  # the run's fp32 ONNX, as a deck has it
        exporter = Exporter(run / "weights" / "best.pt", tmp_path / run.name, imgsz=TINY_TRAIN["imgsz"], calibration=[])
        try:
            (tmp_path / run.name).mkdir(exist_ok=True)
            onnx = exporter.export("onnx-fp32")
        finally:
            exporter.close()
        return evaluate_file(onnx, test, names, imgsz=TINY_TRAIN["imgsz"], progress=False).map50

    imported = import_dataset("coco", _coco_by_split(tiny_data.parent, tmp_path / "export"), tmp_path / "imported")
    assert {s: len(split_images(read_data_yaml(imported), s)) for s in SPLITS} == {
        s: len(split_images(read_data_yaml(tiny_data), s)) for s in SPLITS}  # the splits kept as they were
    run = train(data=imported, out=tmp_path / "run", **TINY_TRAIN)
    data = read_data_yaml(tiny_data)
    test, names = split_images(data, "test"), data["names"]
    original, again = map50(tiny_run, names, test), map50(run, names, test)
    assert original > 0.3  # a model that learned something: equal scores mean something
    assert abs(again - original) <= 0.005, (original, again)
