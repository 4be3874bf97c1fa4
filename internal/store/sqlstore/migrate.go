package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrate applies, in one transaction, the embedded migrations numbered
// above the version recorded in schema_version.
func (s *Store) migrate(ctx context.Context) error {
	files, err := migrations.ReadDir("migrations")
	if err != nil {
		return wrap("migrate", err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name() < files[j].Name() })
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return wrap("migrate", err)
	}
	defer tx.Rollback()
	if s.d.Lock != "" {
		if _, err := tx.ExecContext(ctx, s.d.Lock); err != nil {
			return wrap("migrate", err)
		}
	}
	if _, err := tx.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)"); err != nil {
		return wrap("migrate", err)
	}
	var cur int
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_version").Scan(&cur); err != nil {
		return wrap("migrate", err)
	}
	for _, f := range files {
		n, err := strconv.Atoi(strings.SplitN(f.Name(), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("sqlstore: migration %s: name must start with its number", f.Name())
		}
		if n <= cur {
			continue
		}
		text, err := migrations.ReadFile(path.Join("migrations", f.Name()))
		if err != nil {
			return wrap("migrate", err)
		}
		for _, stmt := range s.d.statements(string(text)) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("sqlstore: migration %s: %w", f.Name(), err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.d.bind("INSERT INTO schema_version (version) VALUES (?)"), n); err != nil {
			return wrap("migrate", err)
		}
	}
	return wrap("migrate", tx.Commit())
}

// statements splits a migration into statements (each ends with ";" at the
// end of a line), drops comment lines and substitutes the dialect's types.
func (d Dialect) statements(text string) []string {
	r := strings.NewReplacer("{{pk}}", d.PK, "{{blob}}", d.Blob, "{{float}}", d.Float, "{{clustered}}", d.Clustered)
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			if st := strings.TrimSpace(cur.String()); st != ";" {
				out = append(out, r.Replace(st))
			}
			cur.Reset()
		}
	}
	if st := strings.TrimSpace(cur.String()); st != "" {
		out = append(out, r.Replace(st))
	}
	return out
}
