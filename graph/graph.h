/*
 * graph: the daemon's only window on the tenant (SPEC section 4).
 *
 * Reads (subscribed SKUs, a group, the transitive user members of a group,
 * the holders of a SKU) either return everything, every page followed, or
 * fail: a partial list never leaves this module.  Writes (assignLicense,
 * usageLocation) go out in JSON $batch requests of up to 20 and come back
 * as one outcome per user, Graph's error classified and its text kept.
 *
 * Every request passes the throttle (a token bucket for reads, one for
 * writes, each at Graph's documented rate and adapting to 429s; a $batch
 * holds what the write bucket earns in a second; Retry-After honoured) and
 * is retried on 429, 5xx and dropped connections with backoff, within a
 * retry budget per round; a 401 renews the token once.  Waiting is done by the
 * caller's wait hook, so the daemon can keep its watchdog fed and react to
 * SIGTERM between requests.
 */
#ifndef LICENSED_GRAPH_H
#define LICENSED_GRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include "graph/auth.h"
#include "graph/decode.h"
#include "graph/encode.h"
#include "graph/http.h"
#include "policy/model.h"

/* Pages followed in one read at most (999 users a page: ~10M users). */
#define GRAPH_MAX_PAGES 10000

/*
 * Retries of one request at most.  With backoff doubling from 0.5 s this
 * gives up on a server that stays down after about a minute.
 */
#define GRAPH_MAX_RETRIES 8

/*
 * A phase (the reads, or the writes) that has had no answer settling
 * anything for this long gives up: a round facing a write path that never
 * succeeds ends in about a minute, not hours (SPEC 4 "Throttling").
 */
#define GRAPH_STALL_SEC 60

/* The longest server-requested wait a round sits out, unless set lower. */
#define GRAPH_MAX_WAIT_SEC 300

struct graph_options {
	const char *graph; /* base URL, no trailing '/' */
	struct http_options http;
	struct auth_options auth; /* .http is filled by graph_new */
	/*
	 * Caps on the request rates, per second; 0: none.  Either way the
	 * rate starts at Graph's documented ceiling (or the cap, if lower)
	 * and adapts to 429s (graph/throttle.h).
	 */
	double read_rate;
	double write_rate;
	/*
	 * A Retry-After longer than this ends the phase at once instead of
	 * being waited out (0: GRAPH_MAX_WAIT_SEC); the daemon passes the
	 * smaller of that and its interval.
	 */
	double max_wait_sec;
	/*
	 * Wait until the monotonic time until_usec (or just check in, when it
	 * has passed).  Return 0, or -ECANCELED to abandon the operation (the
	 * daemon is stopping).  NULL: clock_nanosleep.
	 */
	int (*wait)(void *user, uint64_t until_usec);
	void *wait_user;
};

/* A failed call: what to log. */
struct graph_failure {
	long status;	 /* HTTP status, 0 if none */
	char code[64];	 /* Graph error code, or "" */
	char text[768];	 /* one line: method, path, status, message */
	double wait_sec; /* the server asked to wait this long; else 0 */
};

struct graph;

int graph_new(const struct graph_options *o, struct graph **ret,
	      struct graph_failure *reterr);
void graph_free(struct graph *g);

/* Start a round: counters reset, the stall clock starts now. */
void graph_round_start(struct graph *g);

/* Requests sent since graph_round_start (retries included). */
struct graph_counters {
	unsigned long reads;
	unsigned long writes; /* inner requests of $batch included */
	unsigned long batches;
	unsigned long retries;
	unsigned long throttled; /* 429 answers */
};
void graph_counters(const struct graph *g, struct graph_counters *ret);

/*
 * Reads.  Each returns 0 and its result, or a negative errno with
 * *reterr: -EACCES (token or permission), -ENOENT (no such group),
 * -EAGAIN (throttled or unavailable: GRAPH_MAX_RETRIES for one request,
 * GRAPH_STALL_SEC without progress, or a Retry-After beyond
 * max_wait_sec, then reterr->wait_sec says how long), -EBADMSG
 * (a response that is not what Graph documents, e.g. cut short),
 * -E2BIG (more than GRAPH_MAX_PAGES), -ECANCELED (wait hook), others.
 */
int graph_read_skus(struct graph *g, struct sku **ret, size_t *ret_n,
		    struct graph_failure *reterr);

/* *ret_name owned by the caller. */
int graph_read_group(struct graph *g, const struct guid *id, char **ret_name,
		     struct graph_failure *reterr);

/*
 * The user members of a group, nested groups resolved by Graph
 * (transitiveMembers); other object types are skipped.  *ret is an array
 * of users (free each with decode_user_clear, then the array).
 */
int graph_read_members(struct graph *g, const struct guid *group,
		       struct user **ret, size_t *ret_n,
		       struct graph_failure *reterr);

/* Users holding sku (directly or inherited). */
int graph_read_holders(struct graph *g, const struct guid *sku,
		       struct user **ret, size_t *ret_n,
		       struct graph_failure *reterr);

/* ---- writes ---------------------------------------------------------- */

/* One user's change: optionally set usageLocation, then assignLicense. */
struct graph_write {
	struct guid user;
	char usage_location[3]; /* "" to leave it; else PATCH first */
	const struct license_add *adds;
	size_t n_adds;
	const struct guid *removes;
	size_t n_removes;
};

/*
 * What became of one write (SPEC 5.7).  Three kinds: applied (GRAPH_OK),
 * unknown (GRAPH_UNKNOWN: it went out and no answer says what happened;
 * it may have been applied, now or later) and refused (every other
 * value: nothing changed).
 */
enum graph_outcome {
	GRAPH_OK,
	GRAPH_NO_USAGE_LOCATION,
	GRAPH_NO_SEATS,
	GRAPH_UNKNOWN_SKU,
	GRAPH_PLAN_CONFLICT, /* mutually exclusive or dependent plans */
	GRAPH_NOT_HELD,	     /* removing a SKU the user does not hold */
	GRAPH_NO_USER,	     /* the user is gone */
	GRAPH_NOT_SENT,	     /* never went out: the phase stopped first */
	GRAPH_THROTTLED,     /* answered 429 on every attempt */
	GRAPH_UNKNOWN,	     /* sent, no answer: may have been applied */
	GRAPH_OTHER,
};

struct graph_result {
	enum graph_outcome outcome;
	long status;	      /* of the deciding answer, 0 if none */
	bool is_location_set; /* the usageLocation PATCH was applied */
	bool is_inferred;     /* OK because a retry found it done */
	char message[384];    /* Graph's message, raw */
};

/*
 * Apply n writes, batched; results[i] answers writes[i].  Each request
 * is retried on its own (429, 5xx, a dropped answer) up to
 * GRAPH_MAX_RETRIES.  A write retried after an unanswered attempt and
 * then refused "license not held" was applied by that attempt (GRAPH_OK,
 * is_inferred); refused otherwise it is GRAPH_UNKNOWN.  Returns the
 * number not applied (0: all applied), or a negative errno when the
 * phase stopped (reterr says why): results still say which went through,
 * which may have, and which were never sent.
 */
int graph_apply(struct graph *g, const struct graph_write *writes, size_t n,
		struct graph_result *results, struct graph_failure *reterr);

/* Text for an outcome ("no seats", ...). */
const char *graph_outcome_name(enum graph_outcome o);

#endif
