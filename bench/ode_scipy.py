#!/usr/bin/env python3
"""ode_scipy.py - the SciPy half of bench/ode_vs_scipy.sh.

Solves the test problems of Doppel's ode/odetest with scipy.integrate.solve_ivp at the given
tolerances, times each solve (median over repeats, time.perf_counter) and computes the error at
the end time exactly as odetest.Problem.Error does: max_i |y_i - want_i| / max(|want_i|, floor).

  non-stiff problems (exponential decay, harmonic oscillator, Enright-Pryce A3):
      RK45 (the Dormand-Prince 5(4) pair, as Doppel's DoPri5) and DOP853 (for information)
  stiff problems (Van der Pol mu=1000, Robertson to 1e11):
      Radau, BDF and LSODA, each given the analytic Jacobian (as Doppel's Rodas4 is)

The right-hand sides and Jacobians are plain Python functions over the numpy state, written as
a SciPy user would write them: that interpreted cost is what solve_ivp's users pay, and it is
part of every time reported here. One solve is one call of solve_ivp(fun, (t0, t1), y0,
method=..., rtol=..., atol=..., jac=...) with no t_eval and no dense output.

Usage:
  /usr/bin/python3 bench/ode_scipy.py [--tols 1e-6/1e-9,1e-8/1e-10] [--min-time 0.5]
                                      [--min-repeats 3] [--problems NAME,...]
                                      [--doppel FILE] [--json]
  --doppel FILE  JSON lines from `go run ./bench/odebench`: print the side-by-side table
                 (Doppel vs SciPy, with the ratio scipy_time / doppel_time at the same
                 tolerances, and at the same or better error when FILE has Doppel runs at
                 more tolerances), after checking that both sides use the same problems and
                 reference values
  --json         print SciPy's results as JSON lines (the format of odebench) instead

Requires numpy and scipy (Debian 12: apt-get install python3-scipy, with /usr/bin/python3;
or python3 -m pip install scipy).
"""

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time

try:
    import numpy as np
    import scipy
    from scipy.integrate import solve_ivp
except ImportError as e:  # say how to get scipy instead of a bare traceback
    sys.stderr.write(
        "ode_scipy: %s: %s lacks numpy/scipy (%s).\n"
        "  Debian/Ubuntu: apt-get install python3-scipy   (then use /usr/bin/python3)\n"
        "  any Python:    %s -m pip install numpy scipy\n"
        % (sys.argv[0], sys.executable, e, sys.executable))
    sys.exit(3)


# ---- problems: the equations and reference values of ode/odetest/problems.go -----------------

def _decay(t, y):
    return [-y[0]]


def _decay_jac(t, y):
    return [[-1.0]]


def _harmonic(t, y):
    return [y[1], -y[0]]


def _harmonic_jac(t, y):
    return [[0.0, 1.0], [-1.0, 0.0]]


def _a3(t, y):
    return [y[0] * math.cos(t)]


def _a3_jac(t, y):
    return [[math.cos(t)]]


_MU = 1000.0


def _vdp(t, y):
    y1, y2 = y
    return [y2, _MU * (1 - y1 * y1) * y2 - y1]


def _vdp_jac(t, y):
    y1, y2 = y
    return np.array([[0.0, 1.0], [-2 * _MU * y1 * y2 - 1, _MU * (1 - y1 * y1)]])


def _rober(t, y):
    y1, y2, y3 = y
    a = -0.04 * y1 + 1e4 * y2 * y3
    c = 3e7 * y2 * y2
    return [a, -a - c, c]


def _rober_jac(t, y):
    y1, y2, y3 = y
    return np.array([[-0.04, 1e4 * y3, 1e4 * y2],
                     [0.04, -1e4 * y3 - 6e7 * y2, -1e4 * y2],
                     [0.0, 6e7 * y2, 0.0]])


# name: (f, jac, t0, t1, y0, want, floor, stiff). Names are those of odetest (Problem.Name).
PROBLEMS = {
    "exponential decay": (_decay, _decay_jac, 0.0, 5.0, [1.0], [math.exp(-5.0)], 1e-300, False),
    "harmonic oscillator": (_harmonic, _harmonic_jac, 0.0, 10.0, [1.0, 0.0],
                            [math.cos(10.0), -math.sin(10.0)], 1.0, False),
    "Enright-Pryce A3": (_a3, _a3_jac, 0.0, 20.0, [1.0], [math.exp(math.sin(20.0))], 1e-300, False),
    # Test Set for IVP Solvers (Mazzia & Magherini, Bari, release 2.4), VDPOLM and ROBER.
    "Van der Pol mu=1000": (_vdp, _vdp_jac, 0.0, 2000.0, [2.0, 0.0],
                            [0.1706167732170469e+01, -0.8928097010248125e-03], 1e-300, True),
    "Robertson": (_rober, _rober_jac, 0.0, 1e11, [1.0, 0.0, 0.0],
                  [0.2083340149701255e-07, 0.8333360770334713e-13, 0.9999999791665050e+00],
                  1e-300, True),
}

