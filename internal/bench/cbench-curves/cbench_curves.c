/* cbench_curves: libzmq counterpart of internal/bench's cost-curve roles
 * (scripts/curves.sh), extended from ../shared/zmqbench/cbench/cbench.c:
 * same flags and JSON fields as internal/bench.
 *
 * Build: cc -O2 -Wall -o cbench-curves cbench_curves.c -lzmq -lpthread
 *
 * Roles: pull, push, pub, sub (-subs N), inproc-pushpull (any -size, zmq_msg_t),
 * pull-many / sub-many (-conns N sockets in one thread, zmq_poll), req-many
 * (-conns N threads, one REQ each), rep, idle-peers (-conns N idle PUSH),
 * idle-hold (PULL bind, waits for -peers accepted connections (counted in
 * /proc/self/fd), then measures -n messages from one more peer), proxy-chain
 * (-hops K zmq_proxy threads PULL->PUSH between a PUSH generator thread and
 * a PULL counter, one context, tcp or inproc), hs-accept (handshakes per
 * second from -conns idle-peers). -curve server|client runs pull, push,
 * idle-peers and hs-accept over CURVE with built-in keys.
 * PUB/SUB use HWM 0 (unbounded), as cbench does.
 */
#include <zmq.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

static const char *role = "";
static const char *ep = "tcp://127.0.0.1:24700";
static int do_bind = 0;
static long n = 100000;
static long size = 16;
static const char *subpfx = "wx";
static int idle_ms = 10000;
static int settle_ms = 300;
static int warmup = 1000;
static const char *label = "";
static int conns = 1, peers = 1, subs = 1, hops = 1, do_stamp = 0, hold_ms = 60000;
static double rate = 0;
static const char *transport = "tcp";
static const char *curve = ""; /* -curve server|client: CURVE with built-in keys */

/* libzmq's test key pairs (tests/testutil_security.cpp), the same as
 * internal/bench/security.go: either side may be topo or libzmq. */
static const char *srv_pub = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
static const char *srv_sec = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
static const char *cli_pub = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
static const char *cli_sec = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";

/* secure applies -curve to a new socket. */
static int secure(void *s) {
    if (!*curve) return 0;
    if (!strcmp(curve, "server")) {
        int one = 1;
        return zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof one) || zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, srv_sec, 40) ||
               zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, srv_pub, 40);
    }
    return zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, srv_pub, 40) || zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, cli_sec, 40) ||
           zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, cli_pub, 40);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}
static int64_t wall_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
static void put_u64(unsigned char *b, uint64_t v) {
    for (int i = 7; i >= 0; i--) { b[i] = v & 0xff; v >>= 8; }
}
static uint64_t get_u64(const unsigned char *b) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | b[i];
    return v;
}
static long rss_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = 0;
    if (!f) return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &v) == 1) break;
    fclose(f);
    return v;
}

static void header(void) {
    printf("{\"impl\":\"libzmq-%d.%d.%d-C\",\"role\":\"%s\",\"ep\":\"%s\",\"size\":%ld",
           ZMQ_VERSION_MAJOR, ZMQ_VERSION_MINOR, ZMQ_VERSION_PATCH, role, ep, size);
    if (*curve) printf(",\"curve\":\"%s\"", curve);
    if (*label) printf(",\"label\":\"%s\"", label);
}
static int fail(const char *what) {
    header();
    printf(",\"error\":\"%s: %s\"}\n", what, zmq_strerror(zmq_errno()));
    return 1;
}
static int attach(void *s) {
    if (secure(s) != 0) return -1;
    return do_bind ? zmq_bind(s, ep) : zmq_connect(s, ep);
}
static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static void pcts(double *lat, long k) {
    qsort(lat, k, sizeof(double), cmp_d);
    if (k == 0) return;
    double sum = 0;
    for (long i = 0; i < k; i++) sum += lat[i];
    printf(",\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,\"min_us\":%.2f,\"max_us\":%.2f,\"mean_us\":%.2f",
           lat[(long)(0.5 * (k - 1))], lat[(long)(0.9 * (k - 1))], lat[(long)(0.99 * (k - 1))], lat[0], lat[k - 1],
           sum / k);
}
static void rate_fields(long count, double el) {
    if (count > 0 && el > 0)
        printf(",\"elapsed_s\":%.6f,\"msgs_per_s\":%.1f,\"mbit_per_s\":%.1f", el, count / el,
               count * (double)size * 8 / el / 1e6);
}

