#!/usr/bin/env python3
"""Oracle test of `floe eval`: random expressions against NumPy.

Writes a few HDF5 input files with h5py (shapes up to 3-D that broadcast
together, the six floe dtypes, chunked, gzip, shuffle+gzip, fletcher32,
contiguous and big-endian layouts), then builds random expression trees over
those inputs.  Every tree is built twice from the same nodes: as floe_eval
text, and evaluated in NumPy with floe's documented semantics (NumPy 2
promotion with weak Python scalars; float32 where NumPy would give float16,
uint8 where it would give int8, int64 for integer sums).  `floe eval` computes
each batch of expressions as one multi-output job into an HDF5 file, and the
results are compared with NumPy's: dtype, shape, and values.

Values: integers and bools exactly; floats within a bound that each node
carries.  Correctly rounded operations (+ - * / sqrt, min, max, casts) of
exact operands are exact; transcendentals (SLEEF u10 here, libm or NumPy's
SIMD code there) are allowed 4 ulp; reductions are allowed rtol times the sum
of |x| (1e-10 float64, 1e-4 float32: pairwise and tree orders differ); bounds
propagate through later arithmetic.  Discontinuous operations (comparisons,
floor, //, %, casts to integers) only ever see exact operands, so a result is
never compared across a jump.  NaN positions must match.

Selections, joins and products get trees of their own (--structure of them):
basic indexing (integers, slices with any step, None, ...), .T and
transpose(), concatenate/concat and stack of parts whose shapes are built to
agree, and a @ b, matmul, dot and outer of operands whose inner lengths agree
(cut alike by slices), all composed with the elementwise functions and the
reductions above.  Shapes are planned by axis: every input's axes are one of
three lengths A, B, C or 1, and an operand of a given shape is an input
selected and transposed to it, or an elementwise tree, a reduction or a cast
of such.  Copies are exact, integer and bool products too (wrapping as
NumPy's); floating products may differ from NumPy's by rtol times |a| @ |b|
(1e-12 float64, 1e-5 float32: floe sums the blocks of the inner axis in its
own order).  The first quarter of them use the full 3-D inputs only and run
again with other --chunks, so inner lengths and slices straddle chunks.

Scans, sorts and order statistics get trees of their own (--along of them):
cumsum, cumprod, sort, median and quantile along an axis (given as axis=k,
positionally, or left out where floe allows it), of subtrees, selections,
reversals and transposes, inside elementwise functions and reductions and
of each other.  NumPy's results are the reference, in floe's dtypes (int64
scans of bool, uint8 and int32, where NumPy gives uint64 for uint8: the same
bits; float64 quantiles): the same sequential sums and products, NaNs sorted
last, np.median and np.quantile's linear interpolation, all exact.  Where a
negative zero meets a sort, a median or a quantile (zeros of both signs tie,
and np.median's mean turns -0.0 into 0.0), a result holding zeros is marked
as known only up to their signs, so later steps never tell them apart.  The
first quarter of them use the full 3-D inputs only and run again with other
--chunks.

Reshapes and boolean masks get trees of their own (--reshape of them):
reshape(x, (a, b)) to a random factorisation of the size (one length now
and then -1), reshape(x, -1) and ravel(x), of subtrees, selections and
transposes, and x[cond] where cond is a bool expression of x's shape (a
comparison of x, or of x and of inputs that broadcast to its shape, joined
with & | ^ ~), all composed with the elementwise functions, reductions,
selections and along-axis operations above.  The values are NumPy's, and
exact: a reshape and a mask copy.  The first quarter of them use the full
3-D inputs only and run again in ragged chunks.  Reshapes to another size,
and masks NumPy refuses (not bool, or of a shape that is neither the
array's nor its leading axes'), must fail.

Every few batches the job runs again with another thread count and must give
the same bits, and some batches write their outputs zstd-compressed (read
back through the plugin directory).  Expressions NumPy refuses (bad indices,
inner lengths or join shapes among them) must fail with a 'floe: ' message,
and so must medians, quantiles and scans of 2-D and 3-D arrays without an
axis (NumPy would flatten; floe asks for the axis).

    oracle_eval.py --floe build/floe --plugins build/plugins [--seed 1]
                   [--count 400] [--structure 240] [--along 160] [--reshape 120]
                   [--batch 4]
                   [--keep DIR] [--verbose]

Exits 0 when every expression matched; otherwise prints, for each failure,
the expression, the command, the input shapes and the first mismatches, and
exits 1.
"""

import argparse
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

if hasattr(np, "_set_promotion_state"):
    # NumPy 1.24-2.1: NEP 50 (NumPy 2's rules for Python scalars) on demand
    np._set_promotion_state("weak")
np.seterr(all="ignore")
warnings.simplefilter("ignore", RuntimeWarning)

h5py = None  # imported in main(), after HDF5_PLUGIN_PATH is set

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
FLOATS = (F32, F64)
BOOL, U8, I32, I64 = (np.dtype(t) for t in (np.bool_, np.uint8, np.int32, np.int64))
INTS = (U8, I32, I64)
DTYPE_NAMES = {BOOL: "bool", U8: "uint8", I32: "int32", I64: "int64", F32: "float32",
               F64: "float64"}
RTOL_REDUCE = {F32: 1e-4, F64: 1e-10}
RTOL_EWISE = {F32: 1e-6, F64: 1e-13}  # a floor under the tracked bounds
RTOL_PRODUCT = {F32: 1e-5, F64: 1e-12}  # times |a| @ |b|
ULPS = 4.0

MATH1 = ("sqrt", "exp", "expm1", "log", "log1p", "log2", "log10", "sin", "cos", "tan",
         "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh")
ROUND1 = ("floor", "ceil", "round", "trunc")
ALIASES = {"abs": ("absolute",), "arcsin": ("asin",), "arccos": ("acos",),
           "arctan": ("atan",), "mod": ("remainder",), "power": ("pow",),
           "divide": ("true_divide",), "arctan2": ("atan2",), "min": ("amin",),
           "max": ("amax",)}
INFIX = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "floor_divide": "//",
         "mod": "%", "power": "**", "equal": "==", "not_equal": "!=", "less": "<",
         "less_equal": "<=", "greater": ">", "greater_equal": ">=", "logical_and": "&",
         "logical_or": "|", "logical_xor": "^"}
NP_BINARY = {"add": np.add, "subtract": np.subtract, "multiply": np.multiply,
             "divide": np.true_divide, "floor_divide": np.floor_divide, "mod": np.remainder,
             "power": np.power, "minimum": np.minimum, "maximum": np.maximum,
             "arctan2": np.arctan2, "hypot": np.hypot, "equal": np.equal,
             "not_equal": np.not_equal, "less": np.less, "less_equal": np.less_equal,
             "greater": np.greater, "greater_equal": np.greater_equal,
             "logical_and": np.logical_and, "logical_or": np.logical_or,
             "logical_xor": np.logical_xor}
COMPARISONS = ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal")
LOGICAL = ("logical_and", "logical_or", "logical_xor")


class Reject(Exception):
    """A node the generator throws away (its value would be ill-defined)."""


def math_dtype(dt):
    """Compute dtype of transcendentals, as in floe: NumPy's float16 → float32."""
    if dt in (BOOL, U8):
        return F32
    if dt in (I32, I64):
        return F64
    return dt


def ulp(v):
    """One unit in the last place of each value of float array v, as float64."""
    return np.spacing(np.abs(v)).astype(F64)


class Node:
    """One subexpression: floe text, NumPy value, and an error bound.

    `v` is an ndarray (a 0-d one for scalars), or a Python int/float for a
    weak literal (then `weak` is "int" or "float").  `err` is None when floe
    must match NumPy bit for bit, else a float64 array (broadcastable to v) of
    the absolute difference allowed."""

    __slots__ = ("s", "v", "weak", "err")

    def __init__(self, s, v, weak=None, err=None):
        self.s, self.v, self.weak, self.err = s, v, weak, err

    @property
    def dtype(self):
        return None if self.weak else self.v.dtype

    @property
    def shape(self):
        return () if self.weak else self.v.shape

    @property
    def exact(self):
        return self.err is None

    def errv(self):
        return np.zeros((), F64) if self.err is None else self.err


def literal(value, text=None):
    weak = "int" if isinstance(value, int) else "float"
    return Node(text if text is not None else repr(value), value, weak=weak)


def as_compute(node, dt):
    """The node's value as an array of dtype dt (weak literals converted)."""
    return np.asarray(node.v, dtype=dt) if node.weak else node.v.astype(dt, copy=False)


def promote(a, b):
    """NumPy 2 (NEP 50) promotion of two nodes, weak literals included."""
    if a.weak and b.weak:
        return F64 if "float" in (a.weak, b.weak) else I64
    return np.result_type(a.v, b.v)


def check_approx(v, err):
    """A value with an error bound must be finite where it is not NaN: near
    overflow one side may round to inf and the other not."""
    if err is None:
        return
    if np.any(np.isinf(v)) or not np.all(np.isfinite(err) | np.isnan(v)):
        raise Reject("inexact value overflows")


# ----------------------------------------------------------------- operations

def op_unary(name, x):
    """An elementwise function of one node."""
    if x.weak:
        raise Reject("function of a literal")
    dt = x.dtype
    fname = name
    if name in ALIASES and np.random.random() < 0.2:
        fname = ALIASES[name][0]
    text = f"{fname}({x.s})"
    if name in MATH1:
        if not x.exact:
            raise Reject("transcendental of an inexact value")
        v = getattr(np, name)(as_compute(x, math_dtype(dt)))
        err = ULPS * ulp(v)
        check_approx(v, err)
        return Node(text, v, err=err)
    if name in ROUND1:
        if not x.exact:
            raise Reject("discontinuous")
        fn = np.rint if name == "round" else getattr(np, name)
        return Node(text, fn(as_compute(x, math_dtype(dt))))
    if name == "negative":
        if dt == BOOL:
            raise Reject("negative of bool")
        text = f"-{x.s}" if np.random.random() < 0.7 else text
        return Node(text, np.negative(x.v), err=x.err)
    if name == "abs":
        return Node(text, np.abs(x.v), err=x.err)
    if name == "sign":
        if dt == BOOL or not x.exact:
            raise Reject("sign")
        return Node(text, np.sign(x.v))
    if name == "square":
        xv = as_compute(x, U8 if dt == BOOL else dt)
        v = np.square(xv)
        if x.exact:
            return Node(text, v)
        err = 2 * np.abs(xv) * x.err + x.err * x.err + ulp(v)
        check_approx(v, err)
        return Node(text, v, err=err)
    if name == "reciprocal":
        if dt not in FLOATS or not x.exact:
            raise Reject("reciprocal")
        return Node(text, np.reciprocal(x.v))
    if name in ("isnan", "isinf", "isfinite"):
        return Node(text, getattr(np, name)(x.v))
    if name == "logical_not":
        if not x.exact:
            raise Reject("discontinuous")
        if dt == BOOL and np.random.random() < 0.7:
            text = f"~{x.s}"
        return Node(text, np.logical_not(x.v))
    raise AssertionError(name)


def binary_text(name, a, b):
    if name == "power" and a.s[:1] in "-~":
        a = Node(f"({a.s})", a.v, a.weak, a.err)  # -x ** y is -(x ** y)
    if name in INFIX and not (name in LOGICAL and (a.dtype != BOOL or b.dtype != BOOL)):
        return f"({a.s} {INFIX[name]} {b.s})"
    fname = name
    if name in ALIASES and np.random.random() < 0.3:
        fname = ALIASES[name][0]
    return f"{fname}({a.s}, {b.s})"


