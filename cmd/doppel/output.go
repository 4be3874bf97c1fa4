package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// outputs are files written atomically: each is written to a temporary file
// in its destination directory and renamed into place by commit, so a
// failed or interrupted run leaves no partial file behind. discard removes
// whatever was not committed; call it deferred.
type outputs struct {
	files []*pendingFile
}

type pendingFile struct {
	path string
	f    *os.File
}

// create opens a temporary file for path. Creating them all before the
// work starts also checks early that the destinations are writable.
func (o *outputs) create(path string) (io.Writer, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("cannot write %s: %w", path, err)
	}
	o.files = append(o.files, &pendingFile{path: path, f: f})
	return f, nil
}

// commit closes the temporary files and renames them to their paths.
func (o *outputs) commit() error {
	for _, p := range o.files {
		if err := p.f.Chmod(0o644); err != nil {
			return fmt.Errorf("cannot write %s: %w", p.path, err)
		}
		if err := p.f.Close(); err != nil {
			return fmt.Errorf("cannot write %s: %w", p.path, err)
		}
	}
	for i, p := range o.files {
		if err := os.Rename(p.f.Name(), p.path); err != nil {
			return fmt.Errorf("cannot write %s: %w", p.path, err)
		}
		o.files[i] = nil
	}
	o.files = nil
	return nil
}

// discard removes the temporary files not yet committed.
func (o *outputs) discard() {
	var errs []error
	for _, p := range o.files {
		if p == nil {
			continue
		}
		p.f.Close()
		if err := os.Remove(p.f.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	o.files = nil
	_ = errors.Join(errs...) // best effort: nothing more can be done
}

// progress draws a one-line progress indicator on a terminal. Its zero
// value (or one with a nil writer) draws nothing.
type progress struct {
	w     io.Writer
	label string
	total float64 // in the caller's unit
	unit  string  // for the "x of y" display, e.g. "days"
	scale float64 // divides done and total for the display
	next  float64 // next value of done at which to redraw
	start time.Time
}

func newProgress(w io.Writer, label string, total float64, unit string, scale float64) *progress {
	return &progress{w: w, label: label, total: total, unit: unit, scale: scale, start: time.Now()}
}

// update redraws the line when done has advanced by at least 1 % of total.
func (p *progress) update(done float64) {
	if p == nil || p.w == nil || done < p.next {
		return
	}
	p.next = done + p.total/100
	pct := 100 * done / p.total
	const width = 30
	bar := strings.Repeat("#", int(pct*width/100)) + strings.Repeat(".", width-int(pct*width/100))
	fmt.Fprintf(p.w, "\r%s [%s] %3.0f%% (%.0f of %.0f %s, %s)", p.label, bar, pct,
		done/p.scale, p.total/p.scale, p.unit, time.Since(p.start).Round(100*time.Millisecond))
}

// finish clears the line.
func (p *progress) finish() {
	if p == nil || p.w == nil {
		return
	}
	fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", 100))
}
