/*
 * throttle: when the next Graph request may go out.
 *
 * Pure arithmetic on CLOCK_MONOTONIC microseconds passed in by the caller:
 * a token bucket per class of request (reads, writes), a "not before" time
 * set by Retry-After, and exponential backoff with full jitter for errors
 * that carry no Retry-After.  Nothing here sleeps.
 */
#ifndef LICENSED_THROTTLE_H
#define LICENSED_THROTTLE_H

#include <stdint.h>

#define THROTTLE_BACKOFF_BASE_USEC 500000ULL   /* first retry: up to 0.5 s */
#define THROTTLE_BACKOFF_MAX_USEC  60000000ULL /* never more than 60 s */

struct bucket {
	double rate;  /* tokens per second */
	double burst; /* bucket size */
	double tokens;
	uint64_t last_usec;
	uint64_t not_before_usec; /* from Retry-After or backoff */
};

/* A full bucket of burst tokens refilled at rate per second. */
void bucket_init(struct bucket *b, double rate, double burst,
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
 * Delay before retry number attempt (0 for the first retry): with
 * cap = min(MAX, BASE * 2^attempt), uniformly random in [cap/2, cap],
 * from a caller's random word.
 */
uint64_t throttle_backoff_usec(unsigned attempt, uint64_t random);

/* A 64-bit xorshift step, for jitter (not for secrets). */
uint64_t throttle_random(uint64_t *state);

#endif
