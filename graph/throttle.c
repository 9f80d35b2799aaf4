/*
 * throttle: token buckets and backoff.  See throttle.h.
 */
#include "graph/throttle.h"

void bucket_init(struct bucket *b, double rate, double burst, uint64_t now_usec)
{
	b->rate = rate;
	b->burst = burst < 1 ? 1 : burst;
	b->tokens = b->burst;
	b->last_usec = now_usec;
	b->not_before_usec = 0;
}

static void refill(struct bucket *b, uint64_t now_usec)
{
	if (now_usec <= b->last_usec)
		return;
	b->tokens += (double)(now_usec - b->last_usec) * b->rate / 1e6;
	if (b->tokens > b->burst)
		b->tokens = b->burst;
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
	missing = 1.0 - b->tokens;
	return now_usec + (uint64_t)(missing * 1e6 / b->rate) + 1;
}

void bucket_hold(struct bucket *b, uint64_t until_usec)
{
	if (until_usec > b->not_before_usec)
		b->not_before_usec = until_usec;
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
