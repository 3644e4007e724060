package topology

import (
	"fmt"
	"math/big"
	"sort"
	"time"

	"github.com/zclconf/go-cty/cty"
)

// fakeSchemas is a Schemas for tests, shaped like the built-in kinds of
// DESIGN.md (topology tests must not depend on plugins/builtin).
type fakeSchemas map[string]*KindSchema

func (f fakeSchemas) Schema(kind string) (*KindSchema, bool) {
	k, ok := f[kind]
	return k, ok
}

func (f fakeSchemas) Kinds() []string {
	out := make([]string, 0, len(f))
	for k := range f {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func testSchemas() fakeSchemas {
	sending := []string{"PUB", "XPUB", "PUSH", "DEALER", "ROUTER", "PAIR", "REQ", "REP"}
	receiving := []string{"SUB", "XSUB", "PULL", "DEALER", "ROUTER", "PAIR", "REQ", "REP"}
	str := func(name, def string) AttrSchema {
		return AttrSchema{Name: name, Type: cty.String, Default: cty.StringVal(def)}
	}
	num := func(name string, def int64) AttrSchema {
		return AttrSchema{Name: name, Type: cty.Number, Default: cty.NumberIntVal(def)}
	}
	sock := func(name string, types ...string) SocketSchema {
		return SocketSchema{Name: name, Types: types}
	}
	kinds := []*KindSchema{
		{Name: "hello-server", Attrs: []AttrSchema{str("reply", "World"), str("work", "0s")}, Sockets: []SocketSchema{sock("in", "REP", "ROUTER")}},
		{Name: "hello-client", Task: true, Attrs: []AttrSchema{str("message", "Hello"), num("requests", 10)}, Sockets: []SocketSchema{sock("out", "REQ", "DEALER")}},
		{Name: "weather-publisher", Attrs: []AttrSchema{num("rate", 0)}, Sockets: []SocketSchema{sock("out", "PUB", "XPUB")}},
		{Name: "weather-client", Task: true, Attrs: []AttrSchema{str("zip", "10001"), num("updates", 5)}, Sockets: []SocketSchema{sock("in", "SUB")}},
		{Name: "ventilator", Task: true, Attrs: []AttrSchema{num("tasks", 100), str("max_work", "100ms")}, Sockets: []SocketSchema{sock("out", "PUSH"), sock("sink", "PUSH")}},
		{Name: "worker", Sockets: []SocketSchema{sock("in", "PULL"), sock("out", "PUSH")}},
		{Name: "sink", Task: true, Attrs: []AttrSchema{num("tasks", 100)}, Sockets: []SocketSchema{sock("in", "PULL")}},
		{Name: "proxy", Sockets: []SocketSchema{
			sock("frontend", "XSUB", "ROUTER", "PULL", "SUB"), sock("backend", "XPUB", "DEALER", "PUSH", "PUB"),
			{Name: "capture", Types: []string{"PUB", "PUSH", "PAIR"}, Optional: true}}},
		{Name: "generate", Task: true, Attrs: []AttrSchema{num("messages", 0), num("size", 16), num("rate", 0)}, Sockets: []SocketSchema{sock("out", sending...)}},
		{Name: "count", Task: true, Attrs: []AttrSchema{num("expect", 0)}, Sockets: []SocketSchema{sock("in", receiving...)}},
		{Name: "print", Attrs: []AttrSchema{str("format", "text")}, Sockets: []SocketSchema{{Name: "in", Types: receiving, Subscribes: true}}},
		{Name: "keyed", Attrs: []AttrSchema{{Name: "key", Type: cty.String, Required: true}, {Name: "tags", Type: cty.List(cty.String), Default: cty.ListValEmpty(cty.String)}},
			Sockets: []SocketSchema{{Name: "in", Optional: true}}},
		{Name: "text.upper", Attrs: []AttrSchema{str("suffix", "")}, Sockets: []SocketSchema{sock("in", "REP")}},
	}
	// Kind checks shaped like the built-in kinds' (plugins.Kind.Check).
	num64 := func(v cty.Value) int64 { i, _ := v.AsBigFloat().Int64(); return i }
	generateCheck := func(inst *Instance) []AttrProblem { // generate
		var ps []AttrProblem
		size := inst.Attrs.GetAttr("size").AsBigFloat()
		switch {
		case size.Sign() < 0:
			ps = append(ps, AttrProblem{"size", fmt.Sprintf("must not be negative, got %d", num64(inst.Attrs.GetAttr("size")))})
		case size.Cmp(big.NewFloat(64<<20)) > 0:
			ps = append(ps, AttrProblem{"size", fmt.Sprintf("must be at most 64 MiB (67108864), got %s", size.Text('f', -1))})
		}
		if inst.Attrs.GetAttr("rate").AsBigFloat().Sign() < 0 {
			ps = append(ps, AttrProblem{"rate", fmt.Sprintf("must not be negative, got %d", num64(inst.Attrs.GetAttr("rate")))})
		}
		return ps
	}
	ventilatorCheck := func(inst *Instance) []AttrProblem { // ventilator
		s := inst.Attrs.GetAttr("max_work").AsString()
		if _, err := time.ParseDuration(s); err != nil {
			return []AttrProblem{{"max_work", fmt.Sprintf("invalid duration %q", s)}}
		}
		return nil
	}
	printCheck := func(inst *Instance) []AttrProblem { // print: a problem naming no attribute
		if inst.Attrs.GetAttr("format").AsString() == "none" {
			return []AttrProblem{{"", "printing nothing is not printing"}}
		}
		return nil
	}
	out := fakeSchemas{}
	for _, k := range kinds {
		out[k.Name] = k
	}
	out["generate"].Check = generateCheck
	out["ventilator"].Check = ventilatorCheck
	out["print"].Check = printCheck
	return out
}
