"""Video and streams on the lean runtime (no torch): read, detect, track, count, annotate, write.

>>> from hub.video import process_video
>>> report = process_video("aisle.mp4", detector, lines=[((320, 0), (320, 480))], out="out.mp4", csv="counts.csv")
>>> report.lines[0]["in"]
{'product': 12}

Needs PyAV (video in and out), ``trackers`` (ByteTrack) and ``supervision`` (the tracker's box type).
"""

from hub.video.counting import LineCounter, ZoneCounter, parse_line
from hub.video.io import VideoInfo, VideoWriter, read_frames, video_info
from hub.video.pipeline import VideoReport, draw, process_video
from hub.video.tracking import Tracker

__all__ = ["LineCounter", "Tracker", "VideoInfo", "VideoReport", "VideoWriter", "ZoneCounter", "draw", "parse_line",
           "video_info", "process_video", "read_frames"]
