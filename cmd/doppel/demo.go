package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/doppelhealth/doppel/assim/glucose"
	"github.com/doppelhealth/doppel/internal/twin"
	"github.com/doppelhealth/doppel/model/t1d"
)

// demoClock is the simulated time of doppel serve --demo: it starts at
// sim0 when the wall clock reads wall0 and runs speed times faster.
type demoClock struct {
	wall0, sim0 time.Time
	speed       float64
}

func (c demoClock) Now() time.Time {
	return c.sim0.Add(time.Duration(float64(time.Since(c.wall0)) * c.speed))
}

// wait sleeps until the clock reads t; false if ctx ended first.
func (c demoClock) wait(ctx context.Context, t time.Time) bool {
	d := time.Duration(float64(t.Sub(c.sim0))/c.speed) - time.Since(c.wall0)
	if d > 0 {
		sleep := time.NewTimer(d)
		defer sleep.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-sleep.C:
		}
	}
	return ctx.Err() == nil
}

// demoT1D are the diabetes patients of the demo (6 of the 30 of the
// UVA/Padova cohort). overdose is given 15 U by mistake 20 min into the
// run and skips the meals of its first 5 hours, so its glucose falls below
// 70 mg/dL after about 3.5 simulated hours and a hypoglycaemia alert shows
// before.
var demoT1D = []struct {
	name     string
	overdose bool
}{
	{"adult#001", true}, {"adult#002", false}, {"adolescent#001", false},
	{"adolescent#002", false}, {"child#001", false}, {"child#002", false},
}

// demoWard are the ward patients; the deteriorating one's vitals drift
// over demoDecline from normal to a NEWS2 of 11.
var demoWard = []struct{ deteriorates bool }{{false}, {false}, {true}}

const (
	demoDecline     = 2 * time.Hour    // simulated
	demoVitalsEvery = 15 * time.Minute // simulated
	demoClockFile   = "demo.clock"     // under DIR/twins: the simulated time reached
)

// demo runs doppel serve --demo: its virtual patients and their devices.
type demo struct {
	clock demoClock
	file  string // where the simulated time is kept across restarts
	setup map[string]twin.GlucoseSetup
}

func t1dID(i int) string  { return fmt.Sprintf("demo-t1d-%d", i+1) }
func wardID(i int) string { return fmt.Sprintf("demo-ward-%d", i+1) }

// newDemo builds the demo's clock (speed simulated minutes per wall
// second, resuming after the time a previous demo on dir reached, so the
// twins restored from their snapshots see time go on) and the diabetes
// twins' setups: each twin knows its patient's weight and basal rate and
// starts from the mean of the other patients of its age group.
func newDemo(dir string, speed float64) (*demo, error) {
	if !(speed > 0) || math.IsInf(speed, 0) {
		return nil, usageError(fmt.Errorf("--demo-speed %v: want simulated minutes per second > 0", speed))
	}
	d := &demo{file: filepath.Join(dir, "twins", demoClockFile), setup: map[string]twin.GlucoseSetup{}}
	now := time.Now()
	sim0 := now.UTC().Truncate(time.Minute)
	if b, err := os.ReadFile(d.file); err == nil {
		if t, err := time.Parse(time.RFC3339, strings.TrimSpace(string(b))); err == nil && t.After(sim0) {
			sim0 = t.Add(time.Hour).Truncate(time.Minute) // a gap: the old streams are lost
		}
	}
	d.clock = demoClock{wall0: now, sim0: sim0, speed: speed * 60}
	sensor, err := t1d.Sensor("Dexcom")
	if err != nil {
		return nil, err
	}
	for i, dp := range demoT1D {
		p, err := t1d.Patient(dp.name)
		if err != nil {
			return nil, err
		}
		group, _, _ := strings.Cut(dp.name, "#")
		var others []string
		for _, n := range t1d.Patients() {
			if strings.HasPrefix(n, group+"#") && n != dp.name {
				others = append(others, n)
			}
		}
		pop, err := glucose.Population(others, p.BW, p.BasalRate())
		if err != nil {
			return nil, err
		}
		d.setup[t1dID(i)] = twin.GlucoseSetup{Pop: pop, Sensor: sensor, Basal: p.BasalRate()}
	}
	return d, nil
}

