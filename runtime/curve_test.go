package runtime

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
)

// curveWorld is a fake actor factory that binds ephemeral ports to
// distinct made-up ports and records every spec it is given.
type curveWorld struct {
	mu    sync.Mutex
	port  int
	specs map[string][]plugins.Spec // by instance, one per build
}

func (w *curveWorld) factory(k *plugins.Kind, spec plugins.Spec, sc *socket.Context, out io.Writer, log *slog.Logger) (plugins.Actor, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.specs == nil {
		w.specs = map[string][]plugins.Spec{}
	}
	attempt := len(w.specs[spec.Name])
	w.specs[spec.Name] = append(w.specs[spec.Name], spec)
	spec.Sockets = append([]plugins.SocketSpec(nil), spec.Sockets...) // the runtime's stay its own
	for i := range spec.Sockets {
		var eps []string
		for _, b := range spec.Sockets[i].Bind {
			if strings.HasSuffix(b, ":0") {
				w.port++
				b = strings.TrimSuffix(b, ":0") + fmt.Sprintf(":%d", 40000+w.port)
			}
			eps = append(eps, b)
		}
		spec.Sockets[i].Bind = eps
	}
	return &fakeActor{spec: spec, run: func(ctx context.Context) error {
		if spec.Name == "flaky" && attempt == 0 {
			return errBoom // restarted once: its keys must stay
		}
		if k.Life == plugins.Service {
			<-ctx.Done()
		}
		return nil
	}}, nil
}

func (w *curveWorld) spec(name string, i int) plugins.Spec {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.specs[name][i]
}

func curveRegistry(t *testing.T) *plugins.Registry {
	t.Helper()
	var reg plugins.Registry
	nop := func(cfg plugins.Config) (plugins.Node, error) {
		return plugins.NodeFunc(func(ctx context.Context, env plugins.Env) error { return nil }), nil
	}
	any := []socket.Type{socket.PUB, socket.SUB, socket.PUSH, socket.PULL}
	reg.MustRegister(
		&plugins.Kind{Name: "serve", Life: plugins.Service, New: nop, Sockets: []plugins.SocketDecl{{Name: "out", Types: any}}},
		&plugins.Kind{Name: "use", Life: plugins.Task, New: nop, Sockets: []plugins.SocketDecl{{Name: "in", Types: any}}},
	)
	return &reg
}

const curveTopo = `
node "pub1" {
  type = "serve"
  socket "out" {
    type = "PUB"
    bind = ["tcp://127.0.0.1:0"]
    curve {}
  }
}
node "pub2" {
  type = "serve"
  socket "out" {
    type = "PUB"
    bind = ["tcp://127.0.0.1:0"]
    curve {}
  }
}
node "pull" {
  type = "serve"
  socket "out" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:0"]
    curve {}
  }
}
node "sub" {
  type = "use"
  socket "in" {
    type      = "SUB"
    subscribe = [""]
    connect   = [node.pub1.out, node.pub2.out]
  }
}
node "flaky" {
  type = "use"
  socket "in" {
    type    = "PUSH"
    connect = [node.pull.out]
  }
}
node "ext" {
  type = "use"
  socket "in" {
    type    = "SUB"
    connect = ["tcp://127.0.0.1:7997", "tcp://127.0.0.1:7998"]
    curve {
      server_key = {
        "tcp://127.0.0.1:7997" = "lmPj7m4%xohgTFD:%4iWUzf5yfnziJa17}fo(SJV"
        "tcp://127.0.0.1:7998" = "reft1BE=jUOOoa{yw??j9@.a$*rL66m$TF2-k>LW"
      }
    }
  }
}
node "plain" {
  type = "use"
  socket "in" {
    type    = "PUSH"
    connect = ["tcp://127.0.0.1:7999"]
  }
}
`

