package ode

import "math"

// DOP853 is the adaptive explicit Runge-Kutta method of Dormand and Prince of
// order 8, with error estimates of orders 5 and 3 combined for step-size
// control (12 stages, FSAL: 12 evaluations of f per step), a continuous
// extension of order 7 for dense output (3 more evaluations per step that
// needs it) and event location. See Hairer, Nørsett, Wanner, Solving ODEs I,
// 2nd ed., Springer 1993, §II.10; the error estimator, the controller and
// the continuous extension are those of Hairer's DOP853 code described there.
//
// At tight tolerances (RelTol below about 1e-7) it takes far fewer steps
// than DoPri5 for the same accuracy; at loose ones DoPri5 is cheaper.
//
// Its stability interval on the negative real axis is about [-6.1, 0] in
// h·λ. Beyond it, on a mildly stiff problem whose fast mode has decayed
// (an emptied depot compartment), its error estimator can miss the growth
// of that mode, and the error can exceed the tolerance hundreds of times
// (400 times seen at RelTol 1e-10, where DoPri5 stays within it): when the
// largest rate λmax of the problem is known, bound Settings.MaxStep by about
// 5/λmax, or use Rodas4.
//
// Every call of Integrate or Solve is a restart: it chooses its first step by
// Settings.InitialStep or Hairer's heuristic and carries nothing over from
// earlier calls, so its result depends only on its arguments and Settings.
// After construction, calls allocate nothing. A DOP853 is not safe for
// concurrent use; build one per goroutine. Its zero value is not usable;
// build it with NewDOP853.
type DOP853 struct {
	adaptive
	k    [16][]float64 // stages; k[0] is f(t, y), k[12] is f at the end of the step, k[13:] the extra stages of the continuous extension
	r    [8][]float64  // dense output
	told float64       // start of the last accepted step
	h    float64       // length of the last accepted step
}

// NewDOP853 returns a DOP853 integrator for an n-dimensional system. Invalid
// Settings are reported, naming the field, by every call of Integrate and
// Solve. It panics if f is nil or n < 1 (programmer errors).
func NewDOP853(f Func, n int, s Settings) *DOP853 {
	d := &DOP853{}
	buf := d.setup(d, "DOP853", 8, 1.01, f, n, s, 24*n)
	for i := range d.k {
		d.k[i] = buf.next(n)
	}
	for i := range d.r {
		d.r[i] = buf.next(n)
	}
	return d
}

// Step-size controller of DOP853 (Hairer's code, with its default
// parameters: no PI stabilisation).
const (
	d8Safe   = 0.9   // safety factor
	d8FacMin = 0.333 // smallest ratio hnew/h
	d8FacMax = 6.0   // largest ratio hnew/h
)

