package runtime

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestCollectorEmitsSorted: the collector sends each family's series in
// the order the registry sorts them by (label values, the label names
// sorted), so the registry's sort only checks; the series are the ones
// Gather returns, and the second scrape reuses the first one's label
// pairs. The topology declares its nodes out of that order, with kinds
// and socket names that sort differently from it, and a PUB socket (two
// drop reasons).
func TestCollectorEmitsSorted(t *testing.T) {
	src := `
node "zed" {
  type = "generate"
  rate = 100
  socket "out" {
    type = "PUB"
    bind = "inproc://m-pub"
  }
}
node "mid" {
  type = "generate"
  rate = 100
  socket "out" {
    type = "PUSH"
    bind = "inproc://m-push"
  }
}
node "alpha" {
  type = "count"
  socket "in" {
    type      = "SUB"
    connect   = node.zed.out
    subscribe = [""]
  }
}
node "beta" {
  type = "count"
  socket "in" {
    type    = "PULL"
    connect = node.mid.out
  }
}
`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rt, err := Load(ctx, "m.hcl", []byte(src), Options{Registry: processRegistry(t)})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- rt.Run(runCtx) }()
	defer func() { stop(); <-done }()
	for {
		if short, ok := rt.Readiness(); ok && len(short) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("not ready")
		case <-time.After(10 * time.Millisecond):
		}
	}
	c := rt.Collector()
	collect := func() map[string][]string {
		ch := make(chan prometheus.Metric, 1024)
		go func() { c.Collect(ch); close(ch) }()
		got := map[string][]string{}
		for m := range ch {
			var d dto.Metric
			if err := m.Write(&d); err != nil {
				t.Fatal(err)
			}
			name := m.Desc().String()
			name = name[strings.Index(name, `"`)+1:]
			name = name[:strings.Index(name, `"`)]
			got[name] = append(got[name], labelKey(d.Label))
		}
		return got
	}
	got := collect()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		var want []string
		for _, m := range f.Metric {
			want = append(want, labelKey(m.Label))
		}
		if strings.Join(got[f.GetName()], "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: collected in the order\n%s\nthe registry sorts them\n%s", f.GetName(), strings.Join(got[f.GetName()], "\n"), strings.Join(want, "\n"))
		}
	}
	if n := len(got["topo_socket_dropped_messages_total"]); n != 5 {
		t.Errorf("%d drop series, want 5 (the PUB's two reasons)", n)
	}
	cc := c.(*collector)
	cc.mu.Lock()
	lay := cc.layout
	cc.mu.Unlock()
	collect()
	cc.mu.Lock()
	again := cc.layout
	cc.mu.Unlock()
	if len(lay) != 4 || &lay[0] != &again[0] {
		t.Error("the second scrape made its layout again")
	}
}

func labelKey(l []*dto.LabelPair) string {
	var b strings.Builder
	for _, p := range l {
		b.WriteString(p.GetName() + "=" + p.GetValue() + " ")
	}
	return b.String()
}