def op_binary(name, a, b, text=None):
    """An elementwise function of two nodes (one may be a weak literal)."""
    if a.weak and b.weak:
        raise Reject("two literals")
    promoted = promote(a, b)
    if name == "divide":
        c = promoted if promoted in FLOATS else F64
    elif name in ("arctan2", "hypot"):
        c = math_dtype(promoted)
    elif name in LOGICAL:
        c = BOOL
    elif name == "subtract" and promoted == BOOL:
        raise Reject("bool subtract")
    elif name in ("floor_divide", "mod", "power") and promoted == BOOL:
        c = U8
    else:
        c = promoted
    av, bv = as_compute(a, c), as_compute(b, c)
    if text is None:
        text = binary_text(name, a, b)
    if name == "power" and c not in FLOATS and np.any(bv < 0):
        raise Reject("integer to a negative power")
    v = NP_BINARY[name](av, bv)
    if a.exact and b.exact:
        if name in ("power", "arctan2", "hypot") and c in FLOATS:
            err = ULPS * ulp(v)
            check_approx(v, err)
            return Node(text, v, err=err)
        return Node(text, v)
    # an inexact operand: only continuous operations, with their error bound
    ea, eb = a.errv(), b.errv()
    if name in ("add", "subtract"):
        err = ea + eb + ulp(v)
    elif name == "multiply":
        err = np.abs(bv) * ea + np.abs(av) * eb + ea * eb + ulp(v)
    elif name == "divide":
        den = np.abs(bv).astype(F64) - eb
        if np.any(den <= 2 * eb):
            raise Reject("inexact divisor near zero")
        err = (ea + np.abs(v).astype(F64) * eb) / den + ulp(v)
    elif name in ("minimum", "maximum"):
        err = np.maximum(ea, eb) + np.zeros(v.shape)
    elif name == "hypot":
        err = ea + eb + ULPS * ulp(v)
    else:
        raise Reject(f"{name} of an inexact value")
    check_approx(v, err)
    return Node(text, v, err=err)


def op_where(cond, a, b):
    if not cond.exact or cond.weak or (a.weak and b.weak):
        raise Reject("where")
    dt = promote(a, b)
    v = np.where(cond.v.astype(bool), as_compute(a, dt), as_compute(b, dt))
    err = None
    if not (a.exact and b.exact):
        err = np.where(cond.v.astype(bool), a.errv(), b.errv()).astype(F64)
    return Node(f"where({cond.s}, {a.s}, {b.s})", v, err=err)


def op_clip(x, lo, hi):
    """floe's clip is minimum(maximum(x, lo), hi), promotions included."""
    t = op_binary("maximum", x, lo, text="")
    r = op_binary("minimum", t, hi, text="")
    r.s = f"clip({x.s}, {lo.s}, {hi.s})"
    return r


def op_astype(x, dt):
    if x.weak:
        raise Reject("astype of a literal")
    name = DTYPE_NAMES[dt]
    if dt == F64 and np.random.random() < 0.2:
        name = "float"
    if dt == I64 and np.random.random() < 0.2:
        name = "int"
    text = f"astype({x.s}, {name})"
    if dt in FLOATS:
        v = x.v.astype(dt)
        if x.exact:
            return Node(text, v)
        err = x.err + ulp(v)
        check_approx(v, err)
        return Node(text, v, err=err)
    if not x.exact:
        raise Reject("discontinuous")
    if x.dtype in FLOATS and dt != BOOL:
        t = np.trunc(x.v)
        info = np.iinfo(dt)
        if not np.all(np.isfinite(t)) or np.any(t < info.min) or np.any(t > info.max):
            raise Reject("float out of the integer's range")
    return Node(text, x.v.astype(dt))


# ---------------------------------------------- selections, joins, products

def is_atom(s):
    """Whether floe text s is one atom with its trailers (a name, a call or a
    parenthesised expression, then [...] and .T), so that a subscript or .T
    written after it applies to all of it."""
    m = re.match(r"[A-Za-z_]\w*", s)
    if m:
        i = m.end()
    elif s.startswith("("):
        i = 0
    else:
        return False
    while i < len(s):
        if s[i] in "([":
            depth = 0
            for j in range(i, len(s)):
                if s[j] in "([":
                    depth += 1
                elif s[j] in ")]":
                    depth -= 1
                    if depth == 0:
                        break
            else:
                return False
            i = j + 1
        elif s.startswith(".T", i) and not re.match(r"\w", s[i + 2:i + 3]):
            i += 2
        else:
            return False
    return True


def atom(s):
    return s if is_atom(s) else f"({s})"


def is_full(item):
    return (isinstance(item, slice) and item.start is None and item.stop is None
            and item.step in (None, 1))


def index_text(item):
    if item is None:
        return "None"
    if item is Ellipsis:
        return "..."
    if isinstance(item, int):
        return str(item)
    a = "" if item.start is None else str(item.start)
    b = "" if item.stop is None else str(item.stop)
    if item.step is None:
        return f"{a}:{b}" + (":" if np.random.random() < 0.15 else "")
    return f"{a}:{b}:{item.step}"


def op_index(x, items):
    """x[items]: basic indexing with integers, slices, None and ...; the
    NumPy value is taken with exactly the items written."""
    if x.weak:
        raise Reject("subscript of a literal")
    if not items:
        raise Reject("empty subscript")
    key = tuple(items)
    v = np.asarray(x.v[key])  # IndexError for an integer out of range
    if v.size == 0:
        raise Reject("empty selection")
    err = None
    if not x.exact:
        err = np.asarray(np.broadcast_to(x.err, x.v.shape)[key])
    sep = ", " if np.random.random() < 0.8 else ","
    return Node(f"{atom(x.s)}[{sep.join(index_text(t) for t in items)}]", v, err=err)


def op_transpose(x):
    if x.weak:
        raise Reject("transpose of a literal")
    text = f"{atom(x.s)}.T" if np.random.random() < 0.6 else f"transpose({x.s})"
    err = None if x.exact else np.broadcast_to(x.err, x.v.shape).T
    return Node(text, np.transpose(x.v), err=err)


def op_product(fname, a, b):
    """a @ b, matmul, dot or outer.  Integer and bool products are exact
    (wrapping as NumPy's); a floating product may differ from NumPy's by
    rtol times the products of magnitudes, |a| @ |b| (floe sums its blocks
    in its own order), plus what inexact operands carry."""
    if a.weak or b.weak:
        raise Reject("product with a literal")
    na, nb = a.v.ndim, b.v.ndim
    text = f"({a.s} @ {b.s})" if fname == "@" else f"{fname}({a.s}, {b.s})"
    if fname == "outer":
        if na != 1 or nb != 1:
            raise Reject("outer of other than vectors")
        ca = Node("", a.v[:, None], err=None if a.exact else
                  np.broadcast_to(a.err, a.shape)[:, None])
        cb = Node("", b.v[None, :], err=None if b.exact else
                  np.broadcast_to(b.err, b.shape)[None, :])
        return op_binary("multiply", ca, cb, text=text)
    if fname == "dot" and (na == 0 or nb == 0):
        return op_binary("multiply", a, b, text=text)  # NumPy's dot of a scalar
    if not (1 <= na <= 2 and 1 <= nb <= 2):
        raise Reject("product of other than vectors and matrices")
    c = promote(a, b)
    av, bv = as_compute(a, c), as_compute(b, c)
    v = np.asarray(np.matmul(av, bv))  # ValueError when the inner lengths differ
    if c not in FLOATS:
        return Node(text, v)
    if not (np.all(np.isfinite(av)) and np.all(np.isfinite(bv))):
        # where a NaN or inf meets a zero, BLAS implementations differ (some
        # skip zero elements)
        raise Reject("NaN or inf in a product")
    am, bm = np.abs(av.astype(F64)), np.abs(bv.astype(F64))
    err = RTOL_PRODUCT[c] * np.matmul(am, bm)
    if not (a.exact and b.exact):
        ea = np.broadcast_to(a.errv(), a.shape).astype(F64)
        eb = np.broadcast_to(b.errv(), b.shape).astype(F64)
        err = err + np.matmul(ea, bm) + np.matmul(am, eb) + np.matmul(ea, eb)
    err = np.asarray(err) + ulp(v)
    check_approx(v, err)
    return Node(text, v, err=err)


def op_join(parts, axis, stack, fname, axis_text):
    """concatenate((a, b, ...), axis) or stack: dtypes promote as arrays do
    (NEP 50: none of them is weak); the values are exact copies."""
    if any(p.weak for p in parts):
        raise Reject("a literal in a join")
    if not stack and any(p.v.ndim == 0 for p in parts):
        raise Reject("concatenate of a scalar")
    c = np.result_type(*[p.v for p in parts])
    fn = np.stack if stack else np.concatenate
    v = np.asarray(fn([as_compute(p, c) for p in parts], axis=axis))  # ValueError on shapes
    err = None
    if not all(p.exact for p in parts):
        err = fn([np.broadcast_to(p.errv(), p.shape).astype(F64) for p in parts], axis=axis)
    inner = ", ".join(p.s for p in parts) + ("," if len(parts) == 1 else "")
    return Node(f"{fname}(({inner}){axis_text})", v, err=err)


def reduced_count(shape, axes):
    return int(np.prod([shape[a] for a in axes])) if axes else 1


def op_reduce(name, x, axis, keepdims, ddof=0):
    """A reduction; `axis` None, an int or a tuple."""
    if x.weak or x.v.ndim == 0:
        raise Reject("reduction of a scalar")
    nd = x.v.ndim
    axes = tuple(range(nd)) if axis is None else (
        tuple(a % nd for a in axis) if isinstance(axis, tuple) else (axis % nd,))
    n = reduced_count(x.shape, axes)
    if n == 0:
        raise Reject("empty reduction")
    dt = x.dtype
    kw = {"axis": axis, "keepdims": keepdims}
    parts = [x.s]
    if axis is not None or np.random.random() < 0.3:
        parts.append(f"axis={axis!r}".replace(" ", "") if np.random.random() < 0.5
                     else f"axis={axis!r}")
    if keepdims or np.random.random() < 0.1:
        parts.append(f"keepdims={keepdims}")
    if name in ("var", "std") and (ddof or np.random.random() < 0.2):
        parts.append(f"ddof={ddof}")
    fname = name
    if name in ALIASES and np.random.random() < 0.3:
        fname = ALIASES[name][0]
    text = f"{fname}({', '.join(parts)})"
    xv = x.v
    xerr = None
    if not x.exact:
        # NaN elements carry a NaN bound; they are NaN on both sides, and the
        # nan* reductions skip them
        xerr = np.where(np.isnan(x.err), 0.0, np.broadcast_to(x.err, xv.shape))

    def absval():
        a = np.abs(xv.astype(F64))
        return np.where(np.isnan(a), 0.0, a)

    if name in ("argmin", "argmax", "any", "all", "prod") and not x.exact:
        raise Reject(f"{name} of an inexact value")
    if name in ("sum", "nansum", "prod"):
        if dt not in FLOATS:
            v = getattr(np, name)(xv.astype(I64), **kw)
            return Node(text, np.asarray(v))
        if name == "prod":
            if n > 8:
                raise Reject("long product")
            v = np.asarray(np.prod(xv, **kw))
            err = 4 * (n + 2) * np.finfo(dt).eps * np.prod(absval(), **kw)
        else:
            v = np.asarray(getattr(np, name)(xv, **kw))
            err = RTOL_REDUCE[dt] * np.sum(absval(), **kw)
            if xerr is not None:
                err = err + np.sum(xerr, **kw)
        check_approx(v, err)
        return Node(text, v, err=err)
    if name in ("mean", "nanmean"):
        src = xv if dt in FLOATS else xv.astype(F64)
        rt = RTOL_REDUCE[dt if dt in FLOATS else F64]
        v = np.asarray(getattr(np, name)(src, **kw))
        a = np.abs(src.astype(F64))
        err = rt * np.asarray(np.nanmean(a, **kw) if name == "nanmean" else np.mean(a, **kw))
        err = np.where(np.isnan(err), 0.0, err)
        if xerr is not None:
            count = np.sum(~np.isnan(xv), **kw) if name == "nanmean" else n
            err = err + np.sum(xerr, **kw) / np.maximum(count, 1)
        check_approx(v, err)
        return Node(text, v, err=err)
    if name in ("var", "std"):
        if n - ddof < 1:
            raise Reject("ddof too large")
        src = xv if dt in FLOATS else xv.astype(F64)
        rt = RTOL_REDUCE[dt if dt in FLOATS else F64]
        v = np.asarray(getattr(np, name)(src, ddof=ddof, **kw))
        s64 = src.astype(F64)
        scale = n / (n - ddof)
        err_var = rt * np.mean(s64 * s64, **kw) * scale
        if xerr is not None:
            err_var = err_var + scale * (2 * np.mean(np.abs(s64) * xerr, **kw)
                                         + np.mean(xerr, **kw) ** 2)
        err_var = np.where(np.isnan(err_var), 0.0, err_var)
        if name == "var":
            err = err_var + ulp(v)
        else:
            with np.errstate(all="ignore"):
                err = np.minimum(np.sqrt(err_var), err_var / np.abs(v.astype(F64)))
            err = np.where(np.isnan(err), 0.0, err) + ulp(v)
        check_approx(v, err)
        return Node(text, v, err=err)
    if name in ("min", "max", "nanmin", "nanmax"):
        v = np.asarray(getattr(np, name)(xv, **kw))
        err = None if xerr is None else np.max(xerr, **kw)
        return Node(text, v, err=err)
    if name in ("argmin", "argmax"):
        v = np.asarray(getattr(np, name)(xv, axis=axis, keepdims=keepdims)).astype(I64)
        return Node(text, v)
    if name in ("any", "all"):
        return Node(text, np.asarray(getattr(np, name)(xv, **kw)))
    raise AssertionError(name)


