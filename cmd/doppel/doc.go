// Package main is the doppel command, the one binary of the Doppel
// healthcare digital-twin platform.
//
//	doppel sim FILE.yaml [--out run.csv] [--plot run.png] [--json]
//	doppel trial FILE.yaml [flags]
//	doppel validate [t1d|pkpd] [--json]
//	doppel fit FILE.yaml [--json]
//	doppel dose FILE.yaml [--json] [--plot dose.png]
//	doppel models [NAME] [--json]
//
// Exit status: 0 success; 1 the run failed (a model error, a failed
// validation case, an output file that could not be written); 2 bad input
// (a command-line usage error or an invalid scenario file). With bad input
// no output file is created.
//
// Each subcommand lives in its own file and is built by a constructor that
// commands (root.go) lists; run builds the whole command tree afresh, so
// tests drive the binary in-process.
package main
