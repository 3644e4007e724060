package endpoint

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in         string
		bind       bool
		want       Endpoint // zero: an error
		errContain string
	}{
		{in: "tcp://127.0.0.1:7555", bind: true, want: Endpoint{Transport: "tcp", Host: "127.0.0.1", Port: "7555"}},
		{in: "tcp://127.0.0.1:7555", want: Endpoint{Transport: "tcp", Host: "127.0.0.1", Port: "7555"}},
		{in: "tcp://*:7555", bind: true, want: Endpoint{Transport: "tcp", Host: "*", Port: "7555"}},
		{in: "tcp://*:*", bind: true, want: Endpoint{Transport: "tcp", Host: "*", Port: "*"}},
		{in: "tcp://[::]:0", bind: true, want: Endpoint{Transport: "tcp", Host: "::", Port: "0"}},
		{in: "tcp://[::1]:5", want: Endpoint{Transport: "tcp", Host: "::1", Port: "5"}},
		{in: "tcp://example.org:007", want: Endpoint{Transport: "tcp", Host: "example.org", Port: "7"}},
		{in: "ipc:///tmp/a", want: Endpoint{Transport: "ipc", Addr: "/tmp/a"}},
		{in: "ipc://@abstract", bind: true, want: Endpoint{Transport: "ipc", Addr: "@abstract"}},
		{in: "inproc://x", bind: true, want: Endpoint{Transport: "inproc", Addr: "x"}},

		{in: "tcp://*:7555", errContain: "wildcard"},
		{in: "tcp://host:0", errContain: "ephemeral"},
		{in: "tcp://host:*", errContain: "ephemeral"},
		{in: "tcp://host:70000", bind: true, errContain: "0 to 65535"},
		{in: "tcp://host:-1", bind: true, errContain: "0 to 65535"},
		{in: "tcp://host:http", bind: true, errContain: "0 to 65535"},
		{in: "tcp://host:", bind: true, errContain: "0 to 65535"},
		{in: "tcp://:5", bind: true, errContain: "no host"},
		{in: "tcp://[]:5", bind: true, errContain: "IPv6"},
		{in: "tcp://[zz]:5", bind: true, errContain: "IPv6"},
		{in: "tcp://[1.2.3.4]:5", bind: true, errContain: "IPv6"},
		{in: "tcp://::1:5", bind: true, errContain: "brackets"},
		{in: "tcp://[::1:5", bind: true, errContain: "brackets"},
		{in: "tcp://a]:5", bind: true, errContain: "not a host name"},
		{in: "tcp://a b:5", bind: true, errContain: "not a host name"},
		{in: "tcp://a/b:5", bind: true, errContain: "not a host name"},
		{in: "tcp://nohostport", bind: true, errContain: "no port"},
		{in: "tcp://*", bind: true, errContain: "no port"},
		{in: "ipc://", bind: true, errContain: "empty ipc"},
		{in: "inproc://", errContain: "empty inproc"},
		{in: "udp://x:1", bind: true, errContain: `transport "udp"`},
		{in: "127.0.0.1:7555", bind: true, errContain: "not an endpoint"},
		{in: "", errContain: "not an endpoint"},
	} {
		got, err := Parse(c.in, c.bind)
		if c.want == (Endpoint{}) {
			if err == nil || !strings.Contains(err.Error(), c.errContain) || !strings.Contains(err.Error(), `"`+c.in+`"`) {
				t.Errorf("Parse(%q, bind=%v) = %+v, %v; want an error naming it and saying %q", c.in, c.bind, got, err, c.errContain)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Parse(%q, bind=%v) = %+v, %v; want %+v", c.in, c.bind, got, err, c.want)
		}
	}
}

