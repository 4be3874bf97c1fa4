package hospital

import (
	"math"
	"math/rand/v2"

	"github.com/doppelhealth/doppel/des"
)

// Event kinds of the model.
const (
	kArrival   = iota // candidate ED arrival (thinned)
	kSurge            // surge arrival; arg: surge index
	kTreatDone        // end of ED treatment; arg: patient
	kStayEnd          // end of stay in a unit; arg: patient
	kElective         // elective admissions; arg: elective index
	kCapacity         // capacity change; arg: change index
	kDay              // end of a statistics day; arg: day number
	kWindow           // the statistics window opens (end of the warm-up)
)

// Random streams of a replication, one per purpose, so that a what-if
// that changes one part of the model keeps the other draws (common random
// numbers).
const (
	sArrivals = iota
	sRouting
	sTreatment
	sStay
	sSurge
	sStart
	sTransfer
	numStreams
)

// Where a patient holds a place.
const (
	atNone = -1 // nowhere: waiting for a cubicle, or an elective waiting for a bed
	atED   = 0  // an ED cubicle; unit u is u+1
)

type patient struct {
	arr     float64 // arrival (ED or elective)
	decided float64 // end of ED treatment: the admission decision
	since   float64 // start of the stay at the current place
	tx      float64 // ED treatment time
	los     float64 // stay in the next unit
	dest    int32   // unit index, or Home
	at      int32   // atNone, atED or unit+1
	board   bool    // boarding time is counted (decision in the window)
	inWin   bool    // the stay at the current place began in the window
}

// rep is one replication.
type rep struct {
	c        *Config
	sim      *des.Sim
	r        [numStreams]*rand.Rand
	res      []*des.Resource // 0: ED cubicles; u+1: unit u
	occ      []des.Level     // occupancy of each resource
	boarders des.Level
	queue    des.Level // ED queue
	pats     []patient
	free     []int32
	w, t     float64 // statistics window [w, t]
	lamMax   float64 // thinning bound of the arrival rate
	surgeN   []int   // surge arrivals still to come
	onDay    func(day int)

	// statistics over the window, per resource
	entries  []int // stays in the window, those under way at its start included
	admits   []int // stays begun in the window
	staySum  []float64
	dayStart []float64 // integral of occupancy at the start of the current day
	daily    [][]float64

	arrivals, edStarts int
	edWaitSum          float64
	boardN, board4     int
	boardSum           float64
	cancelled          int
}

func newRep(c *Config, seed uint64, index int) *rep {
	m := &rep{c: c, w: c.Warmup, t: c.Horizon}
	for s := range m.r {
		m.r[s] = rand.New(rand.NewPCG(streamSeeds(seed, uint64(index)*numStreams+uint64(s))))
	}
	m.sim = des.New(m.handle)
	n := len(c.Units) + 1
	m.res = make([]*des.Resource, n)
	m.occ = make([]des.Level, n)
	m.res[0] = des.NewResource(c.ED.Cubicles, false)
	m.occ[0] = des.NewLevel(m.w, float64(c.ED.Cubicles))
	for u, unit := range c.Units {
		m.res[u+1] = des.NewResource(unit.Beds, false)
		m.occ[u+1] = des.NewLevel(m.w, float64(unit.Beds))
	}
	m.boarders = des.NewLevel(m.w, math.Inf(1))
	m.queue = des.NewLevel(m.w, math.Inf(1))
	m.entries = make([]int, n)
	m.admits = make([]int, n)
	m.staySum = make([]float64, n)
	m.dayStart = make([]float64, n)
	days := int(math.Ceil((m.t - m.w) / 24))
	m.daily = make([][]float64, n)
	for k := range m.daily {
		m.daily[k] = make([]float64, 0, days)
	}
	m.surgeN = make([]int, len(c.Surges))
	a := c.Arrivals
	m.lamMax = a.RatePerHour * maxOf(a.HourOfDay) * maxOf(a.DayOfWeek)
	return m
}

// streamSeeds derives the two PCG seeds of stream k from the run's seed
// with the SplitMix64 finaliser (Steele, Lea & Flood, OOPSLA 2014), so
// that the streams of neighbouring replications start at unrelated states.
func streamSeeds(seed, k uint64) (uint64, uint64) {
	const golden uint64 = 0x9e3779b97f4a7c15
	mix := func(z uint64) uint64 {
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		return z ^ z>>31
	}
	h := mix(seed + golden*mix(k+golden))
	return mix(h + golden), mix(h + golden + golden)
}

