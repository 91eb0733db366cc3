"""orjson in place of the library's `json` for event state, writing and reading the same JSON.

The library's `JSONTranscoder` encodes with `json` (compact, UTF-8) and wraps every value of
a registered type as `{"_type_": name, "_data_": ...}`; it decodes with an `object_hook` that
unwraps such two-key objects, innermost first. This transcoder keeps that format exactly, so
rows written by either decode with the other to equal values. orjson alone would not: it
writes UUIDs, datetimes and enums in its own way, `NaN` as `null`, refuses integers past 64
bits and reads them back as floats. So values are first turned into plain JSON types here, and
whatever this does not handle the way `json` does is handed to the library's own code.
"""

from __future__ import annotations

from math import isfinite
from typing import Any

import orjson
from eventsourcing.persistence import JSONTranscoder, Transcoding

# Written by orjson exactly as `json` writes them (an int past 64 bits: orjson refuses it).
_SCALARS = frozenset({str, int, bool, type(None)})
_JSON_TYPES = (str, int, float, dict, list, tuple)
# orjson reads integers past 64 bits as floats without a word: a float that large may have
# been such an integer, so the library's decoder (which keeps it an int) reads that row.
_INT_RANGE = 2.0**63
# What parsed JSON holds that `_unwrap` must look at: objects, arrays, and floats (above).
_TO_VISIT = frozenset({dict, list, float})


class _NotPlain(Exception):
    """A value this transcoder does not write or read exactly as `json` does."""


class OrjsonTranscoder(JSONTranscoder):
    """The library's JSON format through orjson; the same `register()` of transcodings."""

    def __init__(self) -> None:
        super().__init__()
        # `json` asks for a transcoding only for what is none of its own types (so never for
        # a StrEnum): the registered types it would ask for, looked up first here.
        self._wrapped: dict[type, Transcoding] = {}

    def register(self, transcoding: Transcoding) -> None:
        super().register(transcoding)
        if not issubclass(transcoding.type, _JSON_TYPES):
            self._wrapped[transcoding.type] = transcoding

    def encode(self, obj: Any) -> bytes:
        try:
            return orjson.dumps(self._plain(obj))
        except (_NotPlain, orjson.JSONEncodeError, RecursionError):
            return super().encode(obj)  # its result, or its error, is the reference

    def decode(self, data: bytes) -> Any:
        try:
            return self._unwrap(orjson.loads(data))
        except (_NotPlain, orjson.JSONDecodeError, RecursionError):
            return super().decode(data)

    def _plain(self, value: Any) -> Any:
        """`value` as the JSON types `json` would write it as."""
        kind = type(value)
        if kind in _SCALARS:
            return value
        transcoding = self._wrapped.get(kind)
        plain = self._plain
        if transcoding is not None:
            data = transcoding.encode(value)
            return {
                "_type_": transcoding.name,
                "_data_": data if type(data) in _SCALARS else plain(data),
            }
        if kind is dict:  # orjson refuses keys that are not exactly str: the library decides
            return {k: v if type(v) in _SCALARS else plain(v) for k, v in value.items()}
        if kind is list or kind is tuple:
            return [v if type(v) in _SCALARS else plain(v) for v in value]
        if kind is float and isfinite(value):
            return value  # `json` writes NaN and Infinity, orjson writes null
        # A StrEnum as its string, an IntEnum as its number, as `json` does. Subclasses of
        # float, dict, list or tuple are left to the library, and so is any unregistered type
        # (it raises its TranscodingNotRegisteredError).
        if isinstance(value, str):
            return str.__str__(value)
        if isinstance(value, int):
            return int.__int__(value)
        raise _NotPlain

    def _unwrap(self, value: Any) -> Any:
        """Parsed JSON as the library's `object_hook` leaves it (innermost objects first)."""
        kind = type(value)
        if kind is dict:
            unwrap = self._unwrap
            for key, item in value.items():
                if type(item) in _TO_VISIT:
                    value[key] = unwrap(item)
            if len(value) == 2 and "_type_" in value and "_data_" in value:
                transcoding = self.names.get(value["_type_"])
                if transcoding is None:
                    raise _NotPlain  # the library's decoder raises its error
                return transcoding.decode(value["_data_"])
            return value
        if kind is list:
            unwrap = self._unwrap
            for index, item in enumerate(value):
                if type(item) in _TO_VISIT:
                    value[index] = unwrap(item)
            return value
        if kind is float and not -_INT_RANGE < value < _INT_RANGE:
            raise _NotPlain
        return value
