// Package main is twinload, the load generator of bench/twin_load.sh: it
// measures a running `doppel serve --twins` the way issue 7 (item 7) states
// its scale bar: many diabetes twins fed CGM readings over MQTT in real
// time (or faster), ward patients fed vitals, and the time from a reading
// leaving the device to its forecast reaching a subscriber.
//
// Setup: -diabetes patients (ids {prefix}d{i}, device {prefix}d{i}-cgm) and
// -ward patients ({prefix}w{i}, device {prefix}w{i}-mon) with their FHIR
// Device resources, PUT in transaction Bundles of 100 patients.
//
// Load: each CGM device sends one reading every -interval of simulated time
// (5 min), each ward monitor one set of six vitals (respiratory rate, SpO2,
// blood pressure, heart rate, temperature, ACVPU) every -ward-interval
// (15 min); -speedup divides the wall time between messages, so 10,000
// devices at -speedup 1 are 33 readings/s and at -speedup 10, 333/s.
// Simulated time ends at the wall clock at the end of the run (the server
// refuses readings from the future), so it starts -duration x -speedup
// ago (at most 30 days, the server's oldest accepted reading). Devices are
// spread evenly over the interval. Messages go out with MQTT 3.1.1 QoS 1
// over -conns connections, each carrying a share of the devices and
// keeping up to 512 messages unacknowledged; without -key-file any
// connection may publish for any device (serve without --device-key-file).
// With -key-file every device has its own connection and logs in as
// itself, so -conns is ignored. With -namespace (serve's --nats-namespace)
// topics and subjects start with the namespace, and -purge-nats deletes
// that namespace's streams.
//
// Latency: the -sample first diabetes patients are followed over
// Server-Sent Events (GET /twin/{patient}/events); for each forecast event
// the latency is the time from writing the reading's PUBLISH to reading the
// event. After the last message the run waits until every sample patient
// has its last forecast (the drain time: how far the twins lag).
//
// The result is one Markdown table row: offered rate (observations/s),
// acknowledged rate, forecasts seen, p50/p99/max latency, drain time.
// Sustained means: acknowledged rate = offered rate and a drain time well
// under a second.
//
//	go run ./bench/twinload -fhir http://127.0.0.1:8080/fhir -token-file T -mqtt 127.0.0.1:1883 \
//	    -diabetes 10000 -ward 1000 -duration 60s -speedup 1
package main
