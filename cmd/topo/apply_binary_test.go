package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/topo-zmq/topo/internal/lockedbuf"
)

// The tests of this file run the real topo binary the way a user meets
// it: signals from outside, streams redirected to files, /dev/null and
// pseudo-terminals.

func buildTopo(t testing.TB) string {
	t.Helper()
	topoBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "topo-cli-bin-")
		if err != nil {
			topoBin.err = err
			return
		}
		topoBin.dir = dir
		bin := filepath.Join(dir, "topo")
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			topoBin.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		topoBin.path = bin
	})
	if topoBin.err != nil {
		t.Fatal(topoBin.err)
	}
	return topoBin.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if topoBin.dir != "" {
		os.RemoveAll(topoBin.dir)
	}
	os.Exit(code)
}

// topoBin is the topo binary the tests of this package share, built once
// by buildTopo and removed by TestMain.
var topoBin struct {
	once      sync.Once
	dir, path string
	err       error
}

// openPTY opens a pseudo-terminal of 100 columns; what the program
// writes to tty is read from the returned buffer once the reader is done
// (wait for done after the program exited and tty is closed).
func openPTY(t *testing.T) (tty *os.File, out *lockedbuf.Buffer, done <-chan struct{}) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 100}); err != nil {
		t.Fatal(err)
	}
	// Raw output: no "\n" → "\r\n" translation, so bytes read are bytes written.
	tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio.Oflag &^= unix.OPOST
	if err := unix.IoctlSetTermios(int(tty.Fd()), unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
	out = &lockedbuf.Buffer{}
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		_, _ = io.Copy(out, m) // ends with EIO once every copy of tty is closed
	}()
	t.Cleanup(func() { tty.Close(); m.Close(); <-ch })
	return tty, out, ch
}

// startTopo starts bin with the given streams; the process is killed at
// cleanup if the test left it running.
func startTopo(t *testing.T, bin string, stdout, stderr *os.File, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
		}
	})
	return cmd
}

// waitExit waits for cmd with a deadline and returns its exit code.
func waitExit(t *testing.T, cmd *exec.Cmd, d time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(d):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		t.Fatalf("topo did not exit within %s", d)
		return -1
	}
}

