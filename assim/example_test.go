package assim_test

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/doppelhealth/doppel/assim"
)

// A linear-Gaussian model, where the MAP estimate and the Laplace
// covariance are exact: two random effects with prior N(0, Ω), three
// observations f(η) = Aη + b with additive error SD 0.5. The closed form is
// Cov = (AᵀA/σ² + Ω⁻¹)⁻¹ and η̂ = Cov Aᵀ(y − b)/σ².
func ExampleMAP() {
	a := mat.NewDense(3, 2, []float64{
		1, 0,
		1, 1,
		0, 2,
	})
	b := []float64{10, 10, 10}
	prob := assim.Problem{
		Omega: mat.NewSymDense(2, []float64{
			1.0, 0.3,
			0.3, 0.5,
		}),
		Y: []float64{10.8, 11.5, 10.1},
		Predict: func(dst, eta []float64) error {
			for i := range dst {
				dst[i] = a.At(i, 0)*eta[0] + a.At(i, 1)*eta[1] + b[i]
			}
			return nil
		},
		Error: assim.ResidualError{Add: 0.5},
	}
	res, err := assim.MAP(prob, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("eta  = [%.4f %.4f]\n", res.Eta[0], res.Eta[1])
	fmt.Printf("SE   = [%.4f %.4f]\n", res.SE[0], res.SE[1])
	fmt.Printf("corr = %.4f\n", res.Cov.At(0, 1)/(res.SE[0]*res.SE[1]))
	fmt.Printf("converged from %d starts: %v\n", len(res.Starts), res.Converged)

	// The closed form, for comparison.
	var prec, oinv, cov mat.Dense
	prec.Mul(a.T(), a)
	prec.Scale(1/0.25, &prec)
	_ = oinv.Inverse(prob.Omega)
	prec.Add(&prec, &oinv)
	_ = cov.Inverse(&prec)
	r := mat.NewVecDense(3, []float64{0.8, 1.5, 0.1}) // y − b
	var atr, eta mat.VecDense
	atr.MulVec(a.T(), r)
	atr.ScaleVec(1/0.25, &atr)
	eta.MulVec(&cov, &atr)
	fmt.Printf("exact: eta = [%.4f %.4f], SE = [%.4f %.4f]\n",
		eta.AtVec(0), eta.AtVec(1), math.Sqrt(cov.At(0, 0)), math.Sqrt(cov.At(1, 1)))
	// Output:
	// eta  = [0.9389 0.1663]
	// SE   = [0.3382 0.2168]
	// corr = -0.2272
	// converged from 5 starts: true
	// exact: eta = [0.9389 0.1663], SE = [0.3382 0.2168]
}