// TestConnectable is the one rule for the host a local peer connects to.
func TestConnectable(t *testing.T) {
	for in, want := range map[string]string{
		"tcp://*:7555":          "tcp://127.0.0.1:7555",
		"tcp://0.0.0.0:1":       "tcp://127.0.0.1:1",
		"tcp://localhost:1":     "tcp://127.0.0.1:1",
		"tcp://[::]:7":          "tcp://[::1]:7",
		"tcp://[0:0::0]:7":      "tcp://[0:0::0]:7", // not spelled "::": left alone, as a socket never reports it so
		"tcp://*:*":             "tcp://127.0.0.1:0",
		"tcp://[::1]:7":         "tcp://[::1]:7",
		"tcp://10.0.0.1:9":      "tcp://10.0.0.1:9",
		"tcp://example.org:010": "tcp://example.org:10",
		"tcp://127.0.0.1:4321":  "tcp://127.0.0.1:4321",
		"ipc:///tmp/x.ipc":      "ipc:///tmp/x.ipc",
		"inproc://a":            "inproc://a",
		"not an endpoint":       "not an endpoint",
		"tcp://:5":              "tcp://:5",
	} {
		if got := Connectable(in); got != want {
			t.Errorf("Connectable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConflicts(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"tcp://*:1", "tcp://127.0.0.1:1", true},
		{"tcp://[::]:1", "tcp://10.0.0.1:1", true},
		{"tcp://localhost:1", "tcp://127.0.0.1:1", true},
		{"tcp://127.0.0.1:1", "tcp://127.0.0.2:1", false},
		{"tcp://127.0.0.1:1", "tcp://127.0.0.1:2", false},
		{"tcp://127.0.0.1:0", "tcp://127.0.0.1:0", false},
		{"tcp://*:*", "tcp://*:*", false},
		{"ipc:///a", "ipc:///a", true},
		{"ipc:///a", "inproc:///a", false},
		{"inproc://a", "inproc://b", false},
	} {
		x, err1 := Parse(c.a, true)
		y, err2 := Parse(c.b, true)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if x.Conflicts(y) != c.want || y.Conflicts(x) != c.want {
			t.Errorf("%s conflicts with %s: %v, want %v", c.a, c.b, x.Conflicts(y), c.want)
		}
	}
}

func TestNetAddr(t *testing.T) {
	for in, want := range map[string][2]string{
		"tcp://*:0":          {"tcp", ":0"},
		"tcp://*:*":          {"tcp", ":0"},
		"tcp://[::1]:5":      {"tcp", "[::1]:5"},
		"tcp://127.0.0.1:*":  {"tcp", "127.0.0.1:0"},
		"ipc:///tmp/s.sock":  {"unix", "/tmp/s.sock"},
		"inproc://name/with": {"tcp", "name/with"},
	} {
		e, err := Parse(in, true)
		if err != nil {
			t.Fatal(err)
		}
		if got := [2]string{e.Network(), e.NetAddr()}; got != want {
			t.Errorf("%s: network, address %q, want %q", in, got, want)
		}
	}
}

// FuzzParse: endpoints come from files and from the wire (a plugin's
// specs). Parse never panics, accepts the canonical form of what it
// accepted, and a connect endpoint is a bind endpoint too.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"tcp://127.0.0.1:5555", "tcp://*:0", "tcp://*:*", "tcp://[::]:1", "tcp://[::1]:65535", "tcp://localhost:007",
		"tcp://::1:5", "tcp://[zz]:1", "tcp://:1", "tcp://a:99999", "ipc:///tmp/x", "ipc://@a", "inproc://n", "inproc://",
		"udp://x:1", "nothing", "tcp://[", "tcp://]:1", "tcp://%:1",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, bind bool) {
		e, err := Parse(s, bind)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("Parse(%q): empty error", s)
			}
			return
		}
		back, err := Parse(e.String(), bind)
		if err != nil || back != e {
			t.Fatalf("Parse(%q) = %+v; its String %q parses to %+v, %v", s, e, e.String(), back, err)
		}
		if !bind {
			if b, err := Parse(s, true); err != nil || b != e {
				t.Fatalf("%q: a connect endpoint that does not bind: %+v, %v", s, b, err)
			}
		}
		c := e.Connectable()
		if cb, err := Parse(c.String(), true); err != nil || cb != c {
			t.Fatalf("%q: connectable %q does not parse back: %+v, %v", s, c.String(), cb, err)
		}
		if Connectable(s) != c.String() {
			t.Fatalf("Connectable(%q) = %q, want %q", s, Connectable(s), c.String())
		}
		if !e.Conflicts(e) && !e.Ephemeral() {
			t.Fatalf("%q does not conflict with itself", s)
		}
		_ = e.NetAddr()
	})
}
