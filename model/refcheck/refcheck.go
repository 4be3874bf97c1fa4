package refcheck

// Case is one reference case of a model: a published or peer-tool result
// that the model reproduces. Run computes it and compares; it does no I/O
// (the reference data are embedded in the model package).
type Case struct {
	Name        string // short identifier, e.g. "bb_24h_adult_001"
	Description string // what is computed
	Reference   string // the reference files and their origin
	Run         func() ([]Check, error)
}

// Check is one quantity of a Case compared with its reference.
type Check struct {
	Quantity string // what is compared, e.g. "BG (Gs/Vg) every minute"
	// Unit is the unit of MaxError and Tolerance: "relative" for
	// |got − ref|/max(|ref|, floor), the floor (stated in Quantity) keeping
	// values near 0 from dominating; otherwise the unit of an absolute
	// error or a count.
	Unit     string
	MaxError float64 // largest deviation from the reference (NaN fails)
	// At is the time of the largest deviation in the model's time unit
	// (t1d: min, pkpd: h), 0 when the reference has no time axis.
	At        float64
	Where     string  // where the largest deviation is, in words ("t = 72 h", "row 12 (fm 0.9, [I]/Ki 10)"); may be empty
	Tolerance float64 // the bar MaxError must not exceed
}

// Pass reports whether the check is within its tolerance; a NaN MaxError
// fails.
func (c Check) Pass() bool { return c.MaxError <= c.Tolerance }