# ------------------------------------------------------------- along an axis

ALONG_NAMES = ("cumsum", "cumprod", "sort", "median", "quantile")
ALONG_RE = re.compile(r"\b(cumsum|cumprod|sort|median|quantile)\(")
# q and how it is written: ints, floats, exponents, a leading dot
QUANTILES = ((0.0, "0"), (1.0, "1"), (0.0, "0.0"), (1.0, "1.0"), (0.5, "0.5"),
             (1 / 3, repr(1 / 3)), (0.25, "0.25"), (0.9, "0.9"), (0.75, ".75"), (0.1, "1e-1"),
             (1e-9, "1e-9"), (1 - 1e-9, repr(1 - 1e-9)))


def has_negative_zero(v):
    return v.dtype in FLOATS and bool(np.any((v == 0) & np.signbit(v)))


def op_along(name, x, axis, q=None, q_text=None):
    """cumsum, cumprod, sort, median or quantile of x along `axis` (q for
    the quantile, written q_text), in floe's dtypes: int64 scans of bool,
    uint8 and int32 (NumPy wraps alike), float64 quantiles, float32 medians
    of float32.  NumPy's own arithmetic, so exact, of exact operands.  A
    value known only up to the signs of its zeros (err all 0) is taken too:
    the result is then exact but for the signs of its zeros, and so is a
    sort's, median's or quantile's of an operand holding -0.0."""
    if x.weak or x.v.ndim == 0:
        raise Reject(f"{name} of a scalar")
    signless = not x.exact
    if signless and np.any(np.broadcast_to(x.err, x.shape) != 0):
        raise Reject(f"{name} of an inexact value")
    xv, nd = x.v, x.v.ndim
    if name in ("cumsum", "cumprod"):
        fn = np.cumsum if name == "cumsum" else np.cumprod
        v = fn(xv, axis=axis, dtype=None if xv.dtype in FLOATS else I64)
    elif name == "sort":
        v = np.sort(xv, axis=axis)
    elif name == "median":
        v = np.median(xv, axis=axis)
    else:
        if xv.dtype == BOOL:
            raise Reject("NumPy has no quantile of bool (no boolean subtract)")
        # float64 always: NumPy 1.24 gives a 0-d NaN result the input's dtype
        v = np.quantile(xv, q, axis=axis).astype(F64)
    v = np.asarray(v)
    parts = [x.s] + ([q_text] if name == "quantile" else [])
    default = nd == 1 or (name == "sort" and axis % nd == nd - 1)
    if not (default and np.random.random() < 0.4):
        parts.append(f"axis={axis}" if np.random.random() < 0.6 else str(axis))
    signless = signless or (name not in ("cumsum", "cumprod") and has_negative_zero(xv))
    err = np.zeros(v.shape, F64) if signless and np.any(v == 0) else None
    return Node(f"{name}({', '.join(parts)})", v, err=err)


# ------------------------------------------------------------ reshapes, masks

# a reshape or ravel call, or a subscript that is an expression (a mask):
# basic indices start with a digit, '-', ':', '.' or None
RESHAPE_RE = re.compile(r"\b(reshape|ravel)\(|\[(?!\s*None\b)\s*[A-Za-z_(~]")


def op_reshape(x, shape, text_shape=None, ravel=False):
    """reshape(x, shape) in C order, written with `text_shape` (the shape as
    floe text: a tuple, possibly with one -1, or a bare integer), or
    ravel(x); an exact copy."""
    if x.weak:
        raise Reject("reshape of a literal")
    v = np.reshape(x.v, shape)  # ValueError for another size
    err = None if x.exact else np.broadcast_to(x.err, x.shape).reshape(v.shape)
    text = f"ravel({x.s})" if ravel else f"reshape({x.s}, {text_shape})"
    return Node(text, v, err=err)


def op_mask(x, cond):
    """x[cond] for a bool cond of x's shape: the selected elements in C order,
    1-D; an exact copy.  floe refuses other shapes (NumPy would take a mask
    of x's leading axes), so these are never built here."""
    if x.weak or cond.weak:
        raise Reject("mask of a literal")
    if cond.dtype != BOOL or not cond.exact or cond.shape != x.shape:
        raise Reject("not a bool mask of the array's shape")
    key = np.asarray(cond.v)
    v = np.asarray(np.asarray(x.v)[key])
    err = None if x.exact else np.asarray(np.broadcast_to(x.err, x.shape)[key])
    return Node(f"{atom(x.s)}[{cond.s}]", v, err=err)


