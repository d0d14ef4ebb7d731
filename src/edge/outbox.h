/*
 * outbox.h - upstream messages kept while the cloud is unreachable.
 *
 * A bounded, durable FIFO in its own SQLite file (e.g. "<dataSource>.outbox",
 * WAL mode, its own connection so it never contends with the node store). Rows
 * hold the encoded frame payload. When `limit` rows are stored, new messages
 * are refused (-ENOBUFS) and counted; the oldest are never dropped.
 *
 * Writes are single small transactions with synchronous=NORMAL (WAL): they are
 * rare (only while offline) and short, so they run on the loop thread.
 */
#ifndef CEDGE_EDGE_OUTBOX_H
#define CEDGE_EDGE_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

struct outbox;

/* Opens (creating) the file. Returns 0 and *out, or a negative errno (logged). */
int outbox_open(const char *path, int64_t limit, struct outbox **out);
void outbox_close(struct outbox *ob);

/* Appends one payload. Returns 0, -ENOBUFS (full, counted) or -EIO. */
int outbox_push(struct outbox *ob, const char *data, size_t len);

/*
 * The oldest payload: *data is malloc'd (caller frees), *id names the row for
 * outbox_remove(). Returns 0, -ENOENT when empty, -EIO.
 */
int outbox_peek(struct outbox *ob, int64_t *id, char **data, size_t *len);
int outbox_remove(struct outbox *ob, int64_t id);

/* Rows stored; messages refused because it was full. */
int64_t outbox_count(struct outbox *ob);
uint64_t outbox_refused(const struct outbox *ob);

#endif
