/*
 * throttle: adaptive token buckets and backoff.  See throttle.h.
 *
 * Why the decrease needs a proof.  A 429 means the server refused this
 * request; it does not by itself mean we send too fast: a burst a little
 * larger than the server's bucket, or a service under load, is refused
 * too, with a short Retry-After.  A token bucket that refills at R asks
 * to wait (1 - tokens) / R, so a wait longer than our own spacing 1/rate
 * can only come from a server slower than us (or one counting refused
 * requests, which Graph does: GRAPH.md 6.1).  Cutting the rate on every
 * 429 would let a few per cent of random refusals drive it to the floor.
 * Graph's own Retry-After is in whole seconds or more, so against Graph
 * every 429 that carries one lowers the rate.
 */
#include "graph/throttle.h"

void bucket_init(struct bucket *b, double documented, double cap,
		 uint64_t now_usec)
{
	b->ceiling = cap > 0 && cap < documented ? cap : documented;
	b->rate = b->ceiling;
	b->tokens = b->rate * THROTTLE_WINDOW_SEC;
	if (b->tokens < 1)
		b->tokens = 1;
	b->last_usec = now_usec;
	b->not_before_usec = 0;
}

static double burst(const struct bucket *b)
{
	double n = b->rate * THROTTLE_WINDOW_SEC;

	return n < 1 ? 1 : n;
}

static void refill(struct bucket *b, uint64_t now_usec)
{
	if (now_usec <= b->last_usec)
		return;
	b->tokens += (double)(now_usec - b->last_usec) * b->rate / 1e6;
	if (b->tokens > burst(b))
		b->tokens = burst(b);
	b->last_usec = now_usec;
}

uint64_t bucket_take(struct bucket *b, uint64_t now_usec)
{
	double missing;

	if (now_usec < b->not_before_usec)
		return b->not_before_usec;
	refill(b, now_usec);
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		return 0;
	}
	/* Refilling starts at last_usec, which a 429 may put ahead of now. */
	missing = 1.0 - b->tokens;
	return (now_usec > b->last_usec ? now_usec : b->last_usec) +
	       (uint64_t)(missing * 1e6 / b->rate) + 1;
}

void bucket_hold(struct bucket *b, uint64_t until_usec)
{
	if (until_usec > b->not_before_usec)
		b->not_before_usec = until_usec;
}

void bucket_answered(struct bucket *b, unsigned n)
{
	/* n/rate seconds of sending, ceiling/CREEP_SEC per second. */
	b->rate += (double)n * b->ceiling / THROTTLE_CREEP_SEC / b->rate;
	if (b->rate > b->ceiling)
		b->rate = b->ceiling;
}

bool bucket_throttled(struct bucket *b, unsigned n_sent, unsigned n_refused,
		      double retry_after_sec, uint64_t now_usec)
{
	double factor = THROTTLE_DECREASE;
	uint64_t until;

	if (retry_after_sec * b->rate <= 1.0) /* also: no Retry-After */
		return false;
	if (n_sent > 1 && n_refused <= n_sent)
		factor *= (double)(n_sent - n_refused) / n_sent;
	if (factor < THROTTLE_DECREASE_MIN)
		factor = THROTTLE_DECREASE_MIN;
	b->rate *= factor;
	if (b->rate < THROTTLE_MIN_RATE)
		b->rate = THROTTLE_MIN_RATE;
	/* The server's bucket is empty: ours fills from the end of the wait. */
	until = now_usec + (uint64_t)(retry_after_sec * 1e6);
	if (b->tokens > 0)
		b->tokens = 0;
	if (until > b->last_usec)
		b->last_usec = until;
	return true;
}

unsigned bucket_batch_size(const struct bucket *b, unsigned max)
{
	double n = b->rate * THROTTLE_WINDOW_SEC;

	if (n < 1)
		n = 1;
	return n >= (double)max ? max : (unsigned)n;
}

uint64_t throttle_backoff_usec(unsigned attempt, uint64_t random)
{
	uint64_t cap = THROTTLE_BACKOFF_BASE_USEC;

	while (attempt-- > 0 && cap < THROTTLE_BACKOFF_MAX_USEC)
		cap *= 2;
	if (cap > THROTTLE_BACKOFF_MAX_USEC)
		cap = THROTTLE_BACKOFF_MAX_USEC;
	/* "Equal jitter": at least half the cap, so a storm is not hammered. */
	return cap / 2 + random % (cap / 2 + 1);
}

uint64_t throttle_random(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}