func tempFile(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func readAll(t *testing.T, f *os.File) string {
	t.Helper()
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// slowHCL runs about 2.5 seconds: long enough for status lines.
const slowHCL = `
node "gen" {
  type     = "generate"
  messages = 60
  rate     = 25
  socket "out" {
    type    = "PUSH"
    connect = [node.sink.in]
  }
}
node "sink" {
  type   = "count"
  expect = 60
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:0"]
  }
}
`

var ansi = regexp.MustCompile("\x1b\\[")

func TestApplyBinary(t *testing.T) {
	bin := buildTopo(t)

	// Item 11: stdout is a terminal, stderr a file. The status line is on
	// the terminal with the node lines; the file gets plain log lines at
	// info level and a summary without colour.
	t.Run("StdoutTerminalStderrFile", func(t *testing.T) {
		p := writeHCL(t, slowHCL)
		tty, screen, done := openPTY(t)
		logf := tempFile(t, "log")
		cmd := startTopo(t, bin, tty, logf, "apply", p)
		code := waitExit(t, cmd, 30*time.Second)
		tty.Close()
		<-done
		log := readAll(t, logf)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, log)
		}
		if s := screen.String(); !strings.Contains(s, "\r\x1b[K2/2 up,") || !strings.Contains(s, "sink | ") {
			t.Errorf("terminal (stdout) has no status line or no node line:\n%q", s)
		}
		if strings.Contains(screen.String(), "level=") || strings.Contains(screen.String(), "NODE ") {
			t.Errorf("log or summary on the terminal (stdout):\n%q", screen.String())
		}
		if !strings.Contains(log, "level=INFO") || !strings.Contains(log, "sink  finished") {
			t.Errorf("log file lacks info lines or the summary:\n%s", log)
		}
		if ansi.MatchString(log) {
			t.Errorf("ANSI codes in the log file:\n%q", log)
		}
	})

	// Item 11, the other way: stdout to /dev/null (a character device,
	// not a terminal), stderr a terminal: the status line, the warnings
	// and the coloured summary are on the terminal.
	t.Run("StdoutDevNullStderrTerminal", func(t *testing.T) {
		p := writeHCL(t, slowHCL)
		tty, screen, done := openPTY(t)
		devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer devnull.Close()
		cmd := startTopo(t, bin, devnull, tty, "apply", p)
		code := waitExit(t, cmd, 30*time.Second)
		tty.Close()
		<-done
		s := screen.String()
		if code != 0 {
			t.Fatalf("exit %d\n%q", code, s)
		}
		for _, want := range []string{"\r\x1b[K2/2 up,", "NODE", "\x1b[32mfinished"} {
			if !strings.Contains(s, want) {
				t.Errorf("terminal (stderr) lacks %q:\n%q", want, s)
			}
		}
		if strings.Contains(s, "level=INFO") || strings.Contains(s, "sink | ") {
			t.Errorf("info logs or node lines on the terminal (stderr):\n%q", s)
		}
	})

	// Both streams on one terminal: node lines (stdout) and warnings
	// (stderr) appear above the status line (drawn on stderr), which is
	// cleared before each of them.
	t.Run("BothOnOneTerminal", func(t *testing.T) {
		p := writeHCL(t, slowHCL)
		tty, screen, done := openPTY(t)
		cmd := startTopo(t, bin, tty, tty, "apply", p)
		code := waitExit(t, cmd, 30*time.Second)
		tty.Close()
		<-done
		s := screen.String()
		if code != 0 {
			t.Fatalf("exit %d\n%q", code, s)
		}
		for _, want := range []string{"\r\x1b[K2/2 up,", "\r\x1b[Ksink | ", "NODE", "\x1b[32mfinished"} {
			if !strings.Contains(s, want) {
				t.Errorf("terminal lacks %q:\n%q", want, s)
			}
		}
		if strings.Contains(s, "level=INFO") {
			t.Errorf("info logs on the terminal:\n%q", s)
		}
	})

	// Item 8: SIGINT while a plugin is still starting exits 0, with no
	// error and no failed node.
	t.Run("InterruptDuringStartUp", func(t *testing.T) {
		dir := t.TempDir()
		plug := filepath.Join(dir, "slow-plugin")
		if err := os.WriteFile(plug, []byte("#!/bin/sh\nexec sleep 60\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		p := writeHCL(t, fmt.Sprintf(`
plugin "slow" {
  command = %q
}
node "a" {
  type = "slow.thing"
  socket "out" {
    type = "PUSH"
    bind = ["tcp://127.0.0.1:0"]
  }
}
`, plug))
		outf, errf := tempFile(t, "out"), tempFile(t, "err")
		cmd := startTopo(t, bin, outf, errf, "apply", p)
		time.Sleep(time.Second) // the plugin is started and never answers
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		code := waitExit(t, cmd, 15*time.Second)
		stderr := readAll(t, errf)
		if code != 0 {
			t.Fatalf("exit %d after SIGINT during start-up, want 0\n%s", code, stderr)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %s to stop after SIGINT", d)
		}
		// go-plugin's own lines about the killed plugin process remain
		// ("plugin process exited ... signal: killed"); topo's say nothing
		// failed.
		for _, bad := range []string{"Error:", `msg="node failed"`, "start abandoned", "context canceled", "  failed "} {
			if strings.Contains(stderr, bad) {
				t.Errorf("stderr says %q:\n%s", bad, stderr)
			}
		}
	})

	// Item 12: a JSON log through a crash and a restart of a process node:
	// every line of stderr one JSON object, each event logged once,
	// numeric rates, the summary last.
	t.Run("JSONLogWithRestart", func(t *testing.T) {
		p := writeHCL(t, `
node "gen" {
  type = "generate"
  rate = 200
  socket "out" {
    type    = "PUSH"
    connect = [node.sink.in]
  }
}
node "sink" {
  type      = "count"
  isolation = "process"
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:0"]
  }
}
`)
		outf, errf := tempFile(t, "out"), tempFile(t, "err")
		cmd := startTopo(t, bin, outf, errf, "apply", "-log-format", "json", p)
		first := waitChild(t, cmd.Process.Pid, 0, 20*time.Second)
		time.Sleep(6 * time.Second) // a status record (every 5s) with rates
		if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitChild(t, cmd.Process.Pid, first, 20*time.Second) // restarted
		time.Sleep(500 * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		code := waitExit(t, cmd, 20*time.Second)
		stderr := readAll(t, errf)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		recs := jsonLines(t, stderr)
		msgs := map[string]int{}
		var status, summary map[string]any
		for _, r := range recs {
			msgs[r["msg"].(string)]++
			switch r["msg"] {
			case "status":
				if status == nil && r["rates"] != nil {
					status = r
				}
			case "summary":
				summary = r
			}
		}
		if msgs["node failed"] != 1 || msgs["restarting node"] != 1 || msgs["node restarting"] != 0 {
			t.Errorf("events not logged once each: %v\n%s", msgs, stderr)
		}
		if status == nil {
			t.Fatalf("no status record with rates:\n%s", stderr)
		}
		rates := status["rates"].(map[string]any)
		gen, _ := rates["gen"].(map[string]any)
		if _, err := gen["out"].(json.Number).Float64(); err != nil {
			t.Errorf("gen's rate is not a number: %v", status)
		}
		if recs[len(recs)-1]["msg"] != "summary" {
			t.Errorf("last record is not the summary: %v", recs[len(recs)-1])
		}
		sink := summary["nodes"].([]any)[1].(map[string]any)
		if sink["name"] != "sink" || sink["restarts"] != json.Number("1") {
			t.Errorf("sink in the summary: %v", sink)
		}
	})

	// Item 14: a hostile pyzmq publisher floods a weather client with
	// 20,000 malformed updates, then sends good ones: a handful of
	// warnings and one line saying how many more were suppressed, each
	// naming the node once.
	t.Run("HostilePublisher", func(t *testing.T) {
		py := exec.Command("/usr/bin/python3", "-c", `
import sys, zmq
ctx = zmq.Context()
pub = ctx.socket(zmq.XPUB)
pub.setsockopt(zmq.SNDHWM, 0)
port = pub.bind_to_random_port("tcp://127.0.0.1")
print(port, flush=True)
pub.recv()  # the client's subscription
for i in range(20000):
    pub.send(b"10001 not-a-temperature %d" % i)
pub.setsockopt(zmq.RCVTIMEO, 50)
while True:
    for i in range(10):
        pub.send(b"10001 70 40")
    try:
        pub.recv()
    except zmq.Again:
        pass
    if sys.stdin in __import__("select").select([sys.stdin], [], [], 0)[0]:
        break
`)
		stdin, err := py.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		pyOut, err := py.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		py.Stderr = os.Stderr
		if err := py.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stdin.Close(); _ = py.Process.Kill(); _ = py.Wait() })
		var port int
		if _, err := fmt.Fscan(pyOut, &port); err != nil {
			t.Fatalf("reading the publisher's port: %v", err)
		}
		p := writeHCL(t, fmt.Sprintf(`
node "client" {
  type    = "weather-client"
  updates = 5
  socket "in" {
    type    = "SUB"
    connect = ["tcp://127.0.0.1:%d"]
  }
}
`, port))
		outf, errf := tempFile(t, "out"), tempFile(t, "err")
		cmd := startTopo(t, bin, outf, errf, "apply", p)
		code := waitExit(t, cmd, 60*time.Second)
		stderr := readAll(t, errf)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		if !strings.Contains(readAll(t, outf), "Average temperature for zipcode '10001' was 70F") {
			t.Errorf("stdout: %s", readAll(t, outf))
		}
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		warn, malformed := 0, 0
		suppressed := regexp.MustCompile(`msg="suppressed (\d+) similar warnings" node=client warning="malformed weather update skipped"`)
		total, twice := 0, 0
		for _, l := range lines {
			if strings.Contains(l, "level=WARN") {
				warn++
			}
			if strings.Contains(l, `msg="malformed weather update skipped"`) {
				malformed++
			}
			if m := suppressed.FindStringSubmatch(l); m != nil {
				n, _ := strconv.Atoi(m[1])
				total += n
			}
			if strings.Count(l, "node=") > 1 {
				twice++
			}
		}
		if twice > 0 {
			t.Errorf("%d lines name the node twice", twice)
		}
		if malformed != 5 || total == 0 || warn > 10 {
			t.Errorf("%d WARN lines, %d malformed-update lines, %d suppressed; want 5 and one count of the rest:\n%.3000s", warn, malformed, total, stderr)
		}
		t.Logf("%d WARN lines; %d malformed updates written, %d suppressed", warn, malformed, total)
	})
}

// waitChild waits for a child process of pid other than not, and returns
// its pid.
func waitChild(t *testing.T, pid, not int, d time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
		for _, f := range tasks {
			b, _ := os.ReadFile(f)
			for _, c := range bytes.Fields(b) {
				if n, err := strconv.Atoi(string(c)); err == nil && n != not {
					return n
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no child process of %d within %s", pid, d)
	return 0
}
