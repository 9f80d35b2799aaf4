/*
 * state: what licensed remembers between rounds, in state_dir.
 *
 *   state            ownership records and pending removals (text, versioned)
 *   approval         a one-shot `licensed approve N` for the next round
 *   last-round.json  the last round's summary and per-SKU seats (status)
 *   lock             flock()ed for the length of a round
 *
 * Every file is written whole and atomically: a temp file in the same
 * directory, fsync, rename over the old one, fsync of the directory.  A
 * state file that cannot be parsed, or comes from a newer version, is
 * reported and treated as untrusted: no removals until a full round has
 * written a new one (SPEC section 6).
 */
#ifndef LICENSED_STATE_H
#define LICENSED_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/model.h"

#define STATE_VERSION 1

struct state {
	struct owned *owned;
	size_t n_owned;
	struct pending *pending;
	size_t n_pending;
	uint64_t round;	   /* rounds completed so far */
	bool is_untrusted; /* the file was unreadable */
	char problem[256]; /* why, when untrusted */
};

/*
 * Read dir/state.  A missing file is an empty, trusted state (first
 * round).  A corrupt or newer one: returns 0 with is_untrusted and
 * problem set.  Returns a negative errno only for out of memory or an
 * unreadable directory.
 */
int state_load(const char *dir, struct state *ret);

/* Write dir/state atomically.  0 or -errno. */
int state_save(const char *dir, const struct state *s);

void state_free(struct state *s);

/* The approval for the next round: 1 and *ret_n, 0 when none, -errno. */
int state_approval_get(const char *dir, uint64_t *ret_n);
int state_approval_set(const char *dir, uint64_t n);
int state_approval_clear(const char *dir);

/* Write dir/NAME atomically with the given contents. */
int state_write_file(const char *dir, const char *name, const char *data,
		     size_t len);

/* Read dir/NAME whole (at most max bytes): 0, -ENOENT, -errno. */
int state_read_file(const char *dir, const char *name, size_t max, char **ret,
		    size_t *ret_len);

/*
 * Take the round lock (dir/lock, creating dir if needed).  Returns an fd
 * to close when the round ends, -EWOULDBLOCK when another process holds
 * it, or -errno.
 */
int state_lock(const char *dir);

#endif
