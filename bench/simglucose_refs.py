#!/usr/bin/python3
"""Reference runs and timings of the peer tool simglucose, for Doppel's Go port (model/t1d).

This script is Doppel's own code. It drives simglucose (https://github.com/jxx123/simglucose,
MIT licence) through its public API only; no simglucose code is copied here or committed.
It needs a simglucose source checkout (SIMGLUCOSE_DIR or --simglucose-dir), numpy, scipy,
pandas and matplotlib (simglucose imports matplotlib at module level; nothing is plotted).

Subcommands:

  bb24h     the noise-free `bb_24h` run of /work/shared/refs/simglucose/README.md for each
            patient: start 2018-01-01 06:00, meals 07:00 45 g, 12:00 70 g, 18:00 80 g (absolute
            datetimes), BBController (target 140), Insulet pump, Navigator sensor (1-min sample)
            with noise switched off (lambda = 0, xi = 0), 24 h of 1-min steps, the loop of
            SimObj.simulate. Writes bb_24h_<name>.csv.gz.
  random    a multi-day run with the meals of RandomScenario(seed) made explicit: the scenario
            is queried minute by minute exactly as T1DSimEnv would, the non-zero meals are
            written to a companion CSV and replayed with CustomScenario (the replay is checked
            against a run with the RandomScenario itself by `verify`).
  verify    re-runs adult#001 and adolescent#001 and compares them with the shared references;
            checks that the explicit-meal replay equals a RandomScenario run.
  time      CPU and wall seconds per simulated patient-day of the bb_24h run.

simglucose's package __init__ does `from gym.envs.registration import register`. If gym is
not importable, a stub module gym.envs.registration with a no-op register() is installed in
sys.modules before simglucose is imported (equivalent to a stub file on sys.path).
"""

import argparse
import csv
import datetime as dt
import gzip
import io
import math
import os
import sys
import time
import types

START = dt.datetime(2018, 1, 1, 6, 0)
BB24H_MEALS = [(dt.datetime(2018, 1, 1, 7, 0), 45),
               (dt.datetime(2018, 1, 1, 12, 0), 70),
               (dt.datetime(2018, 1, 1, 18, 0), 80)]
REF_PATIENTS = ("adult#001", "adolescent#001")


def import_simglucose(path):
    """Puts the checkout at path on sys.path (with the gym stub if needed) and imports it."""
    if path:
        if not os.path.isfile(os.path.join(path, "simglucose", "__init__.py")):
            sys.exit("simglucose_refs: no simglucose/__init__.py under %r (SIMGLUCOSE_DIR)" % path)
        sys.path.insert(0, os.path.abspath(path))
    try:
        import gym.envs.registration  # noqa: F401
    except ImportError:
        gym = types.ModuleType("gym")
        envs = types.ModuleType("gym.envs")
        reg = types.ModuleType("gym.envs.registration")
        reg.register = lambda *args, **kwargs: None
        gym.envs, envs.registration = envs, reg
        sys.modules.update({"gym": gym, "gym.envs": envs, "gym.envs.registration": reg})
    import simglucose  # noqa: F401
    return simglucose


