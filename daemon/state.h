/*
 * state: what licensed remembers between rounds, in state_dir.
 *
 *   state            ownership records and pending removals (text, versioned)
 *   state.prev       the generation before it, kept by every save
 *   state.corrupt-T  a bad state file moved aside at unix time T (also
 *                    state.corrupt-T-N, state.prev.corrupt-T): never
 *                    overwritten or deleted by licensed
 *   approval         a one-shot `licensed approve N` for the next round
 *   last-round.json  the last round's summary and per-SKU seats (status)
 *   lock             flock()ed for the length of a round
 *
 * Every file is written whole and atomically: a temp file in the same
 * directory, fsync, rename over the old one, fsync of the directory.  The
 * state file keeps its previous generation, so a bad one (cut short,
 * garbage, too large) is moved aside and the previous one used; only when
 * neither is usable does a round start untrusted (no removals until it
 * has written a new one).  A state file from a newer version is refused
 * and left as it is (SPEC section 6).
 */
#ifndef LICENSED_STATE_H
#define LICENSED_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/model.h"
#include "policy/strpool.h"

#define STATE_VERSION	  2
#define STATE_LINE_MAX	  512 /* bytes in one line, its newline included */
#define STATE_FILE_MAX	  (1024UL * 1024 * 1024) /* ~4 million records */
#define STATE_PROBLEM_MAX 1024

struct state {
	struct owned *owned;
	size_t n_owned;
	struct pending *pending;
	size_t n_pending;
	uint64_t round;	      /* rounds completed so far */
	bool is_untrusted;    /* no usable generation: no removals */
	bool is_fallback;     /* state was bad or missing: state.prev used */
	bool is_intent;	      /* saved before writes (see state.c) */
	size_t n_salvaged;    /* records only a bad file held: unconfirmed */
	struct strpool names; /* the rule names owned[].rule points to */
	/*
	 * What went wrong, naming the files, the line and where a bad file
	 * was moved: one log line.  "" when state was read as it is.
	 */
	char problem[STATE_PROBLEM_MAX];
};

/*
 * Read dir/state for a round; the caller holds the round lock
 * (state_lock), since a bad file is moved aside.
 *
 * Returns 0 and *ret:
 *  - state complete: its records; problem "".
 *  - state and state.prev both missing: empty, trusted (the first round).
 *  - state bad (cut short, a bad line, a line over STATE_LINE_MAX, a file
 *    over STATE_FILE_MAX): moved aside to state.corrupt-T[-N]; state.prev
 *    used with is_fallback, its round kept.  Also is_fallback when state
 *    is missing but state.prev is there (a crash between the renames of a
 *    save).  Ownership records that only the bad file held are added
 *    unconfirmed (n_salvaged), so that the next complete read confirms or
 *    drops them instead of forgetting them; pending removals come from
 *    state.prev only (a lost one restarts its grace period, never ends it
 *    early).
 *  - neither usable: a bad state.prev is moved aside too; is_untrusted,
 *    with the salvaged records and the highest round found.
 * Returns -EPROTONOSUPPORT when state (or, state missing or bad,
 * state.prev) was written by a newer licensed: nothing is moved, and
 * the caller must not save.  Other errors: -ENOMEM, -errno when a file
 * cannot be read (not a regular file, permissions) or moved aside.
 * Unlike other ret_ outputs, *ret is written on failure too: no records,
 * problem saying why (naming the file and, if newer, its format), so the
 * caller can log one line.  state_free() it either way.
 */
int state_load(const char *dir, struct state *ret);

/*
 * The same judgement without changing anything on disk, for `status` and
 * `plan`, which do not hold the round lock: a bad file is reported "to be
 * moved aside by the next round".  Same returns as state_load().
 */
int state_inspect(const char *dir, struct state *ret);

/*
 * Write dir/state (format STATE_VERSION) atomically, keeping the current
 * one as dir/state.prev: temp file, fsync, rename state to state.prev,
 * rename the temp file to state, fsync of the directory.  At every
 * instant one complete generation is on disk.  The caller holds the
 * round lock and has loaded the state first (so that a bad state file is
 * aside, not made the previous generation).  0, -EFBIG when the text
 * would exceed STATE_FILE_MAX, or -errno; on failure state is unchanged.
 */
int state_save(const char *dir, const struct state *s);

/* Free the records and empty *s; accepts NULL. */
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
