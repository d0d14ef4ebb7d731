#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"

enum log_level log_threshold = LOG_LEVEL_INFO;
static const char *log_program;

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

void log_set_level(enum log_level level)
{
    if (level > LOG_LEVEL_TRACE)
        level = LOG_LEVEL_TRACE;
    log_threshold = level;
}

void log_set_program(const char *name)
{
    log_program = name;
}

int log_level_parse(const char *s, enum log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(s, level_names[i]) == 0 || (s[0] == (char)('0' + i) && s[1] == '\0')) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *log_quote(char *out, size_t n, const char *s)
{
    size_t o = 0;
    if (n < 3) {
        if (n)
            out[0] = '\0';
        return out;
    }
    out[o++] = '"';
    for (; *s && o + 3 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            out[o++] = '?';
        } else {
            out[o++] = (char)c;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

void log_write(enum log_level level, const char *msg, const char *fields, ...)
{
    char line[4096];
    char ts[CLOCK_RFC3339_MAX];
    char qmsg[512];
    size_t off = 0;

    clock_format_rfc3339(ts, sizeof(ts), clock_realtime_ns(), 6);
    int n = snprintf(line, sizeof(line), "ts=%s level=%s%s%s msg=%s", ts,
                     level_names[level > LOG_LEVEL_TRACE ? LOG_LEVEL_TRACE : level],
                     log_program ? " prog=" : "", log_program ? log_program : "",
                     log_quote(qmsg, sizeof(qmsg), msg));
    off = n < 0 ? 0 : (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    if (fields && fields[0] && off + 2 < sizeof(line)) {
        /* Format after a space; keep the space only if the fields were not empty. */
        va_list ap;
        va_start(ap, fields);
        n = vsnprintf(line + off + 1, sizeof(line) - off - 1, fields, ap);
        va_end(ap);
        if (n > 0) {
            line[off++] = ' ';
            off += (size_t)n < sizeof(line) - off ? (size_t)n : sizeof(line) - off - 1;
        }
    }
    if (off >= sizeof(line) - 1)
        off = sizeof(line) - 2;
    line[off++] = '\n';
    /* One write() per line so that lines from concurrent processes never interleave. */
    ssize_t w = write(STDERR_FILENO, line, off);
    (void)w;
}
