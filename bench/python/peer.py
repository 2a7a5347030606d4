"""Long-lived benchmark child for numpy and PyTorch (run with /usr/bin/python3).

One process per configuration (OpenBLAS environment x thread count): the
parent sets the environment before start, then sends one JSON command per
line on stdin and reads one JSON reply per line on stdout, so the imports
are paid once. The timing plan is the one in bench/lib/timing.mjs.

Commands:
  {"op": "hello", "threads": N}                  -> versions, thread settings, OpenBLAS core
  {"op": "matmul", "lib": "numpy"|"torch", "shapes": [[m, k, n], ...], "plan": {...}, "out": false}
                                                 with "out": true, into one preallocated C per shape
                                                 (np.matmul(a, b, out=c), torch.matmul(a, b, out=c))
  {"op": "d2l", "plan": {...}}                   -> the d2l 6.4 seed, piece by piece, in PyTorch
  {"op": "conv2d", "cases": [{id, n, c, h, w, cout, kh, kw, stride, pad, groups}], "plan": {...}}
  {"op": "time", "kind": "matmul", "lib": "numpy"|"torch", "shape": [m, k, n], "out": false, "plan": {...}}
  {"op": "time", "kind": "conv2d", "lib": "torch", "case": {id, n, c, ...}, "plan": {...}}
                                                 -> {"perCall": [s, ...], "inner": i}: one round of an
                                                 interleaved run (bench/lib/timing.mjs, interleave): the
                                                 first request for a (kind, lib, shape/case, out) builds the
                                                 inputs, checks out= as "matmul" does, warms up, checks the
                                                 result ("check": matmul_error or conv2d_error, in every
                                                 reply) and fixes the inner repeat count; every request
                                                 then takes plan_samples(plan, estimate) samples with it
  {"op": "forget"}                               drops what "time" kept (inputs, estimates)
  {"op": "exit"}
"""
import json
import math
import os
import sys
import time
import traceback

np = None
torch = None
threadpoolctl = None
THREADS = 1


def try_import(name):
    try:
        return __import__(name), None
    except Exception as e:  # noqa: BLE001 - any import failure means "skip this peer"
        return None, f"{type(e).__name__}: {e}"


def plan_samples(plan, per_call):
    inner = max(1, math.ceil(plan["minSampleS"] / per_call))
    samples = min(plan["maxSamples"], max(plan["minSamples"], round(plan["targetS"] / (inner * per_call))))
    return inner, samples


def warm_up(fn, plan):
    """Calls fn for plan["warmupS"] (at least once); returns the per-call estimate in seconds."""
    clock = time.perf_counter
    t0 = clock()
    fn()
    last = clock() - t0
    spent, calls = last, 1
    while spent < plan["warmupS"]:
        t0 = clock()
        fn()
        last = clock() - t0
        spent += last
        calls += 1
    return max(1e-9, min(last, spent / calls) if calls > 1 else last)


def take_samples(fn, inner, samples):
    clock = time.perf_counter
    per_call = []
    rng = range(inner)
    for _ in range(samples):
        a = clock()
        for _ in rng:
            fn()
        per_call.append((clock() - a) / inner)
    return per_call


def time_fn(fn, plan):
    """Warm-up, then the plan's samples: median and best seconds per call."""
    inner, samples = plan_samples(plan, warm_up(fn, plan))
    per_call = sorted(take_samples(fn, inner, samples))
    n = len(per_call)
    median = per_call[n // 2] if n % 2 else (per_call[n // 2 - 1] + per_call[n // 2]) / 2
    return {"median": median, "min": per_call[0], "samples": n, "inner": inner}


def blas_info():
    if threadpoolctl is None:
        return None
    return [
        {k: d.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "threading_layer", "filepath")}
        for d in threadpoolctl.threadpool_info()
    ]


def hello(cmd):
    global np, torch, threadpoolctl, THREADS
    THREADS = int(cmd.get("threads", 1))
    out = {"python": sys.version.split()[0], "skipped": {}}
    threadpoolctl, err = try_import("threadpoolctl")
    if err:
        out["threadpoolctl"] = None
    np, err = try_import("numpy")
    if err:
        out["skipped"]["numpy"] = err
    else:
        out["numpy"] = np.__version__
    if "torch" in cmd.get("libs", ["numpy", "torch"]):
        torch, err = try_import("torch")
        if err:
            out["skipped"]["torch"] = err
        else:
            out["torch"] = torch.__version__
            torch.set_num_threads(THREADS)
            out["torchThreads"] = torch.get_num_threads()
            out["torchParallel"] = torch.__config__.parallel_info().splitlines()[:6]
    if threadpoolctl is not None:
        out["threadpoolctl"] = threadpoolctl.__version__
        threadpoolctl.threadpool_limits(THREADS)
        out["blas"] = blas_info()
    out["env"] = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    return out


def matmul_inputs(lib, m, k, n):
    """The operands for one shape, seeded: the same on every call."""
    if lib == "numpy":
        rng = np.random.default_rng(0)
        return rng.standard_normal((m, k), dtype=np.float32), rng.standard_normal((k, n), dtype=np.float32)
    torch.manual_seed(0)
    return torch.randn(m, k), torch.randn(k, n)


