"""Hand-made bugs and the tests that must catch them: ``python -m tests.mutations [NAME ...]``.

Each mutation replaces one snippet of the code, runs the named tests (``pytest -x``, in the same network
namespace as ``make test``), and puts the file back; it prints whether the tests failed, as they must.
Rows named "(old ... only)" run a test that existed before the behaviour was covered: it passing shows why
the new test was needed. This is the audit of issue 21, kept so that it can be run again after a change;
it is not part of ``make test`` (each row is a pytest run of its own).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutation:
    name: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]


MUTATIONS = [
    Mutation('geometry: padding offset',
             'hub/runtime/ops.py',
             'np.array([box.pad_left, box.pad_top, box.pad_left, box.pad_top], np.float32)',
             'np.array([box.pad_left, box.pad_left, box.pad_left, box.pad_left], np.float32)',
             ('tests/test_geometry.py',)),
    Mutation('geometry: padding offset (old square-image parity only)',
             'hub/runtime/ops.py',
             'np.array([box.pad_left, box.pad_top, box.pad_left, box.pad_top], np.float32)',
             'np.array([box.pad_left, box.pad_left, box.pad_left, box.pad_left], np.float32)',
             ('tests/test_runtime.py::test_detections_match_ultralytics_predict',)),
    Mutation('geometry: scale rounded',
             'hub/runtime/ops.py',
             'out /= np.float32(box.ratio)',
             'out /= np.float32(round(box.ratio, 1))',
             ('tests/test_geometry.py',)),
    Mutation('geometry: scale rounded (old square-image parity only)',
             'hub/runtime/ops.py',
             'out /= np.float32(box.ratio)',
             'out /= np.float32(round(box.ratio, 1))',
             ('tests/test_runtime.py::test_detections_match_ultralytics_predict',)),
    Mutation('app: detector cache keyed by file',
             'apps/models.py',
             'key = (deck.repo, deck.commit, variant.id)',
             'key = (deck.repo, deck.commit, variant.file)',
             ('tests/test_app_client.py::test_detect_follows_the_controls',)),
    Mutation('app: IoU slider ignored',
             'apps/handlers.py',
             'image, conf=float(conf), iou=float(iou),\n                                  classes=class_ids',
             'image, conf=float(conf), iou=0.7,\n                                  classes=class_ids',
             ('tests/test_app_client.py::test_detect_follows_the_controls',)),
    Mutation('app: Tiles control ignored',
             'apps/handlers.py',
             'tiles=TILES[tiles or "off"])',
             'tiles=None)',
             ('tests/test_app_client.py::test_detect_follows_the_controls',)),
    Mutation('app: image size not validated',
             'hub/runtime/detector.py',
             '        if size % 32:\n',
             '        if False:\n',
             ('tests/test_app_client.py::test_bad_controls_are_clear_errors',)),
    Mutation('app: webcam time limit not enforced',
             'apps/handlers.py',
             'if not session.within(self.webcam_limit):',
             'if False:',
             ('tests/test_app_browser.py::test_the_webcam_stream_stops_at_its_time_limit',)),
    Mutation('metrics: recall over detections',
             'training/evaluate.py',
             'recall = ctp / max(n_gt, 1)',
             'recall = ctp / max(len(tp), 1)',
             ('tests/test_training.py::test_metrics_agree_with_ultralytics_val',)),
    Mutation("metrics: COCO's 100 detections per image",
             'training/evaluate.py',
             'ev.params.maxDets = [1, 100, max_det]',
             'ev.params.maxDets = [1, 100, 100]',
             ('tests/test_training.py::test_coco_metrics_score_a_dense_image_whole',)),
    Mutation('classes: relabel with best allowed class',
             'hub/runtime/ops.py',
             '        wanted = np.isin(class_ids, np.asarray(list(classes), np.int64))\n        keep, class_ids = keep[wanted], class_ids[wanted]\n',
             '        allowed = np.asarray(list(classes), np.int64)\n        class_ids = allowed[cls_scores[allowed][:, keep].argmax(axis=0)]\n',
             ('tests/test_cli_digits.py::test_the_class_filter_keeps_exactly_those_classes', 'tests/test_cli_digits.py::test_the_class_filter_agrees_with_ultralytics')),
    Mutation('auth: anonymous writes allowed',
             'hub/store/access.py',
             '        if caller is None:\n            raise HttpError(401, f"writing to {namespace}/ needs a write token: pass token= or set HF_TOKEN")',
             '        if caller is None:\n            return',
             ('tests/test_foundations.py::test_hub_serve_with_a_token_refuses_anonymous_writes',)),
    Mutation('auth: anonymous writes allowed (old hub tests only)',
             'hub/store/access.py',
             '        if caller is None:\n            raise HttpError(401, f"writing to {namespace}/ needs a write token: pass token= or set HF_TOKEN")',
             '        if caller is None:\n            return',
             ('tests/test_hub.py',)),
    Mutation('auth: private repos readable by anyone',
             'hub/store/access.py',
             '        return caller is not None and caller.covers(repo_id)',
             '        return True',
             ('tests/test_hub_access.py::test_the_access_table',)),
    Mutation('auth: namespace scope ignored',
             'hub/store/tokens.py',
             'return self.namespace is None or repo_id.split("/")[0] == self.namespace',
             'return True',
             ('tests/test_hub_access.py::test_the_access_table',)),
    Mutation('pull cache: cached file trusted',
             'hub/api.py',
             '        try:\n            variant.verify_file(path)\n            return path\n        except IntegrityError:\n            _evict(path)  # a stale or damaged copy: fetch it once more\n',
             '        if path.exists():\n            return path\n',
             ('tests/test_foundations.py::test_a_cached_file_is_checked_again_and_fetched_anew_if_it_changed',)),
    Mutation('default variant: accuracy tolerance ignored',
             'hub/manifest.py',
             'good = [v for v in pool if ref is None or (v.metrics and v.metrics.map50 >= ref.metrics.map50 - tolerance)]',
             'good = list(pool)',
             ('tests/test_foundations.py::test_load_picks_the_fastest_variant_within_tolerance',)),
    Mutation('default variant: probe keeps the slowest',
             'hub/probe.py',
             'fastest = min(pool, key=lambda v: ms[v.id])',
             'fastest = max(pool, key=lambda v: ms[v.id])',
             ('tests/test_foundations.py::test_the_probe_picks_what_it_measured_fastest_here_and_caches_it',)),
    Mutation('dashboard: diff compares a revision with itself',
             'apps/dashboard.py',
             '(first, a), (last, b) = list(manifests.items())[0], list(manifests.items())[-1]',
             '(first, a), (last, b) = list(manifests.items())[-1], list(manifests.items())[-1]',
             ('tests/test_dashboard.py::test_revisions_that_differ_show_what_changed',)),
    Mutation('space: handlers.py left out of the Space',
             'hub/space.py',
             '"gradio_app.py", "components.py", "handlers.py",',
             '"gradio_app.py", "components.py",',
             ('tests/test_space.py::test_a_wheel_in_a_fresh_venv_builds_a_space_that_serves_a_model',)),
    Mutation('training CLI: weights keep one class name',
             'training/cli.py',
             'names = [yolo.names[i] for i in sorted(yolo.names)]',
             'names = [yolo.names[i] for i in sorted(yolo.names)][:1]',
             ('tests/test_cli_digits.py::test_weights_cli_writes_a_checkpoint_the_runtime_loads',)),
    Mutation('service: a revoked key still works',
             'hub/store/tokens.py',
             '            self._save([t for t in tokens if t.name != name])',
             '            pass',
             ('tests/test_service.py::test_api_keys_are_the_hubs_tokens',)),
    Mutation('webcam line: detector cache keyed by file',
             'apps/models.py',
             'key = (deck.repo, deck.commit, variant.id)',
             'key = (deck.repo, deck.commit, variant.file)',
             ('tests/test_app_client.py::test_webcam_endpoint_processes_a_frame',)),
    Mutation('tiles: the pair search misses boxes that reach into an overlap',
             'hub/runtime/tiles.py',
             'ia = np.flatnonzero((ba[:, 0] < x1)',
             'ia = np.flatnonzero((ba[:, 0] < x0 + 5)',
             ('tests/test_tiles.py::test_the_merge_finds_every_pair_an_all_pairs_search_finds',)),
    Mutation('tflite int8: the input codes rounded down',
             'hub/runtime/backends/_tflite_input.py',
             'np.trunc(x / scale + np.copysign(np.float32(0.5), x))',
             'np.trunc(x / scale)',
             ('tests/test_runtime.py::test_an_int8_tflite_file_takes_int8_codes_and_gives_the_same_head_bit_for_bit',)),
    Mutation('tiles side by side: a copy given the wrong tile',
             'hub/runtime/detector.py',
             'return run(region, session)',
             'return run(region[::-1] if region[0] else region, session)',
             ('tests/test_tiles.py::test_tiles_run_side_by_side_give_what_one_by_one_gives',)),
    Mutation('pt: the scale left for Ultralytics to guess',
             'hub/runtime/backends/torch.py',
             'cfg["scale"] = next(iter(cfg["scales"]))',
             'pass',
             ('tests/test_runtime.py::test_a_pt_file_saved_without_its_scale_loads_without_ultralytics_guessing_it',)),
    Mutation('tiles auto: pieces of cut objects measured',
             'hub/runtime/tiles.py',
             'keep[keep] = ~_cut(found[1][keep], region, width, height)',
             'keep[keep] = True',
             ('tests/test_tiles.py::test_auto_measures_objects_whole_not_the_pieces_a_probe_cuts',)),
    Mutation('tiles auto: boxes the model is unsure of measured',
             'hub/runtime/tiles.py',
             'and np.median(scores) >= CONFIDENT:',
             'and True:',
             ('tests/test_tiles.py::test_auto_with_nothing_found_or_unsure_boxes_only_takes_the_finest_grid',
              'tests/test_tiles.py::test_auto_runs_large_objects_whole_and_tiles_small_ones_to_the_size_the_deck_measured')),
    Mutation('tiles auto: one tile too few',
             'hub/runtime/tiles.py',
             'math.ceil((length / longest - overlap) / (1 - overlap) - 1e-9)',
             'math.floor((length / longest - overlap) / (1 - overlap)) or 1',
             ('tests/test_tiles.py::test_grid_for_is_the_coarsest_grid_that_shows_objects_large_enough',)),
    Mutation('scale: objects cut by a window scored as whole',
             'training/scale.py',
             'cut = inside < VISIBLE * np.maximum(area, 1e-9)',
             'cut = inside < 0 * area',
             ('tests/test_scale.py::test_an_enlarged_view_is_windows_whose_cut_objects_are_crowd_regions',)),
    Mutation('scale: min_px not interpolated',
             'training/scale.py',
             'return before.object_px + t * (point.object_px - before.object_px)',
             'return point.object_px',
             ('tests/test_scale.py::test_the_smallest_kept_size_is_where_the_curve_first_reaches_keep_of_its_best',)),
    Mutation('evaluate: crowd regions scored as objects',
             'training/evaluate.py',
             '"iscrowd": int(cut)',
             '"iscrowd": 0',
             ('tests/test_scale.py::test_a_detection_on_a_crowd_region_is_neither_found_nor_missed',)),
    Mutation('load: the deck\'s object scale not handed to the detector',
             'hub/api.py',
             'min_object_px=objects.min_px if objects else None',
             'min_object_px=None',
             ('tests/test_hub.py::test_variants_sharing_a_file_push_it_once_and_load_with_their_own_backend',)),
    Mutation('photos: a reduced read sized from the stored, not the shown, orientation',
             'hub/runtime/images.py',
             'fit = fit(*shown) if callable(fit) else fit',
             'fit = fit(w, h) if callable(fit) else fit',
             ('tests/test_tiles.py::test_a_reduced_read_keeps_each_tile_at_the_network_s_size_in_every_exif_orientation',)),
    Mutation('photos: a reduced read sized from the stored orientation (old tile-size test only)',
             'hub/runtime/images.py',
             'fit = fit(*shown) if callable(fit) else fit',
             'fit = fit(w, h) if callable(fit) else fit',
             ('tests/test_tiles.py::test_a_reduced_read_still_gives_every_tile_the_network_s_size',)),
    Mutation('tiles auto: the measured grid not held to the finest',
             'hub/runtime/tiles.py',
             'return (min(rows, finest[0]), min(cols, finest[1])), ran',
             'return (rows, cols), ran',
             ('tests/test_tiles.py::test_auto_never_runs_more_tiles_than_its_finest_grid',)),
    Mutation('tiles auto: the measured grid not held to the finest (old probe test only)',
             'hub/runtime/tiles.py',
             'return (min(rows, finest[0]), min(cols, finest[1])), ran',
             'return (rows, cols), ran',
             ('tests/test_tiles.py::test_auto_probes_until_the_objects_can_be_measured_then_takes_the_coarsest_grid_that_shows_them',)),
    Mutation('counting: a side kept while beyond the segment\'s ends',
             'hub/video/counting.py',
             '                track.side = track.pending = track.streak = 0\n                continue',
             '                continue',
             ('tests/test_counting.py::test_line_counts_round_the_ends_of_a_segment',)),
    Mutation('counting: a side kept while beyond the segment\'s ends (old line table only)',
             'hub/video/counting.py',
             '                track.side = track.pending = track.streak = 0\n                continue',
             '                continue',
             ('tests/test_counting.py::test_line_counts',)),
    Mutation('tokens: only the first 24 bytes of a key hashed',
             'hub/store/tokens.py',
             'hashlib.sha256(secret.encode())',
             'hashlib.sha256(secret.encode()[:24])',
             ('tests/test_hub_access.py::test_a_token_is_accepted_only_whole',
              'tests/test_service.py::test_an_api_key_is_accepted_only_whole')),
    Mutation('tokens: only the first 24 bytes of a key hashed (old service key test only)',
             'hub/store/tokens.py',
             'hashlib.sha256(secret.encode())',
             'hashlib.sha256(secret.encode()[:24])',
             ('tests/test_service.py::test_api_keys_are_the_hubs_tokens',)),
    Mutation('hub: $YOLODECK_SERVE_TOKEN matched as a prefix',
             'hub/store/access.py',
             'hmac.compare_digest(secret.encode(), self.env_token.encode())',
             'self.env_token.startswith(secret)',
             ('tests/test_hub_access.py::test_a_token_is_accepted_only_whole',)),
    Mutation('static page: letterbox placed at the top-left corner',
             'space/static/js/letterbox.js',
             'const top = roundHalfEven(dh - 0.1), left = roundHalfEven(dw - 0.1);',
             'const top = 0, left = 0;',
             ('tests/test_static_space.py::test_the_page_detects_what_detector_detects[onnx-fp32-0.001]',)),
    Mutation('static page: NMS suppresses only above IoU + 0.2',
             'space/static/js/nms.js',
             'Float32Array.from([iou]), [1]),',
             'Float32Array.from([iou + 0.2]), [1]),',
             ('tests/test_static_space.py::test_the_page_detects_what_detector_detects[onnx-fp32-0.001]',)),
    Mutation('static page: a model file used without its checksum',
             'space/static/js/deck.js',
             'if (actual !== sha256) {',
             'if (false) {',
             ('tests/test_static_space.py::test_a_tampered_model_file_is_refused',)),
    Mutation('static page: the class filter ignored',
             'space/static/js/decode.js',
             'if (best > conf && (!wanted || wanted.has(cls)))',
             'if (best > conf)',
             ('tests/test_static_space.py::test_every_control_changes_the_result_and_downloads_say_what_ran',)),
    Mutation('hub serve: no CORS for a page on another origin',
             'hub/store/server.py',
             '    app.add_middleware(CORSMiddleware, **CORS)\n',
             '',
             ('tests/test_static_space.py::test_every_control_changes_the_result_and_downloads_say_what_ran',)),
    Mutation('roboflow: a list of images answered with the first only',
             'apps/service/roboflow.py',
             'jobs = [svc.submit(data, opts, None)[0] for data in images]',
             'jobs = [svc.submit(data, opts, None)[0] for data in images[:1]]',
             ('tests/test_roboflow.py::test_the_roboflow_client_runs_unchanged_against_the_service',)),
    Mutation('roboflow: the key in the body not read',
             'apps/service/roboflow.py',
             '        svc.authorize(key or body.api_key)\n        images = images_of(body)',
             '        svc.authorize(key)\n        images = images_of(body)',
             ('tests/test_roboflow.py::test_the_roboflow_client_runs_unchanged_against_the_service',)),
    Mutation('roboflow: percent thresholds taken as fractions',
             'apps/service/roboflow.py',
             'return value / 100 if value > 1 else value',
             'return min(value, 1.0)',
             ('tests/test_roboflow.py::test_the_v0_route_takes_a_multipart_file_and_percent_thresholds',)),
    Mutation('roboflow: the registry gives another input size',
             'apps/service/roboflow.py',
             '"input_height": size, "input_width": size}',
             '"input_height": size and 2 * size, "input_width": size and 2 * size}',
             ('tests/test_roboflow.py::test_the_roboflow_client_runs_unchanged_against_the_service',)),
    Mutation('service: one blocking wait as long as the request\'s timeout',
             'apps/service/jobs.py',
             'timeout=max(0.01, min(left, WAIT_SLICE))',
             'timeout=max(0.01, left)',
             ('tests/test_service.py::test_workers_killed_again_and_again_under_load_cost_no_client_a_request',)),
]


def run(m: Mutation) -> bool:
    """Apply ``m``, run its tests, restore the file; True when the tests failed (the bug was caught)."""
    path = ROOT / m.file
    original = path.read_text()
    if original.count(m.old) != 1:
        raise SystemExit(f"{m.name}: the snippet to change is not in {m.file} exactly once; update the mutation")
    path.write_text(original.replace(m.old, m.new))
    try:
        cmd = ["tests/in-netns.sh", sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *m.tests]
        if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
            cmd = ["unshare", "-n", *cmd]
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=os.environ)
    finally:
        path.write_text(original)
    return done.returncode != 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutations", description=__doc__)
    parser.add_argument("names", nargs="*", help="mutations to run (default: all); see --list")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(m.name for m in MUTATIONS))
        return 0
    chosen = [m for m in MUTATIONS if not args.names or m.name in args.names]
    missed = []
    for m in chosen:
        caught = run(m)
        control = "only)" in m.name  # an old test, expected to miss the bug
        print(f"{'caught' if caught else 'missed':7} {m.name}  ({', '.join(m.tests)})", flush=True)
        if caught == control:
            missed.append(m.name)
    print(f"{len(chosen) - len(missed)} of {len(chosen)} as expected" + (f"; not: {missed}" if missed else ""))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
