package main

import (
	"context"
	"errors"
	"os"
	"sync"

	"github.com/hashicorp/hcl/v2"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime"
	"github.com/topo-zmq/topo/runtime/pluginhost"
	"github.com/topo-zmq/topo/topology"
)

// interrupts turns the CLI's signals (SIGINT, SIGTERM) into what every
// command that starts plugins needs: ctx is cancelled by the first signal,
// so plugins still starting are killed at once instead of holding topo
// for their handshake timeout; forced is closed by the second, after which
// the command must exit 130 without waiting for anything.
type interrupts struct {
	ctx    context.Context
	forced chan struct{}

	mu    sync.Mutex
	first os.Signal // guarded by mu; nil until the first signal

	cancel context.CancelFunc
	quit   chan struct{}
	done   chan struct{}
}

// watchInterrupts starts watching sigs (nil: never interrupted) until stop.
// onFirst, if set, runs at the first signal (before ctx is cancelled).
func watchInterrupts(parent context.Context, sigs <-chan os.Signal, onFirst func(os.Signal)) *interrupts {
	ctx, cancel := context.WithCancel(parent)
	in := &interrupts{ctx: ctx, forced: make(chan struct{}), cancel: cancel, quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(in.done)
		for {
			select {
			case <-in.quit:
				return
			case sig := <-sigs:
				in.mu.Lock()
				first := in.first == nil
				if first {
					in.first = sig
				}
				in.mu.Unlock()
				if !first {
					close(in.forced)
					return
				}
				if onFirst != nil {
					onFirst(sig)
				}
				cancel()
			}
		}
	}()
	return in
}

// interrupted returns the first signal, or nil.
func (in *interrupts) interrupted() os.Signal {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.first
}

// stop ends the watch (a later signal is left in the channel) and cancels
// ctx. Idempotent.
func (in *interrupts) stop() {
	select {
	case <-in.quit:
	default:
		close(in.quit)
	}
	<-in.done
	in.cancel()
}

// Errors of startPluginKinds.
var (
	errInterrupted = errors.New("interrupted while starting plugins")
	errForced      = errors.New("forced exit while starting plugins")
)

// exitCode is the exit status of a command whose load failed with err:
// 130 for a forced exit (a second Ctrl-C), 1 otherwise.
func exitCode(err error) int {
	if errors.Is(err, errForced) {
		return 130
	}
	return 1
}

// startPluginKinds is runtime.PluginKinds for the commands that read a file
// without running it (validate, plan, graph, nodes -file): the first
// signal kills the plugins still starting and it returns errInterrupted;
// a second one makes it SIGKILL them and return errForced at once, even if
// a plugin's kill were to hang. The caller closes host.
func startPluginKinds(ctx context.Context, c *cli, f *topology.File, opts topology.Options, host *pluginhost.Host) (map[string][]*plugins.Kind, hcl.Diagnostics, error) {
	in := watchInterrupts(ctx, c.signals, nil)
	defer in.stop()
	type result struct {
		kinds map[string][]*plugins.Kind
		diags hcl.Diagnostics
	}
	res := make(chan result, 1)
	go func() {
		k, d := runtime.PluginKinds(in.ctx, f, opts, host, f.Dir)
		res <- result{k, d}
	}()
	select {
	case r := <-res:
		if in.interrupted() != nil {
			return nil, nil, errInterrupted
		}
		return r.kinds, r.diags, nil
	case <-in.forced:
		host.Abort()
		return nil, nil, errForced
	}
}
