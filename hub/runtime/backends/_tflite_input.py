"""An int8 TFLite model's first two steps done by the caller instead: it takes int8 NHWC pixels.

Ultralytics' LiteRT int8 export takes a float32 NCHW image, then quantizes it (``QUANTIZE``) and turns it
to NHWC (``TRANSPOSE``) inside the model. Writing 1.2 MB of float32 only for the model to turn it back
into 300 KB of int8 cost more than the rest of ``detect()``'s pre-processing: here the subgraph's input
becomes the ``TRANSPOSE``'s output, and ``letterbox`` writes the int8 codes through a 256-entry table
(the model's own input scale and zero point, rounded as its ``QUANTIZE`` rounds). Outputs are
bit-identical. ``make bench``, demo deck, 640 px frames, 2 threads (Intel Xeon, AVX-512 VNNI + AMX):
``detect()`` 4.20 -> 4.00 ms, the backend call 3.46 -> 3.21 ms.

The two operators are cut out of the flatbuffer in place (the subgraph's input index rewritten, its
operator vector shortened by two): LiteRT's ``flatbuffer_utils`` would unpack and repack every weight,
1.5 s per load. A model that does not start exactly so is left as it is.
"""

from __future__ import annotations

import mmap
import struct
from typing import Any

import numpy as np

NHWC_FROM_NCHW = [0, 2, 3, 1]
_INPUTS, _OPERATORS = 6, 10  # SubGraph's vtable slots (schema.fbs: tensors, inputs, outputs, operators)


def int8_input(model: bytes | mmap.mmap) -> tuple[bytes, np.ndarray] | None:
    """``(model taking int8 NHWC, 256 codes: pixel value -> int8 as uint8)``, or None when ``model`` does not
    begin with float NCHW -> QUANTIZE (int8) -> TRANSPOSE to NHWC."""
    from ai_edge_litert import schema_py_generated as fb

    root = fb.Model.GetRootAs(model, 0)
    if root.SubgraphsLength() != 1:
        return None
    graph = root.Subgraphs(0)
    if graph.InputsLength() != 1 or not 3 <= graph.OperatorsLength() <= len(model) // 8:  # a sane count
        return None
    first, second = graph.Operators(0), graph.Operators(1)

    def code(op: Any) -> int:
        opcode = root.OperatorCodes(op.OpcodeIndex())
        return max(opcode.BuiltinCode(), opcode.DeprecatedBuiltinCode())

    source = graph.Inputs(0)
    if (code(first) != fb.BuiltinOperator.QUANTIZE or code(second) != fb.BuiltinOperator.TRANSPOSE
            or first.InputsAsNumpy().tolist() != [source] or second.Inputs(0) != first.Outputs(0)):
        return None
    image, quantized, nhwc = graph.Tensors(source), graph.Tensors(first.Outputs(0)), graph.Tensors(second.Outputs(0))
    perm = root.Buffers(graph.Tensors(second.Inputs(1)).Buffer()).DataAsNumpy()
    if (image.Type() != fb.TensorType.FLOAT32 or {quantized.Type(), nhwc.Type()} != {fb.TensorType.INT8}
            or image.ShapeAsNumpy().tolist()[:2] != [1, 3] or perm is None
            or np.frombuffer(perm.tobytes(), np.int32).tolist() != NHWC_FROM_NCHW):
        return None
    q = quantized.Quantization()
    if q is None or q.ScaleLength() != 1 or q.ZeroPointLength() != 1:
        return None
    scale, zero = np.float32(q.Scale(0)), int(q.ZeroPoint(0))
    for op in range(2, graph.OperatorsLength()):  # nothing else may read the tensors that go away
        if {source, first.Outputs(0)} & set(graph.Operators(op).InputsAsNumpy().tolist()):
            return None

    patched = bytearray(model)
    inputs = graph._tab.Vector(graph._tab.Offset(_INPUTS))
    struct.pack_into("<i", patched, inputs, second.Outputs(0))
    ops = graph._tab.Vector(graph._tab.Offset(_OPERATORS))
    count = graph.OperatorsLength()
    for k in range(count - 2):  # each entry is an offset from its own slot: two slots earlier, 8 bytes further
        (rel,) = struct.unpack_from("<I", patched, ops + 4 * (k + 2))
        struct.pack_into("<I", patched, ops + 4 * k, rel + 8)
    struct.pack_into("<I", patched, ops - 4, count - 2)
    # TFLite's QUANTIZE: round(x / scale) + zero_point, half away from zero, on x = pixel / 255 in float32
    x = np.arange(256, dtype=np.float32) / np.float32(255)
    codes = np.clip(np.trunc(x / scale + np.copysign(np.float32(0.5), x)) + zero, -128, 127).astype(np.int8)
    return bytes(patched), codes.view(np.uint8)
