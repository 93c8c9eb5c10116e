"""EfficientNet-Lite as an ONNX graph, built with the ``onnx`` package from the same numpy weights.

Why not tf2onnx: it does not support this TensorFlow (2.21) and Keras 3, so the graph is
written out op by op -- which the architecture makes short: each convolution with its batch
norm folded in (``w * gamma / sqrt(var + eps)``, bias ``beta - mean * gamma / sqrt(var + eps)``),
``Clip(0, 6)`` for ReLU6, depthwise convolutions as grouped ones, TensorFlow "SAME" padding as
ONNX ``SAME_UPPER`` (the extra row and column at the end, as TF does), the residual ``Add``s,
and a global average pool. The output ``features`` is the 1280-d pooled vector.

It serves as the test of bring-your-own-model (:mod:`indexer.models.onnx_model`): the ONNX
export of the bundled Lite0 weights must give the Keras model's vectors (within 1e-4), and
as an example of a manifest (:func:`export`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .efficientnet_lite import BN_EPSILON, MEAN_RGB, STD_RGB, VARIANTS, block_specs, weights_path
from .torch_pickle import load_state_dict


def build_model(name: str = "efficientnet_lite0", state: dict[str, np.ndarray] | None = None, *,
                pooled: bool = True):
    """The ONNX graph of ``name`` with ``state``'s weights (default: its package's).

    ``pooled``: the output ``features`` is the 1280-d average-pooled vector; else the output
    ``feature_map`` is the last feature map ``[n, 1280, h, w]``, for the caller to pool as its
    options say (:mod:`indexer.models.lite_runtime`: GeM and max pooling too).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    state = state if state is not None else load_state_dict(weights_path(name))
    size = VARIANTS[name][2]
    nodes, inits = [], []
    counter = iter(range(10_000))

    def const(array: np.ndarray, label: str) -> str:
        tensor_name = f"{label}_{next(counter)}"
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), tensor_name))
        return tensor_name

    def conv_bn(x: str, conv: str, bn: str, *, stride: int = 1, group: int = 1, relu6: bool = True) -> str:
        w = state[f"{conv}.weight"].astype(np.float64)
        g, b, m, v = (state[f"{bn}.{k}"].astype(np.float64) for k in ("weight", "bias", "running_mean", "running_var"))
        scale = g / np.sqrt(v + BN_EPSILON)
        out = f"{conv}_out"
        nodes.append(helper.make_node(
            "Conv", [x, const(w * scale[:, None, None, None], conv + "_w"), const(b - m * scale, conv + "_b")], [out],
            name=conv, strides=[stride, stride], group=group, auto_pad="SAME_UPPER", kernel_shape=list(w.shape[2:])))
        if not relu6:
            return out
        clipped = f"{conv}_relu6"
        nodes.append(helper.make_node("Clip", [out, const(np.array(0.0), "zero"), const(np.array(6.0), "six")],
                                      [clipped], name=conv + "_relu6"))
        return clipped

    x = conv_bn("image", "_conv_stem", "_bn0", stride=2)
    for i, (_, stride, expand, cin, cout) in enumerate(block_specs(name)):
        p = f"_blocks.{i}."
        h = x
        if expand != 1:
            h = conv_bn(h, p + "_expand_conv", p + "_bn0")
        h = conv_bn(h, p + "_depthwise_conv", p + "_bn1", stride=stride, group=cin * expand)
        h = conv_bn(h, p + "_project_conv", p + "_bn2", relu6=False)
        if stride == 1 and cin == cout:
            nodes.append(helper.make_node("Add", [h, x], [p + "add"], name=p + "add"))
            h = p + "add"
        x = h
    x = conv_bn(x, "_conv_head", "_bn1")
    if pooled:
        nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"], name="pool"))
        nodes.append(helper.make_node("Flatten", ["pooled"], ["features"], axis=1, name="flatten"))
        output = helper.make_tensor_value_info("features", TensorProto.FLOAT, ["n", 1280])
    else:
        nodes.append(helper.make_node("Identity", [x], ["feature_map"], name="feature_map"))
        output = helper.make_tensor_value_info("feature_map", TensorProto.FLOAT, ["n", 1280, "h", "w"])
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", 3, size, size])],
        [output],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="lookalike")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def export(out_dir: str | Path, name: str = "efficientnet_lite0") -> Path:
    """Write ``<name>.onnx`` and its manifest into ``out_dir``; returns the manifest's path."""
    import onnx

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    onnx.save(build_model(name), out / f"{name}.onnx")
    manifest = {"name": f"{name}-onnx", "file": f"{name}.onnx", "input_size": VARIANTS[name][2],
                "mean": [float(v) for v in MEAN_RGB], "std": [float(v) for v in STD_RGB],
                "layout": "NCHW", "output": "features", "pooling": "none"}
    path = out / f"{name}.json"
    path.write_text(json.dumps(manifest, indent=1) + "\n")
    return path
