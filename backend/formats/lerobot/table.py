"""Arrow types of the LeRobot frame table: features -> pyarrow types, HF feature records, numpy views."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from backend.formats.lerobot.common import DEFAULT_FEATURES
from backend.model import Feature, FeatureKind

ARROW_TYPES: dict[str, pa.DataType] = {
    "float16": pa.float16(),
    "float32": pa.float32(),
    "float64": pa.float64(),
    "int8": pa.int8(),
    "int16": pa.int16(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "uint8": pa.uint8(),
    "uint16": pa.uint16(),
    "uint32": pa.uint32(),
    "uint64": pa.uint64(),
    "bool": pa.bool_(),
    "string": pa.string(),
}


def arrow_type(feature: Feature) -> pa.DataType:
    dtype = feature.dtype if feature.dtype in ARROW_TYPES else "float32"
    base = ARROW_TYPES[dtype]
    if feature.kind is FeatureKind.SCALAR:
        return base
    result = base
    for size in reversed(feature.shape or (1,)):
        result = pa.list_(result, int(size))
    return result


def hf_feature(feature: Feature, list_type: str) -> dict[str, Any]:
    """The feature's HuggingFace ``datasets`` record; ``list_type`` is "Sequence" (v2.1) or "List" (v3.0)."""
    dtype = feature.dtype if feature.dtype in ARROW_TYPES else "float32"
    value: dict[str, Any] = {"dtype": dtype, "_type": "Value"}
    if feature.kind is FeatureKind.SCALAR:
        return value
    for size in reversed(feature.shape or (1,)):
        value = {"feature": value, "length": int(size), "_type": list_type}
    return value


def as_numpy(values: np.ndarray, arrow: pa.DataType) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(values), dtype=arrow.to_pandas_dtype())


def default_feature(key: str) -> Feature:
    spec = DEFAULT_FEATURES[key]
    return Feature(key, FeatureKind.SCALAR, spec["dtype"], (1,), None)


def rgb(frame: Any) -> np.ndarray:
    """RGB of a decoded frame; yuv420p through OpenCV (~5x cheaper than PyAV's conversion)."""
    if frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0:
        try:
            from backend.media.color import yuv420p_to_rgb
        except ImportError:  # pragma: no cover - older media package
            return frame.to_ndarray(format="rgb24")
        return yuv420p_to_rgb(frame.to_ndarray())
    return frame.to_ndarray(format="rgb24")
