"""Peers outside a topo run, for examples/secure's tests (pyzmq, libzmq).

  outside.py hostile TASKS RESULTS
      Connects four clients that must be refused: a plaintext PULL and a
      PULL with a wrong CURVE server key to TASKS (they would steal tasks),
      a plaintext PUSH and a wrong-key PUSH to RESULTS (they would forge
      results). Prints "ready" once they are connecting, keeps trying until
      stdin closes, then prints "pulled N pushed M": what got through.

  outside.py sub ENDPOINT SERVER_KEY N
      A CURVE SUB with the given server key (Z85) and a fresh key pair:
      prints "received N" once it has N messages, or what it had when stdin
      closes.
"""
import sys
import zmq


def curve_client(sock, server_key):
    pub, sec = zmq.curve_keypair()
    sock.curve_serverkey = server_key
    sock.curve_publickey = pub
    sock.curve_secretkey = sec


def hostile(ctx, tasks, results):
    wrong, _ = zmq.curve_keypair()
    pulls, pushes = [], []
    for key in (None, wrong):
        p = ctx.socket(zmq.PULL)
        q = ctx.socket(zmq.PUSH)
        q.immediate = 1  # queue only to completed connections, so pushed counts deliveries
        for s in (p, q):
            s.linger = 0
            s.reconnect_ivl = 10  # ms: try often, the ventilator's port lives briefly
            if key is not None:
                curve_client(s, key)
        p.connect(tasks)
        q.connect(results)
        pulls.append(p)
        pushes.append(q)
    print("ready", flush=True)
    poller = zmq.Poller()
    for p in pulls:
        poller.register(p, zmq.POLLIN)
    poller.register(sys.stdin.fileno(), zmq.POLLIN)
    pulled = pushed = 0
    while True:
        for q in pushes:
            try:
                q.send(b"forged result", zmq.NOBLOCK)
                pushed += 1
            except zmq.Again:
                pass
        events = dict(poller.poll(20))
        if sys.stdin.fileno() in events:
            if not sys.stdin.buffer.read1(4096):
                break
        for p in pulls:
            if p in events:
                p.recv()
                pulled += 1
    print("pulled %d pushed %d" % (pulled, pushed), flush=True)


def sub(ctx, endpoint, server_key, want):
    s = ctx.socket(zmq.SUB)
    s.linger = 0
    curve_client(s, server_key.encode())
    s.setsockopt(zmq.SUBSCRIBE, b"")
    s.connect(endpoint)
    poller = zmq.Poller()
    poller.register(s, zmq.POLLIN)
    poller.register(sys.stdin.fileno(), zmq.POLLIN)
    got = 0
    while got < want:
        events = dict(poller.poll(1000))
        if s in events:
            s.recv()
            got += 1
        if sys.stdin.fileno() in events and not sys.stdin.buffer.read1(4096):
            break
    print("received %d" % got, flush=True)


def main():
    ctx = zmq.Context()
    if sys.argv[1] == "hostile":
        hostile(ctx, sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "sub":
        sub(ctx, sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit("unknown mode " + sys.argv[1])
    ctx.destroy(linger=0)


if __name__ == "__main__":
    main()
