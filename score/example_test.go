package score_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/doppelhealth/doppel/score"
)

func ExampleNEWS2() {
	v := score.Vitals{RespirationRate: 22, SpO2: 93, SystolicBP: 105, Pulse: 105, ACVPU: score.Alert, Temp: 38.2}
	r, err := score.NEWS2(v)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Points, r.Total, r.Response, r.Response.Risk(), r.Response.Monitoring())
	// Output: [2 2 0 1 1 0 1] 7 emergency response high continuous
}

func ExampleTrendForecast() {
	// Pulse rising 4 beats/min per hour, all else normal: 84 beats/min now,
	// so the score leaves 0 when the pulse charts as 91 (reaches 90.5)
	// in 1.625 h.
	var series []score.Sample
	for i := range 13 {
		t := float64(i) / 2
		series = append(series, score.Sample{T: t, Vitals: score.Vitals{
			RespirationRate: 16, SpO2: 98, SystolicBP: 125, Pulse: 60 + 4*t, Temp: 37}})
	}
	c, err := score.TrendForecast(series, score.TrendOptions{Rand: rand.New(rand.NewPCG(1, 2))})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("from %v: crossing in %.3f h (80%% interval %.3f-%.3f h, probability %.2f)\n", c.From, c.Point, c.Lo, c.Hi, c.Prob)
	// Output: from routine monitoring: crossing in 1.625 h (80% interval 1.625-1.625 h, probability 1.00)
}
