package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/doppelhealth/doppel/internal/scenario"
	"github.com/doppelhealth/doppel/model/t1d"
)

// modelInfo is a model doppel can run.
type modelInfo struct {
	Name    string
	Summary string
	detail  func() (any, error)            // the full description, for JSON
	print   func(w io.Writer, d any) error // the same as text
}

func modelList() []modelInfo {
	return append([]modelInfo{{
		Name:    "t1d",
		Summary: "UVA/Padova S2008 type-1 diabetes glucose-insulin model as in simglucose v0.2.11: 30 virtual patients, CGM sensors, insulin pumps, controllers",
		detail:  func() (any, error) { return t1dDetail() },
		print:   func(w io.Writer, d any) error { return printT1D(w, d.(*t1dInfo)) },
	}}, pkModelList()...) // population PK models: pkmodels.go
}

func newModelsCmd(e *env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "models [NAME]",
		Short: "List models, their parameters, units and citations",
		Long: `Models lists the models doppel can simulate. With a model NAME it prints the
model in full: parameters with units and descriptions, states, virtual
patients, sensors, pumps, controllers with their scenario settings, and the
sources the model and its parameters come from.`,
		Example: `  doppel models
  doppel models t1d
  doppel models t1d --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			list := modelList()
			if len(args) == 0 {
				if asJSON {
					type entry struct {
						Name    string `json:"name"`
						Summary string `json:"summary"`
					}
					var out []entry
					for _, m := range list {
						out = append(out, entry{m.Name, m.Summary})
					}
					return writeJSON(e.stdout, out)
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "MODEL\tDESCRIPTION")
				for _, m := range list {
					fmt.Fprintf(tw, "%s\t%s\n", m.Name, m.Summary)
				}
				tw.Flush()
				fmt.Fprintln(e.stdout, "\nRun 'doppel models NAME' for parameters, patients, devices and citations.")
				return nil
			}
			var names []string
			for _, m := range list {
				names = append(names, m.Name)
				if m.Name != args[0] {
					continue
				}
				d, err := m.detail()
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(e.stdout, d)
				}
				return m.print(e.stdout, d)
			}
			return usageError(fmt.Errorf("unknown model %q; valid: %s", args[0], strings.Join(names, ", ")))
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return c
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// t1dInfo describes model/t1d.
type t1dInfo struct {
	Name        string                    `json:"name"`
	Summary     string                    `json:"summary"`
	Units       string                    `json:"units"`
	Parameters  []t1d.ParamInfo           `json:"parameters"`
	States      []t1d.StateInfo           `json:"states"`
	Patients    []patientInfo             `json:"patients"`
	Sensors     []t1d.SensorParams        `json:"sensors"`
	Pumps       []t1d.PumpParams          `json:"pumps"`
	Controllers []scenario.ControllerSpec `json:"controllers"`
	Citations   []string                  `json:"citations"`
}

type patientInfo struct {
	Name  string  `json:"name"`
	Age   float64 `json:"age_years"`
	BW    float64 `json:"body_weight_kg"`
	Basal float64 `json:"basal_U_per_h"`
	CR    float64 `json:"carb_ratio_g_per_U"`
	CF    float64 `json:"correction_factor_mg_dL_per_U"`
	TDI   float64 `json:"total_daily_insulin_U"`
	BG0   float64 `json:"initial_BG_mg_dL"`
}

func t1dDetail() (*t1dInfo, error) {
	info := &t1dInfo{
		Name:        "t1d",
		Summary:     modelList()[0].Summary,
		Units:       "time min; glucose mg/dL; insulin U/min (U/h in scenario basal rates); carbohydrate g (meals) or g/min (rates)",
		Parameters:  t1d.ParamInfos(),
		States:      t1d.StateInfos(),
		Controllers: scenario.T1D().Controllers,
		Citations:   t1d.Citations(),
	}
	for _, name := range t1d.Patients() {
		p, err := t1d.Patient(name)
		if err != nil {
			return nil, err
		}
		info.Patients = append(info.Patients, patientInfo{
			Name: p.Name, Age: p.Age, BW: p.BW, Basal: 60 * p.BasalRate(), CR: p.CR, CF: p.CF, TDI: p.TDI, BG0: p.X0[12] / p.Vg,
		})
	}
	for _, name := range t1d.Sensors() {
		s, err := t1d.Sensor(name)
		if err != nil {
			return nil, err
		}
		info.Sensors = append(info.Sensors, s)
	}
	for _, name := range t1d.Pumps() {
		p, err := t1d.Pump(name)
		if err != nil {
			return nil, err
		}
		info.Pumps = append(info.Pumps, p)
	}
	return info, nil
}

func printT1D(w io.Writer, m *t1dInfo) error {
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	section := func(title string) { fmt.Fprintf(w, "\n%s\n%s\n", title, strings.Repeat("-", len(title))) }
	fmt.Fprintf(w, "%s: %s\nUnits: %s\n", m.Name, m.Summary, m.Units)

	section("Parameters (per virtual patient)")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCSV COLUMN\tUNIT\tDESCRIPTION")
	for _, p := range m.Parameters {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, p.Column, p.Unit, p.Description)
	}
	tw.Flush()

	section("States")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tNAME\tUNIT\tDESCRIPTION")
	for i, s := range m.States {
		fmt.Fprintf(tw, "x%d\t%s\t%s\t%s\n", i, s.Name, s.Unit, s.Description)
	}
	tw.Flush()

	section("Virtual patients")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "NAME\tAGE (y)\tWEIGHT (kg)\tBASAL (U/h)\tCR (g/U)\tCF (mg/dL/U)\tTDI (U/day)\tINITIAL BG (mg/dL)\t")
	for _, p := range m.Patients {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.4f\t%s\t%s\t%s\t%.2f\t\n", p.Name, num(p.Age), num(p.BW), p.Basal, num(p.CR), num(p.CF), num(p.TDI), p.BG0)
	}
	tw.Flush()

	section("CGM sensors (Breton & Kovatchev 2008 noise: Johnson SU + AR(1))")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSAMPLE TIME (min)\tRANGE (mg/dL)\tPACF\tJOHNSON SU (xi, lambda, gamma, delta)")
	for _, s := range m.Sensors {
		fmt.Fprintf(tw, "%s\t%s\t%s-%s\t%s\t%s, %s, %s, %s\n", s.Name, num(s.SampleTime), num(s.Min), num(s.Max), num(s.PACF),
			num(s.Xi), num(s.Lambda), num(s.Gamma), num(s.Delta))
	}
	tw.Flush()

	section("Insulin pumps")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tBOLUS (U/min)\tBASAL (U/min)\tINCREMENT (pmol/min, bolus/basal)")
	for _, p := range m.Pumps {
		fmt.Fprintf(tw, "%s\t%s-%s\t%s-%s\t%s / %s\n", p.Name, num(p.MinBolus), num(p.MaxBolus), num(p.MinBasal), num(p.MaxBasal), num(p.IncBolus), num(p.IncBasal))
	}
	tw.Flush()

	section("Controllers (scenario 'controller:' names and settings)")
	for _, c := range m.Controllers {
		fmt.Fprintf(w, "%s: %s\n", c.Name, c.Doc)
		for _, s := range c.Settings {
			unit := s.Unit
			if unit == "" {
				unit = "×"
			}
			fmt.Fprintf(w, "    %-12s default %s %s, range %s-%s: %s\n", s.Name, num(s.Default), unit, num(s.Min), num(s.Max), s.Doc)
		}
	}

	section("Citations")
	for i, c := range m.Citations {
		fmt.Fprintf(w, "[%d] %s\n", i+1, c)
	}
	return nil
}
