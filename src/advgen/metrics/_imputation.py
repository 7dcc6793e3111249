"""Linear imputation of removed pixels (Rong et al. 2022, ROAD, §4.2), solved exactly with scipy.sparse.

Every removed pixel i takes the weighted mean of its neighbours N(i) inside the image (8-neighbourhood;
weight 1/6 for the four direct neighbours, 1/12 for the four diagonal ones, as the paper's code):

    v_i = Σ_{j∈N(i)} w_ij v_j / Σ_{j∈N(i)} w_ij          for every removed i,
    v_j = x_j                                            for every kept j.

Written as  (Σ_j w_ij) v_i − Σ_{j∈N(i) removed} w_ij v_j = Σ_{j∈N(i) kept} w_ij x_j,  one row per removed
pixel: a sparse, weakly diagonally dominant system, non-singular as long as each image keeps at least one
pixel (every connected set of removed pixels then borders a kept one). The rows of all images of a batch
form one block-diagonal matrix, solved once for all channels (the right-hand sides).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

#: (row offset, column offset, weight): the paper's neighbour weights, summing to 1.
NEIGHBOURS = ((-1, -1, 1 / 12), (-1, 0, 1 / 6), (-1, 1, 1 / 12), (0, -1, 1 / 6),
              (0, 1, 1 / 6), (1, -1, 1 / 12), (1, 0, 1 / 6), (1, 1, 1 / 12))


def linear_fill(x: np.ndarray, remove: np.ndarray) -> np.ndarray:
    """``x`` (N×C×H×W, float64) with the pixels where ``remove`` (N×H×W, bool) is set replaced by the solution
    of the system above; the kept pixels are returned unchanged (bit for bit)."""
    n, c, h, w = x.shape
    flat = remove.reshape(-1)
    unknown = np.flatnonzero(flat)  # global pixel index (image, row, column) of each unknown
    out = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).reshape(-1, c).copy()  # one row per pixel, C columns
    m = len(unknown)
    if m == 0:
        return x.copy()
    var = np.full(flat.shape, -1, dtype=np.int64)
    var[unknown] = np.arange(m)
    image, rest = np.divmod(unknown, h * w)
    row, col = np.divmod(rest, w)
    diag, rhs = np.zeros(m), np.zeros((m, c))
    rows, cols, vals = [], [], []
    for dr, dc, weight in NEIGHBOURS:
        r, k = row + dr, col + dc
        inside = (r >= 0) & (r < h) & (k >= 0) & (k < w)
        eq = np.flatnonzero(inside)  # equations (unknowns) that have this neighbour
        nb = image[eq] * h * w + r[eq] * w + k[eq]
        diag[eq] += weight
        free = flat[nb]
        rows.append(eq[free])
        cols.append(var[nb[free]])
        vals.append(np.full(int(free.sum()), -weight))
        rhs[eq[~free]] += weight * out[nb[~free]]  # each equation has one neighbour per offset: no repeats
    rows.append(np.arange(m))
    cols.append(np.arange(m))
    vals.append(diag)
    a = scipy.sparse.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(m, m))
    out[unknown] = scipy.sparse.linalg.spsolve(a, rhs).reshape(m, c)
    return out.reshape(n, h, w, c).transpose(0, 3, 1, 2)