/* recv_loop receives up to expect messages from s (zmq_msg_t, any size),
 * checking sequence numbers (step) and the prefix; it prints the result. */
static int recv_loop(void *s, long expect, uint64_t step, const char *pfx, const char *extra) {
    zmq_msg_t m;
    zmq_msg_init(&m);
    long count = 0, gaps = 0, bad = 0;
    uint64_t next = 0;
    double start = 0, end = 0;
    const char *err = NULL;
    size_t pl = pfx ? strlen(pfx) : 0;
    while (count < expect) {
        int r = zmq_msg_recv(&m, s, 0);
        if (r < 0) { err = zmq_strerror(zmq_errno()); break; }
        const unsigned char *b = zmq_msg_data(&m);
        if (pfx && (r < (int)pl || memcmp(b, pfx, pl) != 0)) bad++;
        if (++count == 1) start = now_s();
        if (r >= 10) {
            uint64_t q = get_u64(b + 2);
            if (q != next) gaps++;
            next = q + step;
        }
    }
    end = now_s();
    zmq_msg_close(&m);
    header();
    printf(",\"count\":%ld,\"expect\":%ld,\"gaps\":%ld,\"bad\":%ld", count, expect, gaps, bad);
    rate_fields(count, end - start);
    if (extra) printf("%s", extra);
    if (err) printf(",\"error\":\"recv: %s (%ld/%ld)\"", err, count, expect);
    printf("}\n");
    return err ? 1 : 0;
}

static int run_recv(void) {
    void *ctx = zmq_ctx_new();
    int is_sub = strcmp(role, "sub") == 0;
    void *s = zmq_socket(ctx, is_sub ? ZMQ_SUB : ZMQ_PULL);
    int zero = 0;
    char extra[64] = "";
    if (is_sub) {
        zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof zero);
        /* subscriptions travel SUB->PUB as messages: with the default
         * SNDHWM (1000) libzmq drops those past it on connect */
        zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof zero);
        /* the prefixes are written before the clock starts (as the Go
         * side does): subscribe_s is the zmq_setsockopt calls alone */
        char *keys = malloc(subs > 1 ? (size_t)subs * 16 : 16);
        if (!keys) return fail("malloc");
        for (int i = 1; i < subs; i++)
            snprintf(keys + (size_t)i * 16, 16, "q%07d", i);
        double t0 = now_s();
        zmq_setsockopt(s, ZMQ_SUBSCRIBE, subpfx, strlen(subpfx));
        for (int i = 1; i < subs; i++) {
            const char *p = keys + (size_t)i * 16;
            zmq_setsockopt(s, ZMQ_SUBSCRIBE, p, strlen(p));
        }
        snprintf(extra, sizeof extra, ",\"subscribe_s\":%.6f", now_s() - t0);
        free(keys);
    }
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &idle_ms, sizeof idle_ms);
    if (attach(s) != 0) return fail("attach");
    int rc = recv_loop(s, is_sub ? (n + 1) / 2 : n, is_sub ? 2 : 1, is_sub ? subpfx : NULL, extra);
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return rc;
}

static void pace(long i, double t0) {
    if (rate > 0 && i % 16 == 0) {
        double d = t0 + i / rate - now_s();
        if (d > 0) usleep((useconds_t)(d * 1e6));
    }
}