NONSTIFF_METHODS = ["RK45", "DOP853"]
STIFF_METHODS = ["Radau", "BDF", "LSODA"]


def error(y, want, floor):
    """odetest.Problem.Error: the largest error relative to max(|want_i|, floor)."""
    e = 0.0
    for yi, wi in zip(y, want):
        if yi is None:
            return math.inf
        d = abs(yi - wi) / max(abs(wi), floor)
        if math.isnan(d):
            return math.inf
        e = max(e, d)
    return e


def _finite(x):
    """x, or None (JSON null, as odebench writes) when it is not finite."""
    return x if math.isfinite(x) else None


def measure(name, method, rtol, atol, min_time, min_repeats):
    f, jac, t0, t1, y0, want, floor, stiff = PROBLEMS[name]
    kw = dict(method=method, rtol=rtol, atol=atol)
    if stiff:
        kw["jac"] = jac

    def solve():
        return solve_ivp(f, (t0, t1), y0, **kw)

    sol = solve()  # warm-up; every solve does the same work
    y = [_finite(float(v)) for v in sol.y[:, -1]]
    rec = dict(tool="scipy", problem=name, method=method, rtol=rtol, atol=atol,
               steps=len(sol.t) - 1, rejected=None, nfev=int(sol.nfev), njev=int(sol.njev),
               nlu=int(sol.nlu), error=_finite(error(y, want, floor)), y=y, want=want, floor=floor,
               t0=t0, t1=t1, y0=y0, status="ok" if sol.success else sol.message)
    if not sol.success:
        rec.update(solves=0, median_s=None, min_s=None)
        return rec
    times = []
    total = 0.0
    while len(times) < min_repeats or total < min_time:
        start = time.perf_counter()
        solve()
        d = time.perf_counter() - start
        times.append(d)
        total += d
    rec.update(solves=len(times), median_s=statistics.median(times), min_s=min(times))
    return rec


def parse_tols(s):
    out = []
    for part in s.split(","):
        r, sep, a = part.strip().partition("/")
        if not sep:
            raise SystemExit("ode_scipy: --tols: %r is not rtol/atol" % part)
        try:
            rt, at = float(r), float(a)
        except ValueError:
            raise SystemExit("ode_scipy: --tols: %r is not rtol/atol" % part)
        if not (rt > 0 and at > 0 and math.isfinite(rt) and math.isfinite(at)):
            raise SystemExit("ode_scipy: --tols: %r: tolerances must be positive and finite" % part)
        out.append((rt, at))
    return out


def read_doppel(path):
    """Doppel's records, checked against PROBLEMS, in the order of the file."""
    out = []
    with open(path) as fh:
        for line in fh:
            line = line.strip()
            if not line or not line.startswith("{"):
                continue
            r = json.loads(line)
            p = PROBLEMS.get(r["problem"])
            if p is None:
                raise SystemExit("ode_scipy: %s: problem %r is not defined here" % (path, r["problem"]))
            _, _, t0, t1, y0, want, floor, _ = p
            if (r["t0"], r["t1"], r["y0"], r["floor"]) != (t0, t1, y0, floor) or \
                    any(abs(a - b) > 1e-15 * max(abs(b), 1e-300) for a, b in zip(r["want"], want)):
                raise SystemExit("ode_scipy: %s: problem %r differs between odetest and this script "
                                 "(t0, t1, y0, floor or reference value)" % (path, r["problem"]))
            if r["error"] is None:
                r["error"] = math.inf  # odebench writes null for +Inf
            out.append(r)
    return out


def fmt_time(s):
    if s is None or math.isnan(s):
        return "-"
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return "%.3g %s" % (s / scale, unit)
    return "%.3g ns" % (s * 1e9)


def fmt_ratio(x):
    return "%.0f" % x if x >= 10 else "%.2g" % x


