package main

import "github.com/doppelhealth/doppel/model/t1d"

// runMetrics is a placeholder until model/t1d exports ComputeMetrics.
func runMetrics(recs []t1d.Record) []metricValue { return nil }
