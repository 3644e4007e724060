package builtin

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
)

type weatherPublisherConfig struct {
	Rate float64 `cty:"rate"`
}

func weatherPublisherKind() *plugins.Kind {
	return &plugins.Kind{
		Name: "weather-publisher",
		Doc: "The zguide weather server: publishes \"%05d %d %d\" updates (zipcode 1..99999, " +
			"temperature -80..134, relative humidity 10..59) with uniformly random zipcodes.",
		Life: plugins.Service,
		Attrs: []plugins.Attr{
			{Name: "rate", Type: cty.Number, Default: cty.NumberIntVal(0), Doc: "Updates per second; 0 publishes as fast as possible."},
		},
		Sockets: []plugins.SocketDecl{
			{Name: "out", Types: []socket.Type{socket.PUB, socket.XPUB}, Doc: "Updates are published here."},
		},
		Check: checkOf(decodeWeatherPublisher),
		New: func(cfg plugins.Config) (plugins.Node, error) {
			c, err := decodeWeatherPublisher(cfg)
			if err != nil {
				return nil, err
			}
			return &weatherPublisher{rate: c.Rate, seed: uint64(cfg.Index)}, nil
		},
	}
}

func decodeWeatherPublisher(cfg plugins.Config) (weatherPublisherConfig, error) {
	var c weatherPublisherConfig
	if err := cfg.Decode(&c); err != nil {
		return c, err
	}
	if c.Rate < 0 {
		return c, attrErr("rate", "must not be negative, got %v", c.Rate)
	}
	return c, nil
}

type weatherPublisher struct {
	rate float64
	seed uint64
}

// Run publishes until ctx is done. On an XPUB it also reads (and logs) the
// subscription messages, so they never pile up.
func (w *weatherPublisher) Run(ctx context.Context, env plugins.Env) error {
	out, err := need(env, "out")
	if err != nil {
		return err
	}
	if out.Type() == socket.XPUB {
		ctx2, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // owned: Run waits for it below
			defer wg.Done()
			for {
				m, err := out.Recv(ctx2)
				if err != nil {
					return
				}
				env.Log.Debug("subscription", "socket", "out", "msg", frames(m))
			}
		}()
		defer wg.Wait()
		defer cancel()
		ctx = ctx2
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), w.seed))
	p := pacer{rate: w.rate}
	for {
		// PUB and XPUB sends never block, so Send need not look at ctx:
		// look here, or a fast publisher would never stop.
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := p.wait(ctx); err != nil {
			return err
		}
		zip := rng.IntN(99999) + 1
		temp := rng.IntN(215) - 80
		hum := rng.IntN(50) + 10
		b := make([]byte, 0, 16)
		if zip < 10000 {
			b = append(b, "0000"[:5-len(strconv.Itoa(zip))]...)
		}
		b = strconv.AppendInt(b, int64(zip), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(temp), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(hum), 10)
		if err := send(ctx, out, "out", socket.Msg{b}); err != nil {
			return err
		}
	}
}

type weatherClientConfig struct {
	Zip     string `cty:"zip"`
	Updates int    `cty:"updates"`
}

func weatherClientKind() *plugins.Kind {
	return &plugins.Kind{
		Name: "weather-client",
		Doc: "The zguide weather client: subscribes to one zipcode, averages the temperature of " +
			"`updates` updates, prints it and finishes.",
		Life: plugins.Task,
		Attrs: []plugins.Attr{
			strAttr("zip", "10001", "The zipcode to subscribe to (1 to 5 digits; it is a prefix of the \"%05d\" zipcode)."),
			numAttr("updates", 5, "How many updates to average before finishing."),
		},
		Sockets: []plugins.SocketDecl{
			{Name: "in", Types: []socket.Type{socket.SUB},
				Doc: "Updates arrive here. Without `subscribe` in the topology the kind subscribes to `zip`."},
		},
		Check: checkOf(decodeWeatherClient),
		New: func(cfg plugins.Config) (plugins.Node, error) {
			c, err := decodeWeatherClient(cfg)
			if err != nil {
				return nil, err
			}
			return &weatherClient{zip: c.Zip, updates: c.Updates}, nil
		},
	}
}

func decodeWeatherClient(cfg plugins.Config) (weatherClientConfig, error) {
	var c weatherClientConfig
	if err := cfg.Decode(&c); err != nil {
		return c, err
	}
	var errs []error
	if c.Zip == "" || len(c.Zip) > 5 || !allDigits(c.Zip) {
		errs = append(errs, attrErr("zip", "want 1 to 5 digits, got %q", c.Zip))
	}
	if c.Updates < 1 {
		errs = append(errs, attrErr("updates", "must be at least 1, got %d", c.Updates))
	}
	return c, errors.Join(errs...)
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

type weatherClient struct {
	zip     string
	updates int
}

// Subscriptions subscribes "in" to the zipcode unless the topology says otherwise.
func (w *weatherClient) Subscriptions() map[string][]string {
	return map[string][]string{"in": {w.zip}}
}

// Run averages `updates` updates and prints the result as the seed does,
// truncating to whole degrees. A malformed update is logged and skipped.
func (w *weatherClient) Run(ctx context.Context, env plugins.Env) error {
	in, err := need(env, "in")
	if err != nil {
		return err
	}
	total := 0
	for n := 0; n < w.updates; {
		m, err := recv(ctx, in, "in")
		if err != nil {
			return err
		}
		temp, ok := parseUpdate(m)
		if !ok {
			env.Log.Warn("malformed weather update skipped", "socket", "in", "msg", frames(m))
			continue
		}
		total += temp
		n++
	}
	line(env, "Average temperature for zipcode '%s' was %dF", w.zip, total/w.updates)
	return nil
}

// parseUpdate reads the temperature of a "zipcode temperature humidity" update.
func parseUpdate(m socket.Msg) (int, bool) {
	if len(m) != 1 {
		return 0, false
	}
	f := bytes.Fields(m[0])
	if len(f) != 3 {
		return 0, false
	}
	for _, x := range []int{0, 2} {
		if _, err := strconv.Atoi(string(f[x])); err != nil {
			return 0, false
		}
	}
	t, err := strconv.Atoi(string(f[1]))
	return t, err == nil
}