// glucose is twin.Options.Glucose for the demo.
func (d *demo) glucose(patient string) (twin.GlucoseSetup, error) {
	if s, ok := d.setup[patient]; ok {
		return s, nil
	}
	return twin.DefaultGlucose()
}

// start creates the demo's Patients and Devices in the store and streams
// their data until the twins close.
func (d *demo) start(ctx context.Context, lt *liveTwins) error {
	put := func(typ, id string, res map[string]any) error {
		res["resourceType"], res["id"] = typ, id
		b, err := json.Marshal(res)
		if err == nil {
			_, err = lt.svc.Update(ctx, typ, id, b, "")
		}
		return err
	}
	patient := func(id, text string) error {
		return put("Patient", id, map[string]any{"name": []map[string]string{{"text": text}},
			"meta": map[string]any{"tag": []coding{{System: twinTagSystem, Code: "demo", Display: "virtual patient of doppel serve --demo"}}}})
	}
	dev := func(id, patient, text string) error {
		return put("Device", id, map[string]any{"patient": reference{Reference: "Patient/" + patient}, "type": concept{Text: text}})
	}
	for i, dp := range demoT1D {
		id := t1dID(i)
		if err := errorsJoin(patient(id, "Demo "+dp.name), dev(id+"-cgm", id, "CGM (simulated Dexcom)"), dev(id+"-pump", id, "insulin pump and meal log (simulated)")); err != nil {
			return err
		}
		seed := uint64(i + 1)
		lt.run("demo "+id, func(ctx context.Context) error { return d.streamT1D(ctx, lt, id, dp.name, dp.overdose, seed) })
	}
	for i, w := range demoWard {
		id := wardID(i)
		if err := errorsJoin(patient(id, fmt.Sprintf("Demo ward patient %d", i+1)), dev(id+"-monitor", id, "bedside monitor (simulated)")); err != nil {
			return err
		}
		seed := uint64(100 + i)
		lt.run("demo "+id, func(ctx context.Context) error { return d.streamWard(ctx, lt, id, w.deteriorates, seed) })
	}
	lt.run("demo clock", func(ctx context.Context) error {
		<-ctx.Done()
		return os.WriteFile(d.file, []byte(d.clock.Now().Format(time.RFC3339)+"\n"), 0o600)
	})
	return nil
}