static int run_send(void) {
    long r0 = rss_kb();
    void *ctx = zmq_ctx_new();
    int is_pub = strcmp(role, "pub") == 0;
    void *s = zmq_socket(ctx, is_pub ? ZMQ_PUB : ZMQ_PUSH);
    int zero = 0;
    if (is_pub) {
        zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof zero);
        zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof zero); /* subscriptions arrive as messages */
    }
    if (attach(s) != 0) return fail("attach");
    usleep(settle_ms * 1000);
    long r1 = rss_kb();
    unsigned char *buf = calloc(1, size);
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        const char *topic = "pp";
        if (is_pub) topic = (i % 2 == 0) ? subpfx : "zz";
        pace(i, t0);
        memcpy(buf, topic, 2);
        put_u64(buf + 2, (uint64_t)i);
        if (do_stamp && size >= 18) put_u64(buf + 10, (uint64_t)wall_ns());
        if (zmq_send(s, buf, size, 0) < 0) return fail("send");
    }
    double el = now_s() - t0;
    zmq_close(s); /* default linger: flush everything */
    zmq_ctx_term(ctx);
    header();
    printf(",\"sent\":%ld,\"send_elapsed_s\":%.6f,\"send_calls_per_s\":%.1f,\"rss_kb_start\":%ld,\"rss_kb_ready\":%ld}\n",
           n, el, n / el, r0, r1);
    free(buf);
    return 0;
}

/* pull-many / sub-many: conns sockets in one thread, zmq_poll. */
static int run_recv_many(void) {
    void *ctx = zmq_ctx_new();
    int max = conns + 64;
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, max);
    int is_sub = strcmp(role, "sub-many") == 0;
    void **socks = calloc(conns, sizeof(void *));
    zmq_pollitem_t *items = calloc(conns, sizeof(zmq_pollitem_t));
    long *got = calloc(conns, sizeof(long));
    int zero = 0;
    for (int i = 0; i < conns; i++) {
        socks[i] = zmq_socket(ctx, is_sub ? ZMQ_SUB : ZMQ_PULL);
        if (!socks[i]) return fail("socket");
        if (is_sub) {
            zmq_setsockopt(socks[i], ZMQ_RCVHWM, &zero, sizeof zero);
            zmq_setsockopt(socks[i], ZMQ_SUBSCRIBE, subpfx, strlen(subpfx));
        }
        if (attach(socks[i]) != 0) return fail("attach");
        items[i].socket = socks[i];
        items[i].events = ZMQ_POLLIN;
    }
    long per = is_sub ? (n + 1) / 2 : n;
    long expect = is_sub ? per * conns : n, count = 0, k = 0;
    double *lat = is_sub ? malloc(sizeof(double) * (expect + 1)) : NULL;
    double start = 0, end = 0;
    const char *err = NULL;
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (count < expect) {
        int r = zmq_poll(items, conns, idle_ms);
        if (r <= 0) { err = r == 0 ? "idle timeout" : zmq_strerror(zmq_errno()); break; }
        for (int i = 0; i < conns && count < expect; i++) {
            if (!(items[i].revents & ZMQ_POLLIN)) continue;
            while (count < expect && (!is_sub || got[i] < per)) {
                int sz = zmq_msg_recv(&m, socks[i], ZMQ_DONTWAIT);
                if (sz < 0) break;
                int64_t t = wall_ns();
                if (++count == 1) start = now_s();
                got[i]++;
                if (is_sub && sz >= 18) lat[k++] = (t - (int64_t)get_u64((unsigned char *)zmq_msg_data(&m) + 10)) / 1e3;
            }
        }
    }
    end = now_s();
    zmq_msg_close(&m);
    header();
    printf(",\"conns\":%d,\"count\":%ld,\"expect\":%ld,\"gaps\":0", conns, count, expect);
    rate_fields(count, end - start);
    if (k > 0) pcts(lat, k);
    if (err) printf(",\"error\":\"%s (%ld/%ld)\"", err, count, expect);
    printf("}\n");
    for (int i = 0; i < conns; i++) {
        zmq_setsockopt(socks[i], ZMQ_LINGER, &zero, sizeof zero);
        zmq_close(socks[i]);
    }
    zmq_ctx_term(ctx);
    return err ? 1 : 0;
}

