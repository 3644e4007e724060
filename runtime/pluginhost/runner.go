package pluginhost

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin/runner"
)

// pipeGrace bounds how long the host keeps reading a plugin's stdout and
// stderr once its process has exited: a descendant that escaped the
// process group (setsid) and still holds the pipes would otherwise keep the
// host waiting for EOF, which may be never. go-plugin reads both pipes to
// EOF before it reaps the process, so without the bound Kill would block.
const pipeGrace = 500 * time.Millisecond

// procRunner is the go-plugin runner.Runner of one plugin process. It
// differs from go-plugin's own in three ways:
//
//   - The process is the leader of a process group of its own (Setpgid),
//     and every kill — the host's, a cancelled start, the process's own
//     exit — sends SIGKILL to the whole group: a wrapper script
//     (#!/bin/sh without exec) dies with the plugin it started, and the
//     plugin with its wrapper.
//   - It reaps the process as soon as it exits, whatever holds its pipes,
//     so exitStatus and Wait do not depend on EOF; the pipes are read on
//     for at most pipeGrace after the exit, then closed.
//   - Stdin is /dev/null: a plugin in a background process group that
//     read the terminal would be stopped (SIGTTIN).
//
// Safe for concurrent use.
type procRunner struct {
	cmd            *exec.Cmd
	stdout, stderr *pipeReader

	exited  chan struct{} // closed once the process is reaped; waitErr is set before
	waitErr error
	done    chan struct{} // closed when reap has returned: the pipes are closed

	mu   sync.Mutex
	proc *os.Process // guarded by mu; set once the process started
}

var _ runner.Runner = (*procRunner)(nil)

// newProcRunner returns the runner of cmd, not yet started.
func newProcRunner(cmd *exec.Cmd) *procRunner {
	return &procRunner{cmd: cmd, exited: make(chan struct{}), done: make(chan struct{})}
}

// runnerFunc is go-plugin's ClientConfig.RunnerFunc: spec carries the
// environment go-plugin adds (handshake cookie, protocol versions, AutoMTLS
// certificate, socket directory), which is appended to r's command's.
func (r *procRunner) runnerFunc(_ hclog.Logger, spec *exec.Cmd, _ string) (runner.Runner, error) {
	cmd := r.cmd
	cmd.Env = append(cmd.Env, spec.Env...)
	cmd.Stdin = nil
	setProcessGroup(cmd)
	cmd.Cancel = func() error {
		killGroup(cmd.Process.Pid)
		return cmd.Process.Kill()
	}
	return r, nil
}

func (r *procRunner) Start(context.Context) error {
	outR, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return err
	}
	r.cmd.Stdout, r.cmd.Stderr = outW, errW
	err = r.cmd.Start()
	outW.Close() // the child has its copies (or never started)
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		r.waitErr = err
		close(r.exited)
		close(r.done)
		return err
	}
	r.stdout, r.stderr = newPipeReader(outR), newPipeReader(errR)
	r.mu.Lock()
	r.proc = r.cmd.Process
	r.mu.Unlock()
	go r.reap()
	return nil
}

// reap waits for the process to exit, kills what is left of its group,
// reaps it, and closes the pipes once both read EOF or pipeGrace has
// passed.
func (r *procRunner) reap() {
	defer close(r.done)
	pid := r.cmd.Process.Pid
	early := waitExitNoReap(pid)
	if early {
		// The process is a zombie and its pid still names the group:
		// no other process can have taken it.
		killGroup(pid)
	}
	r.waitErr = r.cmd.Wait()
	close(r.exited)
	if !early {
		killGroup(pid)
	}
	grace, cancel := context.WithTimeout(context.Background(), pipeGrace)
	defer cancel()
	for _, p := range []*pipeReader{r.stdout, r.stderr} {
		select {
		case <-p.eof:
		case <-grace.Done():
		}
	}
	r.stdout.f.Close()
	r.stderr.f.Close()
}

// Wait blocks until the process has exited and been reaped.
func (r *procRunner) Wait(context.Context) error {
	<-r.exited
	return r.waitErr
}

// hasExited reports whether the process has been reaped.
func (r *procRunner) hasExited() bool {
	select {
	case <-r.exited:
		return true
	default:
		return false
	}
}

// exitedWithin reports whether the process has been reaped, waiting up to
// d for it.
func (r *procRunner) exitedWithin(d time.Duration) bool {
	if d <= 0 {
		return r.hasExited()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.exited:
		return true
	case <-t.C:
		return false
	}
}

// Kill sends SIGKILL to the process and its group. It does not wait.
func (r *procRunner) Kill(context.Context) error {
	r.mu.Lock()
	p := r.proc
	r.mu.Unlock()
	if p == nil || r.hasExited() {
		return nil
	}
	killGroup(p.Pid)
	if err := p.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

func (r *procRunner) Stdout() io.ReadCloser { return r.stdout }
func (r *procRunner) Stderr() io.ReadCloser { return r.stderr }
func (r *procRunner) Name() string          { return r.cmd.Path }
func (r *procRunner) Diagnose(context.Context) string {
	return ""
}

func (r *procRunner) ID() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc == nil {
		return ""
	}
	return strconv.Itoa(r.proc.Pid)
}

// started reports whether the process was started (reap then runs).
func (r *procRunner) started() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.proc != nil
}

func (r *procRunner) PluginToHost(n, a string) (string, string, error) { return n, a, nil }
func (r *procRunner) HostToPlugin(n, a string) (string, string, error) { return n, a, nil }

// pipeReader is the read end of a plugin's stdout or stderr; eof is closed
// at its first read error (EOF, or the close after pipeGrace).
type pipeReader struct {
	f    *os.File
	eof  chan struct{}
	once sync.Once
}

func newPipeReader(f *os.File) *pipeReader { return &pipeReader{f: f, eof: make(chan struct{})} }

func (p *pipeReader) Read(b []byte) (int, error) {
	n, err := p.f.Read(b)
	if err != nil {
		p.once.Do(func() { close(p.eof) })
	}
	return n, err
}

// Close is a no-op: reap closes the file, after the process has exited.
func (p *pipeReader) Close() error { return nil }
