"""Keras building blocks shared by the search spaces: conv-BN-act, MBConv with squeeze-excite,
ResNet basic/bottleneck, separable convs and a transformer encoder block.

Blocks follow MobileNetV2/V3 (Sandler 2018, Howard 2019), EfficientNet (Tan & Le 2019), ResNet
(He 2016) and ViT (Dosovitskiy 2021). Every layer is named from its block prefix, so a rebuilt spec
gives the same graph names (and the same .tflite tensor names).
"""

from __future__ import annotations

import keras
from keras import layers, ops

# Spec activation name -> Keras activation; TFLite maps these to RELU, RELU6, HARD_SWISH,
# LOGISTIC+MUL and GELU.
ACTIVATIONS: dict[str, str] = {
    "relu": "relu",
    "relu6": "relu6",
    "hard_swish": "hard_silu",
    "swish": "silu",
    "gelu": "gelu",
}


def act(x, name: str, activation: str):
    """The activation ``activation`` (a key of :data:`ACTIVATIONS`) as a named layer."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation {activation!r} is not one of {sorted(ACTIVATIONS)}")
    return layers.Activation(ACTIVATIONS[activation], name=name)(x)


def conv_bn(
    x,
    name: str,
    filters: int,
    kernel: int | tuple[int, int] = 1,
    stride: int | tuple[int, int] = 1,
    activation: str | None = "relu",
):
    """Conv2D (no bias) + BatchNorm + optional activation; the converter folds the BN."""
    x = layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False, name=f"{name}_conv")(
        x
    )
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return act(x, f"{name}_act", activation) if activation else x


def dw_bn(x, name: str, kernel: int, stride: int = 1, activation: str | None = "relu"):
    """DepthwiseConv2D (no bias) + BatchNorm + optional activation."""
    x = layers.DepthwiseConv2D(kernel, stride, padding="same", use_bias=False, name=f"{name}_dw")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return act(x, f"{name}_act", activation) if activation else x


def squeeze_excite(x, name: str, channels: int, ratio: float, activation: str):
    """Squeeze-and-excite (Hu 2018): mean -> 1x1 reduce -> act -> 1x1 expand -> gate -> scale."""
    squeezed = max(8, int(channels * ratio))
    gate_act = "hard_sigmoid" if activation == "hard_swish" else "sigmoid"
    s = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_pool")(x)
    s = layers.Conv2D(squeezed, 1, name=f"{name}_reduce")(s)
    s = act(s, f"{name}_reduce_act", "relu")
    s = layers.Conv2D(channels, 1, name=f"{name}_expand")(s)
    s = layers.Activation(gate_act, name=f"{name}_gate")(s)
    return layers.Multiply(name=f"{name}_scale")([x, s])


def mbconv(
    x,
    name: str,
    filters: int,
    kernel: int,
    stride: int,
    expansion: int,
    se: bool,
    activation: str,
):
    """Inverted residual: 1x1 expand -> kxk depthwise -> [SE] -> 1x1 project (+ skip if shapes match)."""
    in_channels = int(x.shape[-1])
    hidden = in_channels * expansion
    y = conv_bn(x, f"{name}_expand", hidden, 1, 1, activation) if expansion != 1 else x
    y = dw_bn(y, f"{name}_dwise", kernel, stride, activation)
    if se:
        y = squeeze_excite(y, f"{name}_se", hidden, 0.25, activation)
    y = conv_bn(y, f"{name}_project", filters, 1, 1, None)
    if stride == 1 and in_channels == filters:
        y = layers.Add(name=f"{name}_add")([x, y])
    return y


def resnet_block(x, name: str, filters: int, stride: int, bottleneck: bool, activation: str):
    """ResNet basic (3x3, 3x3) or bottleneck (1x1, 3x3, 1x1 x4) block with a projected shortcut."""
    in_channels = int(x.shape[-1])
    out_channels = filters * 4 if bottleneck else filters
    if bottleneck:
        y = conv_bn(x, f"{name}_a", filters, 1, 1, activation)
        y = conv_bn(y, f"{name}_b", filters, 3, stride, activation)
        y = conv_bn(y, f"{name}_c", out_channels, 1, 1, None)
    else:
        y = conv_bn(x, f"{name}_a", filters, 3, stride, activation)
        y = conv_bn(y, f"{name}_b", filters, 3, 1, None)
    shortcut = x
    if stride != 1 or in_channels != out_channels:
        shortcut = conv_bn(x, f"{name}_short", out_channels, 1, stride, None)
    y = layers.Add(name=f"{name}_add")([shortcut, y])
    return act(y, f"{name}_out", activation)


def separable(x, name: str, filters: int, kernel: int, stride: int, activation: str):
    """Depthwise kxk + pointwise 1x1, each with BN and activation (MobileNetV1 / DS-CNN block)."""
    x = dw_bn(x, f"{name}_dwise", kernel, stride, activation)
    return conv_bn(x, f"{name}_pwise", filters, 1, 1, activation)


class PositionEmbedding(layers.Layer):
    """Adds a learned (tokens, dim) position table to a (batch, tokens, dim) sequence."""

    def build(self, input_shape):
        self.table = self.add_weight(
            shape=(int(input_shape[1]), int(input_shape[2])), initializer="zeros", name="table"
        )

    def call(self, x):
        return x + self.table


class LayerNorm(layers.Layer):
    """LayerNorm over the last axis as mean, subtract, square, mean, rsqrt, scale, shift.

    Keras' own LayerNormalization lowers to a NEG op that TF's int8 quantizer leaves in float
    (DEQUANTIZE + float NEG in a "full-integer" model); this form quantizes end to end.
    """

    def __init__(self, epsilon: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, input_shape):
        dim = int(input_shape[-1])
        self.gamma = self.add_weight(shape=(dim,), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(dim,), initializer="zeros", name="beta")

    def call(self, x):
        centered = x - ops.mean(x, axis=-1, keepdims=True)
        variance = ops.mean(ops.square(centered), axis=-1, keepdims=True)
        return centered * ops.rsqrt(variance + self.epsilon) * self.gamma + self.beta


def encoder_block(x, name: str, heads: int, mlp_ratio: int, activation: str):
    """Pre-norm transformer encoder: LN -> MHA -> add, LN -> Dense -> act -> Dense -> add."""
    dim = int(x.shape[-1])
    y = LayerNorm(name=f"{name}_ln1")(x)
    y = layers.MultiHeadAttention(heads, dim // heads, name=f"{name}_mha")(y, y)
    x = layers.Add(name=f"{name}_add1")([x, y])
    y = LayerNorm(name=f"{name}_ln2")(x)
    y = layers.Dense(dim * mlp_ratio, name=f"{name}_fc1")(y)
    y = act(y, f"{name}_mlp_act", activation)
    y = layers.Dense(dim, name=f"{name}_fc2")(y)
    return layers.Add(name=f"{name}_add2")([x, y])


def classifier(x, name: str, num_classes: int):
    """Global average pool + dense logits (the usual classification head)."""
    pool = layers.GlobalAveragePooling2D if len(x.shape) == 4 else layers.GlobalAveragePooling1D
    x = pool(name=f"{name}_pool")(x)
    return layers.Dense(num_classes, name=f"{name}_logits")(x)


def model_input(shape: list[int]):
    """The single named, batch-1 input of every space's model."""
    return keras.Input(shape=tuple(shape), batch_size=1, name="input")