/* req-many: conns threads, one REQ each; barrier after warm-up. */
struct reqarg {
    void *ctx;
    long per, warm;
    double *lat;
    long mism;
    const char *err;
};
static pthread_barrier_t req_barrier;
static void *req_thread(void *p) {
    struct reqarg *a = p;
    void *s = zmq_socket(a->ctx, ZMQ_REQ);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &idle_ms, sizeof idle_ms);
    if (zmq_connect(s, ep) != 0) a->err = zmq_strerror(zmq_errno());
    unsigned char *buf = calloc(1, size), rbuf[256];
    for (long i = 0; i < a->warm + a->per; i++) {
        if (i == a->warm) pthread_barrier_wait(&req_barrier);
        if (a->err) continue;
        memcpy(buf, "pp", 2);
        put_u64(buf + 2, (uint64_t)i);
        double t = now_s();
        if (zmq_send(s, buf, size, 0) < 0) { a->err = zmq_strerror(zmq_errno()); continue; }
        int r = zmq_recv(s, rbuf, sizeof rbuf, 0);
        double dt = now_s() - t;
        if (r < 0) { a->err = zmq_strerror(zmq_errno()); continue; }
        if (r < 10 || get_u64(rbuf + 2) != (uint64_t)i) a->mism++;
        if (i >= a->warm) a->lat[i - a->warm] = dt * 1e6;
    }
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(s);
    free(buf);
    return NULL;
}
static double req_t0;
static int run_req_many(void) {
    void *ctx = zmq_ctx_new();
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, conns + 64);
    long per = n / conns > 0 ? n / conns : 1, warm = warmup / conns > 0 ? warmup / conns : 1;
    pthread_barrier_init(&req_barrier, NULL, conns + 1);
    pthread_t *th = calloc(conns, sizeof(pthread_t));
    struct reqarg *args = calloc(conns, sizeof(struct reqarg));
    for (int i = 0; i < conns; i++) {
        args[i] = (struct reqarg){ctx, per, warm, malloc(sizeof(double) * per), 0, NULL};
        pthread_create(&th[i], NULL, req_thread, &args[i]);
    }
    pthread_barrier_wait(&req_barrier);
    req_t0 = now_s();
    for (int i = 0; i < conns; i++) pthread_join(th[i], NULL);
    double wall = now_s() - req_t0;
    double *all = malloc(sizeof(double) * per * conns);
    long k = 0, mism = 0;
    const char *err = NULL;
    for (int i = 0; i < conns; i++) {
        memcpy(all + k, args[i].lat, sizeof(double) * per);
        k += per;
        mism += args[i].mism;
        if (args[i].err) err = args[i].err;
    }
    zmq_ctx_term(ctx);
    header();
    printf(",\"conns\":%d,\"round_trips\":%ld,\"mismatched\":%ld,\"rtt_per_s\":%.1f", conns, k, mism, k / wall);
    pcts(all, k);
    if (err) printf(",\"error\":\"%s\"", err);
    printf("}\n");
    return err ? 1 : 0;
}

static int run_rep(void) {
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_REP);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &idle_ms, sizeof idle_ms);
    if (attach(s) != 0) return fail("attach");
    unsigned char *buf = malloc(1 << 16);
    long total = warmup + n, count = 0;
    const char *err = NULL;
    while (count < total) {
        int r = zmq_recv(s, buf, 1 << 16, 0);
        if (r < 0) { err = zmq_strerror(zmq_errno()); break; }
        if (zmq_send(s, buf, r, 0) < 0) { err = zmq_strerror(zmq_errno()); break; }
        count++;
    }
    zmq_close(s);
    zmq_ctx_term(ctx);
    header();
    printf(",\"replied\":%ld", count);
    if (err) printf(",\"error\":\"%s\"", err);
    printf("}\n");
    return err ? 1 : 0;
}

