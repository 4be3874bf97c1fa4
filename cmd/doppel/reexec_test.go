package main

import (
	"os"
	"testing"
)

// reexecEnv, set to 1 in the environment of a process started from the
// test binary, makes that process run doppel's main with its arguments
// instead of the tests. Tests that must kill a real server process (see
// durability_test.go) start it this way.
const reexecEnv = "DOPPEL_TEST_REEXEC"

func TestMain(m *testing.M) {
	if os.Getenv(reexecEnv) == "1" {
		main() // exits
	}
	os.Exit(m.Run())
}