class Sim:
    """The simglucose classes used, imported once."""

    def __init__(self):
        import pandas as pd
        from simglucose.patient.t1dpatient import T1DPatient
        from simglucose.sensor.cgm import CGMSensor, SENSOR_PARA_FILE
        from simglucose.actuator.pump import InsulinPump
        from simglucose.controller.basal_bolus_ctrller import BBController
        from simglucose.simulation.env import T1DSimEnv
        from simglucose.simulation.scenario import CustomScenario
        from simglucose.simulation.scenario_gen import RandomScenario
        from simglucose.patient.t1dpatient import PATIENT_PARA_FILE
        self.pd = pd
        self.T1DPatient, self.CGMSensor, self.InsulinPump = T1DPatient, CGMSensor, InsulinPump
        self.BBController, self.T1DSimEnv = BBController, T1DSimEnv
        self.CustomScenario, self.RandomScenario = CustomScenario, RandomScenario
        self.sensor_params = pd.read_csv(SENSOR_PARA_FILE)
        self.patient_names = list(pd.read_csv(PATIENT_PARA_FILE).Name)

    def quiet_sensor(self, name="Navigator", seed=1):
        """The named sensor with its noise switched off (lambda = xi = 0 => noise == 0)."""
        params = self.sensor_params.loc[self.sensor_params.Name == name].squeeze().copy()
        params["lambda"] = 0.0
        params["xi"] = 0.0
        return self.CGMSensor(params, seed=seed)

    def run(self, name, scenario, minutes, sensor=None):
        """SimObj.simulate's loop; returns per-minute rows and the first `done` time (or None)."""
        env = self.T1DSimEnv(self.T1DPatient.withName(name),
                             sensor if sensor is not None else self.quiet_sensor(),
                             self.InsulinPump.withName("Insulet"), scenario)
        ctrl = self.BBController()
        ctrl.reset()
        obs, reward, done, info = env.reset()
        end = scenario.start_time + dt.timedelta(minutes=minutes)
        first_done = None
        while env.time < end:
            action = ctrl.policy(obs, reward, done, **info)
            obs, reward, done, info = env.step(action)
            if done and first_done is None:
                first_done = (env.time - scenario.start_time).total_seconds() / 60
        h = env.show_history()
        rows = []
        for i in range(len(h)):
            rows.append((i, float(h.BG.iloc[i]), float(h.CGM.iloc[i]),
                         float(h.CHO.iloc[i]), float(h.insulin.iloc[i])))
        return rows, first_done

    def bb24h(self, name):
        return self.run(name, self.CustomScenario(start_time=START, scenario=BB24H_MEALS), 1440)

    def random_meals(self, seed, minutes):
        """The meals a T1DSimEnv would get from RandomScenario(seed) over [START, START+minutes)."""
        sc = self.RandomScenario(start_time=START, seed=seed)
        sc.reset()  # what env.reset() does
        meals = []
        for m in range(minutes):
            g = sc.get_action(START + dt.timedelta(minutes=m)).meal
            if g > 0:
                meals.append((m, g))
        return meals

    def replay(self, name, meals, minutes):
        sc = self.CustomScenario(start_time=START, scenario=[
            (START + dt.timedelta(minutes=m), g) for m, g in meals])
        return self.run(name, sc, minutes)


def fmt(x):
    """10 significant digits, as pandas to_csv(float_format='%.10g'); NaN as an empty field."""
    if isinstance(x, (int, str)):
        return str(x)
    if math.isnan(x):
        return ""
    return "%.10g" % x