def table(rows, doppel):
    """Print Doppel and SciPy side by side, grouped by problem and tolerances.

    Besides the ratio at the same tolerances, each SciPy row gets the ratio of its time to
    that of the fastest Doppel solve (among all of doppel, at any tolerances) whose error is
    no larger than SciPy's: the speed ratio at equal or better accuracy.
    """
    print("%-20s %-11s %-6s %-7s %10s %12s %18s %7s %6s %6s %6s %8s %9s" % (
        "problem", "rtol/atol", "tool", "method", "time/solve", "scipy/doppel", "same-error ratio",
        "steps", "nfev", "njev", "nlu", "us/nfev", "error"))
    same = {(d["problem"], d["rtol"], d["atol"]): d for d in doppel}
    groups = {}
    for r in rows:
        groups.setdefault((r["problem"], r["rtol"], r["atol"]), []).append(r)
    for key, rs in groups.items():
        d = same.get(key)
        lines = ([d] if d else []) + rs
        base = d["median_s"] if d and d["status"] == "ok" else None
        for i, r in enumerate(lines):
            ok = r["status"] == "ok"
            t = r["median_s"]
            err = math.inf if r["error"] is None else r["error"]
            ratio, matched = "", ""
            if r["tool"] == "scipy" and ok:
                ratio = fmt_ratio(t / base) if base else "-"
                better = [x for x in doppel if x["problem"] == key[0] and x["status"] == "ok"
                          and x["error"] <= err]
                if better:
                    b = min(better, key=lambda x: x["median_s"])
                    matched = "%s @%g/%g" % (fmt_ratio(t / b["median_s"]), b["rtol"], b["atol"])
                elif doppel:
                    matched = "none as accurate"
            per = "%.3g" % (t / r["nfev"] * 1e6) if ok and r["nfev"] else "-"
            print("%-20s %-11s %-6s %-7s %10s %12s %18s %7d %6d %6d %6d %8s %9.2g%s" % (
                key[0] if i == 0 else "", "%g/%g" % key[1:] if i == 0 else "", r["tool"],
                r["method"], fmt_time(t), ratio, matched, r["steps"], r["nfev"], r["njev"],
                r["nlu"], per, err, "" if ok else "  " + r["status"]))
        if not d and doppel:
            print("%-20s %-11s %-6s (no Doppel result at these tolerances)" % ("", "", "doppel"))
    print("""
time/solve: median wall time of one solve (Doppel: build the integrator + Integrate, Go;
  SciPy: one solve_ivp call, with f and the Jacobian in Python, which its users pay).
scipy/doppel: SciPy's time / Doppel's at the same rtol/atol.
same-error ratio: SciPy's time / the fastest Doppel solve with an error no larger than SciPy's,
  at the Doppel tolerances shown (from all tolerances Doppel was run at).
steps: accepted steps (SciPy: len(sol.t) - 1; solve_ivp does not count rejected ones).
nfev, njev, nlu: evaluations of f (Doppel: including the one per Rodas4 step for df/dt) and of
  the Jacobian, LU factorizations. us/nfev: time/solve / nfev, all overheads included.
error: max_i |y_i - want_i| / max(|want_i|, floor) at the end time (odetest.Problem.Error).""")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tols", default="1e-6/1e-9,1e-8/1e-10", help="comma-separated rtol/atol pairs")
    ap.add_argument("--min-time", type=float, default=0.5, help="least seconds spent timing each case")
    ap.add_argument("--min-repeats", type=int, default=3, help="least number of timed solves per case")
    ap.add_argument("--problems", default="", help="comma-separated problem names (default: all)")
    ap.add_argument("--doppel", help="JSON lines from go run ./bench/odebench")
    ap.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    a = ap.parse_args()
    if a.min_time <= 0 or a.min_repeats < 1:
        ap.error("--min-time must be positive and --min-repeats at least 1")
    tols = parse_tols(a.tols)
    names = list(PROBLEMS)
    if a.problems:
        byname = {n.lower(): n for n in PROBLEMS}  # case-insensitive, as odebench
        names = []
        for n in a.problems.split(","):
            if n.strip().lower() not in byname:
                ap.error("unknown problem %r; known: %s" % (n.strip(), ", ".join(PROBLEMS)))
            names.append(byname[n.strip().lower()])
    doppel = read_doppel(a.doppel) if a.doppel else []

    if not a.json:
        print("# Python %s, numpy %s, scipy %s, %s" % (platform.python_version(), np.__version__,
                                                       scipy.__version__, sys.executable))
    rows = []
    for name in names:
        methods = STIFF_METHODS if PROBLEMS[name][7] else NONSTIFF_METHODS
        for rt, at in tols:
            for m in methods:
                r = measure(name, m, rt, at, a.min_time, a.min_repeats)
                if a.json:
                    print(json.dumps(r), flush=True)
                rows.append(r)
    if not a.json:
        table(rows, doppel)


if __name__ == "__main__":
    main()
