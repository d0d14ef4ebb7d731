/*
 * clock.h - wall and monotonic time, RFC 3339 formatting and parsing.
 *
 * Wall time is Unix nanoseconds in an int64_t (good until 2262). Kubernetes
 * writes metav1.Time with whole seconds ("2026-11-29T02:35:32Z") and
 * MicroTime with 6 digits; logs use 6; KubeEdge's message timestamps are
 * milliseconds.
 */
#ifndef CEDGE_BASE_CLOCK_H
#define CEDGE_BASE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Longest output of clock_format_rfc3339() including the NUL. */
#define CLOCK_RFC3339_MAX 40

int64_t clock_realtime_ns(void);
int64_t clock_realtime_ms(void);
/* Monotonic time for timeouts and measurements; never goes backwards. */
uint64_t clock_monotonic_ns(void);

/* Formats ns as UTC "YYYY-MM-DDTHH:MM:SS[.fff…]Z" with frac_digits (0..9)
 * fractional digits. Returns the length written (out is always terminated
 * if n > 0). */
size_t clock_format_rfc3339(char *out, size_t n, int64_t ns, int frac_digits);

/* Parses an RFC 3339 timestamp: date 'T' (or 't' or ' ') time, optional
 * fraction of up to 9 digits, then 'Z' or a +hh:mm / -hh:mm offset. The whole
 * string must match. Returns 0 and sets *ns, or -EINVAL (-ERANGE for a time
 * outside the int64 nanosecond range, years 1677..2262). */
int clock_parse_rfc3339(const char *s, int64_t *ns);

/* Parses a Go-style duration ("15s", "1m30s", "500ms", "2h"); a bare number
 * is seconds. Returns 0 and sets *ms, or -EINVAL / -ERANGE. */
int clock_parse_duration(const char *s, int64_t *ms);

#endif
