/*
 * sqlite_append: the SQLite peer of `tools/bench/log-peers`.
 *
 * K appender threads each keep one event in flight; a single writer thread
 * drains whatever is queued into one transaction (WAL, synchronous=FULL), so
 * one fsync covers every row in the group. An appender's latency runs from
 * the moment it wanted to append until the commit holding its row returned.
 *
 * Written in C rather than Python so the GIL does not become the bottleneck
 * being measured.
 *
 * Usage:
 *   sqlite_append --data DIR --events N --appenders K --size BYTES
 *                 [--header BYTES] [--rate EVENTS_PER_SECOND]
 *
 * Prints one JSON object on stdout, with the fields of `annals-bench append`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("sqlite_append: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void check(sqlite3 *db, int rc, int want, const char *what) {
    if (rc != want) die("%s: %s", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_until(double t) {
    struct timespec ts = {.tv_sec = (time_t)t, .tv_nsec = (long)((t - (double)(time_t)t) * 1e9)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

/* Settings, fixed before the threads start. */
static long long n_events;
static int n_appenders;
static int payload_bytes;
static int header_bytes = 100;
static double rate; /* 0: closed loop, each appender appends as fast as commits return */
static double t_start;

/*
 * One pending row per appender at most, so a ring of K slots is enough.
 * Tickets are handed out in enqueue order and the writer drains in that
 * order, so "committed >= my ticket" is all an appender has to check.
 */
typedef struct {
    const unsigned char *header;
    const unsigned char *payload;
} row_t;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cv = PTHREAD_COND_INITIALIZER; /* writer waits for rows */
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER; /* appenders wait for commits */
static row_t *ring;
static uint64_t next_ticket = 1; /* ticket of the next enqueued row */
static uint64_t taken = 0;       /* last ticket the writer has taken */
static uint64_t committed = 0;   /* last ticket known durable */
static int appenders_left;
static long long n_commits;

typedef struct {
    int id;
    long long count;
    double *lat_ms;
} appender_t;

static void *appender_main(void *arg) {
    appender_t *a = arg;
    unsigned char *header = malloc((size_t)header_bytes);
    unsigned char *payload = malloc((size_t)payload_bytes);
    if (!header || !payload) die("out of memory");
    /* Incompressible-looking bytes, distinct per appender; nothing here compresses, but be safe. */
    uint64_t x = 0x9E3779B97F4A7C15ULL * (uint64_t)(a->id + 1);
    for (int i = 0; i < payload_bytes; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        payload[i] = (unsigned char)x;
    }
    memset(header, 0, (size_t)header_bytes);

    for (long long j = 0; j < a->count; j++) {
        double want;
        if (rate > 0) {
            /* Open loop: latency counts from the scheduled time, so a stall is not hidden. */
            want = t_start + ((double)j * n_appenders + a->id) / rate;
            if (now_s() < want) sleep_until(want);
        } else {
            want = now_s();
        }
        /* A per-event header (appender, counter, time) like an envelope would carry. */
        memcpy(header, &a->id, sizeof a->id);
        memcpy(header + 8, &j, sizeof j);
        memcpy(header + 16, &want, sizeof want);
        if (payload_bytes >= 8) memcpy(payload, &j, sizeof j);

        pthread_mutex_lock(&mu);
        uint64_t ticket = next_ticket++;
        ring[ticket % (uint64_t)n_appenders] = (row_t){header, payload};
        pthread_cond_signal(&work_cv);
        while (committed < ticket) pthread_cond_wait(&done_cv, &mu);
        pthread_mutex_unlock(&mu);
        a->lat_ms[j] = (now_s() - want) * 1e3;
    }

    pthread_mutex_lock(&mu);
    appenders_left--;
    pthread_cond_signal(&work_cv);
    pthread_mutex_unlock(&mu);
    free(header);
    free(payload);
    return NULL;
}