func maxOf(p []float64) float64 {
	if p == nil {
		return 1
	}
	x := 0.0
	for _, v := range p {
		x = max(x, v)
	}
	return x
}

// run simulates the replication from state s (nil: empty).
func (m *rep) run(s *State) {
	c := m.c
	if s != nil {
		m.start(s)
	}
	if m.w == 0 {
		m.openWindow(0)
	} else {
		m.sim.At(m.w, kWindow, 0)
	}
	if m.lamMax > 0 {
		m.sim.Schedule(m.r[sArrivals].ExpFloat64()/m.lamMax, kArrival, 0)
	}
	for i, sg := range c.Surges {
		m.surgeN[i] = sg.Patients
		if sg.Patients > 0 {
			m.sim.At(sg.At+m.nextSurgeGap(i, sg.At), kSurge, i)
		}
	}
	for i := range c.Electives {
		m.sim.At(m.nextElective(i, 0), kElective, i)
	}
	for i, cc := range c.CapacityChanges {
		m.sim.At(cc.At, kCapacity, i)
	}
	if m.w+24 <= m.t {
		m.sim.At(m.w+24, kDay, 0)
	}
	m.sim.RunUntil(m.t)
	// Stays still running count up to the end for Little's W (as L counts
	// them up to the end).
	for i := range m.pats {
		if p := &m.pats[i]; p.at != atNone && p.inWin {
			m.staySum[p.at] += m.t - p.since
		}
	}
	if d := len(m.daily[0]); float64(d)*24 < m.t-m.w-1e-9 {
		m.closeDay(m.t) // a last partial day
	}
}

// start puts the census of s in place at time 0.
func (m *rep) start(s *State) {
	c := m.c
	r := m.r[sStart]
	force := func(k int, x int) {
		// Admit beyond capacity if the census says so: raise, take, restore.
		cp := m.res[k].Capacity()
		m.res[k].SetCapacity(max(cp, m.res[k].Busy()+1))
		m.res[k].Request(x, 0)
		m.res[k].SetCapacity(cp)
		m.occ[k].Add(0, 1)
	}
	for _, ip := range s.Inpatients {
		p := m.newPatient(0)
		pp := &m.pats[p]
		pp.dest, pp.at, pp.since = int32(ip.Unit), int32(ip.Unit+1), -ip.Elapsed
		force(ip.Unit+1, p)
		rest := c.Units[ip.Unit].LOS.SampleAbove(r, ip.Elapsed) - ip.Elapsed
		m.sim.At(m.dischargeAt(ip.Unit, rest), kStayEnd, p)
	}
	for _, ep := range s.InTreatment {
		p := m.newEDPatient(0, nil)
		pp := &m.pats[p]
		if ep.Decided {
			pp.dest = int32(ep.Dest)
			if ep.Dest != Home {
				pp.los = c.Units[ep.Dest].LOS.Sample(m.r[sStay])
			}
		}
		pp.at, pp.since, pp.arr = atED, -ep.Elapsed, -ep.Elapsed
		force(atED, p)
		rest := c.ED.Treatment.SampleAbove(r, ep.Elapsed) - ep.Elapsed
		m.sim.At(rest, kTreatDone, p)
	}
	for _, b := range s.Boarding {
		p := m.newPatient(0)
		pp := &m.pats[p]
		pp.dest, pp.at, pp.since, pp.decided = int32(b.Unit), atED, -b.Waited, -b.Waited
		pp.los = c.Units[b.Unit].LOS.Sample(m.r[sStay])
		pp.board = -b.Waited >= m.w
		force(atED, p)
		m.boarders.Add(0, 1)
		m.requestBed(p, b.Unit)
	}
	for range s.Waiting {
		p := m.newEDPatient(0, nil)
		m.queue.Add(0, 1)
		if m.res[0].Request(p, 0) {
			m.startTreatment(p)
		}
	}
}

// openWindow counts the stays under way as entering the statistics window
// now, so that Little's law L = λW holds exactly over the window (up to
// rounding): λ counts every stay in the window and W their time in it.
// A gap then means a patient was lost or counted twice.
func (m *rep) openWindow(now float64) {
	for i := range m.pats {
		if p := &m.pats[i]; p.at != atNone && !p.inWin {
			p.inWin, p.since = true, now
			m.entries[p.at]++
		}
	}
}

func (m *rep) newPatient(now float64) int {
	var p int
	if n := len(m.free); n > 0 {
		p = int(m.free[n-1])
		m.free = m.free[:n-1]
	} else {
		m.pats = append(m.pats, patient{})
		p = len(m.pats) - 1
	}
	m.pats[p] = patient{arr: now, dest: Home, at: atNone}
	return p
}

