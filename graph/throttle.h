/*
 * throttle: when the next Graph request may go out, and how fast.
 *
 * Pure arithmetic on CLOCK_MONOTONIC microseconds passed in by the caller:
 * a token bucket per class of request (reads, writes) whose rate adapts
 * to the answers (SPEC 4 "Throttling"), a "not before" time set by
 * Retry-After, and exponential backoff with jitter for errors that carry
 * no Retry-After.  Nothing here sleeps, reads a clock or logs.
 *
 * The rate starts at the ceiling: Graph's documented limit for the class,
 * or the configured cap when that is lower.  It creeps up additively with
 * every answered request and drops multiplicatively on a 429 that shows
 * the server is slower than we are (AIMD): the tenant-wide quota is
 * shared with other applications, so what is left for us moves.  The
 * bucket holds one second of the rate, and a $batch is sized to it, so
 * a batch the bucket paid for is not throttled half-way at a server
 * whose budget matches ours.
 */
#ifndef LICENSED_THROTTLE_H
#define LICENSED_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Graph's per-application, per-tenant write quota: 3,000 requests per
 * 2 min 30 s (GRAPH.md 6.2, from Microsoft's "Microsoft Graph service
 * limits", identity and access), 20 writes a second.
 */
#define THROTTLE_WRITE_CEILING 20.0

/*
 * Reads are charged in resource units: 3,500 RU per 10 s per application
 * and tenant for the smallest tenants (under 50 users; 5,000 and 8,000
 * for larger ones), GRAPH.md 6.2.  Counting every read at the dearest base
 * cost a round pays (transitiveMembers, 5 RU) gives 70 reads a second,
 * within the budget of any tenant size.
 */
#define THROTTLE_READ_CEILING 70.0

#define THROTTLE_WINDOW_SEC   1.0   /* bucket size: one second of the rate */
#define THROTTLE_DECREASE     0.8   /* a proven 429: at most 0.8 of the rate */
#define THROTTLE_DECREASE_MIN 0.25  /* never below a quarter in one step */
#define THROTTLE_CREEP_SEC    100.0 /* + ceiling/100 per second of answers */
#define THROTTLE_MIN_RATE     0.1   /* a request every 10 s at the least */

#define THROTTLE_BACKOFF_BASE_USEC 500000ULL   /* first retry: up to 0.5 s */
#define THROTTLE_BACKOFF_MAX_USEC  60000000ULL /* never more than 60 s */

struct bucket {
	double ceiling; /* never above: documented limit or configured cap */
	double rate;	/* tokens per second now */
	double tokens;	/* at most THROTTLE_WINDOW_SEC of the rate */
	uint64_t last_usec;	  /* tokens counted up to here */
	uint64_t not_before_usec; /* from Retry-After or backoff */
};

/*
 * A full bucket running at the ceiling: documented (one of the
 * THROTTLE_*_CEILING), lowered to cap when cap is above 0 and below it.
 */
void bucket_init(struct bucket *b, double documented, double cap,
		 uint64_t now_usec);

/*
 * Take one token if one is there and the not-before time has passed:
 * returns 0.  Otherwise takes nothing and returns the time (absolute,
 * monotonic usec) at which to ask again.
 */
uint64_t bucket_take(struct bucket *b, uint64_t now_usec);

/* No request of this class before until_usec (a later time wins). */
void bucket_hold(struct bucket *b, uint64_t until_usec);

/*
 * n requests were answered (not refused with 429, not lost, not 5xx):
 * XX
 * of them, never past the ceiling.
 */
void bucket_answered(struct bucket *b, unsigned n);

/*
 * Of n_sent requests that went out together (a $batch, or 1), n_refused
 * were answered 429, the longest asking to wait retry_after_sec (< 0:
 * no Retry-After).  When that wait is longer than the bucket takes to
 * earn one token, the server refills more slowly than we spend: the rate
 * drops to THROTTLE_DECREASE times the share the server accepted (a lone
 * request: THROTTLE_DECREASE), not below THROTTLE_DECREASE_MIN of it in
 * one step nor below THROTTLE_MIN_RATE, and the bucket starts empty when
 * the wait ends, so the next requests are paced at the new rate.  Returns
 * true then.  A shorter wait, or none, proves no such thing (a burst
 * refused, a busy service): the rate stays and false is returned; the
 * caller holds the bucket for the wait or a backoff in both cases.
 */
bool bucket_throttled(struct bucket *b, unsigned n_sent, unsigned n_refused,
		      double retry_after_sec, uint64_t now_usec);

/*
 * Requests one $batch should carry: what the bucket earns in
 * THROTTLE_WINDOW_SEC at the current rate, at least 1, at most max.
 */
unsigned bucket_batch_size(const struct bucket *b, unsigned max);

/*
 * Delay before retry number attempt (0 for the first retry): with
 * cap = min(MAX, BASE * 2^attempt), uniformly random in [cap/2, cap],
 * from a caller's random word.
 */
uint64_t throttle_backoff_usec(unsigned attempt, uint64_t random);

/* A 64-bit xorshift step, for jitter (not for secrets). */
uint64_t throttle_random(uint64_t *state);

#endif