def matmul_fn(lib, m, k, n, out):
    """The timed call for one shape (matmul_inputs); with out, checked to write into its C first."""
    a, b = matmul_inputs(lib, m, k, n)
    if lib == "numpy":
        if out:
            c = np.empty((m, n), dtype=np.float32)
            fn = lambda: np.matmul(a, b, out=c)  # noqa: E731
        else:
            fn = lambda: a @ b  # noqa: E731
    else:
        if out:
            c = torch.empty(m, n)
            fn = lambda: torch.matmul(a, b, out=c)  # noqa: E731
        else:
            fn = lambda: torch.matmul(a, b)  # noqa: E731
    if out:
        with torch.inference_mode() if (lib == "torch") else _null():
            check_out(lib, fn, c, a, b)
    return fn


def matmul(cmd):
    lib, plan = cmd["lib"], cmd["plan"]
    out = bool(cmd.get("out", False))
    results = []
    for m, k, n in cmd["shapes"]:
        fn = matmul_fn(lib, m, k, n, out)
        with torch.inference_mode() if (lib == "torch") else _null():
            r = time_fn(fn, plan)
        r["shape"] = [m, k, n]
        results.append(r)
    return {"results": results, "blas": blas_info()}


def check_out(lib, fn, c, a, b):
    """The call with out= returns c itself, in the same memory, holding a @ b."""
    c.fill(float("nan")) if lib == "numpy" else c.fill_(float("nan"))
    r = fn()
    if lib == "numpy":
        same = r is c
        ok = bool(np.allclose(c, a @ b, rtol=1e-4, atol=1e-4))
    else:
        same = r is c or r.data_ptr() == c.data_ptr()
        ok = bool(torch.allclose(c, torch.matmul(a, b), rtol=1e-4, atol=1e-4))
    if not (same and ok):
        raise RuntimeError(f"{lib} matmul with out= did not write into the preallocated output (same object: {same}, values match: {ok})")


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *a):
        return False


# d2l 6.4, as the book writes it (d2l.corr2d is 6.2's Python double loop).
def corr2d(X, K):
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y


def corr2d_multi_in(X, K):
    return sum(corr2d(x, k) for x, k in zip(X, K))


def corr2d_multi_in_out(X, K):
    return torch.stack([corr2d_multi_in(X, k) for k in K], 0)


def corr2d_multi_in_out_1x1(X, K):
    c_i, h, w = X.shape
    c_o = K.shape[0]
    X = X.reshape((c_i, h * w))
    K = K.reshape((c_o, c_i))
    Y = torch.matmul(K, X)
    return Y.reshape((c_o, h, w))


def seed():
    X = torch.normal(0, 1, (3, 3, 3))
    K = torch.normal(0, 1, (2, 3, 1, 1))
    Y1 = corr2d_multi_in_out_1x1(X, K)
    Y2 = corr2d_multi_in_out(X, K)
    return float(torch.abs(Y1 - Y2).sum()) < 1e-6


def d2l(cmd):
    plan = cmd["plan"]
    out = {}
    if np is not None:
        rng = np.random.default_rng(0)
        a = rng.standard_normal((2, 3), dtype=np.float32)
        b = rng.standard_normal((3, 9), dtype=np.float32)
        out["numpy"] = {"matmul": time_fn(lambda: a @ b, plan)}
    if torch is not None:
        torch.manual_seed(0)
        X = torch.normal(0, 1, (3, 3, 3))
        K = torch.normal(0, 1, (2, 3, 1, 1))
        K2, X2 = K.reshape(2, 3), X.reshape(3, 9)
        Y1 = corr2d_multi_in_out_1x1(X, K)
        Y2 = corr2d_multi_in_out(X, K)
        D = Y1 - Y2
        A = torch.abs(D)
        S = A.sum()
        t = {
            "matmul": time_fn(lambda: torch.matmul(K2, X2), plan),
            "normal": time_fn(lambda: (torch.normal(0, 1, (3, 3, 3)), torch.normal(0, 1, (2, 3, 1, 1))), plan),
            "oneByOne": time_fn(lambda: corr2d_multi_in_out_1x1(X, K), plan),
            "corr": time_fn(lambda: corr2d_multi_in_out(X, K), plan),
            "sub": time_fn(lambda: Y1 - Y2, plan),
            "abs": time_fn(lambda: torch.abs(D), plan),
            "sum": time_fn(lambda: A.sum(), plan),
            "item": time_fn(lambda: float(S), plan),
            "seed": time_fn(seed, plan),
        }
        out["torch"] = t
    return out