// newEDPatient creates an ED arrival with its disposition (from mix, or the
// units' routes when nil), treatment time and stay drawn now.
func (m *rep) newEDPatient(now float64, mix []float64) int {
	p := m.newPatient(now)
	pp := &m.pats[p]
	u := m.r[sRouting].Float64()
	acc := 0.0
	for i := range m.c.Units {
		if mix != nil {
			acc += mix[i]
		} else {
			acc += m.c.Units[i].Route
		}
		if u < acc {
			pp.dest = int32(i)
			break
		}
	}
	pp.tx = m.c.ED.Treatment.Sample(m.r[sTreatment])
	if pp.dest != Home {
		pp.los = m.c.Units[pp.dest].LOS.Sample(m.r[sStay])
	}
	return p
}

func (m *rep) handle(e des.Event) {
	now := m.sim.Now()
	switch e.Kind {
	case kArrival:
		r := m.r[sArrivals]
		m.sim.Schedule(r.ExpFloat64()/m.lamMax, kArrival, 0)
		if a := m.c.Arrivals; a.HourOfDay != nil || a.DayOfWeek != nil {
			if r.Float64()*m.lamMax >= m.rate(now) {
				return // thinned out
			}
		}
		m.edArrival(now, nil)
	case kSurge:
		sg := &m.c.Surges[e.Arg]
		m.surgeN[e.Arg]--
		if m.surgeN[e.Arg] > 0 {
			m.sim.Schedule(m.nextSurgeGap(e.Arg, now), kSurge, e.Arg)
		}
		m.edArrival(now, sg.Mix)
	case kTreatDone:
		m.treatDone(e.Arg, now)
	case kStayEnd:
		m.stayEnd(e.Arg, now)
	case kElective:
		m.elective(e.Arg, now)
	case kCapacity:
		cc := m.c.CapacityChanges[e.Arg]
		k := cc.Unit + 1
		m.res[k].SetCapacity(cc.Capacity)
		m.occ[k].SetCapacity(now, float64(cc.Capacity))
		m.serve(k)
	case kWindow:
		m.openWindow(now)
	case kDay:
		m.closeDay(now)
		if now+24 <= m.t {
			m.sim.Schedule(24, kDay, e.Arg+1)
		}
		if m.onDay != nil {
			m.onDay(e.Arg)
		}
	}
}

// rate is the ED arrival rate at time t.
func (m *rep) rate(t float64) float64 {
	a := m.c.Arrivals
	how := math.Mod(m.c.StartHourOfWeek+t, 168)
	x := a.RatePerHour
	if a.HourOfDay != nil {
		x *= a.HourOfDay[int(math.Mod(how, 24))%24]
	}
	if a.DayOfWeek != nil {
		x *= a.DayOfWeek[int(how/24)%7]
	}
	return x
}

// nextSurgeGap is the gap to the next of the remaining surge arrivals,
// spread uniformly over the rest of the window: the minimum of n uniforms
// on (now, end) is now + (end−now)(1 − U^(1/n)).
func (m *rep) nextSurgeGap(i int, now float64) float64 {
	sg := m.c.Surges[i]
	n := float64(m.surgeN[i])
	return (sg.At + sg.Duration - now) * (1 - math.Pow(m.r[sSurge].Float64(), 1/n))
}

func (m *rep) edArrival(now float64, mix []float64) {
	p := m.newEDPatient(now, mix)
	if now >= m.w {
		m.arrivals++
	}
	m.queue.Add(now, 1)
	if m.res[0].Request(p, 0) {
		m.startTreatment(p)
	}
}

func (m *rep) startTreatment(p int) {
	now := m.sim.Now()
	pp := &m.pats[p]
	m.queue.Add(now, -1)
	m.occ[0].Add(now, 1)
	pp.at, pp.since, pp.inWin = atED, now, now >= m.w
	if pp.arr >= m.w {
		m.edStarts++
		m.edWaitSum += now - pp.arr
	}
	if pp.inWin {
		m.entries[0]++
		m.admits[0]++
	}
	m.sim.Schedule(pp.tx, kTreatDone, p)
}

func (m *rep) treatDone(p int, now float64) {
	pp := &m.pats[p]
	if pp.dest == Home {
		m.leave(p, now)
		return
	}
	pp.decided = now
	pp.board = now >= m.w
	m.boarders.Add(now, 1)
	m.requestBed(p, int(pp.dest))
}

