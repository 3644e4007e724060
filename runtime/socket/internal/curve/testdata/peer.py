"""libzmq (through pyzmq) as the other end of curve's interop tests.

  peer.py public SECRET_Z85...        print each key's public, from zmq.curve_public
  peer.py server SECRET_Z85 MODE N    DEALER CURVE server on tcp://127.0.0.1:0; prints
                                      "port P", then echoes N multipart messages
                                      (MODE "echo"; "ping" also sends ZMTP PINGs), or publishes "b-skip" and "a-keep" from a PUB (MODE "pub"),
                                      or refuses every client through
                                      ZAP (MODE "deny")
  peer.py client SERVER_Z85 PORT MODE N
                                      DEALER CURVE client with a fresh key (prints
                                      "key PUBLIC"); MODE "echo": sends the test
                                      messages N times and reads the echoes; else
                                      just watches the handshake

Each message received is printed as "msg " + JSON [[len, sha256 hex], ...]; monitor
events as "event NAME VALUE". The process bounds itself to 30 s and exits when
stdin closes.
"""
import hashlib, json, os, sys, tempfile, threading, time
import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils.monitor import recv_monitor_message

def out(*a):
    print(*a, flush=True)

def messages():
    return [[b"hello"], [b"part1", b"part2", b"part3"], [b""],
            [bytes(i % 251 for i in range(1 << 20))]]

def describe(frames):
    return json.dumps([[len(f), hashlib.sha256(f).hexdigest()] for f in frames], separators=(",", ":"))

def watchdog():
    def run():
        sys.stdin.read()
        os._exit(0)
    threading.Thread(target=run, daemon=True).start()
    threading.Timer(30, lambda: os._exit(3)).start()

EVENTS = {v: k for k, v in vars(zmq).items() if k.startswith("EVENT_") and isinstance(v, int)}

def main():
    cmd = sys.argv[1]
    if cmd == "public":
        for s in sys.argv[2:]:
            out(zmq.curve_public(s.encode()).decode())
        return
    watchdog()
    ctx = zmq.Context()
    if cmd == "server":
        secret, mode, n = sys.argv[2].encode(), sys.argv[3], int(sys.argv[4])
        auth = None
        if mode == "deny":
            auth = ThreadAuthenticator(ctx)
            auth.start()
            auth.configure_curve(domain="*", location=tempfile.mkdtemp())  # no certificates: nobody allowed
        s = ctx.socket(zmq.PUB if mode == "pub" else zmq.DEALER)
        s.curve_secretkey = secret
        s.curve_publickey = zmq.curve_public(secret)
        s.curve_server = True
        s.linger = 2000
        if mode == "ping":  # ZMTP heartbeats: PING every 100 ms, drop the peer after 300 ms of silence
            s.heartbeat_ivl, s.heartbeat_timeout = 100, 300
        s.bind("tcp://127.0.0.1:0")
        out("port", s.getsockopt_string(zmq.LAST_ENDPOINT).rsplit(":", 1)[1])
        if mode == "pub":  # publish two topics until stdin closes
            while True:
                s.send(b"b-skip")
                s.send(b"a-keep")
                time.sleep(0.02)
        for _ in range(n):
            frames = s.recv_multipart()
            out("msg", describe(frames))
            s.send_multipart(frames)
        out("done")
        time.sleep(0.5)
        s.close()
        if auth:
            auth.stop()
        ctx.term()
        return
    if cmd == "client":
        server, port, mode, n = sys.argv[2].encode(), sys.argv[3], sys.argv[4], int(sys.argv[5])
        pub, sec = zmq.curve_keypair()
        out("key", pub.decode())
        s = ctx.socket(zmq.DEALER)
        s.curve_serverkey, s.curve_publickey, s.curve_secretkey = server, pub, sec
        s.linger = 0
        mon = s.get_monitor_socket()
        s.connect("tcp://127.0.0.1:" + port)
        if mode == "echo":
            for _ in range(n):
                for m in messages():
                    s.send_multipart(m)
            for _ in range(n * len(messages())):
                out("msg", describe(s.recv_multipart()))
            out("done")
        else:
            deadline = time.time() + 3
            while time.time() < deadline:
                if mon.poll(100):
                    ev = recv_monitor_message(mon)
                    out("event", EVENTS.get(ev["event"], ev["event"]), ev["value"])
                    if ev["event"] in (zmq.EVENT_HANDSHAKE_FAILED_AUTH, zmq.EVENT_HANDSHAKE_SUCCEEDED):
                        break
            out("done")
        s.disable_monitor()
        mon.close()
        s.close()
        ctx.term()
        return
    raise SystemExit("unknown command " + cmd)

main()
