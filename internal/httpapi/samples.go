package httpapi

import "net/http"

// samples serves GET /fhir/Patient/{patient}/$samples (Options.Series):
// the device time series of one code of a patient as a searchset Bundle
// of Observations (fhirops.Service.Samples). It is authorized as a search
// of Observation in the patient's compartment.
func (s *Server) samples(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	q.Del("_format")
	b, err := s.svc.Samples(r.Context(), s.opts.Series, r.PathValue("patient"), q, s.base(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}
