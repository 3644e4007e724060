package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/topo-zmq/topo/internal/lockedbuf"
)

// The multi-host tests run topo apply -host in network namespaces of
// their own: real, separate network stacks on one bridge, as separate
// machines on one LAN. They need Linux, root and iproute2 (ip); without
// them they skip, except under CI (env CI set), where they fail.
//
// Every name carries the test binary's pid and a sequence number, so
// parallel runs never collide; addresses come from 10.77.0.0/24 only
// (each lab its own bridge, the root namespace gets no address, so two
// labs may use the same ones).

// labSeq numbers the labs of this test binary.
var labSeq atomic.Int32

// lab is a set of network namespaces, each with one veth on a shared
// bridge and the address 10.77.0.(i+1)/24 (or another /24 of newLabOn),
// lo up.
type lab struct {
	t      testing.TB
	bridge string
	ns     []string // namespace names
	addrs  []string // their addresses, 10.77.0.1, ...
}

// needNetns skips (or, under CI, fails) t unless it can create network
// namespaces: Linux (this file), root, and the ip command.
func needNetns(t testing.TB) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "needs root to create network namespaces"
	} else if _, err := exec.LookPath("ip"); err != nil {
		why = "needs iproute2's ip command (apt-get install iproute2)"
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("multi-host test %s; CI is set, so this is a failure, not a skip", why)
	}
	t.Skipf("multi-host test %s (Linux and root only; it runs under CI)", why)
}

// newLab creates n namespaces on a fresh bridge, addressed from
// 10.77.0.0/24, and removes them all in t.Cleanup, also when the test
// fails.
func newLab(t testing.TB, n int) *lab {
	t.Helper()
	return newLabOn(t, n, "10.77.0.")
}

// newLabOn is newLab with the addresses net+"1", net+"2", ... (net is
// the first three octets of a /24, with the dot).
func newLabOn(t testing.TB, n int, net string) *lab {
	t.Helper()
	needNetns(t)
	seq := labSeq.Add(1)
	pid := os.Getpid()
	l := &lab{t: t, bridge: fmt.Sprintf("tb%dx%d", pid, seq)}
	t.Cleanup(l.remove)
	l.ip("link", "add", l.bridge, "type", "bridge")
	l.ip("link", "set", l.bridge, "up")
	for i := range n {
		ns := fmt.Sprintf("topo-%d-%d-%d", pid, seq, i)
		vh, vn := fmt.Sprintf("tv%dx%dh%d", pid, seq, i), fmt.Sprintf("tv%dx%dn%d", pid, seq, i)
		if len(vh) > 15 { // IFNAMSIZ
			vh, vn = fmt.Sprintf("tv%xh%d", pid*100+int(seq), i), fmt.Sprintf("tv%xn%d", pid*100+int(seq), i)
		}
		addr := fmt.Sprintf("%s%d", net, i+1)
		l.ip("netns", "add", ns)
		l.ns = append(l.ns, ns)
		l.addrs = append(l.addrs, addr)
		l.ip("link", "add", vh, "type", "veth", "peer", "name", vn)
		l.ip("link", "set", vh, "master", l.bridge)
		l.ip("link", "set", vh, "up")
		l.ip("link", "set", vn, "netns", ns)
		l.ip("-n", ns, "addr", "add", addr+"/24", "dev", vn)
		l.ip("-n", ns, "link", "set", vn, "up")
		l.ip("-n", ns, "link", "set", "lo", "up")
	}
	// The bridge has no STP: its ports forward as soon as they are up;
	// topo's reconnects cover the rest.
	return l
}

func (l *lab) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// remove deletes the namespaces (their veth ends go with them, and the
// peers on the bridge with those) and the bridge. Errors are reported,
// and everything is still tried.
func (l *lab) remove() {
	for _, ns := range l.ns {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			l.t.Errorf("ip netns del %s: %v\n%s", ns, err, out)
		}
	}
	if out, err := exec.Command("ip", "link", "del", l.bridge).CombinedOutput(); err != nil {
		l.t.Errorf("ip link del %s: %v\n%s", l.bridge, err, out)
	}
}

// hostProc is one topo apply -host process in a namespace.
type hostProc struct {
	name           string
	cmd            *exec.Cmd
	stdout, stderr *lockedbuf.Buffer
	done           chan struct{}
	err            error // after done
}

// start runs bin with args in namespace ns (ip netns exec, which execs
// bin in place: the process is topo itself). It is killed, with its
// process group, in t.Cleanup.
func (l *lab) start(t testing.TB, name, ns, bin string, args ...string) *hostProc {
	t.Helper()
	p := &hostProc{name: name, stdout: &lockedbuf.Buffer{}, stderr: &lockedbuf.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", ns, bin}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill() })
	return p
}

// kill SIGKILLs the process group and waits for the process.
func (p *hostProc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// signal sends sig to the process.
func (p *hostProc) signal(sig syscall.Signal) { _ = p.cmd.Process.Signal(sig) }

// wait waits up to d for the process to exit and returns its exit code
// (-1 when it was still running: then it is killed).
func (p *hostProc) wait(t testing.TB, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		p.kill()
		t.Errorf("%s did not exit within %s; killed.\nstderr:\n%s", p.name, d, p.stderr.String())
		return -1
	}
	if p.err == nil {
		return 0
	}
	if ee, ok := p.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// runCmd runs a short command in ns and returns its stdout.
func (l *lab) runCmd(ctx context.Context, ns string, name string, args ...string) ([]byte, error) {
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.Bytes(), fmt.Errorf("%v: %s", err, errb.String())
	}
	return out.Bytes(), nil
}

// writeFile writes a topology into the test's temporary directory.
func writeTopology(t testing.TB, name, src string) string {
	t.Helper()
	path := t.TempDir() + "/" + name
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// place puts hosts[i] in the lab's namespace i: the namespace of each
// host, and the -host-address flags that point every host at its
// namespace's address.
func (l *lab) place(hosts []string) (nsOf map[string]string, addrFlags []string) {
	nsOf = map[string]string{}
	for i, h := range hosts {
		nsOf[h] = l.ns[i]
		addrFlags = append(addrFlags, "-host-address", h+"="+l.addrs[i])
	}
	return nsOf, addrFlags
}

// startHosts starts `topo apply -host H EXTRA... ADDRFLAGS... FILE` for
// each host of order in its namespace, 700 ms apart.
func (l *lab) startHosts(t testing.TB, bin, file string, order []string, nsOf map[string]string, addrFlags []string, extra ...string) map[string]*hostProc {
	procs := map[string]*hostProc{}
	for i, h := range order {
		if i > 0 {
			time.Sleep(700 * time.Millisecond)
		}
		args := append(append(append([]string{"apply", "-host", h}, extra...), addrFlags...), file)
		procs[h] = l.start(t, h, nsOf[h], bin, args...)
	}
	return procs
}
