package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/topo-zmq/topo/runtime/socket"
)

// -curve server|client runs a role over CURVE with fixed keys: libzmq's
// test key pairs (tests/testutil_security.cpp), which cbench-curves uses
// too, so either side may be topo or libzmq. Benchmarks only.
const (
	benchServerPublic = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
	benchServerSecret = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
	benchClientPublic = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
	benchClientSecret = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"
)

// curveSecurity is the Options.Security for -curve.
func curveSecurity(role string) (socket.Curve, error) {
	var k [4]socket.CurveKey
	for i, z := range []string{benchServerPublic, benchServerSecret, benchClientPublic, benchClientSecret} {
		var err error
		if k[i], err = socket.ParseCurveKey(z); err != nil {
			return socket.Curve{}, err
		}
	}
	switch role {
	case "server":
		return socket.Curve{Key: socket.CurveKeyPair{Public: k[0], Secret: k[1]}}, nil
	case "client":
		return socket.Curve{Key: socket.CurveKeyPair{Public: k[2], Secret: k[3]}, ServerKey: k[0]}, nil
	}
	return socket.Curve{}, fmt.Errorf("-curve %q: want server or client", role)
}

// hsAccept: a PULL bound at -ep (a CURVE server with -curve server) that
// counts completed handshakes (EventConnected) until -conns have
// completed, and reports their rate between the first and the last.
func hsAccept(c config) (map[string]any, error) {
	var (
		mu          sync.Mutex
		count       int
		first, last time.Time
		done        = make(chan struct{})
	)
	o := options(c, socket.PULL)
	o.OnEvent = func(e socket.Event) {
		if e.Kind != socket.EventConnected {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if count == 0 {
			first = now
		}
		last = now
		count++
		if count == c.conns {
			close(done)
		}
	}
	var zctx socket.Context
	defer zctx.Close()
	s, err := zctx.NewSocket(socket.PULL, o)
	if err != nil {
		return nil, err
	}
	if err := s.Bind(c.ep); err != nil {
		return nil, err
	}
	fmt.Fprintln(os.Stderr, "hs-accept: bound")
	ctx, cancel := context.WithTimeout(context.Background(), c.idle)
	defer cancel()
	select {
	case <-done:
	case <-ctx.Done():
	}
	mu.Lock()
	defer mu.Unlock()
	res := map[string]any{"handshakes": count, "expect": c.conns, "curve": c.curve != ""}
	if count > 1 {
		el := last.Sub(first).Seconds()
		res["elapsed_s"] = el
		res["handshakes_per_s"] = float64(count-1) / el
	}
	if count < c.conns {
		return res, errors.New("hs-accept: timed out before every handshake")
	}
	return res, nil
}
