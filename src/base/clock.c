#include "base/clock.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NS_PER_SEC 1000000000LL

int64_t clock_realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

int64_t clock_realtime_ms(void)
{
    return clock_realtime_ns() / 1000000;
}

uint64_t clock_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * (uint64_t)NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

size_t clock_format_rfc3339(char *out, size_t n, int64_t ns, int frac_digits)
{
    int64_t secs = ns / NS_PER_SEC;
    int64_t frac = ns % NS_PER_SEC;
    if (frac < 0) {
        frac += NS_PER_SEC;
        secs -= 1;
    }
    int64_t days = secs / 86400;
    int64_t rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days -= 1;
    }
    int64_t y;
    unsigned mo, d;
    civil_from_days(days, &y, &mo, &d);
    char fbuf[12] = "";
    if (frac_digits > 9)
        frac_digits = 9;
    if (frac_digits > 0) {
        long long f = frac;
        for (int i = 9; i > frac_digits; i--)
            f /= 10;
        snprintf(fbuf, sizeof(fbuf), ".%0*lld", frac_digits, f);
    }
    int w = snprintf(out, n, "%04lld-%02u-%02uT%02d:%02d:%02d%sZ", (long long)y, mo, d,
                     (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), fbuf);
    if (w < 0)
        return 0;
    return (size_t)w < n ? (size_t)w : (n ? n - 1 : 0);
}

static bool digits(const char **p, int count, int *out)
{
    int v = 0;
    for (int i = 0; i < count; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *p += count;
    *out = v;
    return true;
}

static bool expect(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

int clock_parse_rfc3339(const char *s, int64_t *ns)
{
    const char *p = s;
    int y, mo, d, h, mi, sec;
    if (!digits(&p, 4, &y) || !expect(&p, '-') || !digits(&p, 2, &mo) || !expect(&p, '-') ||
        !digits(&p, 2, &d))
        return -EINVAL;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return -EINVAL;
    p++;
    if (!digits(&p, 2, &h) || !expect(&p, ':') || !digits(&p, 2, &mi) || !expect(&p, ':') ||
        !digits(&p, 2, &sec))
        return -EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
        return -EINVAL;
    int64_t frac = 0;
    if (*p == '.') {
        p++;
        int nd = 0;
        while (*p >= '0' && *p <= '9') {
            if (nd < 9) {
                frac = frac * 10 + (*p - '0');
                nd++;
            }
            p++;
        }
        if (nd == 0)
            return -EINVAL;
        for (; nd < 9; nd++)
            frac *= 10;
    }
    int offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if (!digits(&p, 2, &oh) || !expect(&p, ':') || !digits(&p, 2, &om) || oh > 23 || om > 59)
            return -EINVAL;
        offset = sign * (oh * 3600 + om * 60);
    } else {
        return -EINVAL;
    }
    if (*p != '\0')
        return -EINVAL;
    int64_t secs =
        days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec - offset;
    if (secs > INT64_MAX / NS_PER_SEC - 1 || secs < INT64_MIN / NS_PER_SEC + 1)
        return -ERANGE; /* outside 1677..2262: not representable in int64 ns */
    *ns = secs * NS_PER_SEC + frac;
    return 0;
}

int clock_parse_duration(const char *s, int64_t *ms)
{
    static const struct {
        const char *unit;
        int64_t ns;
    } units[] = {
        {"ns", 1},         {"us", 1000},           {"ms", 1000000},
        {"s", NS_PER_SEC}, {"m", 60 * NS_PER_SEC}, {"h", 3600 * NS_PER_SEC},
    };
    const char *p = s;
    int64_t total = 0;
    bool any = false;
    if (*p == '\0')
        return -EINVAL;
    while (*p) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        int64_t v = 0;
        while (*p >= '0' && *p <= '9') {
            if (v > (INT64_MAX - 9) / 10)
                return -ERANGE;
            v = v * 10 + (*p++ - '0');
        }
        size_t ulen = 0;
        while (p[ulen] && (p[ulen] < '0' || p[ulen] > '9'))
            ulen++;
        int64_t mult = 0;
        if (ulen == 0 && !any && *p == '\0') {
            mult = NS_PER_SEC; /* a bare number is seconds */
        } else {
            for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
                if (strlen(units[i].unit) == ulen && strncmp(p, units[i].unit, ulen) == 0)
                    mult = units[i].ns;
        }
        if (mult == 0)
            return -EINVAL;
        if (v > (INT64_MAX - total) / mult)
            return -ERANGE;
        total += v * mult;
        p += ulen;
        any = true;
    }
    *ms = total / 1000000;
    return 0;
}