// requestBed asks unit u for a bed for p, who keeps what it holds until
// the bed is granted.
func (m *rep) requestBed(p, u int) {
	m.pats[p].dest = int32(u)
	if m.res[u+1].Request(p, 0) {
		m.admit(p, u)
	}
}

// admit moves p, granted a bed in unit u, from where it was.
func (m *rep) admit(p, u int) {
	now := m.sim.Now()
	pp := &m.pats[p]
	if pp.at == atED {
		m.boarders.Add(now, -1)
		if pp.board {
			b := now - pp.decided
			m.boardN++
			m.boardSum += b
			if b > 4 {
				m.board4++
			}
		}
	}
	if pp.at != atNone {
		m.vacate(p, now)
	}
	pp = &m.pats[p] // vacate may grow m.pats through admissions it triggers
	k := u + 1
	m.occ[k].Add(now, 1)
	pp.at, pp.since, pp.inWin = int32(k), now, now >= m.w
	if pp.inWin {
		m.entries[k]++
		m.admits[k]++
	}
	m.sim.At(m.dischargeAt(u, pp.los), kStayEnd, p)
}

// vacate frees the place p holds and serves its queue.
func (m *rep) vacate(p int, now float64) {
	pp := &m.pats[p]
	k := int(pp.at)
	if pp.inWin {
		m.staySum[k] += now - pp.since
	}
	pp.at = atNone
	m.occ[k].Add(now, -1)
	m.res[k].Release()
	m.serve(k)
}

// serve hands free places of resource k to its waiters.
func (m *rep) serve(k int) {
	for x, ok := m.res[k].Next(); ok; x, ok = m.res[k].Next() {
		if k == 0 {
			m.startTreatment(x)
		} else {
			m.admit(x, k-1)
		}
	}
}

func (m *rep) leave(p int, now float64) {
	m.vacate(p, now)
	m.free = append(m.free, int32(p))
}

func (m *rep) stayEnd(p int, now float64) {
	pp := &m.pats[p]
	u := int(pp.at) - 1
	if t := m.c.Units[u].Transfer; t != nil && m.r[sTransfer].Float64() < t.P {
		pp.los = m.c.Units[t.To].LOS.Sample(m.r[sTransfer])
		m.requestBed(p, t.To)
		return
	}
	m.leave(p, now)
}

// dischargeAt is the time a stay of length los in unit u starting now
// ends, moved to the next opening of the unit's discharge window.
func (m *rep) dischargeAt(u int, los float64) float64 {
	t := m.sim.Now() + los
	unit := &m.c.Units[u]
	if unit.DischargeFrom == 0 && unit.DischargeTo == 0 {
		return t
	}
	h := math.Mod(m.c.StartHourOfWeek+t, 24)
	switch {
	case h < unit.DischargeFrom:
		return t + unit.DischargeFrom - h
	case h >= unit.DischargeTo:
		return t + 24 - h + unit.DischargeFrom
	}
	return t
}

func (m *rep) elective(i int, now float64) {
	e := &m.c.Electives[i]
	for range e.PerDay {
		p := m.newPatient(now)
		m.pats[p].los = m.c.Units[e.Unit].LOS.Sample(m.r[sStay])
		r := m.res[e.Unit+1]
		if e.CancelIfFull && (r.Busy() >= r.Capacity() || r.Waiting() > 0) {
			if now >= m.w {
				m.cancelled++
			}
			m.free = append(m.free, int32(p))
			continue
		}
		m.requestBed(p, e.Unit)
	}
	m.sim.At(m.nextElective(i, now+1e-9), kElective, i)
}

// nextElective is the first time at or after t on an elective day of e at
// its hour.
func (m *rep) nextElective(i int, t float64) float64 {
	e := &m.c.Electives[i]
	s := m.c.StartHourOfWeek
	// Day boundaries in simulation time: midnight d is at 24d − s mod 24.
	day0 := math.Floor((s + t) / 24)
	for d := day0; ; d++ {
		at := d*24 + e.Hour - s
		if at < t {
			continue
		}
		wd := int(math.Mod(d, 7))
		if e.Weekdays == nil || contains(e.Weekdays, wd) {
			return at
		}
		if d > day0+7 {
			return math.Inf(1) // no listed day (Validate prevents this)
		}
	}
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// closeDay records the mean occupancy of each resource over the day that
// ends at now.
func (m *rep) closeDay(now float64) {
	span := now - (m.w + 24*float64(len(m.daily[0])))
	for k := range m.occ {
		a := m.occ[k].Integral(now)
		m.daily[k] = append(m.daily[k], (a-m.dayStart[k])/span)
		m.dayStart[k] = a
	}
}
