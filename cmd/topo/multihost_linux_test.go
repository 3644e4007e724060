package main

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// summaryRow is one instance's line of the end-of-run summary.
type summaryRow struct {
	state   string
	in, out uint64
}

var summaryLine = regexp.MustCompile(`(?m)^(\S+)\s+(pending|starting|running|restarting|finished|stopped|failed)\s+(\d+)\s+≥?(\d+)\s+≥?(\d+)`)

// parseSummary reads the summary table of topo apply's stderr.
func parseSummary(stderr string) map[string]summaryRow {
	rows := map[string]summaryRow{}
	for _, m := range summaryLine.FindAllStringSubmatch(stderr, -1) {
		in, _ := strconv.ParseUint(m[4], 10, 64)
		out, _ := strconv.ParseUint(m[5], 10, 64)
		rows[m[1]] = summaryRow{state: m[2], in: in, out: out}
	}
	return rows
}

// permutations returns every order of s.
func permutations(s []string) [][]string {
	if len(s) <= 1 {
		return [][]string{append([]string(nil), s...)}
	}
	var out [][]string
	for i := range s {
		rest := append(append([]string(nil), s[:i]...), s[i+1:]...)
		for _, p := range permutations(rest) {
			out = append(out, append([]string{s[i]}, p...))
		}
	}
	return out
}

// TestMultiHostPipelineAnyStartOrder runs the pipeline of
// testdata/multihost/pipeline.hcl on three network namespaces, one topo
// apply -host each, started in each of the 6 orders 700ms apart: every
// run completes, the sink gets every one of the 100 results and each of
// the 4 workers gets 25 ± 5 tasks (the ventilator starts once all four
// are connected, whenever their host comes up).
func TestMultiHostPipelineAnyStartOrder(t *testing.T) {
	bin := buildTopo(t)
	l := newLab(t, 3)
	file, err := filepath.Abs("testdata/multihost/pipeline.hcl")
	if err != nil {
		t.Fatal(err)
	}
	hosts := []string{"edge", "workers", "sink"}
	nsOf := map[string]string{}
	vars := []string{"-var", "tasks_port=7557", "-var", "results_port=7558"}
	for i, h := range hosts {
		nsOf[h] = l.ns[i]
		vars = append(vars, "-var", h+"="+l.addrs[i])
	}
	for _, order := range permutations(hosts) {
		t.Run(strings.Join(order, ","), func(t *testing.T) {
			procs := map[string]*hostProc{}
			for i, h := range order {
				if i > 0 {
					time.Sleep(700 * time.Millisecond)
				}
				args := append([]string{"apply", "-host", h}, vars...)
				procs[h] = l.start(t, h, nsOf[h], bin, append(args, file)...)
			}
			for _, h := range []string{"edge", "sink"} {
				if code := procs[h].wait(t, 60*time.Second); code != 0 {
					t.Fatalf("host %s exited %d\nstderr:\n%s", h, code, procs[h].stderr.String())
				}
			}
			procs["workers"].signal(syscall.SIGTERM) // a host of services runs until stopped
			if code := procs["workers"].wait(t, 20*time.Second); code != 0 {
				t.Fatalf("host workers exited %d\nstderr:\n%s", code, procs["workers"].stderr.String())
			}
			for _, h := range hosts {
				if want := "host " + h + " of "; !strings.Contains(procs[h].stderr.String(), want) {
					t.Errorf("host %s: the summary does not say %q:\n%s", h, want, procs[h].stderr.String())
				}
			}
			sink := parseSummary(procs["sink"].stderr.String())["sink"]
			vent := parseSummary(procs["edge"].stderr.String())["ventilator"]
			if sink.state != "finished" || sink.in != 101 || vent.out != 101 {
				t.Errorf("sink %+v (want finished, 101 in: the start message and 100 results), ventilator %+v (want 101 out)", sink, vent)
			}
			ws := parseSummary(procs["workers"].stderr.String())
			var total uint64
			var counts []string
			for i := range 4 {
				w, ok := ws["worker["+strconv.Itoa(i)+"]"]
				if !ok {
					t.Fatalf("no worker[%d] in the workers' summary:\n%s", i, procs["workers"].stderr.String())
				}
				total += w.in
				counts = append(counts, strconv.FormatUint(w.in, 10))
				if w.in < 20 || w.in > 30 || w.out != w.in {
					t.Errorf("worker[%d] got %d tasks and sent %d results; want 25 ± 5 of 100, each answered", i, w.in, w.out)
				}
			}
			if total != 100 {
				t.Errorf("the workers got %d tasks in all, want 100", total)
			}
			t.Logf("start order %v: tasks per worker %s", order, strings.Join(counts, " "))
		})
	}
}
