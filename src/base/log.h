/*
 * log.h - leveled, one-line, key=value logging to stderr.
 *
 * Every line is `ts=<RFC 3339> level=<lvl> msg="<msg>" <fields>`, where fields
 * is a printf-formatted string of further key=value pairs, e.g.
 *
 *     log_info("edge connected", "node=%s addr=%s", node, addr);
 *
 * The macros test the level before any formatting happens (Redis serverLog).
 * Log where the decision is taken, once; never log tokens, keys or payloads.
 * Values that may contain spaces or quotes go through log_quote().
 */
#ifndef CEDGE_BASE_LOG_H
#define CEDGE_BASE_LOG_H

#include <stddef.h>

enum log_level {
    LOG_LEVEL_ERROR = 0,
    LOG_LEVEL_WARN = 1,
    LOG_LEVEL_INFO = 2,
    LOG_LEVEL_DEBUG = 3,
    LOG_LEVEL_TRACE = 4,
};

/* The current threshold; read by the macros, set through log_set_level(). */
extern enum log_level log_threshold;

void log_set_level(enum log_level level);
/* Names the program in every line (prog=...); the string must outlive logging. */
void log_set_program(const char *name);
/* Parses "error|warn|info|debug|trace" or "0".."4"; -EINVAL otherwise. */
int log_level_parse(const char *s, enum log_level *out);

void log_write(enum log_level level, const char *msg, const char *fields, ...)
    __attribute__((format(printf, 3, 4)));

/* Copies s into out (size n) as a double-quoted, escaped log value. Returns out. */
const char *log_quote(char *out, size_t n, const char *s);

#define LOG_AT(lvl, msg, ...)                                                                      \
    do {                                                                                           \
        if ((lvl) <= log_threshold)                                                                \
            log_write((lvl), (msg), __VA_ARGS__);                                                  \
    } while (0)

#define log_error(msg, ...) LOG_AT(LOG_LEVEL_ERROR, msg, __VA_ARGS__)
#define log_warn(msg, ...)  LOG_AT(LOG_LEVEL_WARN, msg, __VA_ARGS__)
#define log_info(msg, ...)  LOG_AT(LOG_LEVEL_INFO, msg, __VA_ARGS__)
#define log_debug(msg, ...) LOG_AT(LOG_LEVEL_DEBUG, msg, __VA_ARGS__)
#define log_trace(msg, ...) LOG_AT(LOG_LEVEL_TRACE, msg, __VA_ARGS__)

#endif
