package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/doppelhealth/doppel/internal/pkmodel"
)

// pkModelList describes the population PK models of the library for
// `doppel models`.
func pkModelList() []modelInfo {
	var out []modelInfo
	for _, name := range pkmodel.Names() {
		m, err := pkmodel.Library(name)
		if err != nil {
			continue // TestLibraryDecodes keeps the library valid
		}
		out = append(out, modelInfo{
			Name:    name,
			Summary: "population PK (doppel fit, doppel dose): " + m.Title,
			detail:  func() (any, error) { return pkDetail(m), nil },
			print:   func(w io.Writer, d any) error { return printPK(w, d.(*pkInfo)) },
		})
	}
	return out
}

// pkInfo describes a library PK model.
type pkInfo struct {
	Name         string         `json:"name"`
	Title        string         `json:"title"`
	Drug         string         `json:"drug"`
	Citation     string         `json:"citation"`
	DOI          string         `json:"doi"`
	Source       string         `json:"source,omitempty"`
	Compartments int            `json:"compartments"`
	Route        string         `json:"route"`
	Units        string         `json:"units"`
	Parameters   []pkParamInfo  `json:"parameters"`
	Covariates   []pkCovInfo    `json:"covariates"`
	IIV          []string       `json:"iiv_parameters"`
	Omega        [][]float64    `json:"omega"`
	CVConvention string         `json:"cv_convention,omitempty"`
	Residual     pkResidualInfo `json:"residual"`
	// Metabolism lists the clearance pathways ("CYP2D6: fm 0.6, reference
	// activity 2") and PD the PD model, when the model file declares them.
	Metabolism []string `json:"metabolism,omitempty"`
	PD         string   `json:"pd,omitempty"`
	Notes      string   `json:"notes,omitempty"`
}

type pkParamInfo struct {
	Name    string  `json:"name"`
	Typical float64 `json:"typical"`
	Unit    string  `json:"unit"`
	Doc     string  `json:"doc,omitempty"`
}

type pkCovInfo struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Unit        string   `json:"unit,omitempty"`
	Min         *float64 `json:"min,omitempty"`
	Max         *float64 `json:"max,omitempty"`
	Description string   `json:"description,omitempty"`
	Effects     []string `json:"effects"`
}

type pkResidualInfo struct {
	Model        string  `json:"model"`
	Additive     float64 `json:"additive_mg_L"`
	Proportional float64 `json:"proportional"`
}

func pkDetail(m *pkmodel.Model) *pkInfo {
	route := "iv"
	if m.Oral {
		route = "oral"
	}
	info := &pkInfo{
		Name: m.Name, Title: m.Title, Drug: m.Drug, Citation: m.Citation.Reference, DOI: m.Citation.DOI, Source: m.Citation.Source,
		Compartments: m.Compartments, Route: route,
		Units: "amounts mg, volumes L, clearances L/h, KA 1/h, concentrations mg/L, times h; covariates as listed",
		IIV:   m.IIVNames, Omega: m.Omega, CVConvention: m.CVConvention,
		Residual: pkResidualInfo{m.Residual.Model.String(), m.Residual.Add, m.Residual.Prop},
		Notes:    m.Notes,
	}
	for _, p := range m.Params {
		info.Parameters = append(info.Parameters, pkParamInfo{p.Name, p.Value, p.Unit, p.Doc})
	}
	if m.F != 1 {
		info.Parameters = append(info.Parameters, pkParamInfo{"F", m.F, "1", "bioavailable fraction of doses into the dose compartment"})
	}
	if m.ALAG != 0 {
		info.Parameters = append(info.Parameters, pkParamInfo{"ALAG", m.ALAG, "h", "lag time of doses into the dose compartment"})
	}
	for _, p := range m.Metabolism {
		info.Metabolism = append(info.Metabolism, fmt.Sprintf("%s: fm %g, reference activity score %g", p.Gene, p.Fm, p.RefActivity))
	}
	if m.PD != nil {
		info.PD = pdName(m.PD)
	}
	for _, c := range m.Covariates {
		ci := pkCovInfo{Name: c.Name, Type: "continuous", Unit: c.Unit, Description: c.Description}
		if c.Boolean {
			ci.Type = "boolean"
		}
		if !math.IsNaN(c.Min) {
			ci.Min = &c.Min
		}
		if !math.IsNaN(c.Max) {
			ci.Max = &c.Max
		}
		for _, e := range c.Effects {
			var s string
			switch e.Kind {
			case "power":
				s = fmt.Sprintf("%s × (%s/%g %s)^%g", e.Param, c.Name, e.Ref, c.Unit, e.Theta)
			case "exponential":
				s = fmt.Sprintf("%s × exp(%g·(%s − %g %s))", e.Param, e.Theta, c.Name, e.Ref, c.Unit)
			case "factor":
				s = fmt.Sprintf("%s × %g when %s", e.Param, e.Theta, c.Name)
			}
			ci.Effects = append(ci.Effects, s)
		}
		info.Covariates = append(info.Covariates, ci)
	}
	return info
}