/* inproc-pushpull with any size: the sender copies into a new zmq_msg per
 * message (zmq_send copies too). */
static void *inproc_sender(void *ctx) {
    void *s = zmq_socket(ctx, ZMQ_PUSH);
    zmq_connect(s, "inproc://curves");
    unsigned char *buf = calloc(1, size);
    for (long i = 0; i < n; i++) {
        memcpy(buf, "pp", 2);
        put_u64(buf + 2, (uint64_t)i);
        zmq_send(s, buf, size, 0);
    }
    zmq_close(s);
    free(buf);
    return NULL;
}
static int run_inproc(void) {
    void *ctx = zmq_ctx_new();
    void *pull = zmq_socket(ctx, ZMQ_PULL);
    zmq_setsockopt(pull, ZMQ_RCVTIMEO, &idle_ms, sizeof idle_ms);
    zmq_bind(pull, "inproc://curves");
    pthread_t th;
    pthread_create(&th, NULL, inproc_sender, ctx);
    int rc = recv_loop(pull, n, 1, NULL, NULL);
    pthread_join(th, NULL);
    zmq_close(pull);
    zmq_ctx_term(ctx);
    return rc;
}

static int run_idle_peers(void) {
    void *ctx = zmq_ctx_new();
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, conns + 64);
    void **socks = calloc(conns, sizeof(void *));
    for (int i = 0; i < conns; i++) {
        socks[i] = zmq_socket(ctx, ZMQ_PUSH);
        if (!socks[i] || secure(socks[i]) != 0 || zmq_connect(socks[i], ep) != 0) return fail("idle peer");
    }
    fprintf(stderr, "idle-peers: %d connecting\n", conns);
    usleep((useconds_t)hold_ms * 1000);
    int zero = 0;
    for (int i = 0; i < conns; i++) {
        zmq_setsockopt(socks[i], ZMQ_LINGER, &zero, sizeof zero);
        zmq_close(socks[i]);
    }
    zmq_ctx_term(ctx);
    header();
    printf(",\"conns\":%d}\n", conns);
    return 0;
}

/* idle-hold: count this process's sockets in /proc/self/fd (each accepted
 * tcp connection is one; a socket monitor drops events past its HWM). */
static long socket_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    char path[300], link[64];
    long k = 0;
    if (!d) return -1;
    while ((e = readdir(d)) != NULL) {
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t r = readlink(path, link, sizeof link - 1);
        if (r > 0) { link[r] = 0; if (strncmp(link, "socket:", 7) == 0) k++; }
    }
    closedir(d);
    return k;
}
static int wait_accepted(long base, long want, long *have) {
    double end = now_s() + idle_ms / 1e3 + want / 1e3;
    while ((*have = socket_fds() - base) < want) {
        if (now_s() > end) return -1;
        usleep(50000);
    }
    return 0;
}
static int run_idle_hold(void) {
    long r0 = rss_kb();
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_PULL);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &idle_ms, sizeof idle_ms);
    if (zmq_bind(s, ep) != 0) return fail("bind");
    usleep(100000);
    long have = 0, base = socket_fds();
    if (wait_accepted(base, peers, &have) != 0) {
        header();
        printf(",\"connected\":%ld,\"error\":\"%d idle peers: only %ld accepted\"}\n", have, peers, have);
        return 1;
    }
    usleep(200000);
    long r1 = rss_kb();
    fprintf(stderr, "idle-hold: %d idle peers\n", peers);
    char extra[256];
    snprintf(extra, sizeof extra, ",\"idle_peers\":%d,\"rss_kb_before\":%ld,\"rss_kb_after\":%ld,\"rss_bytes_per_conn\":%.1f",
             peers, r0, r1, (r1 - r0) * 1024.0 / (peers > 0 ? peers : 1));
    int rc = recv_loop(s, n, 1, NULL, extra);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return rc;
}