def write_csv(path, header, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([fmt(v) for v in r])
    data = buf.getvalue().encode()
    if path.endswith(".gz"):
        with open(path, "wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as g:
            g.write(data)  # mtime 0, no name: byte-identical on re-runs
    else:
        with open(path, "wb") as f:
            f.write(data)


def read_csv(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        r = csv.reader(f)
        header = next(r)
        return header, [row for row in r]


def fname(name):
    return name.replace("#", "_")


def stats(rows):
    bg = [r[1] for r in rows]
    ins = [r[4] for r in rows if not math.isnan(r[4])]
    imin = min(range(len(bg)), key=bg.__getitem__)
    imax = max(range(len(bg)), key=bg.__getitem__)
    return dict(bg_min=bg[imin], t_min_at=imin, bg_max=bg[imax], t_max_at=imax,
                bg_mean=sum(bg) / len(bg), insulin_total=sum(ins))


HEADER = ["t_min", "BG", "CGM", "CHO", "insulin"]
SUMMARY_HEADER = ["name", "BG_min", "t_at_min", "BG_max", "t_at_max", "BG_mean",
                  "insulin_total_U", "done_first_t_min"]


def summary_row(name, rows, first_done):
    s = stats(rows)
    return [name, s["bg_min"], s["t_min_at"], s["bg_max"], s["t_max_at"], s["bg_mean"],
            s["insulin_total"], "" if first_done is None else int(first_done)]


def cmd_bb24h(sim, args):
    names = args.patients or sim.patient_names
    os.makedirs(args.out, exist_ok=True)
    summary = []
    for name in names:
        rows, first_done = sim.bb24h(name)
        write_csv(os.path.join(args.out, "bb_24h_%s.csv.gz" % fname(name)), HEADER, rows)
        summary.append(summary_row(name, rows, first_done))
        print("%-15s BG %8.3f .. %8.3f  done=%s" % (name, summary[-1][1], summary[-1][3],
                                                      first_done), flush=True)
    if not args.patients:
        write_csv(os.path.join(args.out, "bb_24h_summary.csv"), SUMMARY_HEADER, summary)


def cmd_random(sim, args):
    minutes = int(args.days * 1440)
    os.makedirs(args.out, exist_ok=True)
    meals = sim.random_meals(args.seed, minutes)
    tag = "random_%dd_seed%d" % (args.days, args.seed)
    write_csv(os.path.join(args.out, tag + "_meals.csv"), ["t_min", "CHO_g"], meals)
    print("meals (t_min, g):", meals)
    summary = []
    for name in args.patients:
        rows, first_done = sim.replay(name, meals, minutes)
        write_csv(os.path.join(args.out, "%s_%s.csv.gz" % (tag, fname(name))), HEADER, rows)
        summary.append(summary_row(name, rows, first_done))
        print("%-15s BG %8.3f .. %8.3f  done=%s" % (name, summary[-1][1], summary[-1][3],
                                                      first_done), flush=True)
    write_csv(os.path.join(args.out, tag + "_summary.csv"), SUMMARY_HEADER, summary)


def cmd_verify(sim, args):
    ok = True
    for name in REF_PATIENTS:
        ref_path = os.path.join(args.refs, "bb_24h_%s.csv" % fname(name))
        header, ref = read_csv(ref_path)
        rows, _ = sim.bb24h(name)
        if len(ref) != len(rows):
            print("%s: %d rows, reference has %d" % (name, len(rows), len(ref)))
            ok = False
            continue
        for col in ("t_min", "BG", "CGM", "CHO", "insulin"):
            j, k = header.index(col), HEADER.index(col)
            raw = text = 0.0
            same_text = 0
            for r, row in zip(ref, rows):
                if r[j] == "":  # NaN on the last row
                    same_text += math.isnan(row[k])
                    continue
                v = float(r[j])
                raw = max(raw, abs(row[k] - v))
                text = max(text, abs(float(fmt(row[k])) - v))
                same_text += fmt(row[k]) == r[j]
            print("%-15s %-8s max|raw-ref| %.3g  max|10-digit text - ref| %.3g  "
                  "identical fields %d/%d" % (name, col, raw, text, same_text, len(ref)))
            ok = ok and text == 0 and same_text == len(ref)
    # Explicit-meal replay == RandomScenario run.
    minutes = int(args.days * 1440)
    meals = sim.random_meals(args.seed, minutes)
    name = args.replay_patient
    a, _ = sim.replay(name, meals, minutes)
    sc = sim.RandomScenario(start_time=START, seed=args.seed)
    b, _ = sim.run(name, sc, minutes)
    diff = max(abs(x - y) for ra, rb in zip(a, b) for x, y in zip(ra, rb)
               if not (math.isnan(x) and math.isnan(y)))
    print("replay vs RandomScenario(seed=%d), %s, %g days: %d meals, max|diff| %.3g"
          % (args.seed, name, args.days, len(meals), diff))
    ok = ok and diff == 0 and len(a) == len(b)
    print("verify:", "OK" if ok else "MISMATCH")
    return 0 if ok else 1


def cmd_time(sim, args):
    """CPU (time.process_time) and wall seconds for N runs of the bb_24h scenario."""
    names = args.patients or ["adult#001"]
    sim.bb24h(names[0])  # warm-up: imports, CSV reads, scipy set-up
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for i in range(args.n):
        sim.bb24h(names[i % len(names)])
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    print("simglucose bb_24h: %d patient-days (%s): CPU %.2f s, wall %.2f s" %
          (args.n, ",".join(names), cpu, wall))
    print("SIMGLUCOSE_CPU_S_PER_DAY=%.4f" % (cpu / args.n))
    print("SIMGLUCOSE_WALL_S_PER_DAY=%.4f" % (wall / args.n))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--simglucose-dir", default=os.environ.get("SIMGLUCOSE_DIR"),
                   help="simglucose source checkout (default $SIMGLUCOSE_DIR)")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("bb24h")
    s.add_argument("--out", required=True)
    s.add_argument("--patients", nargs="*", help="default: all 30 (also writes the summary)")
    s = sub.add_parser("random")
    s.add_argument("--out", required=True)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--days", type=int, default=3)
    s.add_argument("--patients", nargs="+", required=True)
    s = sub.add_parser("verify")
    s.add_argument("--refs", default="/work/shared/refs/simglucose")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--days", type=float, default=1)
    s.add_argument("--replay-patient", default="child#001")
    s = sub.add_parser("time")
    s.add_argument("-n", type=int, default=5, help="patient-days to time")
    s.add_argument("--patients", nargs="*", help="cycled through; default adult#001")
    args = p.parse_args()
    import_simglucose(args.simglucose_dir)
    sim = Sim()
    return {"bb24h": cmd_bb24h, "random": cmd_random, "verify": cmd_verify,
            "time": cmd_time}[args.cmd](sim, args) or 0


if __name__ == "__main__":
    sys.exit(main())
