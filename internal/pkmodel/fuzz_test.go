package pkmodel

import (
	"strings"
	"testing"
)

// FuzzParse feeds the four decoders (model files, dosing files, PK
// scenarios and populations) the same bytes: none may panic, and a file
// any of them accepts must give a usable value. Seeds: the test files of
// this package, with the metabolism, pd, covariates, genotype and data
// fields.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		minimal, metabolized, contract, simFile, trialFile, dataSim,
		simFile + "covariates: [{time: 18 h, weight: 50 kg}]\n",
		simFile + "genotype: {CYP2D6: \"*1/*4\"}\npgx: {CYP2D6: {fm: 0.6}}\ninhibitor: {conc: 2 uM, ki: 0.5 uM, enzyme: CYP2D6}\n",
		strings.Replace(contract, "doses:", "covariates: [{time: 24 h, crcl: 50 mL/min}]\ndoses:", 1),
		trialFile + "genotype: {CYP2D6: {\"*1/*1\": 0.7, \"*4/*4\": 0.3}}\npgx: {CYP2D6: {fm: 0.6}}\npd: {model: idr, type: I, kin: 10, kout: 0.5 1/h, imax: 0.9, ic50: 2 mg/L}\n",
	} {
		f.Add([]byte(s))
	}
	read := readFiles(map[string]string{"d.csv": dataCSV})
	f.Fuzz(func(t *testing.T, data []byte) {
		if m, err := ParseModel("m.yaml", data); err == nil && m.PK == nil {
			t.Error("model accepted without its pkpd form")
		}
		if r, err := ParseRequest("r.yaml", data, read); err == nil {
			if _, _, err := r.WithCovariates(r.Records()); err != nil {
				t.Errorf("accepted dosing file: %v", err)
			}
		}
		if s, err := ParseSim("s.yaml", data, read); err == nil && (s.Model == nil || (s.Data == nil && s.Until <= 0)) {
			t.Errorf("accepted PK scenario without model or outputs: %+v", s)
		}
		if tr, err := ParseTrial("t.yaml", data, read); err == nil {
			if tr.Subjects < 1 || tr.Model == nil {
				t.Errorf("accepted trial without subjects or model: %+v", tr)
			}
		}
	})
}
