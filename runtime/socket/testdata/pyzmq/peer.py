"""peer.py: a libzmq peer (through pyzmq) for topo's interop tests.

Run by runtime/socket/interop_test.go with /usr/bin/python3 (Debian's
python3-zmq). Loopback only. Every socket operation has a timeout and the
whole process is bounded by -deadline (SIGALRM), so it always exits on its own.

Protocol on stdout, one line each:
  PORT <n>        after binding (-bind picks an ephemeral port on 127.0.0.1)
  READY           when the peer is attached and about to run its role
  RESULT <json>   last line: what the peer saw; "error" is set on failure
Roles may read "GO" lines from stdin (see pub). Diagnostics go to stderr.

Message shapes shared with the Go tests (keep in sync with interop_test.go):
  data(i)   = [b"msg-%d" % i, body(i)]  where body(i) is sizes[i % len] bytes
              of the value i % 251, sizes = 0, 1, 255, 256, 1000, 70000
  pub(i)    = b"wx-%d" % i for even i, b"zz-%d" % i for odd i,
              and b"w" / b"wxy-%d" % i every 10th (filter edge cases)
"""
import argparse
import json
import signal
import sys
import time

import zmq

SIZES = (0, 1, 255, 256, 1000, 70000)


def body(i):
    return bytes([i % 251]) * SIZES[i % len(SIZES)]


def data(i):
    return [b"msg-%d" % i, body(i)]


def pub_msgs(n):
    """The PUB stream and which of its messages a 'wx' subscriber keeps."""
    out = []
    for i in range(n):
        out.append(b"wx-%d" % i if i % 2 == 0 else b"zz-%d" % i)
        if i % 10 == 0:
            out.append(b"w")  # shorter than the prefix: filtered
            out.append(b"wxy-%d" % i)  # longer, matches
    return out


