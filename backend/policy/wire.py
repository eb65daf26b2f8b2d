"""The GR00T inference service's wire formats, byte for byte.

ZeroMQ (``gr00t/eval/service.py``, ``MsgSerializer``): a request is the msgpack map
``{"endpoint": NAME, "data": {...}, "api_token": TOKEN?}`` (``data`` only for endpoints that take
input); a numpy array anywhere inside is the map ``{"__ndarray_class__": True, "as_npy": BYTES}``
where BYTES is ``np.save`` of the array (``allow_pickle=False``). A reply is the handler's map, or
``{"error": TEXT}``.

HTTP (``scripts/inference_service.py --http-server``, FastAPI): ``POST /act`` with the JSON body
``{"observation": {...}}`` where arrays are json-numpy objects
``{"__numpy__": BASE64, "dtype": DTYPE_STR, "shape": [...]}``; the reply is the action map with
arrays as nested lists (``.tolist()``); ``GET /health`` answers ``{"status": "healthy", ...}``.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import msgpack
import numpy as np

NDARRAY_TAG = "__ndarray_class__"
JSON_NUMPY_TAG = "__numpy__"


class WireError(ValueError):
    """A message that is not in the service's format."""


# -- msgpack (ZeroMQ) ---------------------------------------------------------------------------------
def _encode_custom(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        buffer = io.BytesIO()
        np.save(buffer, obj, allow_pickle=False)
        return {NDARRAY_TAG: True, "as_npy": buffer.getbuffer()}  # the same bin bytes, one copy fewer
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _decode_custom(obj: dict) -> Any:
    if NDARRAY_TAG in obj:
        try:
            return np.load(io.BytesIO(obj["as_npy"]), allow_pickle=False)
        except (KeyError, ValueError, TypeError) as error:
            raise WireError(f"bad array in message: {error}") from error
    return obj


def pack(data: dict) -> bytes:
    """``MsgSerializer.to_bytes``."""
    return msgpack.packb(data, default=_encode_custom)


def unpack(message: bytes) -> dict:
    """``MsgSerializer.from_bytes`` (a message that is not a msgpack map raises ``WireError``)."""
    try:
        out = msgpack.unpackb(message, object_hook=_decode_custom)
    except WireError:
        raise
    except Exception as error:  # noqa: BLE001 - msgpack raises several unrelated types
        raise WireError(f"not a msgpack message: {error}") from error
    if not isinstance(out, dict):
        raise WireError(f"expected a map, got {type(out).__name__}")
    return out


def request(endpoint: str, data: dict | None = None, api_token: str | None = None) -> bytes:
    """One client request as ``BaseInferenceClient.call_endpoint`` builds it."""
    message: dict[str, Any] = {"endpoint": endpoint}
    if data is not None:
        message["data"] = data
    if api_token:
        message["api_token"] = api_token
    return pack(message)


# -- JSON (HTTP) -------------------------------------------------------------------------------------
def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray | np.generic):
        array = np.ascontiguousarray(obj)
        return {
            JSON_NUMPY_TAG: base64.b64encode(array.tobytes()).decode("ascii"),
            "dtype": array.dtype.str,
            "shape": list(array.shape),
        }
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _json_hook(obj: dict) -> Any:
    if JSON_NUMPY_TAG in obj:
        try:
            array = np.frombuffer(base64.b64decode(obj[JSON_NUMPY_TAG]), dtype=np.dtype(obj["dtype"]))
            shape = obj.get("shape") or []
            return array.reshape(shape) if shape else array[0]
        except (KeyError, ValueError, TypeError) as error:
            raise WireError(f"bad json-numpy array: {error}") from error
    return obj


def json_dumps(data: Any) -> bytes:
    """json-numpy's encoding (``json_numpy.dumps``)."""
    return json.dumps(data, default=_json_default).encode("utf-8")


def json_loads(body: bytes) -> Any:
    """json-numpy's decoding; plain lists stay lists (``as_arrays`` turns an action map into arrays)."""
    try:
        return json.loads(body, object_hook=_json_hook)
    except json.JSONDecodeError as error:
        raise WireError(f"not JSON: {error}") from error


def as_arrays(reply: dict) -> dict:
    """An HTTP reply's nested lists as float arrays (the server sends ``.tolist()``)."""
    out = {}
    for key, value in reply.items():
        if isinstance(value, list) and key.startswith("action."):
            try:
                out[key] = np.asarray(value, dtype=np.float64)
            except (ValueError, TypeError) as error:
                raise WireError(f"{key}: not a numeric array ({error})") from error
        else:
            out[key] = value
    return out
