// Package endpoint owns topo's endpoint syntax, "transport://address", for
// every layer: topology validates the endpoints a file declares with it,
// the runtime makes bound endpoints connectable with it, and runtime/socket
// turns an endpoint into a net.Listen or net.Dial address with it. It
// imports nothing of topo, so topology and runtime/socket may both import it.
//
// Entry points: Parse, which checks an endpoint (its input may come from a
// file or the wire: it never panics), and Connectable, the one rule for the
// address a local peer connects to for a bind.
package endpoint

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Endpoint is a parsed bind or connect address.
type Endpoint struct {
	Transport string // "tcp", "ipc" or "inproc"
	Host      string // tcp only: "*" for the wildcard, IPv6 without brackets
	Port      string // tcp only: 0 to 65535 without leading zeros, or "*"; "0" and "*" ask for an ephemeral port
	Addr      string // ipc path or inproc name
}

// Parse checks an endpoint's syntax: tcp://HOST:PORT (an IPv6 host in
// brackets), ipc://PATH or inproc://NAME. bind allows the wildcard host "*"
// and ephemeral ports ("0" or "*"); a connect needs a concrete host and
// port. The error is a sentence naming the endpoint, for a user to read.
func Parse(s string, bind bool) (Endpoint, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return Endpoint{}, fmt.Errorf("%q is not an endpoint: write transport://address, like tcp://127.0.0.1:5555, ipc:///tmp/feed or inproc://feed", s)
	}
	switch scheme {
	case "inproc", "ipc":
		if rest == "" {
			return Endpoint{}, fmt.Errorf("%q has an empty %s address", s, scheme)
		}
		return Endpoint{Transport: scheme, Addr: rest}, nil
	case "tcp":
	default:
		return Endpoint{}, fmt.Errorf("%q uses transport %q; topo supports tcp://, ipc:// and inproc://", s, scheme)
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return Endpoint{}, fmt.Errorf("%q has no port: write tcp://HOST:PORT", s)
	}
	host, port := rest[:i], rest[i+1:]
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
		if net.ParseIP(host) == nil || !strings.Contains(host, ":") {
			return Endpoint{}, fmt.Errorf("%q: %q is not an IPv6 address", s, host)
		}
	} else if strings.Contains(host, ":") {
		return Endpoint{}, fmt.Errorf("%q: an IPv6 host goes in brackets: tcp://[%s]:%s", s, host, port)
	}
	if host == "" {
		return Endpoint{}, fmt.Errorf("%q has no host: write tcp://127.0.0.1:PORT (or tcp://*:PORT to bind every interface)", s)
	}
	if strings.ContainsAny(host, "/ []") {
		return Endpoint{}, fmt.Errorf("%q: %q is not a host name", s, host)
	}
	if port != "*" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 0 || n > 65535 {
			return Endpoint{}, fmt.Errorf("%q: port %q is not a number from 0 to 65535", s, port)
		}
		port = strconv.Itoa(n)
	}
	if !bind {
		if host == "*" {
			return Endpoint{}, fmt.Errorf("%q: a connect needs a host, not the wildcard *", s)
		}
		if port == "*" || port == "0" {
			return Endpoint{}, fmt.Errorf("%q: a connect needs a port, not an ephemeral one; refer to the bound socket (node.NAME.SOCKET) instead", s)
		}
	}
	return Endpoint{Transport: "tcp", Host: host, Port: port}, nil
}

// String is the endpoint in canonical form: Parse(e.String(), true) gives e
// back.
func (e Endpoint) String() string {
	if e.Transport == "tcp" {
		return "tcp://" + net.JoinHostPort(e.Host, e.Port)
	}
	return e.Transport + "://" + e.Addr
}

// Wildcard reports whether a tcp bind listens on every interface: the host
// is "*", "0.0.0.0" or "::".
func (e Endpoint) Wildcard() bool {
	if e.Transport != "tcp" {
		return false
	}
	switch e.Host {
	case "*", "0.0.0.0", "::":
		return true
	}
	return false
}

// Ephemeral reports whether a tcp bind lets the system choose the port.
func (e Endpoint) Ephemeral() bool {
	return e.Transport == "tcp" && (e.Port == "0" || e.Port == "*")
}

// Connectable is the endpoint a peer on this machine connects to for this
// bind. It is the one rule of topo: the IPv4 wildcards "*" and "0.0.0.0"
// and the name "localhost" become 127.0.0.1, the IPv6 wildcard "::" becomes
// ::1, the ephemeral port "*" becomes "0" (still to be filled in by the
// bind); every other endpoint is returned canonical but unchanged.
func (e Endpoint) Connectable() Endpoint {
	if e.Transport != "tcp" {
		return e
	}
	switch e.Host {
	case "*", "0.0.0.0", "localhost":
		e.Host = "127.0.0.1"
	case "::":
		e.Host = "::1"
	}
	if e.Port == "*" {
		e.Port = "0"
	}
	return e
}

// Connectable applies Endpoint.Connectable to a bound endpoint given as a
// string (as a socket reports it), returning s unchanged when it does not
// parse.
func Connectable(s string) string {
	e, err := Parse(s, true)
	if err != nil {
		return s
	}
	return e.Connectable().String()
}

// Conflicts reports whether two binds cannot both succeed on one host: the
// same ipc path or inproc name, or the same fixed tcp port on the same host
// or where either listens on every interface.
func (e Endpoint) Conflicts(o Endpoint) bool {
	if e.Transport != o.Transport {
		return false
	}
	if e.Transport != "tcp" {
		return e.Addr == o.Addr
	}
	if e.Ephemeral() || o.Ephemeral() || e.Port != o.Port {
		return false
	}
	return e.Wildcard() || o.Wildcard() || e.Connectable().Host == o.Connectable().Host
}

// NetAddr is the address for net.Listen or net.Dial on Network: for tcp,
// HOST:PORT with the wildcard host left empty and an ephemeral "*" port as
// "0"; for ipc the socket file's path; for inproc the name.
func (e Endpoint) NetAddr() string {
	if e.Transport != "tcp" {
		return e.Addr
	}
	host, port := e.Host, e.Port
	if host == "*" {
		host = ""
	}
	if port == "*" {
		port = "0"
	}
	return net.JoinHostPort(host, port)
}

// Network is the net package's network for the endpoint: "unix" for ipc,
// "tcp" otherwise.
func (e Endpoint) Network() string {
	if e.Transport == "ipc" {
		return "unix"
	}
	return "tcp"
}