// TestCurveKeysHandedToPeers: with curve {} on the serving sockets only,
// the runtime gives each server a key pair and each client its servers'
// public keys (by the endpoints actually bound when they differ) and a
// key pair of its own; a restarted node gets the same keys.
func TestCurveKeysHandedToPeers(t *testing.T) {
	w := &curveWorld{}
	var ev eventLog
	o := fastOpts(curveRegistry(t), &ev)
	o.NewActor = w.factory
	ctx := testCtx(t, 20*time.Second)
	rt, err := Load(ctx, "c.hcl", []byte(curveTopo), o)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Run(ctx); err != nil {
		t.Fatal(err)
	}
	server := func(name string) socket.CurveKeyPair {
		c := w.spec(name, 0).Sockets[0].Curve
		if c == nil || c.Client() || c.Key.Secret.IsZero() || socket.CurveKeyPairFromSecret(c.Key.Secret) != c.Key {
			t.Fatalf("%s.out: curve %+v, want a server with a whole key pair", name, c)
		}
		return c.Key
	}
	p1, p2, pull := server("pub1"), server("pub2"), server("pull")
	if p1 == p2 || p1 == pull {
		t.Fatal("two servers were given the same key pair")
	}
	sub := w.spec("sub", 0).Sockets[0].Curve
	if sub == nil || !sub.Client() || sub.Key.Secret.IsZero() {
		t.Fatalf("sub.in: %+v, want a client with a key pair", sub)
	}
	bound1 := w.spec("pub1", 0).Sockets[0].Bind
	if len(sub.ServerKeys) != 2 || len(bound1) != 1 {
		t.Fatalf("sub.in server keys %v (pub1 bound %v)", sub.ServerKeys, bound1)
	}
	for ep, k := range sub.ServerKeys {
		if strings.HasSuffix(ep, ":0") {
			t.Errorf("sub.in's server key is by the declared endpoint %s, not the bound one", ep)
		}
		if k != p1.Public && k != p2.Public {
			t.Errorf("sub.in: server key for %s is neither publisher's", ep)
		}
	}
	f0, f1 := w.spec("flaky", 0).Sockets[0].Curve, w.spec("flaky", 1).Sockets[0].Curve
	if f0 == nil || f0.ServerKey != pull.Public || len(f0.ServerKeys) != 0 {
		t.Fatalf("flaky.in: %+v, want pull's public key as its one server key", f0)
	}
	if f1 == nil || f1.Key != f0.Key || f1.ServerKey != f0.ServerKey {
		t.Fatal("the restarted node was given other keys")
	}
	ext := w.spec("ext", 0).Sockets[0].Curve
	want, _ := socket.ParseCurveKey("reft1BE=jUOOoa{yw??j9@.a$*rL66m$TF2-k>LW")
	if ext == nil || !ext.Client() || len(ext.ServerKeys) != 2 || ext.ServerKeys["tcp://127.0.0.1:7998"] != want {
		t.Fatalf("ext.in (outside servers, its own keys): %+v", ext)
	}
	if c := w.spec("plain", 0).Sockets[0].Curve; c != nil {
		t.Fatalf("plain.in (no curve anywhere) has curve %+v", c)
	}
}

// TestCurveSeedKeys: with a top-level seed the keys are the derived ones
// (socket.DeriveCurveKeyPair under "INSTANCE.SOCKET"), the same in two
// separate runs.
func TestCurveSeedKeys(t *testing.T) {
	seed := "[#T7:CU(qvy9Mw&BXlBil+KVG&DJBu:HuI0Z}NlQ"
	src := "curve {\n  seed = \"" + seed + "\"\n}\n" + curveTopo
	var pubs []socket.CurveKeyPair
	for run := 0; run < 2; run++ {
		w := &curveWorld{}
		var ev eventLog
		o := fastOpts(curveRegistry(t), &ev)
		o.NewActor = w.factory
		ctx := testCtx(t, 20*time.Second)
		rt, err := Load(ctx, "c.hcl", []byte(src), o)
		if err != nil {
			t.Fatal(err)
		}
		if err := rt.Run(ctx); err != nil {
			t.Fatal(err)
		}
		pubs = append(pubs, w.spec("pull", 0).Sockets[0].Curve.Key)
		if got := w.spec("flaky", 0).Sockets[0].Curve.ServerKey; got != pubs[run].Public {
			t.Fatal("flaky.in's server key is not pull.out's derived key")
		}
	}
	raw, err := socket.ParseCurveKey(seed)
	if err != nil {
		t.Fatal(err)
	}
	want, err := socket.DeriveCurveKeyPair(raw[:], "pull.out")
	if err != nil {
		t.Fatal(err)
	}
	if pubs[0] != pubs[1] || pubs[0] != want {
		t.Fatal("seeded keys differ between runs or from DeriveCurveKeyPair(seed, \"pull.out\")")
	}
}
