"""Video: read and sample frames (PyAV), follow faces across frames as tracks."""

from .analyze import VideoTracks, track_video
from .reader import VIDEO_EXTENSIONS, Frame, VideoInfo, decode_frames, probe, sample_frames
from .tracks import Track, Tracker, TrackFace, fill_boxes, iou

__all__ = ["VIDEO_EXTENSIONS", "Frame", "Track", "TrackFace", "Tracker", "VideoInfo",
           "VideoTracks", "decode_frames", "fill_boxes", "iou", "probe", "sample_frames",
           "track_video"]