def shape_text(shape):
    inner = ", ".join(str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


# ------------------------------------------------------------------ generator

UNARY_NAMES = MATH1 + ROUND1 + ("negative", "abs", "sign", "square", "reciprocal", "isnan",
                                "isinf", "isfinite", "logical_not")
ARITH = ("add", "subtract", "multiply", "divide", "floor_divide", "mod", "power",
         "minimum", "maximum", "arctan2", "hypot")
REDUCE_NAMES = ("sum", "prod", "mean", "var", "std", "min", "max", "argmin", "argmax",
                "any", "all", "nansum", "nanmean", "nanmin", "nanmax")
# the axes of the inputs: A, B, C stand for the three lengths, 1 for an axis of
# length 1 (see make_inputs)
LABELS = {"x": "ABC", "w": "ABC", "u": "ABC", "y": "BC", "i": "A1C", "k": "C", "m": "AB1",
          "z": "B1"}
STRUCTURE_RE = re.compile(r"\[|\.T\b|@|\b(transpose|matmul|dot|outer|concatenate|concat|stack)\(")
FLOAT_LITERALS = ((0.5, "0.5"), (2.5, "2.5"), (-1.5, "-1.5"), (0.1, "0.1"), (3.0, "3.0"),
                  (1e-3, "1e-3"), (math.pi, "pi"), (250.0, "2.5e2"), (math.e, "e"))


class Generator:
    def __init__(self, rng, variables):
        self.rng = rng
        self.vars = variables  # name -> ndarray as floe reads it
        self.structural = False  # any() also builds selections, joins and products
        self.along_ops = False  # any() also builds scans, sorts and order statistics
        self.reshape_ops = False  # any() also builds reshapes and masks
        self.only = None  # a set of input names: the leaves are taken from these alone
        self.len = {"1": 1}
        for name, labels in LABELS.items():
            for label, n in zip(labels, variables[name].shape):
                self.len[label] = n

    def choice(self, seq):
        return seq[self.rng.integers(len(seq))]

    def leaf(self):
        name = self.choice(sorted(self.only) if self.only else sorted(self.vars))
        return Node(name, self.vars[name])

    def literal_for(self, other, op=None):
        """A weak literal that is in range for `other` (NumPy 2 and floe refuse
        an int literal the other operand's integer dtype cannot hold)."""
        dt = other.dtype
        if op == "power":
            if dt in FLOATS and self.rng.random() < 0.5:
                return literal(float(self.choice((0.5, 2.0, 1.5, -1.0))))
            return literal(int(self.rng.integers(0, 4)))
        if self.rng.random() < 0.5 or dt in FLOATS:
            if self.rng.random() < 0.6:
                v, t = self.choice(FLOAT_LITERALS)
                return literal(v, t)
        lo = 0 if dt == U8 else -9
        return literal(int(self.rng.integers(lo, 10)))

    def expr(self, depth, want_bool=False):
        for _ in range(50):
            try:
                if want_bool:
                    return self.boolean(depth)
                return self.any(depth)
            except (Reject, ValueError, TypeError, OverflowError, IndexError):
                continue
        return self.leaf()

    def boolean(self, depth):
        r = self.rng.random()
        if depth <= 0 or r < 0.15:
            if "m" in (self.only or self.vars) and self.rng.random() < 0.6:
                return Node("m", self.vars["m"])
            return self.comparison(0)
        if r < 0.55:
            return self.comparison(depth - 1)
        if r < 0.8:
            name = self.choice(LOGICAL)
            return op_binary(name, self.expr(depth - 1, True), self.expr(depth - 1, True))
        if r < 0.9:
            return op_unary("logical_not", self.expr(depth - 1, True))
        return op_unary(self.choice(("isnan", "isinf", "isfinite")), self.expr(depth - 1))

    def comparison(self, depth):
        a = self.expr(depth)
        b = self.literal_for(a) if self.rng.random() < 0.5 else self.expr(depth)
        if self.rng.random() < 0.5:
            a, b = b, a
        return op_binary(self.choice(COMPARISONS), a, b)

    def any(self, depth):
        if depth <= 0:
            return self.leaf()
        if self.along_ops and self.rng.random() < 0.25:
            return self.along(depth)
        if self.reshape_ops and self.rng.random() < 0.2:
            return self.reshape_or_mask(depth)
        if self.structural and self.rng.random() < 0.3:
            return self.structure(depth)
        r = self.rng.random()
        if r < 0.10:
            return self.leaf()
        if r < 0.30:
            return op_unary(self.choice(UNARY_NAMES), self.expr(depth - 1))
        if r < 0.58:
            name = self.choice(ARITH + ("add", "multiply", "subtract"))
            a = self.expr(depth - 1)
            b = self.literal_for(a, name) if self.rng.random() < 0.4 else self.expr(depth - 1)
            if self.rng.random() < 0.3 and name != "power":
                a, b = b, a
            return op_binary(name, a, b)
        if r < 0.64:
            return self.comparison(depth - 1)
        if r < 0.70:
            cond = self.expr(depth - 1, True)
            a = self.expr(depth - 1)
            b = self.literal_for(a) if self.rng.random() < 0.3 else self.expr(depth - 1)
            if self.rng.random() < 0.3:
                a, b = b, a
            return op_where(cond, a, b)
        if r < 0.74:
            x = self.expr(depth - 1)
            lo = self.literal_for(x)
            hi = self.literal_for(x) if self.rng.random() < 0.7 else self.expr(depth - 1)
            return op_clip(x, lo, hi)
        if r < 0.79:
            return op_astype(self.expr(depth - 1), self.choice(list(DTYPE_NAMES)))
        return self.reduction(depth)

    def reduction(self, depth):
        return self.reduce_node(self.expr(depth - 1))

    def reduce_node(self, x):
        """A random reduction of x."""
        if x.weak or x.v.ndim == 0:
            raise Reject("scalar")
        nd = x.v.ndim
        name = self.choice(REDUCE_NAMES)
        r = self.rng.random()
        if name in ("argmin", "argmax"):
            axis = None if r < 0.3 else int(self.rng.integers(-nd, nd))
        elif r < 0.25:
            axis = None
        elif r < 0.7 or nd == 1:
            axis = int(self.rng.integers(-nd, nd))
        else:
            k = int(self.rng.integers(2, nd + 1))
            axis = tuple(int(a) for a in self.rng.permutation(nd)[:k])
        keepdims = bool(self.rng.random() < 0.35)
        ddof = int(self.rng.integers(0, 2)) if name in ("var", "std") else 0
        return op_reduce(name, x, axis, keepdims, ddof)

    def case(self, max_depth):
        """A top-level expression whose result is an array or a scalar."""
        if self.rng.random() < 0.05:
            max_depth += 3  # now and then a deep one
        node = self.expr(int(self.rng.integers(2, max(2, max_depth) + 1)))
        if node.weak or node.s in self.vars:
            raise Reject("a literal or a bare input")
        return node

    # ------------------------------------------- selections, joins, products

    def random_slice(self, n, full_ok=True):
        """A slice of an axis of length n that selects something."""
        for _ in range(20):
            if full_ok and self.rng.random() < 0.25:
                return slice(None)
            step = self.choice((None, None, 1, 2, 3, -1, -1, -2, -3, n + 1))

            def bound():
                return None if self.rng.random() < 0.4 else int(self.rng.integers(-n - 2, n + 3))
            s = slice(bound(), bound(), None if step is None else int(step))
            if len(range(*s.indices(n))) > 0 and not (not full_ok and is_full(s)):
                return s
        return slice(None, None, -1)

    def axis_slice(self, sym):
        """How an axis of a shape spec is cut: None for the whole axis."""
        if sym == "1" or self.rng.random() < 0.5:
            return None
        return self.random_slice(self.len[sym], full_ok=False)

    def spec_shape(self, spec):
        return tuple(len(range(*(t or slice(None)).indices(self.len[s]))) for s, t in spec)

    @staticmethod
    def tidy(items):
        """The same selection spelled another way now and then: trailing whole
        axes left out, leading ones as ..., or a trailing ....  `items` must
        name every axis (so that ... stands for the leading ones)."""
        items = list(items)
        r = np.random.random()
        if r < 0.35:
            while len(items) > 1 and is_full(items[-1]):
                items.pop()
        elif r < 0.55 and Ellipsis not in items:
            j = 0
            while j < len(items) and is_full(items[j]):
                j += 1
            if j > 0:
                items = [Ellipsis] + items[j:]
        elif r < 0.62 and Ellipsis not in items:
            items.append(Ellipsis)
        return items

    def random_items(self, shape):
        """A random basic index for an array of this shape."""
        items, nd_out = [], 0
        for n in shape:
            if self.rng.random() < 0.08 and nd_out < 4:
                items.append(None)
                nd_out += 1
            if self.rng.random() < 0.25:
                items.append(int(self.rng.integers(-n, n)))
            else:
                items.append(self.random_slice(n))
                nd_out += 1
        if (not items or self.rng.random() < 0.1) and nd_out < 4:
            items.insert(int(self.rng.integers(0, len(items) + 1)), None)
        return self.tidy(items)

    def index(self, x):
        if x.weak:
            raise Reject("subscript of a literal")
        return op_index(x, self.random_items(x.shape))

    def flip(self, x):
        """x reversed along some of its axes (the same shape)."""
        nd = x.v.ndim if not x.weak else 0
        if nd == 0:
            raise Reject("flip of a scalar")
        axes = set(int(a) for a in self.rng.permutation(nd)[:int(self.rng.integers(1, nd + 1))])
        items = [slice(None, None, -1) if d in axes else slice(None) for d in range(nd)]
        return op_index(x, self.tidy(items))

    def view_leaf(self, spec):
        """An input selected (and transposed) to the axes of spec, a list of
        (label, slice or None): integers drop the input's other axes, None
        adds an axis of length 1, the slices cut the kept axes, in one
        subscript or in a second one after the transpose."""
        syms = [s for s, _ in spec]
        need = set(syms) - {"1"}
        names = [n for n in sorted(self.only or self.vars) if need <= set(LABELS[n])]
        name = self.choice(names)
        lab, x = LABELS[name], self.vars[name]
        cut = {s: (t if t is not None else slice(None)) for s, t in spec}
        tries = [True, False] if "1" in syms and "1" in lab and self.rng.random() < 0.7 else [False]
        for own in tries:  # the input's own axis of length 1, or a new one
            keep = need | ({"1"} if own else set())
            order = [lab_ for lab_ in lab if lab_ in keep]
            core = [s for s in syms if s in keep]
            if order == core or order == core[::-1]:
                break
        else:
            raise Reject("axis order")
        flip = order != core
        target = syms[::-1] if flip else syms
        split = self.rng.random() < 0.35
        items, j = [], 0
        for d, lab_ in enumerate(lab):
            if lab_ in keep:
                while j < len(target) and target[j] == "1" and not own:
                    items.append(None)
                    j += 1
                if target[j] != lab_:
                    raise Reject("axis order")
                items.append(slice(None) if split else cut[lab_])
                j += 1
            else:
                n = x.shape[d]
                items.append(int(self.rng.integers(-n, n)))
        while j < len(target):
            items.append(None)
            j += 1
        node = Node(name, x)
        if items and (not all(is_full(t) for t in items) or self.rng.random() < 0.2):
            node = op_index(node, self.tidy(items))
        if flip or (len(syms) == 1 and self.rng.random() < 0.05):
            node = op_transpose(node)
        post = [cut[s] for s in syms]
        if split and not all(is_full(t) for t in post):
            node = op_index(node, self.tidy(post))
        if node.shape != self.spec_shape(spec):
            raise AssertionError(f"{node.s}: {node.shape}, not {self.spec_shape(spec)}")
        return node

    def shaped(self, depth, spec):
        """An expression whose shape is exactly that of spec."""
        want = self.spec_shape(spec)
        for _ in range(30):
            try:
                node = self._shaped(depth, spec)
            except (Reject, ValueError, TypeError, OverflowError, IndexError):
                continue
            if not node.weak and node.shape == want:
                return node
        return self.view_leaf(spec)

    def _shaped(self, depth, spec):
        r = self.rng.random()
        if depth <= 0 or r < 0.4:
            return self.view_leaf(spec)
        if r < 0.55:
            return op_unary(self.choice(UNARY_NAMES), self.shaped(depth - 1, spec))
        if r < 0.8:
            name = self.choice(ARITH + ("add", "multiply", "subtract"))
            a = self.shaped(depth - 1, spec)
            b = (self.literal_for(a, name) if self.rng.random() < 0.4
                 else self.shaped(depth - 1, spec))
            if self.rng.random() < 0.3 and name != "power":
                a, b = b, a
            return op_binary(name, a, b)
        if r < 0.88:
            return self.reduced_to(depth, spec)
        if r < 0.94:
            return op_astype(self.shaped(depth - 1, spec), self.choice(list(DTYPE_NAMES)))
        a = self.shaped(depth - 1, spec)
        cond = op_binary(self.choice(COMPARISONS), a, self.literal_for(a))
        b = self.shaped(depth - 1, spec)
        c = self.literal_for(b) if self.rng.random() < 0.3 else self.shaped(depth - 1, spec)
        return op_where(cond, b, c)

    def reduced_to(self, depth, spec):
        """A reduction over one more axis than spec has."""
        syms = [s for s, _ in spec]
        if "1" in syms or len(syms) > 2:
            raise Reject("reduction to this shape")
        e = self.choice([s for s in "ABC" if s not in syms])
        places = [p for p in range(len(syms) + 1)
                  if len(syms) < 2 or "".join(syms[:p] + [e] + syms[p:]) in ("ABC", "CBA")]
        pos = int(self.choice(places))
        full = spec[:pos] + [(e, self.axis_slice(e))] + spec[pos:]
        x = self.shaped(depth - 1, full)
        name = self.choice(REDUCE_NAMES)
        axis = pos if self.rng.random() < 0.5 else pos - len(full)
        ddof = int(self.rng.integers(0, 2)) if name in ("var", "std") else 0
        return op_reduce(name, x, axis, False, ddof)

    def product(self, depth):
        """A matrix product whose operands have agreeing inner lengths (cut
        alike), or an outer product, or dot of a scalar."""
        form = self.choice(("22", "22", "22", "12", "21", "11", "k1", "outer", "dot0"))
        inner = self.choice("ABC")
        si = self.axis_slice(inner)
        others = [s for s in "ABC" if s != inner]
        p, q = self.choice(others), self.choice(others)
        sp, sq = self.axis_slice(p), self.axis_slice(q)
        d = max(depth - 1, 0)
        if form == "outer":
            p, q = self.choice("ABC"), self.choice("ABC")
            a = self.shaped(d, [(p, self.axis_slice(p))])
            b = self.shaped(d, [(q, self.axis_slice(q))])
            return op_product("outer", a, b)
        if form == "dot0":
            a = op_reduce(self.choice(("sum", "max", "min", "mean")),
                          self.shaped(d, [(p, sp)]), None, False)
            b = self.shaped(d, [(p, sp), (inner, si)])
            if self.rng.random() < 0.5:
                a, b = b, a
            return op_product("dot", a, b)
        if form == "k1":
            a_spec, b_spec = [(p, sp), ("1", None)], [("1", None), (q, sq)]
        else:
            a_spec = [(inner, si)] if form in ("12", "11") else [(p, sp), (inner, si)]
            b_spec = [(inner, si)] if form in ("21", "11") else [(inner, si), (q, sq)]
        a, b = self.shaped(d, a_spec), self.shaped(d, b_spec)
        return op_product(self.choice(("@", "@", "matmul", "dot")), a, b)

    def join(self, depth):
        """concatenate or stack of parts whose shapes agree off the axis."""
        stack = self.rng.random() < 0.3
        nd = int(self.choice((1, 2, 2, 3)))
        if nd == 3:
            syms = list(self.choice(("ABC", "CBA")))
        else:
            syms = [str(s) for s in self.rng.permutation(list("ABC"))[:nd]]
        spec = [(s, self.axis_slice(s)) for s in syms]
        n = int(self.choice((1, 2, 2, 2, 3, 4)))
        d = max(depth - 1, 0)
        parts = []
        if stack:
            axis = int(self.rng.integers(-nd - 1, nd + 1))
            for _ in range(n):
                if parts and self.rng.random() < 0.25:
                    parts.append(self.flip(parts[0]))
                else:
                    parts.append(self.shaped(d, spec))
            fname = "stack"
        else:
            axis = int(self.rng.integers(-nd, nd))
            k = axis % nd
            for _ in range(n):
                if parts and self.rng.random() < 0.3:
                    # the first part again, reversed or cut along the axis
                    cut = self.random_slice(parts[0].shape[k], full_ok=False)
                    items = [cut if d == k else slice(None) for d in range(nd)]
                    parts.append(op_index(parts[0], self.tidy(items)))
                    continue
                free = ([syms[k], "1"] if nd == 3 else
                        [s for s in "ABC1" if s == syms[k] or s not in syms])
                s = self.choice(free)
                part = list(spec)
                part[k] = (s, self.axis_slice(s))
                parts.append(self.shaped(d, part))
            fname = self.choice(("concatenate", "concatenate", "concat"))
        r = np.random.random()
        axis_text = ("" if axis == 0 and r < 0.3 else f", {axis}" if r < 0.5
                     else f", axis={axis}")
        return op_join(parts, axis, stack, fname, axis_text)

    def structure(self, depth):
        """A selection, transpose, product or join inside a random tree."""
        r = self.rng.random()
        if r < 0.25:
            return self.index(self.expr(depth - 1))
        if r < 0.35:
            return op_transpose(self.expr(depth - 1))
        if r < 0.45:
            a = self.expr(depth - 1)
            name = self.choice(("add", "subtract", "multiply", "maximum", "minimum", "equal",
                                "less"))
            b = self.flip(a)
            return op_binary(name, *((a, b) if self.rng.random() < 0.5 else (b, a)))
        if r < 0.75:
            return self.product(depth)
        return self.join(depth)

    def case_structure(self, max_depth):
        """A top-level expression with a selection, transpose, product or join
        in it."""
        depth = int(self.rng.integers(1, max(2, max_depth - 1) + 1))
        r = self.rng.random()
        if r < 0.3:
            node = self.product(depth)
        elif r < 0.5:
            node = self.join(depth)
        elif r < 0.6:
            nd = int(self.rng.integers(1, 4))
            syms = (list(self.choice(("ABC", "CBA"))) if nd == 3
                    else [str(s) for s in self.rng.permutation(list("ABC"))[:nd]])
            node = self.shaped(depth, [(s, self.axis_slice(s)) for s in syms])
        else:
            self.structural = True
            try:
                node = self.structure(depth + 1)
            finally:
                self.structural = False
        r = self.rng.random()
        if r < 0.15:
            node = self.index(node)
        elif r < 0.22:
            node = op_transpose(node)
        elif r < 0.4:
            node = self.reduce_node(node)
        elif r < 0.5:
            name = self.choice(("add", "multiply", "subtract", "maximum"))
            node = op_binary(name, node, self.literal_for(node, name))
        if node.weak or not STRUCTURE_RE.search(node.s):
            raise Reject("no selection, join or product")
        return node

    # ------------------------------------------------------- along an axis

    def along_of(self, x):
        """A random scan, sort, median or quantile of x."""
        if x.weak or x.v.ndim == 0:
            raise Reject("scalar")
        nd = x.v.ndim
        name = self.choice(ALONG_NAMES)
        axis = int(self.rng.integers(-nd, nd))
        q = q_text = None
        if name == "quantile":
            if self.rng.random() < 0.3:
                q = float(np.round(self.rng.random(), int(self.rng.integers(1, 6))))
                q_text = repr(q)
            else:
                q, q_text = self.choice(QUANTILES)
        return op_along(name, x, axis, q, q_text)

    def along(self, depth):
        """An along-axis operation of a subtree, or of a selection, a
        reversal or a transpose of one."""
        x = self.expr(depth - 1)
        r = self.rng.random()
        if r < 0.2:
            x = self.index(x)
        elif r < 0.3:
            x = self.flip(x)
        elif r < 0.35:
            x = op_transpose(x)
        return self.along_of(x)

    def case_along(self, max_depth):
        """A top-level expression with a scan, sort, median or quantile in
        it (selections, joins and products too, now and then)."""
        depth = int(self.rng.integers(1, max(2, max_depth - 1) + 1))
        self.along_ops = True
        self.structural = self.rng.random() < 0.3
        try:
            node = self.along(depth + 1)
            r = self.rng.random()
            if r < 0.12:
                node = self.index(node)
            elif r < 0.18:
                node = op_transpose(node)
            elif r < 0.36:
                node = self.reduce_node(node)
            elif r < 0.48:
                name = self.choice(("add", "multiply", "subtract", "maximum"))
                node = op_binary(name, node, self.literal_for(node, name))
            elif r < 0.56:
                node = op_binary(self.choice(("add", "subtract", "minimum")), node,
                                 self.expr(1))
            elif r < 0.66:
                node = self.along_of(node)
        finally:
            self.along_ops = False
            self.structural = False
        if node.weak or not ALONG_RE.search(node.s):
            raise Reject("no scan, sort or order statistic")
        return node

    # ------------------------------------------------------ reshapes, masks

    def reshape_of(self, x):
        """ravel(x), reshape(x, -1), or x reshaped to a random factorisation
        of its size into one to four lengths (1s among them), one of which
        is written -1 now and then."""
        if x.weak:
            raise Reject("reshape of a literal")
        size = x.v.size
        r = self.rng.random()
        if r < 0.15:
            return op_reshape(x, (size,), ravel=True)
        if r < 0.3:
            return op_reshape(x, (size,), "-1" if self.rng.random() < 0.7 else str(size))
        nd = int(self.choice((1, 2, 2, 2, 3, 3, 4)))
        dims = [1] * nd
        n, p = size, 2
        while n > 1:  # the prime factors, each to a random axis
            while n % p == 0:
                dims[int(self.rng.integers(nd))] *= p
                n //= p
            p += 1
        shape = tuple(dims)
        written = list(shape)
        if size > 0 and self.rng.random() < 0.4:
            written[int(self.rng.integers(nd))] = -1
        return op_reshape(x, shape, shape_text(written))

    def condition(self, x):
        """A bool expression of x's shape: a comparison of x (or x itself for
        bool), maybe joined with a comparison of an input that broadcasts to
        x's shape, or negated."""
        if x.dtype == BOOL and self.rng.random() < 0.3:
            cond = x
        else:
            b = self.literal_for(x)
            cond = op_binary(self.choice(COMPARISONS), *((x, b) if self.rng.random() < 0.7
                                                          else (b, x)))
        r = self.rng.random()
        if r < 0.4:
            names = [n for n in sorted(self.only or self.vars)
                     if np.broadcast_shapes(self.vars[n].shape, x.shape) == x.shape]
            if names:
                yname = self.choice(names)
                y = Node(yname, self.vars[yname])
                other = y if y.dtype == BOOL else op_binary(
                    self.choice(COMPARISONS), y, self.literal_for(y))
                name = self.choice(LOGICAL)
                cond = op_binary(name, *((cond, other) if self.rng.random() < 0.5
                                         else (other, cond)))
        elif r < 0.5:
            cond = op_unary("logical_not", cond)
        return cond

    def mask_of(self, x):
        if x.weak:
            raise Reject("mask of a literal")
        node = op_mask(x, self.condition(x))
        if node.v.size == 0 and self.rng.random() < 0.75:
            raise Reject("an empty selection (now and then one is kept)")
        return node

    def reshape_or_mask(self, depth):
        """A reshape or a mask of a subtree, or of a selection or a
        transpose of one."""
        x = self.expr(depth - 1)
        r = self.rng.random()
        if r < 0.15:
            x = self.index(x)
        elif r < 0.25:
            x = op_transpose(x)
        if self.rng.random() < 0.55:
            return self.reshape_of(x)
        return self.mask_of(x)

    def case_reshape(self, max_depth):
        """A top-level expression with a reshape, ravel or mask in it."""
        depth = int(self.rng.integers(1, max(2, max_depth - 1) + 1))
        self.reshape_ops = True
        self.structural = self.rng.random() < 0.3
        self.along_ops = self.rng.random() < 0.15
        try:
            node = self.reshape_or_mask(depth + 1)
            r = self.rng.random()
            if r < 0.12:
                node = self.index(node)
            elif r < 0.18:
                node = op_transpose(node)
            elif r < 0.36:
                node = self.reduce_node(node)
            elif r < 0.48:
                name = self.choice(("add", "multiply", "subtract", "maximum"))
                node = op_binary(name, node, self.literal_for(node, name))
            elif r < 0.56:
                node = self.along_of(node)
            elif r < 0.66:
                node = self.reshape_of(node)
            elif r < 0.76:
                node = self.mask_of(node)
        finally:
            self.reshape_ops = False
            self.structural = False
            self.along_ops = False
        if node.weak or not RESHAPE_RE.search(node.s):
            raise Reject("no reshape or mask")
        return node


# ---------------------------------------------------------------- fixed cases

def fixed_cases(v):
    """Precedence, aliases and names that random trees rarely produce: (floe
    text, NumPy value, absolute error allowed or None for exact)."""
    x, y, i, u, m, w = (v[k] for k in "xyiumw")
    sabs = lambda a, **kw: np.sum(np.abs(np.where(np.isnan(a), 0, a)).astype(F64), **kw)
    cases = [
        ("x + -2**2", x - 4, None),
        ("-x ** 2", -(x ** 2), None),
        ("2 ** 3 ** 2 * x", 512 * x, None),
        ("x > 0 & y < 1", (x > 0) & (y < 1), None),
        ("x > 0 | m ^ (u < 10) & (i >= 3)", (x > 0) | (m ^ ((u < 10) & (i >= 3))), None),
        ("~(x > 0) & m", ~(x > 0) & m, None),
        ("i // 2 * 3 % 5", ((i // 2) * 3) % 5, None),
        ("u + 3 * 2", u + np.uint8(6), None),
        ("(i + 0.5) / 2", (i + 0.5) / 2, None),
        ("where(m, x, nan)", np.where(m, x, np.nan), None),
        ("where(isnan(w), 0, w)", np.where(np.isnan(w), np.float32(0), w), None),
        ("x * pi + e", x * np.pi + np.e, None),
        ("absolute(i) + abs(x)", np.abs(i) + np.abs(x), None),
        ("astype(x, float) + astype(i, int)", x + i.astype(np.int64), None),
        ("remainder(i, 7) + pow(u, 2)", np.remainder(i, 7) + np.power(u, 2), None),
        ("true_divide(i, 4)", i / 4, None),
        ("atan2(y, x)", np.arctan2(y, x), 4 * ulp(np.arctan2(y, x))),
        ("asin(clip(y, -1, 1))", np.arcsin(np.clip(y, -1, 1)),
         4 * ulp(np.arcsin(np.clip(y, -1, 1)))),
        ("amin(x, axis=0) + amax(x, axis=0)", np.min(x, axis=0) + np.max(x, axis=0), None),
        ("sum(x, axis=None)", np.sum(x), 1e-10 * sabs(x)),
        ("mean(x, axis=(0, 1), keepdims=True)", np.mean(x, axis=(0, 1), keepdims=True),
         1e-10 * sabs(x, axis=(0, 1), keepdims=True) / (x.shape[0] * x.shape[1])),
        ("std(x, axis=(-1,), ddof=1)", np.std(x, axis=(-1,), ddof=1),
         1e-9 * np.sqrt(np.mean(x * x, axis=-1))),
        ("x - mean(x, axis=0)", x - np.mean(x, axis=0),
         1e-10 * sabs(x, axis=0) / x.shape[0] + ulp(x)),
        ("m & True", m & True, None),
        ("nansum(w) + nanmax(w)", np.nansum(w) + np.nanmax(w), 1e-4 * sabs(w)),
        ("1e-3 * x + 2.5E+2", 1e-3 * x + 2.5e2, None),
        ("y ** 2 + x ** 0.5", y ** 2 + x ** 0.5, 4 * ulp(y ** 2) + 4 * ulp(x ** 0.5)),
        ("max(u) + min(u) * 1", np.max(u) + np.min(u), None),
        ("sum(m) + sum(u)", np.sum(m) + np.sum(u.astype(np.int64)), None),
        ("argmax(x) + argmin(i, axis=1)", np.argmax(x) + np.argmin(i, axis=1), None),
        ("isinf(x / 0) | isnan(0 / x)", np.isinf(x / 0.0) | np.isnan(0.0 / x), None),
        ("any(x > 3, axis=-1) | all(u > 0, axis=-1)",
         np.any(x > 3, axis=-1) | np.all(u > 0, axis=-1), None),
        ("sum(u, axis=0, keepdims=True) - u", np.sum(u, axis=0, keepdims=True,
                                                     dtype=np.int64) - u, None),
    ]
    return [(t, np.asarray(val), None if e is None else np.asarray(e, F64))
            for t, val, e in cases]


def fixed_structure_cases(v):
    """Selections, transposes, joins and products, written out."""
    x, y, i, k, u, m, w, z = (v[n] for n in "xyikumwz")
    sabs = lambda a, **kw: np.sum(np.abs(np.where(np.isnan(a), 0, a)).astype(F64), **kw)

    def mm(a, b):
        c = np.result_type(a, b)
        val = np.matmul(a.astype(c), b.astype(c))
        if c not in FLOATS:
            return val, None
        return val, (RTOL_PRODUCT[c] * np.matmul(np.abs(a.astype(F64)), np.abs(b.astype(F64)))
                     + ulp(val))

    xy, xy_err = mm(x[0].T, y)
    yk, yk_err = mm(y[:, 1:], k[1:])
    cxw = np.concatenate((x, w.astype(F64)), axis=2)
    cases = [
        ("x[1:9, ::-2, 0]", x[1:9, ::-2, 0], None),
        ("x[None, :, -1]", x[None, :, -1], None),
        ("x[..., 1]", x[..., 1], None),
        ("w[-1, ..., ::3]", w[-1, ..., ::3], None),
        ("u[::-1, 1:, :-1]", u[::-1, 1:, :-1], None),
        ("x[:, ::-1, None, 1:-1]", x[:, ::-1, None, 1:-1], None),
        ("k[::-1][1:] + k[-1]", k[::-1][1:] + k[-1], None),
        ("x + k[0]", x + k[0], None),
        ("x[0, 0, 0] * x", x[0, 0, 0] * x, None),
        ("i[:, 0, ::2] - i[:, -1, ::-2][:, ::-1]", i[:, 0, ::2] - i[:, -1, ::-2][:, ::-1], None),
        ("x.T", x.T, None),
        ("transpose(m)", m.T, None),
        ("y.T.T - y", y - y, None),
        ("(x.T + 1).T", x + 1, None),
        ("sum(x[::2, 1:] * 2, axis=0)", np.sum(x[::2, 1:] * 2, axis=0),
         1e-10 * sabs(x[::2, 1:] * 2, axis=0)),
        ("(x[0].T @ y)[1:, :3]", xy[1:, :3], xy_err[1:, :3]),
        ("concatenate((x, x[::-1]), axis=0)", np.concatenate((x, x[::-1]), axis=0), None),
        ("concat((i, u), axis=1)", np.concatenate((i, u.astype(I32)), axis=1), None),
        ("stack((y, w[0], x[-1]), axis=-1)",
         np.stack((y.astype(F64), w[0].astype(F64), x[-1]), axis=-1), None),
        ("stack((m[..., 0], m[..., 0]))", np.stack((m[..., 0], m[..., 0])), None),
        ("concatenate((k,), axis=0)", k, None),
        ("concatenate((k, k[:-1], k[::2]))", np.concatenate((k, k[:-1], k[::2])), None),
        ("mean(concatenate((x, w), axis=2), axis=(0, 1))", np.mean(cxw, axis=(0, 1)),
         1e-10 * np.mean(np.abs(np.where(np.isnan(cxw), 0, cxw)), axis=(0, 1))),
        ("k @ k", *mm(k, k)),
        ("y @ k", *mm(y, k)),
        ("m[..., 0] @ m[0]", *mm(m[..., 0], m[0])),
        ("u[0] @ u[1].T", *mm(u[0], u[1].T)),
        ("u[0, 0] @ u[0].T", *mm(u[0, 0], u[0].T)),
        ("matmul(i[:, 0], i[:, 0].T)", *mm(i[:, 0], i[:, 0].T)),
        ("matmul(z.T, y)", *mm(z.T, y)),
        ("transpose(y) @ z", *mm(y.T, z)),
        ("x[0, :, :2] @ y[:2]", *mm(x[0, :, :2], y[:2])),
        ("(y @ y.T)[::-1, 1:].T", mm(y, y.T)[0][::-1, 1:].T, mm(y, y.T)[1][::-1, 1:].T),
        ("dot(y[0], x[0, 0])", *mm(y[0], x[0, 0])),
        ("dot(k, k)", *mm(k, k)),
        ("dot(i[:, 0, 0], i[:, 0, 0])", *mm(i[:, 0, 0], i[:, 0, 0])),
        ("dot(u[0], k)", *mm(u[0], k)),
        ("outer(k, z[:, 0])", np.outer(k, z[:, 0]), None),
        ("sum(y[:, 1:] @ k[1:])", np.sum(yk), 1e-10 * sabs(yk) + np.sum(yk_err)),
    ]
    return [(t, np.asarray(val), None if e is None else np.asarray(e, F64))
            for t, val, e in cases]


def fixed_along_cases(v):
    """Scans, sorts, medians and quantiles, written out: NumPy's values in
    floe's dtypes."""
    x, y, i, k, u, m, w, z = (v[n] for n in "xyikumwz")
    i64 = dict(dtype=I64)
    # int32 neighbours further apart than 2**31: NumPy subtracts them in
    # int32, wrapping, and interpolates from there (2147483648.0)
    wide = np.stack((k[0] * 0 - 2000000000, k[0] * 0 + 2000000000)).astype(I32)
    cases = [
        ("cumsum(x, axis=0)", np.cumsum(x, axis=0)),
        ("cumsum(x, 2)", np.cumsum(x, axis=2)),
        ("cumsum(k)", np.cumsum(k)),
        ("cumprod(k)", np.cumprod(k)),  # wraps
        ("cumprod(u, axis=-1)", np.cumprod(u, axis=-1, **i64)),
        ("cumsum(u, axis=0)", np.cumsum(u, axis=0, **i64)),
        ("cumsum(m, axis=1)", np.cumsum(m, axis=1, **i64)),
        ("cumprod(m, axis=0)", np.cumprod(m, axis=0, **i64)),
        ("cumsum(i, axis=2)", np.cumsum(i, axis=2, **i64)),
        ("cumprod(i, -1)", np.cumprod(i, axis=-1, **i64)),
        ("cumprod(y, axis=0)", np.cumprod(y, axis=0)),
        ("cumsum(w, axis=2)", np.cumsum(w, axis=2)),
        ("cumsum(z, 0)", np.cumsum(z, axis=0)),
        ("sort(x)", np.sort(x)),
        ("sort(w, axis=0)", np.sort(w, axis=0)),
        ("sort(u, axis=1)", np.sort(u, axis=1)),
        ("sort(m, axis=0)", np.sort(m, axis=0)),
        ("sort(k)", np.sort(k)),
        ("sort(i, 0)", np.sort(i, axis=0)),
        ("sort(y, axis=-2)", np.sort(y, axis=-2)),
        ("median(x, axis=0)", np.median(x, axis=0)),
        ("median(w, axis=-1)", np.median(w, axis=-1)),
        ("median(i, axis=2)", np.median(i, axis=2)),
        ("median(k)", np.median(k)),
        ("median(u, axis=1)", np.median(u, axis=1)),
        ("median(m, axis=0)", np.median(m, axis=0)),
        ("median(y, 1)", np.median(y, axis=1)),
        ("median(z, axis=0)", np.median(z, axis=0)),
        ("quantile(x, 0.5, axis=1)", np.quantile(x, 0.5, axis=1)),
        ("quantile(y, 0, axis=0)", np.quantile(y, 0.0, axis=0)),
        ("quantile(y, 1, 1)", np.quantile(y, 1.0, axis=1)),
        ("quantile(w, 0.3, axis=2)", np.quantile(w, 0.3, axis=2)),
        ("quantile(k, 0.3333333333333333)", np.quantile(k, 1 / 3)),
        ("quantile(i, 0.9, axis=0)", np.quantile(i, 0.9, axis=0)),
        ("quantile(u, .75, axis=-1)", np.quantile(u, 0.75, axis=-1)),
        ("quantile(z, 1e-1, axis=0)", np.quantile(z, 0.1, axis=0)),
        ("quantile(x, 1.0, -1)", np.quantile(x, 1.0, axis=-1)),
        ("quantile(astype(stack((k[0] * 0 - 2000000000, k[0] * 0 + 2000000000)), int32), 0.5)",
         np.quantile(wide, 0.5)),
        ("cumsum(x[::-1, 1:], axis=1) + 1", np.cumsum(x[::-1, 1:], axis=1) + 1),
        ("sum(cumsum(i, axis=2), axis=0)", np.sum(np.cumsum(i, axis=2, **i64), axis=0)),
        ("max(sort(x, axis=0)[::-1] - x)", np.max(np.sort(x, axis=0)[::-1] - x)),
        ("median(x.T, axis=0)", np.median(x.T, axis=0)),
        ("quantile(x * 2 + 1, 0.25, axis=1)", np.quantile(x * 2 + 1, 0.25, axis=1)),
        ("sort(cumsum(k))", np.sort(np.cumsum(k))),
        ("cumsum(sort(y, axis=1), axis=1)", np.cumsum(np.sort(y, axis=1), axis=1)),
        # without an axis: over the flattened array, as NumPy
        ("median(y)", np.median(y)),
        ("cumsum(x)", np.cumsum(x)),
        ("quantile(y, 0.5)", np.quantile(y, 0.5).astype(np.float64)),
        ("median(concatenate((x, x[::-1]), axis=0), axis=0)",
         np.median(np.concatenate((x, x[::-1]), axis=0), axis=0)),
        ("cumsum(median(x, axis=0), axis=1)", np.cumsum(np.median(x, axis=0), axis=1)),
        ("all(sort(x, axis=1)[:, 0] == min(x, axis=1))",
         np.all(np.sort(x, axis=1)[:, 0] == np.min(x, axis=1))),
        ("argmax(cumsum(u, axis=0), axis=0)",
         np.argmax(np.cumsum(u, axis=0, **i64), axis=0).astype(I64)),
        ("median(w[:, :, 0], axis=0) + median(y, axis=1)",
         np.median(w[:, :, 0], axis=0) + np.median(y, axis=1)),
        ("quantile(sort(u, axis=0)[1:], 0.5, axis=0) - median(u[1:], axis=0)",
         np.quantile(np.sort(u, axis=0)[1:], 0.5, axis=0) - np.median(u[1:], axis=0)),
    ]
    return [(t, np.asarray(val), None) for t, val in cases]


def fixed_reshape_cases(v):
    """Reshapes, ravels and masks, written out: NumPy's values, exact but for
    the sums, which carry their bound."""
    x, y, i, k, u, m, w, z = (v[n] for n in "xyikumwz")
    A, B, C = x.shape
    sabs = lambda a, **kw: np.sum(np.abs(np.where(np.isnan(a), 0, a)).astype(F64), **kw)
    xm = x[x > 0.5]
    cases = [
        (f"reshape(x, ({A * B}, {C}))", x.reshape(A * B, C), None),
        ("reshape(x, -1)", x.reshape(-1), None),
        ("ravel(x)", x.ravel(), None),
        (f"reshape(x, ({A * B * C},))", x.reshape(-1), None),
        (f"reshape(x, ({C}, -1))", x.reshape(C, -1), None),
        (f"reshape(x, (-1, {A}))", x.reshape(-1, A), None),
        (f"reshape(x, ({A}, {B}, {C}))", x, None),
        (f"reshape(x, ({A}, {B}, {C}, 1))", x.reshape(A, B, C, 1), None),
        (f"reshape(x, (1, {A}, 1, {B * C}))", x.reshape(1, A, 1, B * C), None),
        (f"reshape(y, ({C}, {B}))", y.reshape(C, B), None),
        (f"reshape(u, ({A}, 1, -1))", u.reshape(A, 1, -1), None),
        (f"reshape(x.T, (-1, {A}))", x.T.reshape(-1, A), None),
        (f"reshape(transpose(i), ({C}, {A}))", i.T.reshape(C, A), None),
        ("reshape(k, (1, -1, 1))", k.reshape(1, -1, 1), None),
        (f"reshape(m, ({B}, {A}))", m.reshape(B, A), None),
        ("ravel(w)", w.ravel(), None),
        ("ravel(z) + ravel(y[:, :1])", z.ravel() + y[:, :1].ravel().astype(F64), None),
        ("reshape(x[::-1, 1:], (-1,))", x[::-1, 1:].reshape(-1), None),
        (f"reshape(x, ({A}, {B * C}))[1:, ::3]", x.reshape(A, B * C)[1:, ::3], None),
        ("ravel(x)[::-2]", x.ravel()[::-2], None),
        (f"sum(reshape(u, ({A}, -1)), axis=1)", np.sum(u.reshape(A, -1), axis=1, dtype=I64),
         None),
        (f"max(reshape(x, ({A * B}, {C})), axis=0)", np.max(x.reshape(A * B, C), axis=0), None),
        ("reshape(cumsum(x, axis=0), -1)", np.cumsum(x, axis=0).reshape(-1), None),
        ("ravel(i) @ ravel(i)", np.matmul(i.ravel(), i.ravel()), None),
        (f"reshape(x, ({A * B * C},)) + ravel(w)", x.reshape(-1) + w.ravel().astype(F64), None),
        ("reshape(max(x), (1, 1))", np.max(x).reshape(1, 1), None),
        ("ravel(max(x))", np.max(x).reshape(1), None),
        ("reshape(max(x), ())", np.asarray(np.max(x)), None),
        ("reshape(x[0, 0, :1], ())", x[0, 0, :1].reshape(()), None),
        # masks of the array's shape
        ("x[x > 0.5]", xm, None),
        ("x[(x > 0) & (y < 1)]", x[(x > 0) & (y < 1)], None),
        ("w[(x > 0) & (y < 1)]", w[(x > 0) & (y < 1)], None),
        ("x[(x > 0) | m]", x[(x > 0) | m], None),
        ("x[~(x > 0) ^ (u > 100)]", x[~(x > 0) ^ (u > 100)], None),
        ("u[u > 100]", u[u > 100], None),
        ("i[i > 0]", i[i > 0], None),
        ("k[k > 0]", k[k > 0], None),
        ("y[y < 0]", y[y < 0], None),
        ("m[m]", m[m], None),
        ("z[z > 0]", z[z > 0], None),
        ("w[isnan(w)]", w[np.isnan(w)], None),
        ("w[~isnan(w)]", w[~np.isnan(w)], None),
        ("x[x > 1e9]", x[x > 1e9], None),
        ("(x * 2)[x > 0.5]", (x * 2)[x > 0.5], None),
        ("x[x > 0.5] * 2 + 1", xm * 2 + 1, None),
        ("x.T[x.T > 0]", x.T[x.T > 0], None),
        ("ravel(x)[ravel(x) > 0]", x.ravel()[x.ravel() > 0], None),
        ("x[x > 0][::-1]", x[x > 0][::-1], None),
        ("x[x > 0.5][x[x > 0.5] < 2]", xm[xm < 2], None),
        ("x[(x > 0) & (w < 1)]", x[(x > 0) & (w < 1)], None),
        ("astype(x[x > 0], int32)", x[x > 0].astype(I32), None),
        ("where(x > 0, x, 0)[u > 100]", np.where(x > 0, x, 0.0)[u > 100], None),
        ("reshape(x[x > 0], (1, -1))", x[x > 0].reshape(1, -1), None),
        ("max(x)[max(x) > 0]", np.asarray(np.max(x))[np.asarray(np.max(x) > 0)], None),
        ("cumsum(x[x > 0])", np.cumsum(x[x > 0]), None),
        ("sort(x[x < 0])", np.sort(x[x < 0]), None),
        ("median(u[u > 100])", np.median(u[u > 100]), None),
        ("sum(u[u > 100])", np.sum(u[u > 100], dtype=I64), None),
        ("max(x[x > 0.5])", np.max(xm), None),
        ("sum(x[x > 0.5])", np.sum(xm), 1e-10 * sabs(xm)),
        ("mean(i[i > 0])", np.mean(i[i > 0].astype(F64)),
         1e-10 * np.mean(np.abs(i[i > 0]).astype(F64))),
        ("ravel(x)[ravel(x) > 0] @ ravel(x)[ravel(x) > 0]",
         np.matmul(x.ravel()[x.ravel() > 0], x.ravel()[x.ravel() > 0]),
         RTOL_PRODUCT[F64] * np.sum(x[x > 0] ** 2)),
    ]
    return [(t, np.asarray(val), None if e is None else np.asarray(e, F64))
            for t, val, e in cases]


def expected_reshape_errors(v):
    """Reshapes and masks NumPy refuses, with a word the message must
    contain (case ignored)."""
    A, B, C = v["x"].shape
    return (
        (f"reshape(x, ({A * B * C + 1},))", "reshape"),
        (f"reshape(x, ({A}, {B}))", "reshape"),
        (f"reshape(x, ({A}, {B}, {C}, 2))", "reshape"),
        ("reshape(x, (-1, -1))", "unknown"),
        ("reshape(x, (0, -1))", "reshape"),
        ("reshape(x, (-2, -1))", "reshape"),
        ("reshape(k, (2.5, 3))", "integer"),
        ("reshape(x)", None),
        ("ravel(x, 1)", None),
        ("x[m]", "mask"),                   # (A, B, 1) for (A, B, C)
        ("x[i > 0]", "mask"),               # (A, 1, C)
        ("y[x > 0]", "mask"),               # a 3-D mask of a 2-D array
        ("k[y > 0]", "mask"),
        ("x[x]", "bool"),                   # not a bool mask
        ("u[u]", "bool"),
        ("x[x > 0, 0]", None),
    )


# Expressions NumPy 2 refuses: floe must fail too (exit 1, a message).
EXPECTED_ERRORS = (
    "u + 300",               # a Python int out of uint8's range
    "i * 5000000000",        # ... out of int32's
    "u + -1",
    "m - m",                 # boolean subtract
    "-m",
    "sign(m)",
    "x & y",                 # & | ^ ~ are for booleans
    "~i",
    "sum(x, axis=3)",        # no such axis
    "mean(x, axis=(0, 0))",  # repeated axis
    "argmin(x, axis=(0, 1))",
    "sqrt(x, y)",            # arity
    "where(m, x)",
    "astype(x, float16)",
    "std(x, ddof=-1)",
)

# ... and selections, joins and products NumPy refuses, with a word the
# message must contain (case ignored).  The inputs' lengths are at most 11,
# 39 and 399 (make_inputs).
EXPECTED_STRUCTURE_ERRORS = (
    ("x[::0]", "step"),
    ("k[1:2:0] + 1", "step"),
    ("x[12]", "out of bounds"),
    ("k[-1000] * 2", "out of bounds"),
    ("x[0, 0, 0, 0]", "too many indices"),
    ("x[..., 0, ...]", "ellipsis"),
    ("x[0.5]", "integer"),
    ("y @ k[1:]", "inner"),
    ("matmul(y, y[:, 1:].T)", "inner"),
    ("dot(x[0], x[0, :, :-1].T)", "inner"),
    ("y @ 2", "dimension"),
    ("outer(k, y)", "1-D"),
    ("concatenate((x, x[:, 1:]), axis=0)", "differ"),
    ("concatenate((x, y), axis=0)", "differ"),
    ("concatenate((x, x), axis=3)", "axis"),
    ("stack((y, y[1:]))", "differ"),
    ("x.foo", ".T"),
)

# ... and scans, sorts and order statistics, with a word for the message;
EXPECTED_ALONG_ERRORS = (
    ("quantile(x, 2, axis=0)", "[0, 1]"),
    ("quantile(k, -0.5)", "[0, 1]"),
    ("quantile(y, 1.5, 1)", "[0, 1]"),
    ("median(x, axis=3)", "out of bounds"),
    ("sort(x, axis=-4)", "out of bounds"),
    ("cumprod(k, axis=1)", "out of bounds"),
    ("cumsum(x, axis=0, axis=1)", "twice"),
    ("quantile(x, axis=0)", "arguments"),
    ("quantile(x, y, axis=0)", "number"),
    ("cumsum(x, 0.5)", "integer"),
)


# ---------------------------------------------------------------------- inputs

def make_inputs(rng, directory):
    """Writes the input files; returns {name: (file, dataset, array)} with the
    arrays as floe reads them (native byte order, floe dtypes)."""
    # small and larger cubes (up to ~60k elements: several tiles of the
    # fused programs per chunk), never a zero-length axis
    while True:
        A, B, C = (int(np.exp(rng.uniform(np.log(lo), np.log(hi))))
                   for lo, hi in ((2, 12), (2, 40), (3, 400)))
        if A * B * C <= 60000:
            break

    def chunks(shape):
        return tuple(int(rng.integers(1, d + 1)) if rng.random() < 0.8 else d for d in shape)

    def floats(shape, dt):
        v = rng.normal(0, 3, shape)
        # some exact integers and zeros, so ties, x // y and x / 0 show up
        sel = rng.random(shape) < 0.15
        v[sel] = np.round(v[sel])
        return v.astype(dt)

    x = floats((A, B, C), F64)
    y = floats((B, C), F32)
    w = floats((A, B, C), F32)
    w[rng.random(w.shape) < 0.1] = np.nan
    i = rng.integers(-50, 51, (A, 1, C)).astype(I32)
    k = rng.integers(-1000, 1001, (C,)).astype(I64)
    k[rng.random(k.shape) < 0.2] *= 2 ** 31 + 7  # beyond int32 and float32
    u = rng.integers(0, 256, (A, B, C)).astype(U8)
    m = rng.random((A, B, 1)) < 0.5
    z = floats((B, 1), F64)
    spec = {
        # name: (file, h5py create_dataset keywords)
        "x": ("a.h5", dict(chunks=chunks(x.shape))),
        "y": ("a.h5", dict(chunks=chunks(y.shape), shuffle=True, compression="gzip")),
        "i": ("b.h5", dict()),  # contiguous
        "k": ("b.h5", dict(chunks=chunks(k.shape), dtype=">i8")),
        "u": ("c.h5", dict(chunks=chunks(u.shape), compression="gzip", compression_opts=1)),
        "m": ("c.h5", dict(chunks=chunks(m.shape))),
        "w": ("c.h5", dict(chunks=chunks(w.shape), fletcher32=True)),
        "z": ("d.h5", dict(dtype=">f8")),  # contiguous, big-endian
    }
    arrays = dict(x=x, y=y, w=w, i=i, k=k, u=u, m=m, z=z)
    out = {}
    for name, (fname, kw) in spec.items():
        path = os.path.join(directory, fname)
        with h5py.File(path, "a") as f:
            f.create_dataset(name, data=arrays[name], **kw)
        out[name] = (path, name, arrays[name])
    return out


# --------------------------------------------------------------------- running

class Runner:
    def __init__(self, floe, inputs, workdir, plugins, verbose):
        self.floe = floe
        self.inputs = inputs
        self.workdir = workdir
        self.zstd = plugins is not None and os.path.exists(
            os.path.join(plugins, "libh5zzstd.so"))
        self.verbose = verbose
        self.runs = 0

    def command(self, texts, out, threads, compress, chunks=None, extra=()):
        used = [n for n in sorted(self.inputs) if any(_uses(t, n) for t in texts)]
        cmd = [self.floe, "eval"]
        for n in used:
            path, dset, _ = self.inputs[n]
            cmd += ["-i", f"{n}={path}:{dset}"]
        for j in range(len(texts)):
            cmd += ["-o", f"{out}:r{j}"]
        cmd += ["--overwrite", "--no-progress", "--threads", str(threads)]
        if compress:
            cmd += ["--compress", "zstd:3"]
        if chunks:
            cmd += ["--chunks", chunks]
        cmd += list(extra)
        cmd += ["--", "; ".join(texts)]
        return cmd

    def run(self, texts, threads, compress=False, tag="out", chunks=None, extra=()):
        """Runs one job; returns (results or None, the command, stderr, exit status)."""
        out = os.path.join(self.workdir, f"{tag}.h5")
        if os.path.exists(out):
            os.remove(out)
        cmd = self.command(texts, out, threads, compress, chunks, extra)
        self.runs += 1
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=300)
        if p.returncode != 0:
            return None, cmd, p.stderr, p.returncode
        res = []
        with h5py.File(out, "r") as f:
            for j in range(len(texts)):
                res.append(np.asarray(f[f"r{j}"][()]))
        return res, cmd, p.stderr, 0


def _uses(text, name):
    return re.search(rf"(?<![A-Za-z0-9_]){name}(?![A-Za-z0-9_])", text) is not None


def compare(got, node_v, err):
    """'' when `got` matches the expected value within the bound, else a
    description of the first mismatches."""
    want = np.asarray(node_v)
    if got.dtype != want.dtype:
        return f"dtype: floe {got.dtype}, NumPy {want.dtype}"
    if got.shape != want.shape:
        return f"shape: floe {got.shape}, NumPy {want.shape}"
    if want.dtype in FLOATS:
        g64, w64 = got.astype(F64), want.astype(F64)
        nan_g, nan_w = np.isnan(g64), np.isnan(w64)
        allowed = np.zeros(want.shape, F64)
        if err is not None:
            allowed = allowed + np.broadcast_to(err, want.shape)
        allowed = allowed + RTOL_EWISE[want.dtype] * np.abs(np.where(nan_w, 0.0, w64))
        with np.errstate(invalid="ignore"):
            close = (g64 == w64) | (np.abs(g64 - w64) <= allowed)
        ok = np.where(nan_w | nan_g, nan_w & nan_g, close)
    else:
        allowed = None
        ok = got == want
    if np.all(ok):
        return ""
    bad = np.argwhere(~np.asarray(ok))
    lines = [f"{len(bad)} of {want.size} elements differ; first ones (index: floe, NumPy"
             + (", allowed difference)" if allowed is not None else ")")]
    for idx in bad[:6]:
        t = tuple(int(q) for q in idx)
        line = f"  {t}: {got[t]!r}, {want[t]!r}"
        if allowed is not None:
            line += f", {allowed[t]:.3g}"
        lines.append(line)
    return "\n".join(lines)


def main():
    global h5py
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--floe", required=True, help="the floe command (build/floe)")
    ap.add_argument("--plugins", help="the HDF5 plugin directory (build/plugins)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=400, help="random expressions")
    ap.add_argument("--structure", type=int, default=240,
                    help="random expressions with selections, joins or products")
    ap.add_argument("--along", type=int, default=160,
                    help="random expressions with scans, sorts, medians or quantiles")
    ap.add_argument("--reshape", type=int, default=120,
                    help="random expressions with reshapes, ravels or masks")
    ap.add_argument("--batch", type=int, default=4, help="expressions per floe job")
    ap.add_argument("--depth", type=int, default=4, help="maximum tree depth")
    ap.add_argument("--keep", help="write the files here and keep them")
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args()

    if args.plugins:
        os.environ["HDF5_PLUGIN_PATH"] = os.path.abspath(args.plugins)
    import h5py as _h5py
    h5py = _h5py

    floe = os.path.abspath(args.floe)
    if not os.access(floe, os.X_OK):
        print(f"oracle_eval: no floe command at {floe}", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        work = args.keep
    else:
        work = tempfile.mkdtemp(prefix="floe-oracle-")
    try:
        return run_all(args, floe, work, t0)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def run_all(args, floe, work, t0):
    rng = np.random.default_rng(args.seed)
    np.random.seed(args.seed)  # the spelling choices of the text
    for f in os.listdir(work):
        if f.endswith(".h5"):
            os.remove(os.path.join(work, f))
    inputs = make_inputs(rng, work)
    variables = {n: a for n, (_, _, a) in inputs.items()}
    runner = Runner(floe, inputs, work, args.plugins, args.verbose)
    shapes = ", ".join(f"{n}: {a.dtype} {a.shape}" for n, a in sorted(variables.items()))
    print(f"oracle_eval: seed {args.seed}; inputs {shapes}")

    gen = Generator(rng, variables)
    cases = []  # (text, expected value, error bound or None)
    cases += fixed_cases(variables)
    cases += fixed_structure_cases(variables)
    nfixed = len(cases)
    seen = set()
    attempts = 0
    while len(cases) < args.count + nfixed and attempts < args.count * 50:
        attempts += 1
        try:
            node = gen.case(args.depth)
        except Reject:
            continue
        if node.s in seen or len(node.s) > 600:
            continue
        seen.add(node.s)
        cases.append((node.s, np.asarray(node.v), node.err))
    nrandom = len(cases) - nfixed

    # selections, joins and products, composed with the rest; the first ones
    # over the full 3-D inputs alone, to run again with --chunks below
    full = sorted(n for n, a in variables.items() if a.shape == variables["x"].shape)
    structure = []
    attempts = 0
    while len(structure) < args.structure and attempts < args.structure * 50:
        attempts += 1
        gen.only = set(full) if len(structure) < args.structure // 4 else None
        try:
            node = gen.case_structure(args.depth)
        except (Reject, ValueError, TypeError, OverflowError, IndexError):
            continue
        if node.s in seen or len(node.s) > 600:
            continue
        seen.add(node.s)
        structure.append((node.s, np.asarray(node.v), node.err))
    gen.only = None
    cases += structure

    # scans, sorts and order statistics, from a generator of their own (the
    # cases above stay what they were for a given seed); the first ones over
    # the full 3-D inputs alone, to run again with --chunks below
    agen = Generator(np.random.default_rng([args.seed, 1]), variables)
    along = fixed_along_cases(variables)
    nfixed_along = len(along)
    attempts = 0
    while len(along) < args.along + nfixed_along and attempts < args.along * 50:
        attempts += 1
        agen.only = set(full) if len(along) - nfixed_along < args.along // 4 else None
        try:
            node = agen.case_along(args.depth)
        except (Reject, ValueError, TypeError, OverflowError, IndexError):
            continue
        if node.s in seen or len(node.s) > 600:
            continue
        seen.add(node.s)
        along.append((node.s, np.asarray(node.v), node.err))
    agen.only = None
    cases += along

    # reshapes and masks, from a generator of their own as well; the first
    # ones over the full 3-D inputs alone, to run again in ragged chunks
    rgen = Generator(np.random.default_rng([args.seed, 2]), variables)
    reshaped = fixed_reshape_cases(variables)
    nfixed_reshape = len(reshaped)
    attempts = 0
    while len(reshaped) < args.reshape + nfixed_reshape and attempts < args.reshape * 50:
        attempts += 1
        rgen.only = set(full) if len(reshaped) - nfixed_reshape < args.reshape // 4 else None
        try:
            node = rgen.case_reshape(args.depth)
        except (Reject, ValueError, TypeError, OverflowError, IndexError):
            continue
        if node.s in seen or len(node.s) > 600:
            continue
        seen.add(node.s)
        reshaped.append((node.s, np.asarray(node.v), node.err))
    rgen.only = None
    cases += reshaped

    failures = []
    batches = [cases[j:j + args.batch] for j in range(0, len(cases), args.batch)]
    for bi, batch in enumerate(batches):
        texts = [c[0] for c in batch]
        threads = (1, 2, 1, 2, 4)[bi % 5]
        other = 2 if threads != 2 else 1
        compress = runner.zstd and bi % 3 == 2
        # deeper reduction trees now and then (fan-in 2 instead of 8)
        extra = ["--reduce-fanin", "2"] if bi % 4 == 3 else []
        res, cmd, err, rc = runner.run(texts, threads, compress, extra=extra)
        if res is None:
            # which expression fails on its own?
            alone_ok = True
            for c in batch:
                r1, cmd1, err1, rc1 = runner.run([c[0]], threads, extra=extra)
                if r1 is None:
                    alone_ok = False
                    failures.append((c[0], cmd1, f"exit {rc1}: {err1.strip()}"))
                else:
                    msg = compare(r1[0], c[1], c[2])
                    if msg:
                        failures.append((c[0], cmd1, msg))
            if alone_ok:
                failures.append(("; ".join(texts), cmd,
                                 f"exit {rc} as one job, but each expression works alone: "
                                 f"{err.strip()}"))
            continue
        for c, got in zip(batch, res):
            msg = compare(got, c[1], c[2])
            if msg:
                failures.append((c[0], cmd, msg))
            elif args.verbose:
                print(f"ok  {c[0]}")
        if bi % 5 == 0:
            # the same job with another thread count gives the same bits
            res2, cmd2, err2, rc2 = runner.run(texts, other, tag="det", extra=extra)
            if res2 is None:
                failures.append(("; ".join(texts), cmd2, f"exit {rc2}: {err2.strip()}"))
            else:
                for c, a, b in zip(batch, res, res2):
                    if a.dtype != b.dtype or a.shape != b.shape or not np.array_equal(
                            a, b, equal_nan=a.dtype.kind == "f"):
                        failures.append((c[0], cmd2, f"not deterministic: --threads "
                                         f"{threads} and {other} differ"))

    # explicit --chunks (every input in the same chunks, straddling the
    # file's): the expressions over the full 3-D inputs only
    full = [n for n, a in variables.items() if a.shape == variables["x"].shape]
    some = [c for c in cases if not (set(re.findall(r"[A-Za-z_]\w*", c[0])) &
                                     (set(variables) - set(full)))]
    some = some[:max(8, args.count // 10)]
    for j in range(0, len(some), args.batch):
        batch = some[j:j + args.batch]
        shape = variables["x"].shape
        chunks = ",".join("-1" if rng.random() < 0.2 else str(int(rng.integers(1, d + 1)))
                          for d in shape)
        res, cmd, err, rc = runner.run([c[0] for c in batch], 2, tag="chunks", chunks=chunks)
        if res is None:
            failures.append(("; ".join(c[0] for c in batch), cmd, f"exit {rc}: {err.strip()}"))
            continue
        for c, got in zip(batch, res):
            msg = compare(got, c[1], c[2])
            if msg:
                failures.append((c[0], cmd, msg))

    # the structure cases over the full inputs in other chunks, so that inner
    # lengths and slices straddle chunk boundaries another way
    some = [c for c in structure if not (set(re.findall(r"[A-Za-z_]\w*", c[0])) &
                                         (set(variables) - set(full)))]
    some = some[:max(8, args.structure // 5)]
    nchunked = len(some)
    for j in range(0, len(some), args.batch):
        batch = some[j:j + args.batch]
        chunks = ",".join(str(int(rng.integers(1, d + 1))) for d in variables["x"].shape)
        res, cmd, err, rc = runner.run([c[0] for c in batch], 2, tag="chunks", chunks=chunks)
        if res is None:
            failures.append(("; ".join(c[0] for c in batch), cmd, f"exit {rc}: {err.strip()}"))
            continue
        for c, got in zip(batch, res):
            msg = compare(got, c[1], c[2])
            if msg:
                failures.append((c[0], cmd, msg))

    # the along-axis cases over the full inputs in ragged chunks: lanes cross
    # chunk boundaries and are gathered whole
    some = [c for c in along[nfixed_along:] if not (set(re.findall(r"[A-Za-z_]\w*", c[0])) &
                                                    (set(variables) - set(full)))]
    some = some[:max(8, args.along // 4)]
    nchunked_along = len(some)
    for j in range(0, len(some), args.batch):
        batch = some[j:j + args.batch]
        chunks = ",".join(str(int(agen.rng.integers(1, d + 1))) for d in variables["x"].shape)
        res, cmd, err, rc = runner.run([c[0] for c in batch], 2, tag="chunks", chunks=chunks)
        if res is None:
            failures.append(("; ".join(c[0] for c in batch), cmd, f"exit {rc}: {err.strip()}"))
            continue
        for c, got in zip(batch, res):
            msg = compare(got, c[1], c[2])
            if msg:
                failures.append((c[0], cmd, msg))

    # the reshape and mask cases over the full inputs in ragged chunks
    some = [c for c in reshaped[nfixed_reshape:] if not (
        set(re.findall(r"[A-Za-z_]\w*", c[0])) & (set(variables) - set(full)))]
    some = some[:max(8, args.reshape // 4)]
    nchunked_reshape = len(some)
    for j in range(0, len(some), args.batch):
        batch = some[j:j + args.batch]
        chunks = ",".join(str(int(rgen.rng.integers(1, d + 1))) for d in variables["x"].shape)
        res, cmd, err, rc = runner.run([c[0] for c in batch], 2, tag="chunks", chunks=chunks)
        if res is None:
            failures.append(("; ".join(c[0] for c in batch), cmd, f"exit {rc}: {err.strip()}"))
            continue
        for c, got in zip(batch, res):
            msg = compare(got, c[1], c[2])
            if msg:
                failures.append((c[0], cmd, msg))

    errors = ([(t, None) for t in EXPECTED_ERRORS] + list(EXPECTED_STRUCTURE_ERRORS)
              + list(EXPECTED_ALONG_ERRORS) + list(expected_reshape_errors(variables)))
    for text, word in errors:
        res, cmd, err, rc = runner.run([text], 2, tag="err")
        first = err.lstrip().split("\n", 1)[0]
        if rc != 1 or not first.startswith("floe: "):
            failures.append((text, cmd, f"NumPy refuses this; floe exited {rc} "
                             f"(expected 1 and a 'floe: ' message): {err.strip()[:300]}"))
        elif word is not None and word.lower() not in err.lower():
            failures.append((text, cmd, f"the message does not say '{word}': "
                             f"{err.strip()[:300]}"))
        elif os.path.exists(os.path.join(work, "err.h5")):
            failures.append((text, cmd, "a failed job left its output file behind"))

    elapsed = time.monotonic() - t0
    for text, cmd, msg in failures:
        print(f"\nFAIL {text}\n  command: {shlex.join(cmd)}\n  inputs: {shapes}\n"
              + "\n".join("  " + line for line in msg.splitlines()))
    print(f"oracle_eval: {len(cases)} expressions ({nfixed} fixed, {nrandom} random, "
          f"{len(structure)} random with selections, joins or products, {nchunked} of them "
          f"again in other chunks, {len(along)} with scans, sorts, medians or quantiles "
          f"({nfixed_along} fixed, {nchunked_along} random ones again in ragged chunks), "
          f"{len(reshaped)} with reshapes or masks ({nfixed_reshape} fixed, "
          f"{nchunked_reshape} random ones again in ragged chunks)) and "
          f"{len(errors)} refused ones in {len(batches)} jobs ({runner.runs} floe runs), "
          f"{len(failures)} failures, {elapsed:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
