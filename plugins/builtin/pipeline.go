package builtin

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
)

type ventilatorConfig struct {
	Tasks   int    `cty:"tasks"`
	MaxWork string `cty:"max_work"`
}

func ventilatorKind() *plugins.Kind {
	return &plugins.Kind{
		Name: "ventilator",
		Doc: "The zguide task ventilator: signals the sink to start, then pushes `tasks` random " +
			"workloads (1..max_work, in msec as text) to the workers and prints their total.",
		Life: plugins.Task,
		Attrs: []plugins.Attr{
			numAttr("tasks", 100, "How many tasks to send."),
			strAttr("max_work", "100ms", "The largest workload of a task; workloads are uniform in 1ms..max_work."),
		},
		Sockets: []plugins.SocketDecl{
			{Name: "out", Types: []socket.Type{socket.PUSH}, Doc: "Tasks are pushed to the workers here."},
			{Name: "sink", Types: []socket.Type{socket.PUSH}, Doc: "The start-of-batch message \"0\" goes to the sink here."},
		},
		Check: checkOf(decodeVentilator),
		New: func(cfg plugins.Config) (plugins.Node, error) {
			v, err := decodeVentilator(cfg)
			if err != nil {
				return nil, err
			}
			return v, nil
		},
	}
}

// decodeVentilator decodes and checks a ventilator configuration.
func decodeVentilator(cfg plugins.Config) (*ventilator, error) {
	var c ventilatorConfig
	if err := cfg.Decode(&c); err != nil {
		return nil, err
	}
	var errs []error
	if c.Tasks < 1 {
		errs = append(errs, attrErr("tasks", "must be at least 1, got %d", c.Tasks))
	}
	max, err := plugins.ParseDuration("max_work", c.MaxWork)
	switch {
	case err != nil:
		errs = append(errs, err)
	case max < time.Millisecond:
		errs = append(errs, attrErr("max_work", "must be at least 1ms, got %q", c.MaxWork))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &ventilator{tasks: c.Tasks, maxMs: int(max / time.Millisecond), seed: uint64(cfg.Index)}, nil
}

type ventilator struct {
	tasks, maxMs int
	seed         uint64
}

// Run sends the batch and prints `Total expected cost: N msec`.
func (v *ventilator) Run(ctx context.Context, env plugins.Env) error {
	out, err := need(env, "out")
	if err != nil {
		return err
	}
	sink, err := need(env, "sink")
	if err != nil {
		return err
	}
	if err := send(ctx, sink, "sink", socket.Msg{[]byte("0")}); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), v.seed))
	total := 0
	for range v.tasks {
		work := rng.IntN(v.maxMs) + 1
		total += work
		if err := send(ctx, out, "out", socket.Msg{strconv.AppendInt(nil, int64(work), 10)}); err != nil {
			return err
		}
	}
	line(env, "Total expected cost: %d msec", total)
	return nil
}

func workerKind() *plugins.Kind {
	return &plugins.Kind{
		Name: "worker",
		Doc:  "The zguide task worker: pulls a workload (msec as text), sleeps that long, pushes an empty result.",
		Life: plugins.Service,
		Sockets: []plugins.SocketDecl{
			{Name: "in", Types: []socket.Type{socket.PULL}, Doc: "Tasks arrive here."},
			{Name: "out", Types: []socket.Type{socket.PUSH}, Doc: "Results are pushed to the sink here."},
		},
		New: func(cfg plugins.Config) (plugins.Node, error) { return plugins.NodeFunc(runWorker), nil },
	}
}

// runWorker works until ctx is done. A workload that is not a number of
// msec is logged and counts as no work; a result is still sent for it, so
// the sink's count stays right.
func runWorker(ctx context.Context, env plugins.Env) error {
	in, err := need(env, "in")
	if err != nil {
		return err
	}
	out, err := need(env, "out")
	if err != nil {
		return err
	}
	for {
		m, err := recv(ctx, in, "in")
		if err != nil {
			return err
		}
		ms := 0
		if len(m) > 0 {
			if ms, err = strconv.Atoi(string(m[0])); err != nil || ms < 0 {
				env.Log.Warn("workload is not a number of msec; doing no work", "socket", "in", "msg", frames(m))
				ms = 0
			}
		}
		if err := sleep(ctx, time.Duration(ms)*time.Millisecond); err != nil {
			return err
		}
		if err := send(ctx, out, "out", socket.Msg{{}}); err != nil {
			return err
		}
	}
}

type sinkConfig struct {
	Tasks int `cty:"tasks"`
}

func sinkKind() *plugins.Kind {
	return &plugins.Kind{
		Name: "sink",
		Doc: "The zguide task sink: waits for the ventilator's start message, collects `tasks` " +
			"results and prints the elapsed time.",
		Life: plugins.Task,
		Attrs: []plugins.Attr{
			numAttr("tasks", 100, "How many results to collect before finishing."),
		},
		Sockets: []plugins.SocketDecl{
			{Name: "in", Types: []socket.Type{socket.PULL}, Doc: "The start message and the workers' results arrive here."},
		},
		Check: checkOf(decodeSink),
		New: func(cfg plugins.Config) (plugins.Node, error) {
			c, err := decodeSink(cfg)
			if err != nil {
				return nil, err
			}
			return &sink{tasks: c.Tasks}, nil
		},
	}
}

func decodeSink(cfg plugins.Config) (sinkConfig, error) {
	var c sinkConfig
	if err := cfg.Decode(&c); err != nil {
		return c, err
	}
	if c.Tasks < 1 {
		return c, attrErr("tasks", "must be at least 1, got %d", c.Tasks)
	}
	return c, nil
}

type sink struct{ tasks int }

// Run prints `Total elapsed time: N msec`, timed from the start message.
// Results are the workers' empty messages; the first non-empty message is
// the ventilator's start signal. Should results overtake the start message
// (they come from different peers), the clock starts at the first result,
// and the late start message is skipped, not counted as a result.
func (s *sink) Run(ctx context.Context, env plugins.Env) error {
	in, err := need(env, "in")
	if err != nil {
		return err
	}
	first, err := recv(ctx, in, "in")
	if err != nil {
		return err
	}
	start := time.Now()
	started, n := true, 0
	if isEmpty(first) {
		started, n = false, 1
	}
	for n < s.tasks {
		m, err := recv(ctx, in, "in")
		if err != nil {
			return err
		}
		if !started && !isEmpty(m) {
			started = true
			continue
		}
		n++
	}
	line(env, "Total elapsed time: %d msec", time.Since(start).Milliseconds())
	return nil
}

func isEmpty(m socket.Msg) bool {
	for _, f := range m {
		if len(f) > 0 {
			return false
		}
	}
	return true
}