static void *writer_main(void *arg) {
    sqlite3 *db = arg;
    sqlite3_stmt *ins;
    check(db, sqlite3_prepare_v2(db, "INSERT INTO events(seq, header, payload) VALUES (?, ?, ?)", -1, &ins, NULL),
          SQLITE_OK, "prepare insert");
    sqlite3_int64 seq = 0;

    for (;;) {
        pthread_mutex_lock(&mu);
        while (taken + 1 == next_ticket && appenders_left > 0) pthread_cond_wait(&work_cv, &mu);
        if (taken + 1 == next_ticket) { /* nothing queued and no appender left */
            pthread_mutex_unlock(&mu);
            break;
        }
        uint64_t first = taken + 1, last = next_ticket - 1;
        taken = last;
        pthread_mutex_unlock(&mu);

        /* The rows stay valid without copying: their appenders are blocked until we publish the commit. */
        check(db, sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK, "BEGIN");
        for (uint64_t t = first; t <= last; t++) {
            row_t r = ring[t % (uint64_t)n_appenders];
            sqlite3_bind_int64(ins, 1, ++seq);
            sqlite3_bind_blob(ins, 2, r.header, header_bytes, SQLITE_STATIC);
            sqlite3_bind_blob(ins, 3, r.payload, payload_bytes, SQLITE_STATIC);
            check(db, sqlite3_step(ins), SQLITE_DONE, "INSERT");
            sqlite3_reset(ins);
        }
        check(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK, "COMMIT");
        n_commits++;

        pthread_mutex_lock(&mu);
        committed = last;
        pthread_cond_broadcast(&done_cv);
        pthread_mutex_unlock(&mu);
    }
    sqlite3_finalize(ins);
    return NULL;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static double pct(const double *v, long long n, double p) {
    long long i = (long long)((p / 100.0) * (double)n + 0.999999999) - 1;
    if (i < 0) i = 0;
    if (i >= n) i = n - 1;
    return v[i];
}

int main(int argc, char **argv) {
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i];
        if (i + 1 >= argc) die("missing value for %s", k);
        const char *v = argv[++i];
        if (!strcmp(k, "--data")) dir = v;
        else if (!strcmp(k, "--events")) n_events = atoll(v);
        else if (!strcmp(k, "--appenders")) n_appenders = atoi(v);
        else if (!strcmp(k, "--size")) payload_bytes = atoi(v);
        else if (!strcmp(k, "--header")) header_bytes = atoi(v);
        else if (!strcmp(k, "--rate")) rate = atof(v);
        else die("unknown option %s", k);
    }
    if (!dir || n_events <= 0 || n_appenders <= 0 || payload_bytes < 0 || header_bytes < 24)
        die("usage: sqlite_append --data DIR --events N --appenders K --size BYTES [--header BYTES>=24] [--rate R]");

    char path[4096];
    snprintf(path, sizeof path, "%s/events.sqlite", dir);
    sqlite3 *db;
    check(NULL, sqlite3_open(path, &db), SQLITE_OK, "open");
    /* The durable configuration under test: WAL with an fsync of the log on every commit. */
    check(db, sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), SQLITE_OK, "journal_mode");
    check(db, sqlite3_exec(db, "PRAGMA synchronous=FULL", NULL, NULL, NULL), SQLITE_OK, "synchronous");
    check(db,
          sqlite3_exec(db, "CREATE TABLE events(seq INTEGER PRIMARY KEY, header BLOB NOT NULL, payload BLOB NOT NULL)",
                       NULL, NULL, NULL),
          SQLITE_OK, "create table");

    ring = calloc((size_t)n_appenders, sizeof *ring);
    appender_t *apps = calloc((size_t)n_appenders, sizeof *apps);
    pthread_t *tids = calloc((size_t)n_appenders, sizeof *tids);
    if (!ring || !apps || !tids) die("out of memory");
    appenders_left = n_appenders;

    pthread_t writer;
    t_start = now_s();
    pthread_create(&writer, NULL, writer_main, db);
    for (int i = 0; i < n_appenders; i++) {
        apps[i].id = i;
        apps[i].count = n_events / n_appenders + (i < n_events % n_appenders);
        apps[i].lat_ms = malloc(sizeof(double) * (size_t)(apps[i].count ? apps[i].count : 1));
        if (!apps[i].lat_ms) die("out of memory");
        pthread_create(&tids[i], NULL, appender_main, &apps[i]);
    }
    for (int i = 0; i < n_appenders; i++) pthread_join(tids[i], NULL);
    pthread_join(writer, NULL);
    double seconds = now_s() - t_start;

    /* Every row must be there, or the figure means nothing. */
    sqlite3_stmt *q;
    check(db, sqlite3_prepare_v2(db, "SELECT count(*) FROM events", -1, &q, NULL), SQLITE_OK, "prepare count");
    check(db, sqlite3_step(q), SQLITE_ROW, "count");
    long long rows = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    if (rows != n_events) die("expected %lld rows, found %lld", n_events, rows);

    double *all = malloc(sizeof(double) * (size_t)n_events);
    if (!all) die("out of memory");
    long long n = 0;
    for (int i = 0; i < n_appenders; i++) {
        memcpy(all + n, apps[i].lat_ms, sizeof(double) * (size_t)apps[i].count);
        n += apps[i].count;
    }
    qsort(all, (size_t)n, sizeof *all, cmp_double);

    printf("{\"system\":\"sqlite\",\"workload\":\"append\",\"events\":%lld,\"appenders\":%d,\"payload_bytes\":%d,"
           "\"record_bytes\":%d,\"seconds\":%.6f,\"events_per_second\":%.1f,"
           "\"latency_ms\":{\"p50\":%.4f,\"p90\":%.4f,\"p99\":%.4f,\"p999\":%.4f,\"max\":%.4f},"
           "\"commits\":%lld,\"target_rate\":%.1f,\"sqlite_version\":\"%s\"}\n",
           n_events, n_appenders, payload_bytes, payload_bytes + header_bytes, seconds, (double)n_events / seconds,
           pct(all, n, 50), pct(all, n, 90), pct(all, n, 99), pct(all, n, 99.9), all[n - 1], n_commits, rate,
           sqlite3_libversion());
    return 0;
}