def emit(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def log(*a):
    print("peer.py:", *a, file=sys.stderr, flush=True)


class Fail(Exception):
    pass


def check_data(i, frames):
    want = data(i)
    if frames != want:
        got = [f[:32] for f in frames]
        raise Fail("message %d: got %d frames %r (lens %s), want lens %s" % (
            i, len(frames), got, [len(f) for f in frames], [len(f) for f in want]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-role", required=True)
    ap.add_argument("-ep", default="tcp://127.0.0.1")
    ap.add_argument("-bind", action="store_true")
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("-id", default="")
    ap.add_argument("-sub", default="wx")
    ap.add_argument("-timeout-ms", type=int, default=10000, help="per operation")
    ap.add_argument("-deadline", type=int, default=30, help="whole process, seconds")
    ap.add_argument("-heartbeat-ms", type=int, default=0)
    ap.add_argument("-gap-ms", type=int, default=0, help="pause between sends")
    ap.add_argument("-idle-ms", type=int, default=1000, help="pull-any: stop after this long without a message")
    ap.add_argument("-curve-secret", default="", help="CURVE: this peer's secret key (Z85); a server unless -curve-server-key")
    ap.add_argument("-curve-server-key", default="", help="CURVE: the server's public key (Z85): this peer is a client")
    a = ap.parse_args()

    signal.signal(signal.SIGALRM, lambda *_: (log("deadline"), sys.exit(3)))
    signal.alarm(a.deadline)

    ctx = zmq.Context()
    res = {"role": a.role}
    try:
        run(ctx, a, res)
    except Fail as e:
        res["error"] = str(e)
    except zmq.Again:
        res["error"] = "timeout (zmq.Again) after %d ms" % a.timeout_ms
    except zmq.ZMQError as e:
        res["error"] = "zmq: %s" % e
    emit("RESULT " + json.dumps(res))
    ctx.destroy(linger=0)


def make(ctx, a, kind):
    s = ctx.socket(kind)
    s.setsockopt(zmq.RCVTIMEO, a.timeout_ms)
    s.setsockopt(zmq.SNDTIMEO, a.timeout_ms)
    s.setsockopt(zmq.LINGER, a.timeout_ms)
    if a.id:
        s.setsockopt(zmq.ROUTING_ID, a.id.encode())
    if a.curve_secret:
        secret = a.curve_secret.encode()
        s.setsockopt(zmq.CURVE_SECRETKEY, secret)
        s.setsockopt(zmq.CURVE_PUBLICKEY, zmq.curve_public(secret))
        if a.curve_server_key:
            s.setsockopt(zmq.CURVE_SERVERKEY, a.curve_server_key.encode())
        else:
            s.setsockopt(zmq.CURVE_SERVER, 1)
    if a.heartbeat_ms:
        s.setsockopt(zmq.HEARTBEAT_IVL, a.heartbeat_ms)
        s.setsockopt(zmq.HEARTBEAT_TIMEOUT, a.heartbeat_ms * 10)
        s.setsockopt(zmq.HEARTBEAT_TTL, a.heartbeat_ms * 10)
    return s


def attach(s, a):
    if a.bind and not a.ep.startswith("tcp://"):
        s.bind(a.ep)  # ipc://path chosen by the test
    elif a.bind and a.ep.count(":") == 2:
        s.bind(a.ep)  # tcp://host:port chosen by the test
        emit("PORT %s" % a.ep.rsplit(":", 1)[1])
    elif a.bind:
        port = s.bind_to_random_port(a.ep, min_port=20000, max_port=60000, max_tries=200)
        emit("PORT %d" % port)
    else:
        s.connect(a.ep)


def monitor(s):
    """A monitor socket counting connection events (to prove a link stayed up)."""
    return s.get_monitor_socket(zmq.EVENT_ACCEPTED | zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED)


def drain_events(mon, res):
    from zmq.utils.monitor import recv_monitor_message
    names = {zmq.EVENT_ACCEPTED: "accepted", zmq.EVENT_CONNECTED: "connected",
             zmq.EVENT_DISCONNECTED: "disconnected"}
    while mon.poll(0):
        ev = recv_monitor_message(mon)
        k = names.get(ev["event"])
        if k:
            res[k] = res.get(k, 0) + 1


def wait_stdin_go(timeout_s):
    """Blocks until a 'GO' line arrives on stdin (or raises Fail)."""
    p = zmq.Poller()
    p.register(sys.stdin, zmq.POLLIN)
    if not p.poll(timeout_s * 1000):
        raise Fail("no GO on stdin")
    line = sys.stdin.readline()
    if line.strip() != "GO":
        raise Fail("stdin: %r" % line)


def run(ctx, a, res):
    r = a.role
    if r in ("push", "hb-push"):
        s = make(ctx, a, zmq.PUSH)
        mon = monitor(s) if r == "hb-push" else None
        attach(s, a)
        emit("READY")
        for i in range(a.n):
            if a.gap_ms and i > 0:
                time.sleep(a.gap_ms / 1000)
            s.send_multipart(data(i))
        res["sent"] = a.n
        if mon is not None:
            # the peer is still up (it waits for more after the last message):
            # any disconnect counted here happened during the exchange
            time.sleep(0.05)
            drain_events(mon, res)
        s.close(linger=a.timeout_ms)  # flush before exiting

    elif r == "hb-hold":
        # A heartbeating PUSH (-heartbeat-ms) that sends data(i) n times,
        # prints SENT, and then holds its connection until GO arrives on
        # stdin: the test may SIGSTOP it meanwhile to make it silent.
        s = make(ctx, a, zmq.PUSH)
        mon = monitor(s)
        attach(s, a)
        emit("READY")
        for i in range(a.n):
            s.send_multipart(data(i))
        emit("SENT")
        wait_stdin_go(a.timeout_ms // 1000)
        drain_events(mon, res)
        res["sent"] = a.n

    elif r == "plain-pull":
        # A PLAIN server (ZMQ_PLAIN_SERVER) whose ZAP handler accepts only
        # user/secret; receives data(i) n times. Reports the credentials
        # offered, as the ZAP handler saw them, in "offered".
        from zmq.auth.thread import ThreadAuthenticator
        offered = []

        auth = ThreadAuthenticator(ctx)
        auth.start()
        try:
            orig = auth.thread.authenticator._authenticate_plain

            def record(domain, username, password):
                u = username.decode() if isinstance(username, bytes) else username
                p = password.decode() if isinstance(password, bytes) else password
                offered.append("%s:%s" % (u, p))
                return orig(domain, username, password)

            auth.thread.authenticator._authenticate_plain = record
            auth.configure_plain(domain="*", passwords={"user": "secret"})
            s = make(ctx, a, zmq.PULL)
            s.setsockopt(zmq.PLAIN_SERVER, 1)
            attach(s, a)
            emit("READY")
            for i in range(a.n):
                check_data(i, s.recv_multipart())
            res["received"] = a.n
            s.close(linger=0)
        finally:
            res["offered"] = offered
            auth.stop()

    elif r == "curve-zap-deny":
        # A CURVE server PULL (-curve-secret) whose ZAP handler (a raw REP on
        # inproc://zeromq.zap.01) refuses every client with status 400
        # "denied", until GO arrives on stdin; reports how many handshakes
        # reached ZAP ("zap_requests") and the keys offered ("keys", Z85).
        import threading
        import zmq.utils.z85
        zap = ctx.socket(zmq.REP)
        zap.bind("inproc://zeromq.zap.01")
        keys = []
        stop = threading.Event()

        def handler():
            while not stop.is_set():
                if not zap.poll(50):
                    continue
                req = zap.recv_multipart()
                # version, request id, domain, address, identity, mechanism, credentials...
                if len(req) >= 7 and req[5] == b"CURVE":
                    keys.append(zmq.utils.z85.encode(req[6]).decode())
                zap.send_multipart([b"1.0", req[1], b"400", b"denied", b"", b""])

        th = threading.Thread(target=handler, daemon=True)
        th.start()
        s = make(ctx, a, zmq.PULL)
        attach(s, a)
        emit("READY")
        try:
            wait_stdin_go(a.timeout_ms // 1000)
            if s.poll(0):
                raise Fail("a refused client's message arrived")
        finally:
            stop.set()
            th.join()
            zap.close(linger=0)
        res["zap_requests"] = len(keys)
        res["keys"] = sorted(set(keys))

    elif r in ("pull", "hb-pull"):
        s = make(ctx, a, zmq.PULL)
        mon = monitor(s) if r == "hb-pull" else None
        attach(s, a)
        emit("READY")
        for i in range(a.n):
            check_data(i, s.recv_multipart())
        res["received"] = a.n
        if mon is not None:
            drain_events(mon, res)
        # nothing more may arrive
        if s.poll(200):
            raise Fail("unexpected extra message %r" % s.recv_multipart()[:1])

    elif r == "pull-meta":
        # Receives data(i) messages and reports the ZMTP metadata properties
        # libzmq exposes on the first one (zmq_msg_gets): what topo announced.
        s = make(ctx, a, zmq.PULL)
        attach(s, a)
        emit("READY")
        for i in range(a.n):
            frames = s.recv_multipart(copy=False)
            if i == 0:
                for prop in ("Socket-Type", "X-Topo-Run", "X-Topo-Peer"):
                    try:
                        res[prop] = frames[0].get(prop)
                    except zmq.ZMQError:
                        res[prop] = None
            check_data(i, [f.bytes for f in frames])
        res["received"] = a.n

    elif r == "pull-any":
        # Receives data(i) messages for any i until -idle-ms pass without one
        # (after the first); reports the sequence numbers in arrival order.
        s = make(ctx, a, zmq.PULL)
        attach(s, a)
        emit("READY")
        seqs = []
        while True:
            if not s.poll(a.idle_ms if seqs else a.timeout_ms):
                if not seqs:
                    raise Fail("nothing received")
                break
            m = s.recv_multipart()
            if len(m) != 2 or not m[0].startswith(b"msg-"):
                raise Fail("malformed %r" % [f[:32] for f in m])
            i = int(m[0][4:])
            check_data(i, m)
            seqs.append(i)
        res["seqs"] = seqs

    elif r == "pub":
        # A real PUB cannot see subscriptions, so it announces itself with
        # "<sub>-probe" messages until the test writes GO on stdin (the test
        # has received a probe, so its subscription has reached us), then sends
        # pub_msgs(n) and finally "<sub>-end".
        s = make(ctx, a, zmq.PUB)
        s.setsockopt(zmq.SNDHWM, 0)
        attach(s, a)
        emit("READY")
        p = zmq.Poller()
        p.register(sys.stdin, zmq.POLLIN)
        t_end = time.time() + a.timeout_ms / 1000
        while True:
            s.send(a.sub.encode() + b"-probe")
            if p.poll(10):
                break
            if time.time() > t_end:
                raise Fail("no GO on stdin")
        wait_stdin_go(1)
        msgs = pub_msgs(a.n)
        for m in msgs:
            s.send(m)
        s.send(a.sub.encode() + b"-end")
        res["sent"] = len(msgs)
        s.close(linger=a.timeout_ms)

    elif r == "xpub":
        # Waits for the first subscription message (reported as hex), then
        # sends pub_msgs(n) and "<sub>-end"; libzmq's XPUB filters.
        s = make(ctx, a, zmq.XPUB)
        s.setsockopt(zmq.SNDHWM, 0)
        attach(s, a)
        emit("READY")
        sub = s.recv()
        res["subscription"] = sub.hex()
        msgs = pub_msgs(a.n)
        for m in msgs:
            s.send(m)
        s.send(a.sub.encode() + b"-end")
        res["sent"] = len(msgs)
        s.close(linger=a.timeout_ms)

    elif r == "sub":
        # Expects pub_msgs(n) filtered by -sub, then "<sub>-end".
        s = make(ctx, a, zmq.SUB)
        s.setsockopt(zmq.RCVHWM, 0)
        s.setsockopt(zmq.SUBSCRIBE, a.sub.encode())
        attach(s, a)
        emit("READY")
        want = [m for m in pub_msgs(a.n) if m.startswith(a.sub.encode())]
        got = []
        while True:
            m = s.recv_multipart()
            if len(m) != 1:
                raise Fail("multi-frame message %r" % m)
            if m[0] == a.sub.encode() + b"-end":
                break
            if m[0].endswith(b"-probe"):
                continue
            if not m[0].startswith(a.sub.encode()):
                raise Fail("filter not honoured: got %r" % m[0])
            got.append(m[0])
        if got != want:
            raise Fail("got %d messages, want %d; first difference at %d" % (
                len(got), len(want), next((k for k, (x, y) in enumerate(zip(got, want)) if x != y), min(len(got), len(want)))))
        res["received"] = len(got)

    elif r == "rep":
        # Replies [b"re"] + request to each request.
        s = make(ctx, a, zmq.REP)
        attach(s, a)
        emit("READY")
        for i in range(a.n):
            req = s.recv_multipart()
            check_data(i, req)
            s.send_multipart([b"re"] + req)
        res["replied"] = a.n
        time.sleep(0.1)

    elif r == "req":
        # Sends data(i), expects [b"re"] + data(i) back.
        s = make(ctx, a, zmq.REQ)
        attach(s, a)
        emit("READY")
        for i in range(a.n):
            s.send_multipart(data(i))
            rep = s.recv_multipart()
            if rep != [b"re"] + data(i):
                raise Fail("reply %d: %r" % (i, [f[:32] for f in rep]))
        res["round_trips"] = a.n

    elif r == "dealer":
        # Sends [b"d", id, b"%d" % i] n times, then expects n replies
        # [b"r", id, b"%d" % i] (any order from the ROUTER is fine, but
        # every reply must be addressed to this dealer).
        s = make(ctx, a, zmq.DEALER)
        attach(s, a)
        emit("READY")
        me = a.id.encode()
        for i in range(a.n):
            s.send_multipart([b"d", me, b"%d" % i])
        seen = set()
        for _ in range(a.n):
            m = s.recv_multipart()
            if len(m) != 3 or m[0] != b"r" or m[1] != me:
                raise Fail("misrouted reply %r" % m)
            seen.add(int(m[2]))
        if seen != set(range(a.n)):
            raise Fail("replies: got %d distinct, want %d" % (len(seen), a.n))
        res["replies"] = a.n

    elif r == "router":
        # For each [identity, b"d", id, seq] it checks identity == id and
        # routes [identity, b"r", id, seq] back. Stops after n messages.
        s = make(ctx, a, zmq.ROUTER)
        s.setsockopt(zmq.ROUTER_MANDATORY, 1)
        attach(s, a)
        emit("READY")
        per = {}
        for _ in range(a.n):
            m = s.recv_multipart()
            if len(m) != 4 or m[1] != b"d" or m[0] != m[2]:
                raise Fail("bad envelope %r" % m)
            per[m[0].decode()] = per.get(m[0].decode(), 0) + 1
            s.send_multipart([m[0], b"r", m[2], m[3]])
        res["per_identity"] = per
        time.sleep(0.1)
    else:
        raise Fail("unknown role %s" % r)


if __name__ == "__main__":
    main()
