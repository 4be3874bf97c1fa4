package fhirops

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/doppelhealth/doppel/internal/store"
)

// bundle is the JSON form of the Bundles this package writes. Resources
// are kept as stored (json.RawMessage), never decoded and encoded again.
type bundle struct {
	ResourceType string      `json:"resourceType"`
	Type         string      `json:"type"`
	Total        *int        `json:"total,omitempty"`
	Link         []link      `json:"link,omitempty"`
	Entry        []entryJSON `json:"entry,omitempty"`
}

type link struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

type entryJSON struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource json.RawMessage `json:"resource,omitempty"`
	Search   *entrySearch    `json:"search,omitempty"`
	Request  *entryRequest   `json:"request,omitempty"`
	Response *entryResponse  `json:"response,omitempty"`
}

type entrySearch struct {
	Mode string `json:"mode"`
}

type entryRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

type entryResponse struct {
	Status       string          `json:"status"`
	Location     string          `json:"location,omitempty"`
	ETag         string          `json:"etag,omitempty"`
	LastModified string          `json:"lastModified,omitempty"`
	Outcome      json.RawMessage `json:"outcome,omitempty"`
}

// fullURL is the absolute URL of a resource under base ("" gives the
// relative "Type/id").
func fullURL(base string, v store.Version) string {
	if base == "" {
		return v.Type + "/" + v.ID
	}
	return base + "/" + v.Type + "/" + v.ID
}

// response is the entry.response of a write or read outcome.
func response(status int, v store.Version) *entryResponse {
	r := &entryResponse{Status: strconv.Itoa(status) + " " + http.StatusText(status)}
	if v.VersionID > 0 {
		r.ETag = `W/"` + strconv.FormatInt(v.VersionID, 10) + `"`
		r.LastModified = v.LastUpdated.UTC().Format(time.RFC3339Nano)
	}
	if status == http.StatusCreated || (v.VersionID > 0 && !v.Deleted) {
		r.Location = location(v)
	}
	return r
}

// paging holds the paging parameters this package adds to its links.
type paging struct {
	at     int64 // snapshot T; 0 = now
	offset int
}

// cutPaging removes _snapshot and _offset from params and returns them.
func cutPaging(params url.Values) (paging, url.Values, error) {
	rest := url.Values{}
	var p paging
	for k, vs := range params {
		switch k {
		case "_snapshot", "_offset":
			n, err := strconv.ParseInt(vs[len(vs)-1], 10, 64)
			if err != nil || n < 0 {
				return p, nil, fail(http.StatusBadRequest, "invalid", k+" must be a non-negative integer")
			}
			if k == "_snapshot" {
				p.at = n
			} else {
				p.offset = int(n)
			}
		default:
			rest[k] = vs
		}
	}
	return p, rest, nil
}

// pageLinks returns the self, next and previous links of the page at
// offset (with n entries of count per page, total matches or -1) on
// snapshot at. path is the absolute URL without query.
func pageLinks(path string, params url.Values, at int64, offset, count, n, total int) []link {
	u := func(off int) string {
		q := url.Values{}
		for k, v := range params {
			q[k] = v
		}
		q.Set("_snapshot", strconv.FormatInt(at, 10))
		q.Set("_offset", strconv.Itoa(off))
		return path + "?" + q.Encode()
	}
	links := []link{{"self", u(offset)}}
	if (total >= 0 && offset+n < total) || (total < 0 && n == count && n > 0) {
		links = append(links, link{"next", u(offset + count)})
	}
	if offset > 0 {
		links = append(links, link{"previous", u(max(0, offset-count))})
	}
	return links
}

// path is base/parts..., leaving out empty parts.
func path(base string, parts ...string) string {
	p := base
	for _, s := range parts {
		if s != "" {
			p += "/" + s
		}
	}
	return p
}