def conv2d_inputs(c):
    """The inputs of one conv2d case: {n (0 = unbatched), c, h, w, cout, kh, kw, stride, pad, groups}."""
    torch.manual_seed(0)
    shape = (c["c"], c["h"], c["w"]) if c["n"] == 0 else (c["n"], c["c"], c["h"], c["w"])
    x = torch.randn(*shape)
    w = torch.randn(c["cout"], c["c"] // c["groups"], c["kh"], c["kw"])
    return x, w


def conv2d_fn(c):
    """torch.nn.functional.conv2d for one case (see conv2d_inputs)."""
    F = torch.nn.functional
    x, w = conv2d_inputs(c)
    s, p, g = c["stride"], c["pad"], c["groups"]
    return lambda: F.conv2d(x, w, None, s, p, 1, g)


# Checks of a peer's result, computed here in float64 by numpy, the same
# measures as bench/lib/checks.mjs so the parent holds them to the same bound.
def as_f64(t):
    return (t.numpy() if hasattr(t, "numpy") else np.asarray(t)).astype(np.float64)


def matmul_error(a, b, c):
    """productError of bench/lib/checks.mjs: max |C v - A (B v)| over max |A| (|B| |v|)."""
    a, b, c = as_f64(a), as_f64(b), as_f64(c)
    n = b.shape[1]
    v = np.random.default_rng(12345).random(n) - 0.5
    w = a @ (b @ v)
    scale = np.abs(a) @ (np.abs(b) @ np.abs(v))
    return float(np.max(np.abs(c @ v - w)) / (np.max(scale) or 1.0))


def conv2d_error(c, x, w, y, samples=512):
    """At up to `samples` output elements picked at random (all, when fewer),
    max |y - the float64 sum| over max sum |x||w| (the scale of the sums'
    rounding): a correct float32 convolution of depth K = C/groups * kh * kw is
    within K * 2^-24 of it, as productError is for a product of depth K."""
    x, w, y = as_f64(x), as_f64(w), as_f64(y)
    if c["n"] == 0:
        x, y = x[None], y[None]
    s, p, g, kh, kw = c["stride"], c["pad"], c["groups"], c["kh"], c["kw"]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    cpg, opg = x.shape[1] // g, w.shape[0] // g
    total = y.size
    rng = np.random.default_rng(7)
    picks = range(total) if total <= samples else rng.choice(total, samples, replace=False)
    d = top = 0.0
    for flat in picks:
        b, co, oy, ox = np.unravel_index(int(flat), y.shape)
        gi = co // opg
        patch = xp[b, gi * cpg:(gi + 1) * cpg, oy * s:oy * s + kh, ox * s:ox * s + kw]
        d = max(d, abs(float(np.sum(patch * w[co])) - y[b, co, oy, ox]))
        top = max(top, float(np.sum(np.abs(patch) * np.abs(w[co]))))
    return d / (top or 1.0)


def conv2d(cmd):
    """torch.nn.functional.conv2d per case (see conv2d_fn)."""
    plan = cmd["plan"]
    results = []
    for c in cmd["cases"]:
        fn = conv2d_fn(c)
        with torch.inference_mode():
            r = time_fn(fn, plan)
        r["id"] = c["id"]
        results.append(r)
    return {"results": results, "mkldnn": bool(torch.backends.mkldnn.is_available())}


# "time": what the first request for a key built, kept for the later rounds.
PREPARED = {}


def time_round(cmd):
    kind, lib, plan = cmd["kind"], cmd["lib"], cmd["plan"]
    if lib not in ("numpy", "torch") or (lib == "numpy" and np is None) or (lib == "torch" and torch is None):
        raise RuntimeError(f"{lib} is not loaded in this child")
    out = bool(cmd.get("out", False))
    if kind == "matmul":
        key = (kind, lib, tuple(cmd["shape"]), out)
    elif kind == "conv2d":
        if lib != "torch" or out:
            raise RuntimeError("conv2d is timed for torch without out= only")
        key = (kind, lib, json.dumps(cmd["case"], sort_keys=True), False)
    else:
        raise RuntimeError(f"unknown kind {kind!r}")
    ctx = torch.inference_mode if lib == "torch" else _null
    prep = PREPARED.get(key)
    if prep is None:
        fn = matmul_fn(lib, *cmd["shape"], out) if kind == "matmul" else conv2d_fn(cmd["case"])
        with ctx():
            est = warm_up(fn, plan)
            result = fn()
        # the result checked once, on inputs made again the same way (seeded)
        if kind == "conv2d":
            check = conv2d_error(cmd["case"], *conv2d_inputs(cmd["case"]), result)
        else:
            check = matmul_error(*matmul_inputs(lib, *cmd["shape"]), result)
        inner, _ = plan_samples(plan, est)
        prep = PREPARED[key] = {"fn": fn, "est": est, "inner": inner, "check": check}
    _, samples = plan_samples(plan, prep["est"])
    with ctx():
        per_call = take_samples(prep["fn"], prep["inner"], samples)
    return {"perCall": per_call, "inner": prep["inner"], "check": prep["check"]}


def forget(cmd):
    PREPARED.clear()
    return {}


def main():
    handlers = {"hello": hello, "matmul": matmul, "d2l": d2l, "conv2d": conv2d, "time": time_round, "forget": forget}
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        cmd = json.loads(line)
        if cmd["op"] == "exit":
            break
        try:
            reply = {"ok": True, **handlers[cmd["op"]](cmd)}
        except Exception as e:  # noqa: BLE001 - reported to the parent, which notes and skips
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
