package topology

import "slices"

// socketTypes lists the ZeroMQ socket types a socket block may use.
func socketTypes() []string {
	return []string{"PAIR", "PUB", "SUB", "XPUB", "XSUB", "REQ", "REP", "DEALER", "ROUTER", "PUSH", "PULL"}
}

// peersOf returns the socket types that may be wired to one of type t,
// per ZMTP 3.0 (RFC 23/28/29/30/31): PAIR–PAIR, PUB/XPUB–SUB/XSUB,
// REQ–REP/ROUTER, DEALER–REP/DEALER/ROUTER, ROUTER–ROUTER, PUSH–PULL.
func peersOf(t string) []string {
	switch t {
	case "PAIR":
		return []string{"PAIR"}
	case "PUB", "XPUB":
		return []string{"SUB", "XSUB"}
	case "SUB", "XSUB":
		return []string{"PUB", "XPUB"}
	case "REQ":
		return []string{"REP", "ROUTER"}
	case "REP":
		return []string{"REQ", "DEALER"}
	case "DEALER":
		return []string{"REP", "DEALER", "ROUTER"}
	case "ROUTER":
		return []string{"REQ", "DEALER", "ROUTER"}
	case "PUSH":
		return []string{"PULL"}
	case "PULL":
		return []string{"PUSH"}
	}
	return nil
}

// Compatible reports whether sockets of types a and b may be peers. The
// relation is symmetric and independent of which side binds.
func Compatible(a, b string) bool {
	return slices.Contains(peersOf(a), b)
}

// upstream reports whether, on an edge between a and b, messages flow
// (or requests start) from a to b; false means b to a. For symmetric
// pairs (PAIR, DEALER–DEALER, ROUTER–ROUTER) it returns false, and the
// caller keeps its own order.
func upstream(a, b string) bool {
	rank := func(t string) int {
		switch t {
		case "PUB", "XPUB", "PUSH":
			return 0
		case "REQ":
			return 1
		case "DEALER":
			return 2
		case "REP", "ROUTER":
			return 3
		case "SUB", "XSUB", "PULL":
			return 4
		}
		return 5
	}
	return rank(a) < rank(b)
}

// lossiness explains when an edge between two compatible socket types can
// drop messages without the sender blocking, or returns "".
func lossiness(a, b string) string {
	for _, t := range []string{a, b} {
		switch t {
		case "PUB", "XPUB":
			return t + " drops messages for a subscriber whose queue is at its HWM: a slow subscriber loses data instead of slowing the publisher"
		}
	}
	for _, t := range []string{a, b} {
		if t == "ROUTER" {
			return "ROUTER drops messages addressed to a peer that is gone (unroutable) or whose queue is at its HWM"
		}
	}
	// PUSH, DEALER, REQ, REP and PAIR block at the HWM instead of dropping.
	return ""
}
