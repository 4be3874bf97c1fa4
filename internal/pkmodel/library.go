package pkmodel

import (
	"embed"
	"fmt"
	"path"
	"slices"
	"strings"
)

//go:embed library/*.yaml
var library embed.FS

// Names returns the names of the library's models, sorted.
func Names() []string {
	ents, err := library.ReadDir("library")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	slices.Sort(out)
	return out
}

// Library returns the library model name (exact spelling, as Names).
func Library(name string) (*Model, error) {
	if !slices.Contains(Names(), name) {
		return nil, fmt.Errorf("pkmodel: unknown model %q; valid: %s", name, strings.Join(Names(), ", "))
	}
	file := path.Join("library", name+".yaml")
	data, err := library.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("pkmodel: %w", err)
	}
	m, err := ParseModel(file, data)
	if err != nil {
		return nil, err
	}
	if m.Name != name {
		return nil, fmt.Errorf("pkmodel: %s names the model %q, want %q", file, m.Name, name)
	}
	return m, nil
}
