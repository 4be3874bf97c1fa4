package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/doppelhealth/doppel/internal/scenario"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the run failed
	exitUsage   = 2 // bad input: command line or scenario file
)

// env is what every command is given: where to write, and whether stderr is
// a terminal (progress bars are drawn only there).
type env struct {
	stdout, stderr io.Writer
	tty            bool
}

// commands returns the subcommands of doppel, one constructor per file.
// A new subcommand adds its constructor here (trial.go: newTrialCmd).
func commands(e *env) []*cobra.Command {
	return []*cobra.Command{
		newSimCmd(e),
		newValidateCmd(e),
		newModelsCmd(e),
		newTrialCmd(e),
		newFitCmd(e),
		newDoseCmd(e),
		newImportCmd(e),
		newHospitalCmd(e),
		newServeCmd(e),
		newAuditCmd(e),
		newExportCmd(e),
		newTokenCmd(e),
	}
}

// run executes doppel with args (without the program name) and returns the
// process exit code. It holds no state between calls.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr, tty: isTerminal(stderr)}
	root := newRootCmd(e)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitUsage // errors cobra raises itself: unknown command, wrong arguments
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
		err = ee.err
	}
	var se *scenario.Error
	if errors.As(err, &se) {
		fmt.Fprintln(stderr, se) // file:line: field: message, as compilers do
	} else {
		fmt.Fprintln(stderr, "doppel:", err)
	}
	if code == exitUsage && se == nil {
		fmt.Fprintf(stderr, "Run 'doppel %s --help' for usage.\n", subcommand(root, args))
	}
	return code
}

// subcommand names the subcommand args select, for the usage hint.
func subcommand(root *cobra.Command, args []string) string {
	c, _, err := root.Find(args)
	if err != nil || c == root {
		return ""
	}
	return c.Name()
}

func newRootCmd(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "doppel",
		Short: "Doppel: healthcare digital twins",
		Long: `Doppel simulates mechanistic models of patients ("digital twins").

It ships the UVA/Padova S2008 type-1 diabetes model with the 30 virtual
patients of simglucose, CGM sensors, insulin pumps and controllers.

Exit status: 0 success, 1 the run failed, 2 bad input (usage or scenario file).`,
		Example: `  doppel sim examples/adult001_day.yaml --out run.csv --plot run.png
  doppel trial examples/trial_bb_vs_pid.yaml
  doppel validate
  doppel models t1d`,
		Version:       version(),
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	root.CompletionOptions.DisableDefaultCmd = true
	for _, c := range commands(e) {
		if c.RunE != nil {
			c.RunE = markFailures(c.RunE)
		}
		root.AddCommand(c)
	}
	return root
}

// exitError carries the exit code of an error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks err as bad input (exit 2).
func usageError(err error) error { return &exitError{exitUsage, err} }

// markFailures makes errors of a command's RunE exit with 1 unless they are
// marked already or are scenario errors (bad input, 2).
func markFailures(f func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, args []string) error {
		err := f(c, args)
		if err == nil {
			return nil
		}
		var ee *exitError
		if errors.As(err, &ee) {
			return err
		}
		var se *scenario.Error
		if errors.As(err, &se) {
			return usageError(err)
		}
		return &exitError{exitFailure, err}
	}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// version is the module version the binary was built from.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
