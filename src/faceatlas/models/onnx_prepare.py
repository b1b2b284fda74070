"""Load-time repair of ONNX graphs so that every runtime accepts them.

Some published files (OpenCV Zoo's block-quantised SFace among them) declare their
weights as graph inputs, which onnxruntime then expects to be fed. :func:`prepare`
drops graph inputs that no node reads or that an initializer backs, folds constant
weight de-quantisation (``DequantizeLinear`` + ``Reshape`` of initializers) into
float32 initializers, and frees the batch dimension so faces can be run in batches.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper


def prepare(model: onnx.ModelProto, dynamic_batch: bool = True,
            dynamic_spatial: bool = False) -> onnx.ModelProto:
    """Return a repaired copy of ``model`` (see module docstring).

    ``dynamic_spatial`` also frees the height and width of 4-d inputs (and every
    non-channel output dimension), for fully convolutional detectors.
    """
    m = onnx.ModelProto()
    m.CopyFrom(model)
    _fold_constant_dequantize(m)
    _prune_inputs(m)
    if dynamic_batch:
        _free_batch_dim(m)
    if dynamic_spatial:
        _free_spatial_dims(m)
    return m


def _free_spatial_dims(m: onnx.ModelProto) -> None:
    for value in m.graph.input:
        dims = value.type.tensor_type.shape.dim
        if len(dims) == 4:
            dims[2].dim_param, dims[3].dim_param = "height", "width"
    for value in m.graph.output:
        dims = value.type.tensor_type.shape.dim
        for i, dim in enumerate(dims[:-1]):
            if i > 0:
                dim.dim_param = f"{value.name}_d{i}"


def _prune_inputs(m: onnx.ModelProto) -> None:
    used = {name for node in m.graph.node for name in node.input}
    used.update(o.name for o in m.graph.output)
    inits = {i.name for i in m.graph.initializer}
    keep = [i for i in m.graph.input if i.name in used and i.name not in inits]
    del m.graph.input[:]
    m.graph.input.extend(keep)
    live = [i for i in m.graph.initializer if i.name in used]
    del m.graph.initializer[:]
    m.graph.initializer.extend(live)


def _dequantize(q: np.ndarray, scale: np.ndarray, zero: np.ndarray | None, axis: int,
                block: int) -> np.ndarray:
    x = q.astype(np.float32)
    z = np.zeros_like(scale, dtype=np.float32) if zero is None else zero.astype(np.float32)
    s = scale.astype(np.float32)
    if s.size == 1:
        return (x - z.reshape(())) * s.reshape(())
    axis = axis % q.ndim
    if block > 0:  # blocked quantisation: one scale per `block` elements along `axis`
        s = np.repeat(s, block, axis=axis).take(range(q.shape[axis]), axis=axis)
        z = np.repeat(z, block, axis=axis).take(range(q.shape[axis]), axis=axis)
        return (x - z) * s
    shape = [1] * q.ndim
    shape[axis] = -1
    return (x - z.reshape(shape)) * s.reshape(shape)


def _fold_constant_dequantize(m: onnx.ModelProto) -> None:
    consts = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    folded: dict[str, np.ndarray] = {}
    keep_nodes = []
    for node in m.graph.node:
        ins = list(node.input)
        if node.op_type == "DequantizeLinear" and all(n in consts or n in folded for n in ins if n):
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            vals = [folded.get(n, consts.get(n)) if n else None for n in ins]
            zero = vals[2] if len(vals) > 2 else None
            folded[node.output[0]] = _dequantize(vals[0], vals[1], zero,  # type: ignore[arg-type]
                                                 int(attrs.get("axis", 1)),
                                                 int(attrs.get("block_size", 0)))
            continue
        if (node.op_type == "Reshape" and ins[0] in folded and ins[1] in consts):
            folded[node.output[0]] = folded[ins[0]].reshape(consts[ins[1]].astype(np.int64))
            continue
        keep_nodes.append(node)
    if not folded:
        return
    needed = {n for node in keep_nodes for n in node.input}
    del m.graph.node[:]
    m.graph.node.extend(keep_nodes)
    for name, arr in folded.items():
        if name in needed:
            m.graph.initializer.append(numpy_helper.from_array(arr.astype(np.float32), name))


def _free_batch_dim(m: onnx.ModelProto) -> None:
    inits = {i.name for i in m.graph.initializer}
    for value in list(m.graph.input) + list(m.graph.output):
        if value.name in inits:
            continue
        dims = value.type.tensor_type.shape.dim
        if len(dims) >= 2 and dims[0].dim_value == 1:
            dims[0].dim_param = "batch"
    # Reshape nodes that hard-code batch 1 would break a free batch: rewrite to -1/0.
    consts = {i.name: i for i in m.graph.initializer}
    for node in m.graph.node:
        if node.op_type == "Reshape" and node.input[1] in consts:
            shape = numpy_helper.to_array(consts[node.input[1]])
            if shape.ndim == 1 and shape.size >= 2 and shape[0] == 1:
                new = shape.copy()
                new[0] = -1 if -1 not in shape[1:] else 0
                consts[node.input[1]].CopyFrom(numpy_helper.from_array(new, node.input[1]))
