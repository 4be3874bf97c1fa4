package scenario

import "testing"

// TestDecoder checks the exported decoder on a file of another format: the
// earliest error wins and names file:line and field.
func TestDecoder(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"ok", "a: 1\nb: x\n", ""},
		{"empty", "", "f.yaml: empty file: expected a mapping of things (a, b)"},
		{"list", "- 1\n", "f.yaml:1: expected a mapping of things (a, b), got a list"},
		{"unknown", "a: 1\nbb: x\nc: 2\n", "f.yaml:2: bb: unknown field; valid: a, b"},
		{"missing", "b: x\n", "f.yaml:1: a: missing; add it, e.g. a: 1"},
		{"range", "a: 7\nb: x\n", "f.yaml:1: a: must be <= 5 mg, got 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder("f.yaml", "things (a, b)")
			root, err := d.Document([]byte(tt.data))
			if err == nil {
				f := d.Fields(root, "", []string{"a", "b"})
				if n, ok := d.Required(root, f, "a", "", "a: 1"); ok {
					d.Number(n, "a", 0, 5, "mg")
				}
				err = d.Err()
			}
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
