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

// peerLoss explains what an edge between two compatible socket types loses
// when the node at either end dies or restarts (a crash, a kill, a failed
// health check): ZeroMQ does not acknowledge or resend, so what sat in the
// dead node's queues and in the kernel's socket buffers of its connection is
// gone. No edge is safe from it; reliable edges are not built yet.
func peerLoss(a, b string) string {
	has := func(t string) bool { return a == t || b == t }
	switch {
	case has("PUB") || has("XPUB"):
		return "a subscriber that dies or restarts loses what was queued for it and misses everything published until it has reconnected and subscribed again; a publisher that restarts loses what it had queued"
	case has("PUSH"):
		return "a puller that dies or restarts loses the messages queued for it (in its own queue, the pusher's queue for that connection and the kernel's socket buffers) and those it had taken but not finished; PUSH does not resend them, so a node downstream waiting for a count of results (a sink) waits forever; a pusher that dies loses what it had queued"
	case has("REQ"):
		return "if the replying side dies or restarts with a request in flight, that request or its reply is lost and the REQ socket waits for the reply forever (the node stops only when stopped); a requester that dies loses its pending reply"
	case has("REP"):
		return "if the REP side dies or restarts with a request in flight, that request or its reply is lost and the DEALER gets no answer for it; a DEALER that dies loses what it had queued"
	case has("ROUTER"), has("DEALER"):
		return "a peer that dies or restarts loses the messages queued for it and in the kernel's socket buffers, and those it had taken but not answered; nothing is resent"
	case has("PAIR"):
		return "if either end dies or restarts, the messages queued for it and in the kernel's socket buffers are lost; nothing is resent"
	}
	return "if either end dies or restarts, the messages in its queues are lost"
}
