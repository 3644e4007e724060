package main

import (
	"context"
	"errors"
	"os"
	"sync"

	"github.com/topo-zmq/topo/runtime/pluginhost"
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

// Errors of startPlugins.
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

// startPlugins runs load, which starts plugins on host (runtime.Load,
// runtime.PluginKinds), for the commands that read a file without running
// it (validate, plan, graph, nodes -file): the first signal cancels
// load's ctx, which kills the plugins still starting, and startPlugins
// returns errInterrupted; a second one makes it SIGKILL them and return
// errForced at once, even if a plugin's kill were to hang. The caller
// closes host.
func startPlugins(ctx context.Context, c *cli, host *pluginhost.Host, load func(context.Context) error) error {
	in := watchInterrupts(ctx, c.signals, nil)
	defer in.stop()
	res := make(chan error, 1)
	go func() { res <- load(in.ctx) }() // abandoned only by a forced exit
	select {
	case err := <-res:
		if in.interrupted() != nil {
			return errInterrupted
		}
		return err
	case <-in.forced:
		host.Abort()
		return errForced
	}
}
