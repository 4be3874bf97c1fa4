package sqlite_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/store/sqlite"
)

// crashEnv names the database a child process writes to until killed.
const crashEnv = "DOPPEL_STORE_CRASH_DB"

// TestCrashChild is the writer that TestKill9 kills; it does nothing in a
// normal run. Four goroutines write pairs a<n>, b<n> in one request each
// and print "ack <n>" once Write returns.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("run by TestKill9")
	}
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for k := 0; ; k++ {
				n := k*4 + g
				err := s.Write(ctx, func(w store.Writer) error {
					for _, id := range []string{"a", "b"} {
						v := store.Version{Type: "Patient", ID: id + strconv.Itoa(n), VersionID: 1, LastUpdated: time.Now(),
							Body:  fmt.Appendf(nil, `{"resourceType":"Patient","id":"%s%d"}`, id, n),
							Index: []search.Entry{{Param: "_id", Type: search.Token, Code: id + strconv.Itoa(n)}}}
						if _, err := w.Put(ctx, v); err != nil {
							return err
						}
					}
					return nil
				})
				mu.Lock()
				if err != nil {
					fmt.Println("error", err)
				} else {
					fmt.Println("ack", n)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestKill9 kills a writing process with SIGKILL and checks that every
// acknowledged request survived and that no request survived in part.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[int]bool{}
	sc := bufio.NewScanner(out)
	for len(acked) < 300 && sc.Scan() {
		line := sc.Text()
		if n, ok := strings.CutPrefix(line, "ack "); ok {
			i, _ := strconv.Atoi(n)
			acked[i] = true
		} else if strings.HasPrefix(line, "error") {
			cmd.Process.Kill()
			t.Fatalf("child: %s", line)
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	cmd.Wait()
	if len(acked) < 300 {
		t.Fatalf("child stopped after %d acks: %v", len(acked), sc.Err())
	}

	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	exists := func(id string) bool {
		_, err := s.Read(context.Background(), "Patient", id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("read %s: %v", id, err)
		}
		return err == nil
	}
	maxN := 0
	for n := range acked {
		maxN = max(maxN, n)
		if !exists(fmt.Sprint("a", n)) || !exists(fmt.Sprint("b", n)) {
			t.Errorf("acknowledged pair %d lost", n)
		}
	}
	for n := 0; n <= maxN+64; n++ {
		if a, b := exists(fmt.Sprint("a", n)), exists(fmt.Sprint("b", n)); a != b {
			t.Errorf("pair %d half applied: a %v, b %v", n, a, b)
		}
	}
}