// Coefficients of DOP853 (Hairer, Nørsett, Wanner, Solving ODEs I, §II.10,
// as published with Hairer's DOP853 code), indexed from 1 like the book:
// d8aI_J is a_ij.
const (
	// Nodes c_i of the stages (c_1 = 0, c_12 = c_13 = 1; c_14..c_16 are the
	// extra stages of the continuous extension).
	d8c2  = 0.526001519587677318785587544488e-01
	d8c3  = 0.789002279381515978178381316732e-01
	d8c4  = 0.118350341907227396726757197510
	d8c5  = 0.281649658092772603273242802490
	d8c6  = 0.333333333333333333333333333333
	d8c7  = 0.25
	d8c8  = 0.307692307692307692307692307692
	d8c9  = 0.651282051282051282051282051282
	d8c10 = 0.6
	d8c11 = 0.857142857142857142857142857142
	d8c14 = 0.1
	d8c15 = 0.2
	d8c16 = 0.777777777777777777777777777778

	// Coupling coefficients a_ij, stage i from the stages j < i.
	d8a2_1   = 5.26001519587677318785587544488e-2
	d8a3_1   = 1.97250569845378994544595329183e-2
	d8a3_2   = 5.91751709536136983633785987549e-2
	d8a4_1   = 2.95875854768068491816892993775e-2
	d8a4_3   = 8.87627564304205475450678981324e-2
	d8a5_1   = 2.41365134159266685502369798665e-1
	d8a5_3   = -8.84549479328286085344864962717e-1
	d8a5_4   = 9.24834003261792003115737966543e-1
	d8a6_1   = 3.7037037037037037037037037037e-2
	d8a6_4   = 1.70828608729473871279604482173e-1
	d8a6_5   = 1.25467687566822425016691814123e-1
	d8a7_1   = 3.7109375e-2
	d8a7_4   = 1.70252211019544039314978060272e-1
	d8a7_5   = 6.02165389804559606850219397283e-2
	d8a7_6   = -1.7578125e-2
	d8a8_1   = 3.70920001185047927108779319836e-2
	d8a8_4   = 1.70383925712239993810214054705e-1
	d8a8_5   = 1.07262030446373284651809199168e-1
	d8a8_6   = -1.53194377486244017527936158236e-2
	d8a8_7   = 8.27378916381402288758473766002e-3
	d8a9_1   = 6.24110958716075717114429577812e-1
	d8a9_4   = -3.36089262944694129406857109825
	d8a9_5   = -8.68219346841726006818189891453e-1
	d8a9_6   = 2.75920996994467083049415600797e1
	d8a9_7   = 2.01540675504778934086186788979e1
	d8a9_8   = -4.34898841810699588477366255144e1
	d8a10_1  = 4.77662536438264365890433908527e-1
	d8a10_4  = -2.48811461997166764192642586468
	d8a10_5  = -5.90290826836842996371446475743e-1
	d8a10_6  = 2.12300514481811942347288949897e1
	d8a10_7  = 1.52792336328824235832596922938e1
	d8a10_8  = -3.32882109689848629194453265587e1
	d8a10_9  = -2.03312017085086261358222928593e-2
	d8a11_1  = -9.3714243008598732571704021658e-1
	d8a11_4  = 5.18637242884406370830023853209
	d8a11_5  = 1.09143734899672957818500254654
	d8a11_6  = -8.14978701074692612513997267357
	d8a11_7  = -1.85200656599969598641566180701e1
	d8a11_8  = 2.27394870993505042818970056734e1
	d8a11_9  = 2.49360555267965238987089396762
	d8a11_10 = -3.0467644718982195003823669022
	d8a12_1  = 2.27331014751653820792359768449
	d8a12_4  = -1.05344954667372501984066689879e1
	d8a12_5  = -2.00087205822486249909675718444
	d8a12_6  = -1.79589318631187989172765950534e1
	d8a12_7  = 2.79488845294199600508499808837e1
	d8a12_8  = -2.85899827713502369474065508674
	d8a12_9  = -8.87285693353062954433549289258
	d8a12_10 = 1.23605671757943030647266201528e1
	d8a12_11 = 6.43392746015763530355970484046e-1
	d8a14_1  = 5.61675022830479523392909219681e-2
	d8a14_7  = 2.53500210216624811088794765333e-1
	d8a14_8  = -2.46239037470802489917441475441e-1
	d8a14_9  = -1.24191423263816360469010140626e-1
	d8a14_10 = 1.5329179827876569731206322685e-1
	d8a14_11 = 8.20105229563468988491666602057e-3
	d8a14_12 = 7.56789766054569976138603589584e-3
	d8a14_13 = -8.298e-3
	d8a15_1  = 3.18346481635021405060768473261e-2
	d8a15_6  = 2.83009096723667755288322961402e-2
	d8a15_7  = 5.35419883074385676223797384372e-2
	d8a15_8  = -5.49237485713909884646569340306e-2
	d8a15_11 = -1.08347328697249322858509316994e-4
	d8a15_12 = 3.82571090835658412954920192323e-4
	d8a15_13 = -3.40465008687404560802977114492e-4
	d8a15_14 = 1.41312443674632500278074618366e-1
	d8a16_1  = -4.28896301583791923408573538692e-1
	d8a16_6  = -4.69762141536116384314449447206
	d8a16_7  = 7.68342119606259904184240953878
	d8a16_8  = 4.06898981839711007970213554331
	d8a16_9  = 3.56727187455281109270669543021e-1
	d8a16_13 = -1.39902416515901462129418009734e-3
	d8a16_14 = 2.9475147891527723389556272149
	d8a16_15 = -9.15095847217987001081870187138

	// Weights b_j of the solution of order 8.
	d8b1  = 5.42937341165687622380535766363e-2
	d8b6  = 4.45031289275240888144113950566
	d8b7  = 1.89151789931450038304281599044
	d8b8  = -5.8012039600105847814672114227
	d8b9  = 3.1116436695781989440891606237e-1
	d8b10 = -1.52160949662516078556178806805e-1
	d8b11 = 2.01365400804030348374776537501e-1
	d8b12 = 4.47106157277725905176885569043e-2

	// Weights of the embedded solution of order 3 (b_j - bhh_j gives the
	// third-order error estimate).
	d8bhh1  = 0.244094488188976377952755905512
	d8bhh9  = 0.733846688281611857341361741547
	d8bhh12 = 0.220588235294117647058823529412e-1

	// Error estimate of order 5: the difference between the solution of
	// order 8 and an embedded one of order 5.
	d8e1  = 0.1312004499419488073250102996e-1
	d8e6  = -0.1225156446376204440720569753e1
	d8e7  = -0.4957589496572501915214079952
	d8e8  = 0.1664377182454986536961530415e1
	d8e9  = -0.3503288487499736816886487290
	d8e10 = 0.3341791187130174790297318841
	d8e11 = 0.8192320648511571246570742613e-1
	d8e12 = -0.2235530786388629525884427845e-1

	// Continuous extension of order 7: the coefficients d_4j..d_7j of its
	// last four polynomial terms.
	d8d4_1  = -0.84289382761090128651353491142e1
	d8d4_6  = 0.56671495351937776962531783590
	d8d4_7  = -0.30689499459498916912797304727e1
	d8d4_8  = 0.23846676565120698287728149680e1
	d8d4_9  = 0.21170345824450282767155149946e1
	d8d4_10 = -0.87139158377797299206789907490
	d8d4_11 = 0.22404374302607882758541771650e1
	d8d4_12 = 0.63157877876946881815570249290
	d8d4_13 = -0.88990336451333310820698117400e-1
	d8d4_14 = 0.18148505520854727256656404962e2
	d8d4_15 = -0.91946323924783554000451984436e1
	d8d4_16 = -0.44360363875948939664310572000e1
	d8d5_1  = 0.10427508642579134603413151009e2
	d8d5_6  = 0.24228349177525818288430175319e3
	d8d5_7  = 0.16520045171727028198505394887e3
	d8d5_8  = -0.37454675472269020279518312152e3
	d8d5_9  = -0.22113666853125306036270938578e2
	d8d5_10 = 0.77334326684722638389603898808e1
	d8d5_11 = -0.30674084731089398182061213626e2
	d8d5_12 = -0.93321305264302278729567221706e1
	d8d5_13 = 0.15697238121770843886131091075e2
	d8d5_14 = -0.31139403219565177677282850411e2
	d8d5_15 = -0.93529243588444783865713862664e1
	d8d5_16 = 0.35816841486394083752465898540e2
	d8d6_1  = 0.19985053242002433820987653617e2
	d8d6_6  = -0.38703730874935176555105901742e3
	d8d6_7  = -0.18917813819516756882830838328e3
	d8d6_8  = 0.52780815920542364900561016686e3
	d8d6_9  = -0.11573902539959630126141871134e2
	d8d6_10 = 0.68812326946963000169666922661e1
	d8d6_11 = -0.10006050966910838403183860980e1
	d8d6_12 = 0.77771377980534432092869265740
	d8d6_13 = -0.27782057523535084065932004339e1
	d8d6_14 = -0.60196695231264120758267380846e2
	d8d6_15 = 0.84320405506677161018159903784e2
	d8d6_16 = 0.11992291136182789328035130030e2
	d8d7_1  = -0.25693933462703749003312586129e2
	d8d7_6  = -0.15418974869023643374053993627e3
	d8d7_7  = -0.23152937917604549567536039109e3
	d8d7_8  = 0.35763911791061412378285349910e3
	d8d7_9  = 0.93405324183624310003907691704e2
	d8d7_10 = -0.37458323136451633156875139351e2
	d8d7_11 = 0.10409964950896230045147246184e3
	d8d7_12 = 0.29840293426660503123344363579e2
	d8d7_13 = -0.43533456590011143754432175058e2
	d8d7_14 = 0.96324553959188282948394950600e2
	d8d7_15 = -0.39177261675615439165231486172e2
	d8d7_16 = -0.14972683625798562581422125276e3
)

