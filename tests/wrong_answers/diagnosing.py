"""Wrong answers for the set "Diagnosing a network"."""

from __future__ import annotations

import math

import numpy as np

_EDGE = math.atanh(0.97)  # |tanh z| > 0.97 exactly when |z| > atanh(0.97)


def _panel_rows(weights, x, *, pre=False, ddof=0, one_sided=False):
    rows, h = [], x
    for w in weights:
        z = h @ w
        h = np.tanh(z)
        a = z if pre else h
        sat = np.mean(a > 0.97) if one_sided else np.mean(np.abs(a) > 0.97)
        rows.append([a.mean(), a.std(ddof=ddof), sat])
    return np.array(rows)


def panel_with_input_row(weights, x):
    first = [x.mean(), x.std(), np.mean(np.abs(x) > 0.97)]
    return np.vstack([first, _panel_rows(weights, x)])


def panel_one_fraction_for_all_layers(weights, x):
    rows, hs, h = _panel_rows(weights, x), [], x
    for w in weights:
        h = np.tanh(h @ w)
        hs.append(np.ravel(h))
    rows[:, 2] = np.mean(np.abs(np.concatenate(hs)) > 0.97)
    return rows


def _tail(z_std, edge=_EDGE):
    return math.erfc(edge / (z_std * math.sqrt(2)))


WRONG = {
    "diagnosing.update_ratio": [
        lambda ws, us: np.array([np.std(u) / np.std(w) for w, u in zip(ws, us, strict=True)]),
        lambda ws, us: np.array(
            [np.log10(np.std(w) / np.std(u)) for w, u in zip(ws, us, strict=True)]
        ),
    ],
    "diagnosing.saturated_fraction": [
        lambda a: float(np.mean(a > 0.97)),
        lambda a: int(np.sum(np.abs(a) > 0.97)),
    ],
    "diagnosing.diagnosis": ["a", "c"],
    "diagnosing.activation_panel": [
        lambda ws, x: _panel_rows(ws, x).T,  # one column per layer
        panel_with_input_row,  # the input is not a layer
        lambda ws, x: _panel_rows(ws, x, ddof=1),  # the sample std
        lambda ws, x: _panel_rows(ws, x, pre=True),  # pre-activations
        lambda ws, x: _panel_rows(ws, x, one_sided=True),  # only a > 0.97
        panel_one_fraction_for_all_layers,
    ],
    "diagnosing.saturation_forecast": [
        lambda s: _tail(s) / 2,  # one tail only
        lambda s: _tail(s, edge=0.97),  # the threshold applied to z, not tanh z
        lambda s: _tail(s**2),  # the variance used as the std
        lambda s: float(np.tanh(s) > 0.97),  # the std itself, not the distribution
    ],
    "diagnosing.standardise": [
        (_tail(1.0), _tail(1.0)),  # the input's std forgotten
        (_tail(5.0), _tail(5.0)),  # standardising changes nothing?
        (_tail(5.0) / 2, _tail(1.0) / 2),  # one tail only
        (_tail(5.0, edge=0.97), _tail(1.0, edge=0.97)),  # |z| > 0.97
        (_tail(1.0), _tail(5.0)),  # swapped
    ],
}
