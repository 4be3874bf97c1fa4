package plot_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/doppelhealth/doppel/internal/plot"
)

func ExampleWriteGlucose() {
	start := time.Date(2018, 1, 1, 6, 0, 0, 0, time.UTC)
	g := plot.Glucose{Title: "two hours"}
	for i := 0; i <= 120; i += 5 {
		g.Time = append(g.Time, start.Add(time.Duration(i)*time.Minute))
		g.CGM = append(g.CGM, 120+float64(i)/2)
	}
	g.Meals = []plot.Event{{Time: start.Add(30 * time.Minute), Amount: 40}}

	format, err := plot.FormatOf("run.svg")
	if err != nil {
		fmt.Println(err)
		return
	}
	var buf bytes.Buffer
	if err := plot.WriteGlucose(&buf, format, g); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(format, bytes.Contains(buf.Bytes(), []byte("<svg")))
	// Output: svg true
}
