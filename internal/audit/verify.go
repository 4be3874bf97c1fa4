package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/store"
)

// Problem kinds a verification reports.
const (
	Missing    = "missing"     // no record with this number (a row was deleted)
	Deleted    = "deleted"     // the record was deleted through the store
	Corrupt    = "corrupt"     // its bytes no longer match the store's content hash
	Modified   = "modified"    // it has more than one version (updated through the store)
	Misplaced  = "misplaced"   // it holds another number's record (rows moved or swapped)
	Edited     = "edited"      // its content does not hash to the hash it carries
	BrokenLink = "broken-link" // its previous hash is not the hash of the record before it
	Truncated  = "truncated"   // the head file names a later or different last record
	Foreign    = "foreign"     // AuditEvents outside the chain (not audit-N); Seq is the first number after the chain
)

// maxGap is how many numbers in a row may be missing before Verify decides
// that the AuditEvents it has not accounted for are not part of the chain.
const maxGap = 1024

// Problem is one finding of Verify: the sequence number and what is wrong.
type Problem struct {
	Seq  int64
	Kind string
}

func (p Problem) String() string { return "seq " + strconv.FormatInt(p.Seq, 10) + ": " + p.Kind }

// Report is the result of Verify.
type Report struct {
	Records  int64  // records found and checked
	Last     int64  // highest sequence number found
	LastHash string // its hash as stored
	Problems []Problem
}

// OK reports whether the chain is intact.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// Verify walks the chain from sequence number 1 and reports every record
// that is missing, deleted, corrupt, modified, misplaced, edited or badly
// linked, and a head file that names a record the store no longer has.
// An error means the walk could not be done (the store failed), not that
// the chain is broken.
func (l *Log) Verify(ctx context.Context) (Report, error) {
	var rep Report
	page, err := l.st.History(ctx, store.HistoryQuery{Type: resourceType, Count: 1})
	if err != nil && !errors.Is(err, store.ErrCorrupt) {
		return rep, fmt.Errorf("audit: verify: %w", err)
	}
	total := int64(page.Total) // versions of AuditEvents in the store
	headSeq, headHash, haveHead, err := readHead(l.opts.HeadFile)
	if err != nil {
		return rep, err
	}
	var seen int64    // versions accounted for
	prev := genesis   // stored hash of the previous record
	prevKnown := true // whether prev is known (the previous record was read)
	var found int64   // highest number that exists in any form
walk:
	for seq := int64(1); seen < total || (haveHead && seq <= headSeq); seq++ {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		bad := func(kind string) { rep.Problems = append(rep.Problems, Problem{seq, kind}) }
		v, err := l.st.Read(ctx, resourceType, ID(seq))
		if !errors.Is(err, store.ErrNotFound) {
			found = seq
		}
		switch {
		case errors.Is(err, store.ErrNotFound):
			if seen >= total { // past the end of what the store holds
				break walk
			}
			if seq-found > maxGap && (!haveHead || seq > headSeq) {
				// The versions not accounted for are AuditEvents with other
				// ids: drop the gap reported so far and say so once.
				rep.Problems = slices.DeleteFunc(rep.Problems, func(p Problem) bool { return p.Seq > found })
				rep.Problems = append(rep.Problems, Problem{found + 1, Foreign})
				break walk
			}
			bad(Missing)
			prevKnown = false
			continue
		case errors.Is(err, store.ErrDeleted):
			seen += v.VersionID
			bad(Deleted)
			prevKnown = false
			continue
		case errors.Is(err, store.ErrCorrupt):
			seen++ // at least one version exists
			bad(Corrupt)
			prevKnown = false
			continue
		case err != nil:
			return rep, fmt.Errorf("audit: verify: %w", err)
		}
		seen += v.VersionID
		rep.Records++
		if v.VersionID != 1 {
			bad(Modified)
		}
		r, perr := fhir.Parse(v.Body)
		var gotSeq int64
		var gotPrev, gotHash string
		ok := perr == nil
		if ok {
			gotSeq, gotPrev, gotHash, ok = chain(r.Tree)
		}
		if !ok || gotSeq != seq {
			bad(Misplaced)
			prevKnown = false
			continue
		}
		if h, err := link(gotPrev, canonical(r.Tree)); err != nil || h != gotHash {
			bad(Edited)
		}
		if prevKnown && gotPrev != prev {
			bad(BrokenLink)
		}
		prev, prevKnown = gotHash, true
		rep.Last, rep.LastHash = seq, gotHash
	}
	// The head file is written after each commit, so the store may be one
	// batch ahead of it after a crash; it is never behind.
	switch {
	case !haveHead:
	case rep.Last < headSeq:
		rep.Problems = append(rep.Problems, Problem{rep.Last + 1, Truncated})
	case rep.Last == headSeq && rep.LastHash != headHash && rep.OK():
		rep.Problems = append(rep.Problems, Problem{headSeq, Truncated})
	}
	return rep, nil
}