func (d *DOP853) begin() []float64 { return d.k[0] }

func (d *DOP853) try(y []float64, t, tn, h float64) (errn float64, ok bool, err error) {
	n := d.n
	k1, k2, k3, k4, k5, k6, k7, k8, k9, k10, k11, k12, k13 := d.k[0][:n], d.k[1][:n], d.k[2][:n], d.k[3][:n], d.k[4][:n], d.k[5][:n], d.k[6][:n], d.k[7][:n], d.k[8][:n], d.k[9][:n], d.k[10][:n], d.k[11][:n], d.k[12][:n]
	y, ys, y1 := y[:n], d.w[:n], d.y1[:n] // start, stage argument, solution
	for i := range n {
		ys[i] = y[i] + h*(d8a2_1*k1[i])
	}
	d.f(k2, t+d8c2*h, ys)
	for i := range n {
		ys[i] = y[i] + h*(d8a3_1*k1[i]+d8a3_2*k2[i])
	}
	d.f(k3, t+d8c3*h, ys)
	for i := range n {
		ys[i] = y[i] + h*(d8a4_1*k1[i]+d8a4_3*k3[i])
	}
	d.f(k4, t+d8c4*h, ys)
	for i := range n {
		ys[i] = y[i] + h*(d8a5_1*k1[i]+d8a5_3*k3[i]+d8a5_4*k4[i])
	}
	d.f(k5, t+d8c5*h, ys)
	for i := range n {
		ys[i] = y[i] + h*(d8a6_1*k1[i]+d8a6_4*k4[i]+d8a6_5*k5[i])
	}
	d.f(k6, t+d8c6*h, ys)
	for i := range n {
		ys[i] = y[i] + h*(d8a7_1*k1[i]+d8a7_4*k4[i]+d8a7_5*k5[i]+d8a7_6*k6[i])
	}
	d.f(k7, t+d8c7*h, ys)
	for i := range n {
		ys[i] = y[i] + h*(d8a8_1*k1[i]+d8a8_4*k4[i]+d8a8_5*k5[i]+d8a8_6*k6[i]+d8a8_7*k7[i])
	}
	d.f(k8, t+d8c8*h, ys)
	for i := range n {
		ys[i] = y[i] + h*(d8a9_1*k1[i]+d8a9_4*k4[i]+d8a9_5*k5[i]+d8a9_6*k6[i]+d8a9_7*k7[i]+d8a9_8*k8[i])
	}
	d.f(k9, t+d8c9*h, ys)
	for i := range n {
		ys[i] = y[i] + h*(d8a10_1*k1[i]+d8a10_4*k4[i]+d8a10_5*k5[i]+d8a10_6*k6[i]+d8a10_7*k7[i]+d8a10_8*k8[i]+d8a10_9*k9[i])
	}
	d.f(k10, t+d8c10*h, ys)
	for i := range n {
		ys[i] = y[i] + h*(d8a11_1*k1[i]+d8a11_4*k4[i]+d8a11_5*k5[i]+d8a11_6*k6[i]+d8a11_7*k7[i]+d8a11_8*k8[i]+d8a11_9*k9[i]+d8a11_10*k10[i])
	}
	d.f(k11, t+d8c11*h, ys)
	for i := range n {
		ys[i] = y[i] + h*(d8a12_1*k1[i]+d8a12_4*k4[i]+d8a12_5*k5[i]+d8a12_6*k6[i]+d8a12_7*k7[i]+d8a12_8*k8[i]+d8a12_9*k9[i]+d8a12_10*k10[i]+d8a12_11*k11[i])
	}
	d.f(k12, tn, ys)
	for i := range n {
		y1[i] = y[i] + h*(d8b1*k1[i]+d8b6*k6[i]+d8b7*k7[i]+d8b8*k8[i]+d8b9*k9[i]+d8b10*k10[i]+d8b11*k11[i]+d8b12*k12[i])
	}
	d.f(k13, tn, y1)
	var err5, err3 float64
	atol, rtol := d.set.atol[:n], d.set.rtol
	for i := range n {
		sk := atol[i] + rtol*math.Max(math.Abs(y[i]), math.Abs(y1[i]))
		e5 := (d8e1*k1[i] + d8e6*k6[i] + d8e7*k7[i] + d8e8*k8[i] + d8e9*k9[i] + d8e10*k10[i] + d8e11*k11[i] + d8e12*k12[i]) / sk
		e3 := ((d8b1-d8bhh1)*k1[i] + d8b6*k6[i] + d8b7*k7[i] + d8b8*k8[i] + (d8b9-d8bhh9)*k9[i] + d8b10*k10[i] + d8b11*k11[i] + (d8b12-d8bhh12)*k12[i]) / sk
		err5 += e5 * e5
		err3 += e3 * e3
	}
	d.st.Evals += 12
	// Hairer's combination of the two estimates: of order 8 asymptotically,
	// but as cautious as the order-3 one when that is the larger.
	deno := err5 + 0.01*err3
	if deno <= 0 {
		deno = 1
	}
	errn = math.Abs(h) * err5 * math.Sqrt(1/(float64(n)*deno))
	if math.IsNaN(errn) {
		errn = math.Inf(1)
	}
	return errn, true, nil
}