/* proxy-chain: generator -> hops x zmq_proxy(PULL, PUSH) -> counter. */
struct hop { void *ctx; char front[64], back[64]; };
static char chain_ep[64][64];
static void chain_addr(int i, char *out) {
    if (strcmp(transport, "inproc") == 0) snprintf(out, 64, "inproc://chain-%d", i);
    else snprintf(out, 64, "tcp://127.0.0.1:%d", atoi(strrchr(ep, ':') + 1) + i);
}
static void *hop_thread(void *p) {
    struct hop *h = p;
    void *f = zmq_socket(h->ctx, ZMQ_PULL), *b = zmq_socket(h->ctx, ZMQ_PUSH);
    zmq_bind(f, h->front);
    zmq_connect(b, h->back);
    zmq_proxy(f, b, NULL); /* returns when the context terminates */
    int zero = 0;
    zmq_setsockopt(f, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(b, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(f);
    zmq_close(b);
    return NULL;
}
static void *gen_thread(void *ctx) {
    void *s = zmq_socket(ctx, ZMQ_PUSH);
    zmq_connect(s, chain_ep[hops]);
    usleep(settle_ms * 1000);
    unsigned char *buf = calloc(1, size);
    for (long i = 0; i < n; i++) {
        memcpy(buf, "pp", 2);
        put_u64(buf + 2, (uint64_t)i);
        if (zmq_send(s, buf, size, 0) < 0) break;
    }
    zmq_close(s); /* default linger: what is queued still leaves */
    free(buf);
    return NULL;
}
static int run_proxy_chain(void) {
    if (hops < 1 || hops > 60) { fprintf(stderr, "-hops 1..60\n"); return 2; }
    void *ctx = zmq_ctx_new();
    for (int i = 0; i <= hops; i++) chain_addr(i, chain_ep[i]);
    void *cnt = zmq_socket(ctx, ZMQ_PULL);
    zmq_setsockopt(cnt, ZMQ_RCVTIMEO, &idle_ms, sizeof idle_ms);
    if (zmq_bind(cnt, chain_ep[0]) != 0) return fail("bind counter");
    struct hop *hp = calloc(hops + 1, sizeof(struct hop));
    pthread_t *th = calloc(hops + 1, sizeof(pthread_t));
    for (int i = 1; i <= hops; i++) { /* hop i binds chain_ep[i], pushes to chain_ep[i-1] */
        hp[i].ctx = ctx;
        strcpy(hp[i].front, chain_ep[i]);
        strcpy(hp[i].back, chain_ep[i - 1]);
        pthread_create(&th[i], NULL, hop_thread, &hp[i]);
    }
    usleep(100000); /* inproc: the hops bind before the generator connects */
    pthread_t g;
    pthread_create(&g, NULL, gen_thread, ctx);
    char extra[64];
    snprintf(extra, sizeof extra, ",\"hops\":%d,\"transport\":\"%s\"", hops, transport);
    int rc = recv_loop(cnt, n, 1, NULL, extra);
    pthread_join(g, NULL);
    int zero = 0;
    zmq_setsockopt(cnt, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(cnt);
    zmq_ctx_shutdown(ctx);
    for (int i = 1; i <= hops; i++) pthread_join(th[i], NULL);
    zmq_ctx_term(ctx);
    return rc;
}

/* hs-accept: a PULL bound at -ep (a CURVE server with -curve server) that
 * counts ZMQ_EVENT_HANDSHAKE_SUCCEEDED on its monitor until -conns
 * handshakes have completed, and reports their rate between the first and
 * the last (as internal/bench's hs-accept). */
static int run_hs_accept(void) {
    void *ctx = zmq_ctx_new();
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, conns + 64);
    void *s = zmq_socket(ctx, ZMQ_PULL);
    if (zmq_socket_monitor(s, "inproc://hs-mon", ZMQ_EVENT_HANDSHAKE_SUCCEEDED) != 0) return fail("monitor");
    void *mon = zmq_socket(ctx, ZMQ_PAIR);
    int zero = 0;
    zmq_setsockopt(mon, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(mon, ZMQ_RCVTIMEO, &idle_ms, sizeof idle_ms);
    if (zmq_connect(mon, "inproc://hs-mon") != 0) return fail("monitor connect");
    if (attach(s) != 0) return fail("attach");
    fprintf(stderr, "hs-accept: bound\n");
    long count = 0;
    double first = 0, last = 0;
    const char *err = NULL;
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (count < conns) {
        if (zmq_msg_recv(&m, mon, 0) < 0) { err = "timed out before every handshake"; break; }
        int more = zmq_msg_more(&m);
        if (zmq_msg_size(&m) == 6) {
            double t = now_s();
            if (count == 0) first = t;
            last = t;
            count++;
        }
        while (more) { zmq_msg_recv(&m, mon, 0); more = zmq_msg_more(&m); }
    }
    zmq_msg_close(&m);
    header();
    printf(",\"handshakes\":%ld,\"expect\":%d", count, conns);
    if (count > 1) printf(",\"elapsed_s\":%.6f,\"handshakes_per_s\":%.1f", last - first, (count - 1) / (last - first));
    if (err) printf(",\"error\":\"%s\"", err);
    printf("}\n");
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(s);
    zmq_setsockopt(mon, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(mon);
    zmq_ctx_term(ctx);
    return err ? 1 : 0;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = (i + 1 < argc) ? argv[i + 1] : "";
#define OPT(name) (strcmp(a, "-" name) == 0 || strcmp(a, "--" name) == 0)
        if (OPT("role")) { role = v; i++; }
        else if (OPT("ep")) { ep = v; i++; }
        else if (OPT("bind")) { do_bind = 1; }
        else if (OPT("stamp")) { do_stamp = 1; }
        else if (OPT("n")) { n = atol(v); i++; }
        else if (OPT("size")) { size = atol(v); i++; }
        else if (OPT("sub")) { subpfx = v; i++; }
        else if (OPT("idle-ms")) { idle_ms = atoi(v); i++; }
        else if (OPT("settle-ms")) { settle_ms = atoi(v); i++; }
        else if (OPT("hold-ms")) { hold_ms = atoi(v); i++; }
        else if (OPT("warmup")) { warmup = atoi(v); i++; }
        else if (OPT("label")) { label = v; i++; }
        else if (OPT("conns")) { conns = atoi(v); i++; }
        else if (OPT("peers")) { peers = atoi(v); i++; }
        else if (OPT("subs")) { subs = atoi(v); i++; }
        else if (OPT("hops")) { hops = atoi(v); i++; }
        else if (OPT("rate")) { rate = atof(v); i++; }
        else if (OPT("transport")) { transport = v; i++; }
        else if (OPT("curve")) { curve = v; i++; }
        else { fprintf(stderr, "cbench-curves: unknown flag %s\n", a); return 2; }
    }
    if (size < 18) size = size < 10 ? 10 : size;
    if (conns < 1) conns = 1;
    if (!strcmp(role, "pull") || !strcmp(role, "sub")) return run_recv();
    if (!strcmp(role, "push") || !strcmp(role, "pub")) return run_send();
    if (!strcmp(role, "pull-many") || !strcmp(role, "sub-many")) return run_recv_many();
    if (!strcmp(role, "req-many")) return run_req_many();
    if (!strcmp(role, "rep")) return run_rep();
    if (!strcmp(role, "inproc-pushpull")) return run_inproc();
    if (!strcmp(role, "idle-peers")) return run_idle_peers();
    if (!strcmp(role, "idle-hold")) return run_idle_hold();
    if (!strcmp(role, "proxy-chain")) return run_proxy_chain();
    if (!strcmp(role, "hs-accept")) return run_hs_accept();
    fprintf(stderr, "cbench-curves: unknown -role %s\n", role);
    return 2;
}
