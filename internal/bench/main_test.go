package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// runRole runs one role like the command line does and decodes its JSON line.
func runRole(t *testing.T, args ...string) (map[string]any, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append(args, "-idle", "10s"), &out, &errb)
	var res map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &res); err != nil {
		t.Fatalf("%v: output %q is not one JSON line: %v (stderr %q)", args, out.String(), err, errb.String())
	}
	return res, code
}

// freeTCPEndpoint finds a loopback port for a pair of roles (the roles take a
// fixed -ep, like zmqbench's; a race with another binder only fails the test).
func freeTCPEndpoint(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprintf("tcp://%s", l.Addr())
}

func checkComplete(t *testing.T, res map[string]any, code int) {
	t.Helper()
	if code != 0 || res["error"] != nil || res["count"] != res["expect"] || res["gaps"] != float64(0) {
		t.Fatalf("exit %d, result %v", code, res)
	}
	if res["impl"] != "topo" || res["msgs_per_s"] == nil {
		t.Fatalf("result %v lacks impl=topo or msgs_per_s", res)
	}
}

func TestInprocPushPull(t *testing.T) {
	defer goleak.VerifyNone(t)
	res, code := runRole(t, "-role", "inproc-pushpull", "-n", "20000", "-label", "x")
	checkComplete(t, res, code)
	if res["label"] != "x" {
		t.Errorf("label %v, want x", res["label"])
	}
}

// pair runs a measuring role and its feeder concurrently, as scripts/bench.sh does.
func pair(t *testing.T, measure, feed []string) map[string]any {
	t.Helper()
	var wg sync.WaitGroup
	var feedRes map[string]any
	var feedCode int
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(100 * time.Millisecond)
		var out, errb bytes.Buffer
		feedCode = run(append(feed, "-idle", "10s", "-linger", "5s"), &out, &errb)
		_ = json.Unmarshal(bytes.TrimSpace(out.Bytes()), &feedRes)
	}()
	res, code := runRole(t, measure...)
	wg.Wait()
	if feedCode != 0 {
		t.Errorf("feeding side %v: exit %d, %v", feed, feedCode, feedRes)
	}
	if code != 0 {
		t.Fatalf("measuring side %v: exit %d, %v", measure, code, res)
	}
	return res
}

func TestTCPRoles(t *testing.T) {
	defer goleak.VerifyNone(t)
	t.Run("push-pull", func(t *testing.T) {
		ep := freeTCPEndpoint(t)
		res := pair(t, []string{"-role", "pull", "-bind", "-ep", ep, "-n", "20000", "-size", "1024"},
			[]string{"-role", "push", "-ep", ep, "-n", "20000", "-size", "1024", "-settle", "0s"})
		checkComplete(t, res, 0)
	})
	t.Run("pub-sub", func(t *testing.T) {
		ep := freeTCPEndpoint(t)
		res := pair(t, []string{"-role", "sub", "-ep", ep, "-n", "20000"},
			[]string{"-role", "pub", "-bind", "-ep", ep, "-n", "20000", "-settle", "200ms"})
		checkComplete(t, res, 0)
		if res["count"] != float64(10000) || res["bad"] != float64(0) {
			t.Fatalf("SUB with filter wx got %v of the alternating wx/zz stream, bad %v", res["count"], res["bad"])
		}
	})
	t.Run("req-rep", func(t *testing.T) {
		ep := freeTCPEndpoint(t)
		var wg sync.WaitGroup
		wg.Add(1)
		var repCode int
		go func() {
			defer wg.Done()
			var out, errb bytes.Buffer
			repCode = run([]string{"-role", "rep", "-bind", "-ep", ep, "-n", "500", "-warmup", "10", "-idle", "10s", "-linger", "1s"}, &out, &errb)
		}()
		time.Sleep(100 * time.Millisecond)
		res, code := runRole(t, "-role", "req", "-ep", ep, "-n", "500", "-warmup", "10", "-settle", "0s")
		wg.Wait()
		if code != 0 || repCode != 0 || res["round_trips"] != float64(500) || res["mismatched"] != float64(0) {
			t.Fatalf("req exit %d rep exit %d: %v", code, repCode, res)
		}
	})
}