// fac11 is errn^(1/8), by three square roots.
func d8fac11(errn float64) float64 { return math.Sqrt(math.Sqrt(math.Sqrt(errn))) }

func (d *DOP853) shrink(h, errn float64) float64 {
	return h / math.Min(1/d8FacMin, d8fac11(errn)/d8Safe)
}

func (d *DOP853) accept(y []float64, t, h, errn float64, dense bool) float64 {
	fac := math.Max(1/d8FacMax, math.Min(1/d8FacMin, d8fac11(errn)/d8Safe))
	if dense {
		d.prepareDense(y, t, h)
	}
	d.k[0], d.k[12] = d.k[12], d.k[0] // FSAL: f(tn, y1) is the next step's first stage
	return h / fac
}

// prepareDense computes the coefficients of the continuous extension of the
// accepted step from (t, y) of length h, before y is overwritten. It costs
// three evaluations of f.
func (d *DOP853) prepareDense(y []float64, t, h float64) {
	n := d.n
	k1, k6, k7, k8, k9, k10, k11, k12, k13, k14, k15, k16 := d.k[0][:n], d.k[5][:n], d.k[6][:n], d.k[7][:n], d.k[8][:n], d.k[9][:n], d.k[10][:n], d.k[11][:n], d.k[12][:n], d.k[13][:n], d.k[14][:n], d.k[15][:n]
	r1, r2, r3, r4, r5, r6, r7, r8 := d.r[0][:n], d.r[1][:n], d.r[2][:n], d.r[3][:n], d.r[4][:n], d.r[5][:n], d.r[6][:n], d.r[7][:n]
	y, ys, y1 := y[:n], d.w[:n], d.y1[:n]
	for i := range n {
		diff := y1[i] - y[i]
		bspl := h*k1[i] - diff
		r1[i], r2[i], r3[i] = y[i], diff, bspl
		r4[i] = diff - h*k13[i] - bspl
		r5[i] = d8d4_1*k1[i] + d8d4_6*k6[i] + d8d4_7*k7[i] + d8d4_8*k8[i] + d8d4_9*k9[i] + d8d4_10*k10[i] + d8d4_11*k11[i] + d8d4_12*k12[i] + d8d4_13*k13[i]
		r6[i] = d8d5_1*k1[i] + d8d5_6*k6[i] + d8d5_7*k7[i] + d8d5_8*k8[i] + d8d5_9*k9[i] + d8d5_10*k10[i] + d8d5_11*k11[i] + d8d5_12*k12[i] + d8d5_13*k13[i]
		r7[i] = d8d6_1*k1[i] + d8d6_6*k6[i] + d8d6_7*k7[i] + d8d6_8*k8[i] + d8d6_9*k9[i] + d8d6_10*k10[i] + d8d6_11*k11[i] + d8d6_12*k12[i] + d8d6_13*k13[i]
		r8[i] = d8d7_1*k1[i] + d8d7_6*k6[i] + d8d7_7*k7[i] + d8d7_8*k8[i] + d8d7_9*k9[i] + d8d7_10*k10[i] + d8d7_11*k11[i] + d8d7_12*k12[i] + d8d7_13*k13[i]
	}
	for i := range n {
		ys[i] = y[i] + h*(d8a14_1*k1[i]+d8a14_7*k7[i]+d8a14_8*k8[i]+d8a14_9*k9[i]+d8a14_10*k10[i]+d8a14_11*k11[i]+d8a14_12*k12[i]+d8a14_13*k13[i])
	}
	d.f(k14, t+d8c14*h, ys)
	for i := range n {
		ys[i] = y[i] + h*(d8a15_1*k1[i]+d8a15_6*k6[i]+d8a15_7*k7[i]+d8a15_8*k8[i]+d8a15_11*k11[i]+d8a15_12*k12[i]+d8a15_13*k13[i]+d8a15_14*k14[i])
	}
	d.f(k15, t+d8c15*h, ys)
	for i := range n {
		ys[i] = y[i] + h*(d8a16_1*k1[i]+d8a16_6*k6[i]+d8a16_7*k7[i]+d8a16_8*k8[i]+d8a16_9*k9[i]+d8a16_13*k13[i]+d8a16_14*k14[i]+d8a16_15*k15[i])
	}
	d.f(k16, t+d8c16*h, ys)
	for i := range n {
		r5[i] = h * (r5[i] + d8d4_14*k14[i] + d8d4_15*k15[i] + d8d4_16*k16[i])
		r6[i] = h * (r6[i] + d8d5_14*k14[i] + d8d5_15*k15[i] + d8d5_16*k16[i])
		r7[i] = h * (r7[i] + d8d6_14*k14[i] + d8d6_15*k15[i] + d8d6_16*k16[i])
		r8[i] = h * (r8[i] + d8d7_14*k14[i] + d8d7_15*k15[i] + d8d7_16*k16[i])
	}
	d.st.Evals += 3
	d.told, d.h = t, h
}

// interpolate evaluates the continuous extension of the last accepted step.
func (d *DOP853) interpolate(dst []float64, t float64) {
	s := (t - d.told) / d.h
	s1 := 1 - s
	n := len(dst)
	r1, r2, r3, r4, r5, r6, r7, r8 := d.r[0][:n], d.r[1][:n], d.r[2][:n], d.r[3][:n], d.r[4][:n], d.r[5][:n], d.r[6][:n], d.r[7][:n]
	for i := range dst {
		p := r5[i] + s*(r6[i]+s1*(r7[i]+s*r8[i]))
		dst[i] = r1[i] + s*(r2[i]+s1*(r3[i]+s*(r4[i]+s1*p)))
	}
}