func errorsJoin(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// demoReading is one entry of a device message.
type demoReading struct {
	Code string   `json:"code"`
	T    string   `json:"t"`
	V    *float64 `json:"v,omitempty"`
	Unit string   `json:"unit,omitempty"`
	Sys  *float64 `json:"sys,omitempty"`
	Dia  *float64 `json:"dia,omitempty"`
	C    string   `json:"c,omitempty"`
}

func num(v float64) *float64 { v = math.Round(v*10) / 10; return &v }

// send waits for the simulated time at and publishes the readings as the
// device's message (the MQTT/NATS way in: decoded, checked, resolved to
// the patient by the Device resource).
func (d *demo) send(ctx context.Context, lt *liveTwins, device string, at time.Time, rs []demoReading) bool {
	if !d.clock.wait(ctx, at) {
		return false
	}
	for i := range rs {
		rs[i].T = at.Format(time.RFC3339)
	}
	b, _ := json.Marshal(map[string]any{"device": device, "observations": rs}) // strings and numbers: cannot fail
	if err := lt.stream.PublishDevice(ctx, device, b); err != nil && ctx.Err() == nil {
		lt.logger.Warn("demo: publish failed", "err", err)
	}
	return ctx.Err() == nil
}

// streamT1D simulates a diabetes patient a day at a time (random meals,
// the basal-bolus controller, a Dexcom with its noise) and sends each CGM
// reading, meal and bolus at its simulated time.
func (d *demo) streamT1D(ctx context.Context, lt *liveTwins, id, name string, overdose bool, seed uint64) error {
	p, err := t1d.Patient(name)
	if err != nil {
		return err
	}
	sensor, err := t1d.Sensor("Dexcom")
	if err != nil {
		return err
	}
	pump, err := t1d.Pump("Insulet")
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, uint64(d.clock.sim0.Unix())))
	noise := t1d.NewNoise(sensor, rng)
	start := d.clock.sim0
	var init *t1d.PatientState
	for day := 0; ; day++ {
		ctrl, err := t1d.NewBasalBolus(p, t1d.BasalBolusOptions{})
		if err != nil {
			return err
		}
		tod := start.Sub(start.Truncate(24 * time.Hour)).Minutes()
		meals, err := t1d.RandomMeals(rng, math.Trunc(tod), 1)
		if err != nil {
			return err
		}
		cfg := t1d.Config{Patient: p, Sensor: sensor, Noise: noise, Pump: pump, Controller: ctrl, Meals: meals, Duration: 1440, Init: init}
		if overdose && day == 0 {
			cfg.Boluses = []t1d.Bolus{{T: 20, Units: 15}}
			for len(cfg.Meals) > 0 && cfg.Meals[0].T < 300 {
				cfg.Meals = cfg.Meals[1:]
			}
			meals = cfg.Meals
		}
		res, err := t1d.Simulate(cfg)
		if err != nil {
			return err
		}
		at := func(min float64) time.Time { return start.Add(time.Duration(min * float64(time.Minute))) }
		mi := 0
		for k, r := range res.Records {
			if k == 0 && day > 0 {
				continue // the last reading of the day before
			}
			carbs := 0.0 // the meals since the last reading, logged with it
			for ; mi < len(meals) && meals[mi].T <= r.T; mi++ {
				carbs += meals[mi].Carbs
			}
			if carbs > 0 && !d.send(ctx, lt, id+"-pump", at(r.T), []demoReading{{Code: "carbs", V: num(carbs), Unit: "g"}}) {
				return nil
			}
			rs := []demoReading{{Code: "cgm", V: num(r.CGM), Unit: "mg/dL"}}
			if !d.send(ctx, lt, id+"-cgm", at(r.T), rs) {
				return nil
			}
			if u := r.Bolus * sensor.SampleTime; u > 0.05 {
				if !d.send(ctx, lt, id+"-pump", at(r.T), []demoReading{{Code: "insulin", V: num(u), Unit: "[IU]"}}) {
					return nil
				}
			}
		}
		init, start = &res.Final, at(1440)
	}
}

// streamWard sends a full set of vitals every 15 simulated minutes: near
// normal with noise, or, for the deteriorating patient, drifting over
// demoDecline to RR 28, SpO2 90 %, systolic 95, HR 128, 38.6 °C.
func (d *demo) streamWard(ctx context.Context, lt *liveTwins, id string, deteriorates bool, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, uint64(d.clock.sim0.Unix())))
	for at := d.clock.sim0; ; at = at.Add(demoVitalsEvery) {
		f := 0.0
		if deteriorates {
			f = min(1, at.Sub(d.clock.sim0).Hours()/demoDecline.Hours())
		}
		n := func(base, drift, sd float64) *float64 { return num(base + drift*f + sd*rng.NormFloat64()) }
		rs := []demoReading{
			{Code: "rr", V: num(math.Round(15 + 13*f + rng.NormFloat64())), Unit: "/min"},
			{Code: "spo2", V: num(math.Min(99, math.Round(97-7*f+0.5*rng.NormFloat64()))), Unit: "%"},
			{Code: "hr", V: num(math.Round(76 + 52*f + 3*rng.NormFloat64())), Unit: "/min"},
			{Code: "bp", Sys: n(128, -33, 4), Dia: n(78, -18, 3), Unit: "mm[Hg]"},
			{Code: "temp", V: n(36.9, 1.7, 0.1), Unit: "Cel"},
			{Code: "acvpu", C: "A"},
		}
		if !d.send(ctx, lt, id+"-monitor", at, rs) {
			return nil
		}
	}
}