// TestCurveRoles runs every cost-curve role of scripts/curves.sh briefly
// (tiny counts) so the roles cannot rot; it checks completeness, not speed.
func TestCurveRoles(t *testing.T) {
	defer goleak.VerifyNone(t)
	complete := func(t *testing.T, res map[string]any) {
		t.Helper()
		if res["error"] != nil || res["count"] != res["expect"] || res["msgs_per_s"] == nil {
			t.Fatalf("result %v", res)
		}
	}
	t.Run("size-16MiB", func(t *testing.T) {
		ep := freeTCPEndpoint(t)
		size := fmt.Sprint(16 << 20)
		complete(t, pair(t, []string{"-role", "pull", "-bind", "-ep", ep, "-n", "3", "-size", size},
			[]string{"-role", "push", "-ep", ep, "-n", "3", "-size", size, "-settle", "0s"}))
		res, code := runRole(t, "-role", "inproc-pushpull", "-n", "3", "-size", size)
		checkComplete(t, res, code)
	})
	t.Run("raw-go", func(t *testing.T) {
		ep := freeTCPEndpoint(t)
		complete(t, pair(t, []string{"-role", "raw-recv", "-ep", ep, "-n", "100", "-size", "65536"},
			[]string{"-role", "raw-send", "-ep", ep, "-n", "100", "-size", "65536"}))
		ep = freeTCPEndpoint(t)
		complete(t, pair(t, []string{"-role", "raw-recv", "-ep", ep, "-n", "100", "-size", "65536"},
			[]string{"-role", "raw-send", "-fill", "-ep", ep, "-n", "100", "-size", "65536"}))
	})
	t.Run("pull-many", func(t *testing.T) {
		ep := freeTCPEndpoint(t)
		var wg sync.WaitGroup
		wg.Add(1)
		var pushRes map[string]any
		var pushCode int
		go func() {
			defer wg.Done()
			pushRes, pushCode = runRole(t, "-role", "push", "-bind", "-ep", ep, "-n", "3000", "-peers", "3", "-settle", "0s", "-linger", "5s")
		}()
		time.Sleep(100 * time.Millisecond)
		res, _ := runRole(t, "-role", "pull-many", "-conns", "3", "-ep", ep, "-n", "3000")
		wg.Wait()
		if pushCode != 0 {
			t.Fatalf("push: %v", pushRes)
		}
		complete(t, res)
	})
	t.Run("sub-many-paced", func(t *testing.T) {
		ep := freeTCPEndpoint(t)
		res := pair(t, []string{"-role", "sub-many", "-conns", "3", "-ep", ep, "-n", "200", "-size", "32"},
			[]string{"-role", "pub", "-bind", "-ep", ep, "-n", "200", "-peers", "3", "-rate", "2000", "-stamp", "-size", "32", "-settle", "100ms"})
		complete(t, res)
		if res["count"] != float64(300) || res["p99_us"] == nil {
			t.Fatalf("3 SUBs of 100 wx messages each: %v", res)
		}
	})
	t.Run("subs", func(t *testing.T) {
		ep := freeTCPEndpoint(t)
		res := pair(t, []string{"-role", "sub", "-ep", ep, "-n", "2000", "-subs", "500"},
			[]string{"-role", "pub", "-bind", "-ep", ep, "-n", "2000", "-settle", "300ms"})
		checkComplete(t, res, 0)
	})
	t.Run("req-many", func(t *testing.T) {
		ep := freeTCPEndpoint(t)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out, errb bytes.Buffer
			run([]string{"-role", "rep", "-bind", "-ep", ep, "-n", "220", "-warmup", "0", "-idle", "10s", "-linger", "1s"}, &out, &errb)
		}()
		time.Sleep(100 * time.Millisecond)
		res, code := runRole(t, "-role", "req-many", "-conns", "4", "-ep", ep, "-n", "200", "-warmup", "20", "-settle", "0s")
		wg.Wait()
		if code != 0 || res["round_trips"] != float64(200) || res["mismatched"] != float64(0) || res["p99_us"] == nil {
			t.Fatalf("req-many exit %d: %v", code, res)
		}
	})
	t.Run("idle-hold", func(t *testing.T) {
		ep := freeTCPEndpoint(t)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			var out, errb bytes.Buffer
			run([]string{"-role", "idle-peers", "-ep", ep, "-conns", "20", "-hold", "3s"}, &out, &errb)
		}()
		go func() {
			defer wg.Done()
			time.Sleep(time.Second)
			var out, errb bytes.Buffer
			run([]string{"-role", "push", "-ep", ep, "-n", "1000", "-settle", "0s", "-idle", "10s", "-linger", "2s"}, &out, &errb)
		}()
		res, code := runRole(t, "-role", "idle-hold", "-ep", ep, "-peers", "20", "-n", "1000")
		wg.Wait()
		checkComplete(t, res, code)
		if res["rss_bytes_per_conn"] == nil || res["idle_peers"] != float64(20) {
			t.Fatalf("result %v", res)
		}
	})
	t.Run("topo-size", func(t *testing.T) {
		for _, tr := range []string{"tcp", "inproc"} {
			res, code := runRole(t, "-role", "topo-size", "-nodes", "10", "-transport", tr)
			if code != 0 || res["nodes"] != float64(10) || res["running_ms"] == nil || res["running_cpu_ms"] == nil || res["shutdown_cpu_ms"] == nil {
				t.Fatalf("%s: exit %d, %v", tr, code, res)
			}
		}
	})
	t.Run("proxy-chain", func(t *testing.T) {
		for _, tr := range []string{"tcp", "inproc"} {
			res, code := runRole(t, "-role", "proxy-chain", "-hops", "3", "-transport", tr, "-n", "2000")
			if code != 0 || res["count"] != float64(2000) {
				t.Fatalf("%s: exit %d, %v", tr, code, res)
			}
		}
	})
}

