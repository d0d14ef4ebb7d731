/*
 * bench_proto.c - decode + re-encode throughput of the message envelope.
 *
 * Input: the reference's §4.1 pod insert frame with a realistic ~2.7 KB pod
 * (annotations with last-applied-configuration, managedFields), as a cloud
 * or edge would receive it, trailing "\n" included. Each iteration decodes
 * the frame and encodes the message again (what a relay does). The loop is
 * bounded by an iteration count and a time limit, whichever comes first.
 *
 * Usage: build/bin/bench_proto [iterations] [seconds]   (default 200000 5)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"
#include "proto/message.h"

#include "../../tests/unit/proto/ref_frames.h"

static long parse_arg(const char *s, long dflt, long max)
{
    if (!s)
        return dflt;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v <= 0 || v > max) {
        fprintf(stderr, "bench_proto: bad argument %s (1..%ld)\n", s, max);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    long iterations = parse_arg(argc > 1 ? argv[1] : NULL, 200000, 100000000);
    long seconds = parse_arg(argc > 2 ? argv[2] : NULL, 5, 3600);

    const char *json = REF_FRAMES[REF_FRAME_POD_INSERT].json;
    size_t len = strlen(json);
    char *frame = xmalloc(len + 1);
    memcpy(frame, json, len);
    frame[len] = '\n';
    len++;

    struct buf out = BUF_INIT(PROTO_MESSAGE_MAX_DEFAULT);
    uint64_t deadline = clock_monotonic_ns() + (uint64_t)seconds * 1000000000u;
    uint64_t start = clock_monotonic_ns();
    long done = 0;
    size_t out_bytes = 0;
    uint64_t decode_ns = 0, encode_ns = 0;
    for (; done < iterations; done++) {
        if ((done & 1023) == 0 && clock_monotonic_ns() >= deadline)
            break;
        struct proto_message *m = NULL;
        const char *why = NULL;
        uint64_t t0 = clock_monotonic_ns();
        int err = proto_message_decode(frame, len, 0, &m, &why);
        uint64_t t1 = clock_monotonic_ns();
        if (err < 0) {
            fprintf(stderr, "bench_proto: decode: %s (%s)\n", err_str(err), why);
            return 1;
        }
        buf_clear(&out);
        err = proto_message_encode(m, 0, &out);
        if (err < 0) {
            fprintf(stderr, "bench_proto: encode: %s\n", err_str(err));
            return 1;
        }
        encode_ns += clock_monotonic_ns() - t1;
        decode_ns += t1 - t0;
        out_bytes = out.len;
        proto_message_free(m);
    }
    double secs = (double)(clock_monotonic_ns() - start) / 1e9;

    printf("proto decode+encode, pod insert frame of %zu bytes (re-encoded %zu bytes)\n", len,
           out_bytes);
    printf("  %ld messages in %.3f s: %.0f messages/s, %.1f MB/s decoded (%.2f us/message)\n", done,
           secs, (double)done / secs, (double)done * (double)len / secs / 1e6,
           secs / (double)done * 1e6);
    printf("  decode %.2f us/message, encode %.2f us/message\n",
           (double)decode_ns / 1e3 / (double)done, (double)encode_ns / 1e3 / (double)done);
    printf("reproduce: build/bin/bench_proto %ld %ld   (RelWithDebInfo build)\n", iterations,
           seconds);
    buf_release(&out);
    free(frame);
    return 0;
}
