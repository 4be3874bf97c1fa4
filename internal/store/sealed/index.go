package sealed

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"

	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/search"
)

// MaxPrefix is the longest prefix, in characters, of a string index value
// that is hashed: a starts-with search matches exactly up to this length.
const MaxPrefix = 24

// hash returns the keyed hash of value in role for param, 128 bits in hex.
// Keying by role and parameter keeps equal values of different parameters
// from being linked.
func (s *Store) hash(role, param, value string) string {
	m := hmac.New(sha256.New, s.mac)
	m.Write([]byte(role))
	m.Write([]byte{0})
	m.Write([]byte(param))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// hashSet hashes value unless it is empty (an absent system, say), so that
// a search for "no value" still finds it.
func (s *Store) hashSet(role, param, value string) string {
	if value == "" {
		return ""
	}
	return s.hash(role, param, value)
}

// prefixes returns the prefixes of norm of 1 to MaxPrefix characters (norm
// itself if shorter; "" for "").
func prefixes(norm string) []string {
	if norm == "" {
		return []string{""}
	}
	var out []string
	for i := range norm {
		if i > 0 {
			out = append(out, norm[:i])
			if len(out) == MaxPrefix {
				return out
			}
		}
	}
	return append(out, norm)
}

// truncate cuts norm to MaxPrefix characters.
func truncate(norm string) string {
	n := 0
	for i := range norm {
		if n == MaxPrefix {
			return norm[:i]
		}
		n++
	}
	return norm
}

// sealEntries returns the index entries with their text values hashed.
func (s *Store) sealEntries(es []search.Entry) []search.Entry {
	out := make([]search.Entry, 0, len(es))
	for _, e := range es {
		switch e.Type {
		case search.String:
			exact := s.hash("exact", e.Param, e.Text)
			for _, p := range prefixes(e.Norm) {
				out = append(out, search.Entry{Param: e.Param, Type: e.Type, Norm: s.hash("prefix", e.Param, p), Text: exact})
			}
			continue
		case search.Token:
			e.System, e.Code = s.hashSet("system", e.Param, e.System), s.hashSet("code", e.Param, e.Code)
			e.Text, e.Norm = "", ""
		case search.Reference:
			e.Text = s.hashSet("text", e.Param, e.Text)
		case search.URI:
			e.Text = s.hash("uri", e.Param, e.Text)
		}
		out = append(out, e)
	}
	return out
}

// refuse is the 400 of a search an encrypted index cannot answer.
func refuse(format string, args ...any) error {
	return &fhir.Error{Status: http.StatusBadRequest, Issues: []fhir.Issue{{
		Severity: "error", Code: "not-supported",
		Diagnostics: fmt.Sprintf(format, args...) + ": the search index of this server is encrypted, and holds keyed hashes of texts, not the texts",
	}}}
}

// sealQuery returns a copy of q whose text values are hashed as the index
// entries are, or a 400 for what hashes cannot answer.
func (s *Store) sealQuery(q *search.Query) (*search.Query, error) {
	for _, k := range q.Sort {
		switch k.Type {
		case search.String, search.Token, search.URI:
			return nil, refuse("_sort by %s is not supported", k.Param)
		}
	}
	sq := *q
	sq.Clauses = make([]search.Clause, len(q.Clauses))
	for i, c := range q.Clauses {
		var err error
		if sq.Clauses[i], err = s.sealClause(c); err != nil {
			return nil, err
		}
	}
	return &sq, nil
}

func (s *Store) sealClause(c search.Clause) (search.Clause, error) {
	if c.Chain != nil {
		ch := *c.Chain
		var err error
		if ch.Clause, err = s.sealClause(ch.Clause); err != nil {
			return c, err
		}
		c.Chain = &ch
	}
	if c.Modifier == "missing" {
		return c, nil
	}
	mod := c.Modifier
	if mod == "not" {
		mod = ""
	}
	switch {
	case c.Type == search.String && mod == "contains", c.Type == search.Token && mod == "text":
		return c, refuse("%s:%s is not supported", c.Param, mod)
	}
	vs := make([]search.Value, len(c.Values))
	for i, v := range c.Values {
		switch c.Type {
		case search.String:
			if mod == "exact" {
				v.Text = s.hash("exact", c.Param, v.Text)
			} else {
				v.Norm = s.hash("prefix", c.Param, truncate(v.Norm))
			}
		case search.Token:
			v.System, v.Code = s.hashSet("system", c.Param, v.System), s.hashSet("code", c.Param, v.Code)
		case search.Reference:
			v.Text = s.hashSet("text", c.Param, v.Text)
		case search.URI:
			v.Text = s.hash("uri", c.Param, v.Text)
		}
		vs[i] = v
	}
	c.Values = vs
	return c, nil
}