func printPK(w io.Writer, m *pkInfo) error {
	num := func(v float64) string { return fmt.Sprintf("%.6g", v) }
	section := func(title string) { fmt.Fprintf(w, "\n%s\n%s\n", title, strings.Repeat("-", len(title))) }
	fmt.Fprintf(w, "%s: %s\nDrug: %s; %d-compartment, %s; units: %s\n", m.Name, m.Title, m.Drug, m.Compartments, m.Route, m.Units)

	section("Parameters (typical values at the covariates' references)")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPICAL\tUNIT\tDESCRIPTION")
	for _, p := range m.Parameters {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, num(p.Typical), p.Unit, p.Doc)
	}
	tw.Flush()

	if len(m.Covariates) > 0 {
		section("Covariates (patient: in dosing files)")
		for _, c := range m.Covariates {
			kind := c.Unit
			if c.Type == "boolean" {
				kind = "true/false"
			}
			clamp := ""
			if c.Min != nil {
				clamp += fmt.Sprintf(", at least %s %s", num(*c.Min), c.Unit)
			}
			if c.Max != nil {
				clamp += fmt.Sprintf(", capped at %s %s", num(*c.Max), c.Unit)
			}
			fmt.Fprintf(w, "%s (%s%s): %s\n", c.Name, kind, clamp, c.Description)
			for _, e := range c.Effects {
				fmt.Fprintf(w, "    %s\n", e)
			}
		}
	}

	section("Inter-individual variability (P = TV·exp(η), η ~ N(0, Ω))")
	conv := map[string]string{"lognormal": "ω² = ln(CV² + 1) from the published %CV", "approximate": "ω² = CV² from the published %CV", "": "Ω as published"}[m.CVConvention]
	fmt.Fprintf(w, "%s\n", conv)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Ω\t%s\n", strings.Join(m.IIV, "\t"))
	for i, row := range m.Omega {
		var cells []string
		for _, v := range row {
			cells = append(cells, num(v))
		}
		fmt.Fprintf(tw, "%s\t%s\n", m.IIV[i], strings.Join(cells, "\t"))
	}
	tw.Flush()

	section("Residual error (variance = additive² + (proportional·f)²)")
	fmt.Fprintf(w, "%s: additive %s mg/L, proportional %s %%\n", m.Residual.Model, num(m.Residual.Additive), num(100*m.Residual.Proportional))

	if len(m.Metabolism) > 0 {
		section("Metabolism (fraction of CL per enzyme, for genotype and inhibitors)")
		for _, p := range m.Metabolism {
			fmt.Fprintln(w, p)
		}
	}
	if m.PD != "" {
		section("PD")
		fmt.Fprintln(w, m.PD)
	}

	section("Citation")
	fmt.Fprintf(w, "%s doi:%s\n", m.Citation, m.DOI)
	if m.Source != "" {
		fmt.Fprintf(w, "Source: %s\n", m.Source)
	}
	if m.Notes != "" {
		fmt.Fprintf(w, "\nNotes: %s\n", m.Notes)
	}
	return nil
}