// TestCURVERoles runs the CURVE benchmark roles briefly: push/pull with
// -curve, and hs-accept fed by idle-peers (handshakes per second).
func TestCURVERoles(t *testing.T) {
	defer goleak.VerifyNone(t)
	t.Run("push-pull", func(t *testing.T) {
		ep := freeTCPEndpoint(t)
		res := pair(t, []string{"-role", "pull", "-bind", "-ep", ep, "-n", "5000", "-size", "1024", "-curve", "server"},
			[]string{"-role", "push", "-ep", ep, "-n", "5000", "-size", "1024", "-settle", "0s", "-curve", "client"})
		checkComplete(t, res, 0)
		if res["curve"] != "server" {
			t.Errorf("result %v does not say curve=server", res)
		}
	})
	t.Run("hs-accept", func(t *testing.T) {
		ep := freeTCPEndpoint(t)
		res := pair(t, []string{"-role", "hs-accept", "-bind", "-ep", ep, "-conns", "10", "-curve", "server"},
			[]string{"-role", "idle-peers", "-ep", ep, "-conns", "10", "-hold", "30s", "-curve", "client"})
		if res["handshakes"] != float64(10) || res["handshakes_per_s"] == nil {
			t.Fatalf("hs-accept: %v", res)
		}
	})
	t.Run("bad -curve", func(t *testing.T) {
		var out, errb bytes.Buffer
		if code := run([]string{"-role", "pull", "-curve", "both"}, &out, &errb); code != 2 {
			t.Fatalf("exit %d, want 2 (stderr %q)", code, errb.String())
		}
	})
}
