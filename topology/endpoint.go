package topology

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// endpoint is a parsed bind or connect address.
type endpoint struct {
	scheme string // "tcp", "ipc", "inproc"
	host   string // tcp only; "*" for a wildcard, IPv6 without brackets
	port   string // tcp only; "0" or "*" for an ephemeral port
	addr   string // ipc path or inproc name
}

// parseEndpoint checks an endpoint's syntax. bind allows the wildcard
// host "*" and ephemeral ports; connect needs a concrete host.
func parseEndpoint(u string, bind bool) (endpoint, error) {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return endpoint{}, fmt.Errorf("%q is not an endpoint: write transport://address, like tcp://127.0.0.1:5555, ipc:///tmp/feed or inproc://feed", u)
	}
	switch scheme {
	case "inproc", "ipc":
		if rest == "" {
			return endpoint{}, fmt.Errorf("%q has an empty %s address", u, scheme)
		}
		return endpoint{scheme: scheme, addr: rest}, nil
	case "tcp":
	default:
		return endpoint{}, fmt.Errorf("%q uses transport %q; topo supports tcp://, ipc:// and inproc://", u, scheme)
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return endpoint{}, fmt.Errorf("%q has no port: write tcp://HOST:PORT", u)
	}
	host, port := rest[:i], rest[i+1:]
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
		if net.ParseIP(host) == nil {
			return endpoint{}, fmt.Errorf("%q: %q is not an IPv6 address", u, host)
		}
	}
	if host == "" {
		return endpoint{}, fmt.Errorf("%q has no host: write tcp://127.0.0.1:PORT (or tcp://*:PORT to bind every interface)", u)
	}
	if strings.ContainsAny(host, "/ ") {
		return endpoint{}, fmt.Errorf("%q: %q is not a host name", u, host)
	}
	if port != "*" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 0 || n > 65535 {
			return endpoint{}, fmt.Errorf("%q: port %q is not a number from 0 to 65535", u, port)
		}
		port = strconv.Itoa(n)
	}
	if !bind {
		if host == "*" {
			return endpoint{}, fmt.Errorf("%q: a connect needs a host, not the wildcard *", u)
		}
		if port == "*" || port == "0" {
			return endpoint{}, fmt.Errorf("%q: a connect needs a port, not an ephemeral one; refer to the bound socket (node.NAME.SOCKET) instead", u)
		}
	}
	return endpoint{scheme: "tcp", host: host, port: port}, nil
}

// wildcard reports whether a tcp bind listens on every interface.
func (e endpoint) wildcard() bool {
	return e.scheme == "tcp" && (e.host == "*" || e.host == "0.0.0.0" || e.host == "::")
}

// ephemeral reports whether a tcp bind lets the system choose the port.
func (e endpoint) ephemeral() bool {
	return e.scheme == "tcp" && (e.port == "0" || e.port == "*")
}

// connectable is the URL a peer on this machine connects to for a bind:
// the wildcard host becomes 127.0.0.1 (or ::1 for an IPv6 wildcard).
func (e endpoint) connectable() string {
	switch e.scheme {
	case "tcp":
		host := e.host
		switch host {
		case "*", "0.0.0.0":
			host = "127.0.0.1"
		case "::":
			host = "::1"
		case "localhost":
			host = "127.0.0.1"
		}
		port := e.port
		if port == "*" {
			port = "0"
		}
		return "tcp://" + net.JoinHostPort(host, port)
	default:
		return e.scheme + "://" + e.addr
	}
}

// conflicts reports whether two binds cannot both succeed on one host.
func (e endpoint) conflicts(o endpoint) bool {
	if e.scheme != o.scheme {
		return false
	}
	if e.scheme != "tcp" {
		return e.addr == o.addr
	}
	if e.ephemeral() || o.ephemeral() || e.port != o.port {
		return false
	}
	return e.wildcard() || o.wildcard() || normHost(e.host) == normHost(o.host)
}

func normHost(h string) string {
	if h == "localhost" {
		return "127.0.0.1"
	}
	return h
}
