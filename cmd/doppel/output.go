package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
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
// createEach creates a pending file for every non-empty path, in order, and
// returns their writers (nil for an empty path). A failure is a run failure
// (exit 1); files already created are discarded with the rest.
func (o *outputs) createEach(paths ...string) ([]io.Writer, error) {
	ws := make([]io.Writer, len(paths))
	for i, p := range paths {
		if p == "" {
			continue
		}
		w, err := o.create(p)
		if err != nil {
			return nil, &exitError{exitFailure, err}
		}
		ws[i] = w
	}
	return ws, nil
}

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

// outDir is an output directory written in full or not at all: files go to
// a temporary directory beside it, renamed into place by commit.
type outDir struct {
	path, tmp string
}

// newOutDir checks that path can be (re)placed and creates the temporary
// directory. An existing path must be a directory that is empty or holds
// only files of an earlier trial: regular files named in known. An empty
// path (no --out) gives a nil *outDir, which writes nothing.
func newOutDir(path string, known []string) (*outDir, error) {
	if path == "" {
		return nil, nil
	}
	path = filepath.Clean(path)
	if entries, err := os.ReadDir(path); err == nil {
		for _, e := range entries {
			if !slices.Contains(known, e.Name()) || !e.Type().IsRegular() {
				return nil, usageError(fmt.Errorf("--out %s: the directory exists and holds %s, which doppel trial did not write; choose another directory or remove it", path, e.Name()))
			}
		}
	} else if fi, serr := os.Stat(path); serr == nil && !fi.IsDir() {
		return nil, usageError(fmt.Errorf("--out %s: exists and is not a directory", path))
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("--out %s: %w", path, err)
	}
	parent := filepath.Dir(path)
	if _, err := os.Stat(parent); err != nil {
		return nil, usageError(fmt.Errorf("--out %s: %w", path, err))
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("--out %s: %w", path, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("--out %s: %w", path, err)
	}
	return &outDir{path: path, tmp: tmp}, nil
}

// save writes the files with write into the temporary directory and
// commits them. On a nil d it does nothing.
func (d *outDir) save(write func(*outDir) error) error {
	if d == nil {
		return nil
	}
	if err := write(d); err != nil {
		return err
	}
	return d.commit()
}

// write creates the file name in the temporary directory and writes it
// with f. The file must not exist yet.
func (d *outDir) write(name string, f func(io.Writer) error) error {
	fh, err := os.OpenFile(filepath.Join(d.tmp, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if err := f(fh); err != nil {
		fh.Close()
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return fh.Close()
}

// commit puts the temporary directory in place of path, replacing an
// earlier trial's output if there is one.
func (d *outDir) commit() error {
	old := ""
	if _, err := os.Stat(d.path); err == nil {
		old = d.tmp + ".old"
		if err := os.Rename(d.path, old); err != nil {
			return fmt.Errorf("--out %s: %w", d.path, err)
		}
	}
	if err := os.Rename(d.tmp, d.path); err != nil {
		if old != "" {
			os.Rename(old, d.path) // put the earlier output back
		}
		return fmt.Errorf("--out %s: %w", d.path, err)
	}
	d.tmp = ""
	if old != "" {
		os.RemoveAll(old)
	}
	return nil
}

// discard removes the temporary directory if it was not committed.
func (d *outDir) discard() {
	if d != nil && d.tmp != "" {
		os.RemoveAll(d.tmp)
		d.tmp = ""
	}
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
