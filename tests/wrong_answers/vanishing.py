"""Wrong answers for the set "Vanishing gradients in deep networks"."""

from __future__ import annotations

from vgrad_course.activations import sigmoid


def chain_no_w(h0, w, depth):
    h, g = h0, 1.0
    for _ in range(depth):
        s = float(sigmoid(w * h))
        g, h = g * s * (1 - s), s
    return g


def chain_off_by_one(h0, w, depth):
    return chain_no_w(h0, w, depth - 1) * w ** (depth - 1)


WRONG = {
    "vanishing.chain_grad": [chain_no_w, lambda h0, w, depth: 0.25**depth, chain_off_by_one],
    "vanishing.bound": [0.25**19, 1.0, 0.25**20 / 2, 0.0],  # 0.0: what finite differences print
    "vanishing.smallest_layer": ["c", "first", 0],
}
