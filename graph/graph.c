/*
 * graph: reads and writes against Microsoft Graph v1.0.  See graph.h.
 *
 * Every request goes through call(): throttle gate, token, send, then one
 * decision (done, renew the token, retry, or fail).  Reads that page go
 * through read_users(), which follows each @odata.nextLink verbatim and
 * only if it points back at our Graph host (a bearer token is never sent
 * anywhere else).  Writes go through graph_apply(), which packs them into
 * $batch requests and retries the inner requests that were throttled.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph/graph.h"
#include "graph/throttle.h"

#define USER_SELECT                                                            \
	"$select=id,userPrincipalName,accountEnabled,usageLocation,"           \
	"assignedLicenses,licenseAssignmentStates"

/* Wait after a usageLocation PATCH before assigning again (replication). */
#define REPLICATION_WAIT_USEC 2000000ULL

struct graph {
	char *base;	   /* "{graph}/v1.0" */
	size_t origin_len; /* length of "scheme://host[:port]" in base */
	struct http *http;
	struct auth *auth;
	struct bucket reads;
	struct bucket writes;
	uint64_t max_wait_usec; /* a longer Retry-After ends the phase */
	uint64_t progress_usec; /* last answer that settled something */
	uint64_t rng;
	int (*wait)(void *user, uint64_t until_usec);
	void *wait_user;
	struct graph_counters counters;
};

/* One request as call() sees it. */
struct call {
	const char *method;
	const char *url;
	const char *body; /* JSON, or NULL */
	bool is_write;
	bool is_eventual;  /* send ConsistencyLevel: eventual */
	bool is_batch;	   /* a 424 envelope still carries answers */
	unsigned n_tokens; /* bucket tokens per attempt ($batch: items) */
};

static uint64_t now_usec(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

static int wait_until(struct graph *g, uint64_t until_usec)
{
	struct timespec ts = { (time_t)(until_usec / 1000000ULL),
			       (long)(until_usec % 1000000ULL) * 1000 };

	if (g->wait)
		return g->wait(g->wait_user, until_usec);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
	return 0;
}

/* Take n tokens from b, waiting as long as the bucket says. */
static int gate(struct graph *g, struct bucket *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t t;

		while ((t = bucket_take(b, now_usec())) != 0) {
			int r = wait_until(g, t);

			if (r < 0)
				return r;
		}
	}
	return g->wait ? g->wait(g->wait_user, 0) : 0; /* check in */
}

static void failure(struct graph_failure *f, const struct call *c, long status,
		    const char *code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void failure(struct graph_failure *f, const struct call *c, long status,
		    const char *code, const char *fmt, ...)
{
	char path[200], text[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	http_url_path(c->url, path, sizeof(path));
	f->status = status;
	(void)snprintf(f->code, sizeof(f->code), "%s", code ? code : "");
	(void)snprintf(f->text, sizeof(f->text), "%s %s: %.500s", c->method,
		       path, text);
}

/* Describe a non-2xx answer from its Graph error body. */
static void failure_from(struct graph_failure *f, const struct call *c,
			 const struct http_response *resp)
{
	struct graph_error_body e;

	if (decode_graph_error(resp->body, resp->body_len, &e) < 0)
		(void)snprintf(e.code, sizeof(e.code), "%s", "");
	if (e.code[0])
		failure(f, c, resp->status, e.code, "%ld %s: %s%s%s%s",
			resp->status, e.code, e.message,
			resp->request_id[0] ? " (request-id " : "",
			resp->request_id, resp->request_id[0] ? ")" : "");
	else
		failure(f, c, resp->status, NULL, "HTTP %ld", resp->status);
}

static int status_errno(long status)
{
	switch (status) {
	case 400:
		return -EINVAL;
	case 401:
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 410:
		return -ESTALE;
	default:
		return -EIO;
	}
}

static bool is_retryable_status(long status)
{
	return status == 429 || status == 500 || status == 502 ||
	       status == 503 || status == 504;
}

static bool is_retryable_errno(int r)
{
	return r == -ETIMEDOUT || r == -ECONNRESET || r == -ECONNREFUSED ||
	       r == -EAGAIN;
}

/*
 * Spend retry number attempt (0 for the first) of one request: hold the
 * bucket for Retry-After, or for a backoff when there is none.  Returns 0,
 * or -EAGAIN with *reterr when the request or the phase gives up: the
 * request had GRAPH_MAX_RETRIES, the server asks for a wait beyond
 * max_wait (reterr->wait_sec then says how long), or the wait would end
 * past the stall window (GRAPH_STALL_SEC without progress; max_wait when
 * the server asked for the wait).
 */
static int retry(struct graph *g, struct bucket *b, unsigned attempt,
		 double retry_after_sec, struct graph_failure *reterr)
{
	uint64_t now = now_usec(), delay, limit;

	if (attempt >= GRAPH_MAX_RETRIES) {
		(void)snprintf(reterr->text, sizeof(reterr->text),
			       "gave up after %u retries", attempt);
		return -EAGAIN;
	}
	if (retry_after_sec > (double)g->max_wait_usec / 1e6) {
		reterr->wait_sec = retry_after_sec;
		(void)snprintf(
			reterr->text, sizeof(reterr->text),
			"the server asks to wait %.0f s, longer than a "
			"round waits (%llu s)",
			retry_after_sec,
			(unsigned long long)(g->max_wait_usec / 1000000));
		return -EAGAIN;
	}
	if (retry_after_sec >= 0) {
		/*
		 * The server's wait is sat out once in full after progress
		 * (plus the stall window of slack); asked again, the phase
		 * ends and the next round comes when the server said.
		 */
		delay = (uint64_t)(retry_after_sec * 1e6);
		limit = g->progress_usec + g->max_wait_usec +
			GRAPH_STALL_SEC * 1000000ULL;
		reterr->wait_sec = retry_after_sec;
	} else {
		delay = throttle_backoff_usec(attempt,
					      throttle_random(&g->rng));
		limit = g->progress_usec + GRAPH_STALL_SEC * 1000000ULL;
	}
	if (now + delay > limit) {
		(void)snprintf(reterr->text, sizeof(reterr->text),
			       "no progress for %llu s%s",
			       (unsigned long long)((now - g->progress_usec) /
						    1000000),
			       retry_after_sec >= 0
				       ? "; the server asks to wait again"
				       : "");
		return -EAGAIN;
	}
	reterr->wait_sec = 0;
	g->counters.retries++;
	bucket_hold(b, now + delay);
	return 0;
}

/* Something was settled: the stall window starts again. */
static void progress(struct graph *g)
{
	g->progress_usec = now_usec();
}

static int send_once(struct graph *g, const struct call *c, const char *token,
		     struct http_response *resp, struct http_error *herr)
{
	const char *headers[3];
	struct http_request req = { c->method, c->url,
				    headers,   0,
				    c->body,   c->body ? strlen(c->body) : 0 };
	size_t len = strlen(token) + 32;
	char *auth = malloc(len);
	int r;

	if (!auth)
		return -ENOMEM;
	(void)snprintf(auth, len, "Authorization: Bearer %s", token);
	headers[req.n_headers++] = auth;
	if (c->body)
		headers[req.n_headers++] = "Content-Type: application/json";
	if (c->is_eventual)
		headers[req.n_headers++] = "ConsistencyLevel: eventual";
	if (c->is_write)
		g->counters.writes += c->n_tokens;
	else
		g->counters.reads++;
	r = http_send(g->http, &req, resp, herr);
	explicit_bzero(auth, len);
	free(auth);
	return r;
}

/*
 * Might a request that went out and got this have been applied all the
 * same?  Everything but the failures that come before a byte is sent
 * (name resolution, connect, TLS handshake and certificates).
 */
static bool is_unanswered(int r, long status)
{
	if (r == 0)
		return status >= 500;
	return r != -EHOSTUNREACH && r != -ECONNREFUSED && r != -EPROTO;
}

static bool is_answer(const struct call *c, const struct http_response *resp)
{
	if (resp->status >= 200 && resp->status < 300)
		return true;
	/* GRAPH.md 5: a 424 envelope still holds one answer per request. */
	return c->is_batch && resp->status == 424 && resp->body_len > 0;
}

/* Give up on c after an error retry() would not retry. */
static int give_up(const struct call *c, int r,
		   const struct http_response *resp,
		   const struct http_error *herr,
		   const struct graph_failure *why,
		   struct graph_failure *reterr)
{
	size_t len;

	if (r == 0)
		failure_from(reterr, c, resp);
	else
		failure(reterr, c, 0, NULL, "%s", herr->text);
	len = strlen(reterr->text);
	(void)snprintf(reterr->text + len, sizeof(reterr->text) - len, " (%s)",
		       why->text);
	reterr->wait_sec = why->wait_sec;
	return -EAGAIN;
}

/*
 * One attempt: the throttle gate, a token, a check-in, the request.
 * Returns send_once()'s result with *ret_is_sent, or -ECANCELED, or the
 * token's error (-EAGAIN while the token endpoint rests) with nothing
 * sent.
 */
static int attempt_once(struct graph *g, struct bucket *b, const struct call *c,
			struct http_response *resp, struct http_error *herr,
			bool *ret_is_sent)
{
	const char *token;
	int r = gate(g, b, c->n_tokens);

	*ret_is_sent = false;
	if (r < 0)
		return r;
	r = auth_token(g->auth, &token, herr);
	if (r == -EAGAIN) /* the token endpoint is resting: so do we */
		bucket_hold(b, auth_next_try_usec(g->auth));
	if (r < 0)
		return r;
	/* A token fetch and a request each get a watchdog period. */
	if (g->wait && g->wait(g->wait_user, 0) < 0)
		return -ECANCELED;
	*ret_is_sent = true;
	return send_once(g, c, token, resp, herr);
}

/*
 * Send c until it gets an answer (in *resp), a definite failure, or
 * retry() gives up.  *ret_is_maybe_sent (NULL for reads) is set when an
 * attempt went out and got no answer saying it was not processed: a
 * dropped connection, a timeout, a 5xx.
 */
static int call(struct graph *g, const struct call *c,
		struct http_response *resp, bool *ret_is_maybe_sent,
		struct graph_failure *reterr)
{
	struct bucket *b = c->is_write ? &g->writes : &g->reads;
	struct http_error herr = { 0, "" };
	struct graph_failure why = { 0 };
	bool is_renewed = false, is_sent;
	unsigned attempt = 0;
	int r;

	for (;;) {
		http_response_clear(resp);
		r = attempt_once(g, b, c, resp, &herr, &is_sent);
		if (r == -ECANCELED) {
			failure(reterr, c, 0, NULL, "cancelled");
			return r;
		}
		if (ret_is_maybe_sent && is_sent &&
		    is_unanswered(r, r == 0 ? resp->status : 0))
			*ret_is_maybe_sent = true;
		if (r == 0 && is_answer(c, resp)) {
			if (!c->is_batch) { /* a batch's answers decide */
				progress(g);
				bucket_answered(b, 1);
			}
			return 0;
		}
		if (r == 0 && resp->status == 401 && !is_renewed) {
			auth_invalidate(g->auth);
			is_renewed = true;
			continue;
		}
		if (r == 0 && resp->status == 429) {
			g->counters.throttled++;
			/* A $batch envelope refused whole counts as one. */
			(void)bucket_throttled(b, 1, 1, resp->retry_after_sec,
					       now_usec());
		}
		if ((r == 0 && is_retryable_status(resp->status)) ||
		    is_retryable_errno(r)) {
			if (retry(g, b, attempt++,
				  r == 0 ? resp->retry_after_sec : -1,
				  &why) == 0)
				continue;
			r = give_up(c, r, resp, &herr, &why, reterr);
			http_response_clear(resp);
			return r;
		}
		if (r < 0) {
			failure(reterr, c, herr.status, NULL, "%s", herr.text);
			return r;
		}
		failure_from(reterr, c, resp);
		r = status_errno(resp->status);
		http_response_clear(resp);
		return r;
	}
}

int graph_new(const struct graph_options *o, struct graph **ret,
	      struct graph_failure *reterr)
{
	struct graph *g = calloc(1, sizeof(*g));
	struct auth_options ao = o->auth;
	struct http_error herr = { 0, "" };
	const char *host;
	size_t len = strlen(o->graph) + sizeof("/v1.0");
	uint64_t now = now_usec();
	int r = -ENOMEM;

	memset(reterr, 0, sizeof(*reterr));
	if (!g || !(g->base = malloc(len)))
		goto out;
	(void)snprintf(g->base, len, "%s/v1.0", o->graph);
	host = strstr(g->base, "://");
	g->origin_len =
		host ? strcspn(host + 3, "/") + (size_t)(host + 3 - g->base)
		     : 0;
	r = http_new(&o->http, &g->http);
	if (r < 0) {
		(void)snprintf(reterr->text, sizeof(reterr->text),
			       "cannot set up the HTTP client: %s",
			       strerror(-r));
		goto out;
	}
	ao.http = g->http;
	r = auth_new(&ao, &g->auth, &herr);
	if (r < 0) {
		(void)snprintf(reterr->text, sizeof(reterr->text), "%s",
			       herr.text);
		goto out;
	}
	bucket_init(&g->reads, THROTTLE_READ_CEILING, o->read_rate, now);
	bucket_init(&g->writes, THROTTLE_WRITE_CEILING, o->write_rate, now);
	g->max_wait_usec =
		(uint64_t)((o->max_wait_sec > 0 ? o->max_wait_sec
						: GRAPH_MAX_WAIT_SEC) *
			   1e6);
	g->progress_usec = now;
	g->rng = now | 1;
	g->wait = o->wait;
	g->wait_user = o->wait_user;
	*ret = g;
	g = NULL;
	r = 0;
out:
	graph_free(g);
	return r;
}

void graph_free(struct graph *g)
{
	if (!g)
		return;
	auth_free(g->auth);
	http_free(g->http);
	free(g->base);
	free(g);
}

void graph_round_start(struct graph *g)
{
	g->progress_usec = now_usec();
	memset(&g->counters, 0, sizeof(g->counters));
}

void graph_counters(const struct graph *g, struct graph_counters *ret)
{
	*ret = g->counters;
}

static int read_json(struct graph *g, const char *url, bool is_eventual,
		     struct http_response *resp, struct graph_failure *reterr)
{
	struct call c = { .method = "GET",
			  .url = url,
			  .is_eventual = is_eventual,
			  .n_tokens = 1 };

	return call(g, &c, resp, NULL, reterr);
}

static void bad_body(struct graph_failure *f, const char *url,
		     const struct decode_error *e)
{
	struct call c = { .method = "GET", .url = url, .n_tokens = 1 };

	failure(f, &c, 200, NULL, "unexpected response: %s", e->text);
}

int graph_read_skus(struct graph *g, struct sku **ret, size_t *ret_n,
		    struct graph_failure *reterr)
{
	struct http_response resp = { 0 };
	struct decode_error e = { "" };
	char url[512];
	int r;

	(void)snprintf(url, sizeof(url),
		       "%s/subscribedSkus?$select=skuId,skuPartNumber,"
		       "appliesTo,capabilityStatus,consumedUnits,prepaidUnits,"
		       "servicePlans",
		       g->base);
	r = read_json(g, url, false, &resp, reterr);
	if (r == 0) {
		r = decode_skus(resp.body, resp.body_len, ret, ret_n, &e);
		if (r == -EBADMSG)
			bad_body(reterr, url, &e);
	}
	http_response_clear(&resp);
	return r;
}

int graph_read_group(struct graph *g, const struct guid *id, char **ret_name,
		     struct graph_failure *reterr)
{
	struct http_response resp = { 0 };
	struct decode_error e = { "" };
	char url[512], text[GUID_STRLEN + 1];
	struct guid got;
	char *name = NULL;
	int r;

	guid_format(id, text);
	(void)snprintf(url, sizeof(url), "%s/groups/%s?$select=id,displayName",
		       g->base, text);
	r = read_json(g, url, false, &resp, reterr);
	if (r == 0) {
		r = decode_group(resp.body, resp.body_len, &got, &name, &e);
		if (r == 0 && !guid_equal(&got, id)) {
			r = -EBADMSG;
			(void)snprintf(e.text, sizeof(e.text),
				       "asked for group %s, got another", text);
		}
		if (r == -EBADMSG)
			bad_body(reterr, url, &e);
	}
	if (r == 0) {
		*ret_name = name;
		name = NULL;
	}
	free(name);
	http_response_clear(&resp);
	return r;
}

static void free_users(struct user *users, size_t n)
{
	for (size_t i = 0; i < n; i++)
		decode_user_clear(&users[i]);
	free(users);
}

/* Move the users of a page to the end of *all. */
static int append_users(struct user_page *page, struct user **all,
			size_t *n_all)
{
	struct user *v;

	if (page->n_users == 0)
		return 0;
	v = realloc(*all, (*n_all + page->n_users) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memcpy(v + *n_all, page->users, page->n_users * sizeof(*v));
	*all = v;
	*n_all += page->n_users;
	page->n_users = 0; /* moved: the page no longer owns them */
	return 0;
}

/* A nextLink must lead back to our Graph host: the token goes with it. */
static bool is_our_link(const struct graph *g, const char *link)
{
	return strncmp(link, g->base, g->origin_len) == 0 &&
	       (link[g->origin_len] == '/' || link[g->origin_len] == '\0');
}

/* Read every page starting at first_url. */
static int read_users(struct graph *g, const char *first_url, bool is_eventual,
		      struct user **ret, size_t *ret_n,
		      struct graph_failure *reterr)
{
	struct http_response resp = { 0 };
	struct user_page page = { 0 };
	struct decode_error e = { "" };
	struct user *all = NULL;
	size_t n_all = 0, n_pages = 0;
	char *url = strdup(first_url);
	int r = url ? 0 : -ENOMEM;

	while (r == 0 && url) {
		if (++n_pages > GRAPH_MAX_PAGES) {
			(void)snprintf(e.text, sizeof(e.text),
				       "more than %d pages", GRAPH_MAX_PAGES);
			bad_body(reterr, first_url, &e);
			r = -E2BIG;
			break;
		}
		r = read_json(g, url, is_eventual, &resp, reterr);
		if (r < 0)
			break;
		r = decode_user_page(resp.body, resp.body_len, &page, &e);
		if (r == -EBADMSG)
			bad_body(reterr, url, &e);
		if (r == 0)
			r = append_users(&page, &all, &n_all);
		if (r == 0 && page.next_link &&
		    !is_our_link(g, page.next_link)) {
			(void)snprintf(e.text, sizeof(e.text),
				       "@odata.nextLink leads to another host");
			bad_body(reterr, url, &e);
			r = -EBADMSG;
		}
		free(url);
		url = page.next_link;
		page.next_link = NULL;
		decode_user_page_clear(&page);
		http_response_clear(&resp);
	}
	free(url);
	if (r == 0) {
		*ret = all;
		*ret_n = n_all;
		all = NULL;
		n_all = 0;
	}
	free_users(all, n_all);
	return r;
}

int graph_read_members(struct graph *g, const struct guid *group,
		       struct user **ret, size_t *ret_n,
		       struct graph_failure *reterr)
{
	char url[512], id[GUID_STRLEN + 1];

	guid_format(group, id);
	(void)snprintf(url, sizeof(url),
		       "%s/groups/%s/transitiveMembers?" USER_SELECT
		       "&$top=999",
		       g->base, id);
	return read_users(g, url, false, ret, ret_n, reterr);
}

int graph_read_holders(struct graph *g, const struct guid *sku,
		       struct user **ret, size_t *ret_n,
		       struct graph_failure *reterr)
{
	char url[512], id[GUID_STRLEN + 1];

	guid_format(sku, id);
	(void)snprintf(url, sizeof(url),
		       "%s/users?$filter=assignedLicenses/"
		       "any(x:x/skuId%%20eq%%20%s)&$count=true&" USER_SELECT
		       "&$top=999",
		       g->base, id);
	return read_users(g, url, true, ret, ret_n, reterr);
}

/* ---- writes ---------------------------------------------------------- */

/* Where one write stands while graph_apply() works through them. */
enum step {
	STEP_PATCH,  /* usageLocation still to set */
	STEP_ASSIGN, /* assignLicense still to send */
	STEP_DONE,
};

struct write_state {
	enum step step;
	unsigned attempt;      /* retries of the current request so far */
	bool is_race_retried;  /* assign retried once after the PATCH */
	bool is_maybe_applied; /* the assign went out once, unanswered */
	char *assign_body;
	char *patch_body;
	char patch_url[64];
	char assign_url[80];
};

static bool has_assign(const struct graph_write *w)
{
	return w->n_adds + w->n_removes > 0;
}

static int prepare(const struct graph_write *w, struct write_state *p)
{
	char id[GUID_STRLEN + 1];
	int r = 0;

	guid_format(&w->user, id);
	(void)snprintf(p->patch_url, sizeof(p->patch_url), "/users/%s", id);
	(void)snprintf(p->assign_url, sizeof(p->assign_url),
		       "/users/%s/assignLicense", id);
	p->step = w->usage_location[0] ? STEP_PATCH : STEP_ASSIGN;
	if (w->usage_location[0])
		r = encode_usage_location(w->usage_location, &p->patch_body);
	if (r == 0 && has_assign(w))
		r = encode_assign_license(w->adds, w->n_adds, w->removes,
					  w->n_removes, &p->assign_body);
	if (r == 0 && !has_assign(w) && !w->usage_location[0])
		p->step = STEP_DONE;
	return r;
}

static enum graph_outcome classify(long status, const char *message)
{
	static const struct {
		const char *text;
		enum graph_outcome outcome;
	} known[] = {
		/* GRAPH.md 4.3: one code for all, so the message decides. */
		{ "usage location", GRAPH_NO_USAGE_LOCATION },
		{ "does not have any available licenses", GRAPH_NO_SEATS },
		{ "does not correspond to a valid company License",
		  GRAPH_UNKNOWN_SKU },
		{ "cannot be assigned to a user", GRAPH_UNKNOWN_SKU },
		{ "mutually exclusive", GRAPH_PLAN_CONFLICT },
		{ "cannot be assigned at the same time", GRAPH_PLAN_CONFLICT },
		{ "depends on the service plan", GRAPH_PLAN_CONFLICT },
		{ "does not have a corresponding license", GRAPH_NOT_HELD },
	};

	if (status == 404)
		return GRAPH_NO_USER;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strstr(message, known[i].text))
			return known[i].outcome;
	return GRAPH_OTHER;
}

static void set_result(struct graph_result *res, long status,
		       const struct batch_reply *reply)
{
	struct graph_error_body e = { "", "" };

	if (reply && reply->body)
		(void)decode_graph_error(reply->body, reply->body_len, &e);
	res->status = status;
	(void)snprintf(res->message, sizeof(res->message), "%s", e.message);
	res->outcome = status >= 200 && status < 300
			       ? GRAPH_OK
			       : classify(status, e.message);
}

/* The batch being built: at most ENCODE_BATCH_MAX inner requests. */
struct batch {
	struct batch_item items[ENCODE_BATCH_MAX];
	char ids[ENCODE_BATCH_MAX][16];
	size_t write_of[ENCODE_BATCH_MAX];
	size_t n;
};

static void batch_add(struct batch *b, size_t wi, char kind, const char *method,
		      const char *url, const char *body, bool depends)
{
	size_t k = b->n++;

	(void)snprintf(b->ids[k], sizeof(b->ids[k]), "%c%u", kind,
		       (unsigned)wi);
	b->items[k] = (struct batch_item){
		.id = b->ids[k],
		.method = method,
		.url = url,
		.body = body,
		.depends_on = depends ? b->ids[k - 1] : NULL,
	};
	b->write_of[k] = wi;
}

/*
 * Fill b with the next pending requests, at most max (a PATCH beside its
 * assign, even when max is 1).  The caller sizes max to the write bucket:
 * a batch larger than the bucket earns in a second is throttled half-way
 * by a server whose budget is ours.
 */
static void batch_fill(struct batch *b, const struct graph_write *w,
		       struct write_state *p, size_t n, size_t max)
{
	b->n = 0;
	for (size_t i = 0; i < n; i++) {
		size_t need =
			p[i].step == STEP_PATCH && has_assign(&w[i]) ? 2 : 1;

		if (p[i].step == STEP_DONE)
			continue;
		if (b->n > 0 && b->n + need > max)
			break;
		if (p[i].step == STEP_PATCH)
			batch_add(b, i, 'p', "PATCH", p[i].patch_url,
				  p[i].patch_body, false);
		if (has_assign(&w[i]))
			batch_add(b, i, 'a', "POST", p[i].assign_url,
				  p[i].assign_body, p[i].step == STEP_PATCH);
	}
}

static const struct batch_reply *find_reply(const struct batch_reply *r,
					    size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(r[i].id, id) == 0)
			return &r[i];
	return NULL;
}

/* The write's answer is final: record it. */
static void settle_assign(struct write_state *p, struct graph_result *res,
			  const struct batch_reply *reply)
{
	set_result(res, reply->status, reply);
	if (p->is_maybe_applied && res->outcome == GRAPH_NOT_HELD) {
		/* SPEC 5.7: the unanswered attempt removed it already. */
		res->outcome = GRAPH_OK;
		res->is_inferred = true;
	} else if (p->is_maybe_applied && res->outcome != GRAPH_OK) {
		res->outcome = GRAPH_UNKNOWN; /* this refusal may be ours */
	}
	p->step = STEP_DONE;
}

/* What one inner answer means for its write. */
enum verdict {
	VERDICT_SETTLED, /* an answer that decides (progress) */
	VERDICT_AGAIN,	 /* send it again after *ret_after (or backoff) */
	VERDICT_WAIT,	 /* the PATCH before it decides */
};

/*
 * Fold one inner answer into the write's state.  A 5xx or a missing
 * answer may hide an applied request: the write then counts as maybe
 * applied until an answer says otherwise.
 */
static enum verdict settle(const struct graph_write *w, struct write_state *p,
			   struct graph_result *res, bool is_patch,
			   const struct batch_reply *reply, double *ret_after)
{
	long status = reply ? reply->status : 0;

	*ret_after = -1;
	if (!reply || is_retryable_status(status)) {
		if (!is_patch && (!reply || status >= 500))
			p->is_maybe_applied = true;
		if (reply && reply->retry_after_sec >= 0)
			*ret_after = reply->retry_after_sec;
		res->status = status;
		return VERDICT_AGAIN;
	}
	if (status == 424 && !is_patch && p->step == STEP_PATCH)
		return VERDICT_WAIT; /* its PATCH failed: that answer decides */
	if (status == 424) {	     /* no PATCH to blame: try it again */
		res->status = status;
		*ret_after = reply->retry_after_sec;
		return VERDICT_AGAIN;
	}
	if (status >= 500 && !is_patch) /* after the body went out */
		p->is_maybe_applied = true;
	if (!is_patch) {
		set_result(res, status, reply);
		if (res->outcome == GRAPH_NO_USAGE_LOCATION &&
		    res->is_location_set && !p->is_race_retried) {
			/* SPEC 5.8: the new usageLocation may not have
			 * replicated yet. */
			p->is_race_retried = true;
			*ret_after = REPLICATION_WAIT_USEC / 1e6;
			return VERDICT_AGAIN;
		}
		settle_assign(p, res, reply);
		return VERDICT_SETTLED;
	}
	set_result(res, status, reply);
	if (res->outcome != GRAPH_OK) {
		/* No location: the assign cannot go, unless a lost envelope
		 * took it along already. */
		if (p->is_maybe_applied)
			res->outcome = GRAPH_UNKNOWN;
		p->step = STEP_DONE;
		return VERDICT_SETTLED;
	}
	/* The PATCH is not the assignment: the write is not applied yet. */
	res->outcome = GRAPH_NOT_SENT;
	res->is_location_set = true;
	p->attempt = 0;
	p->step = has_assign(w) ? STEP_ASSIGN : STEP_DONE;
	if (!has_assign(w))
		res->outcome = GRAPH_OK;
	return VERDICT_SETTLED;
}

/* A request that used up its retries: refused by 429, or unknown. */
static void exhausted(struct write_state *p, struct graph_result *res)
{
	res->outcome = p->is_maybe_applied  ? GRAPH_UNKNOWN
		       : res->status == 429 ? GRAPH_THROTTLED
					    : GRAPH_OTHER;
	p->step = STEP_DONE;
}

/* Answers of one batch: counts of settled and of retried requests. */
struct tally {
	size_t n_settled, n_again;
	unsigned attempt;   /* the highest retry count among the retried */
	double retry_after; /* the longest Retry-After, or -1 */
	/* For the write bucket's rate (graph/throttle.h): */
	unsigned n_answered;	/* neither 429 nor 5xx nor lost */
	unsigned n_throttled;	/* 429 */
	double throttled_after; /* the longest Retry-After of a 429, or -1 */
};

/* What the server did with one inner request, for the rate. */
static void tally_reply(struct tally *t, const struct batch_reply *reply)
{
	if (!reply || reply->status >= 500 || reply->status == 424)
		return; /* lost, failing, or never run */
	if (reply->status != 429) {
		t->n_answered++;
		return;
	}
	t->n_throttled++;
	if (reply->retry_after_sec > t->throttled_after)
		t->throttled_after = reply->retry_after_sec;
}

static void tally_one(struct tally *t, enum verdict v, unsigned attempt,
		      double after)
{
	if (v == VERDICT_SETTLED)
		t->n_settled++;
	if (v != VERDICT_AGAIN)
		return;
	t->n_again++;
	if (attempt > t->attempt)
		t->attempt = attempt;
	if (after > t->retry_after)
		t->retry_after = after;
}

/* Settle every answer of a batch; retries counted per request. */
static void settle_batch(const struct graph_write *w, struct write_state *p,
			 const struct batch *b, const struct batch_reply *rep,
			 size_t n_rep, struct graph_result *results,
			 struct tally *t)
{
	for (size_t k = 0; k < b->n; k++) {
		const struct batch_reply *reply =
			find_reply(rep, n_rep, b->ids[k]);
		size_t i = b->write_of[k];
		double after;
		enum verdict v;

		tally_reply(t, reply);
		if (p[i].step == STEP_DONE)
			continue; /* its PATCH failed in this batch */
		v = settle(&w[i], &p[i], &results[i], b->ids[k][0] == 'p',
			   reply, &after);
		if (v == VERDICT_AGAIN && p[i].attempt >= GRAPH_MAX_RETRIES) {
			exhausted(&p[i], &results[i]); /* not progress */
			continue;
		}
		tally_one(t, v, p[i].attempt, after);
		p[i].attempt += v == VERDICT_AGAIN;
	}
}

/* Every request of b went out but its answer was lost. */
static void batch_unanswered(const struct batch *b, struct write_state *p)
{
	for (size_t k = 0; k < b->n; k++)
		if (b->ids[k][0] == 'a')
			p[b->write_of[k]].is_maybe_applied = true;
}

/* The write rate follows the batch's answers (graph/throttle.h). */
static void pace(struct graph *g, const struct batch *b, const struct tally *t)
{
	bucket_answered(&g->writes, t->n_answered);
	if (t->n_throttled)
		(void)bucket_throttled(&g->writes, (unsigned)b->n,
				       t->n_throttled, t->throttled_after,
				       now_usec());
}

/*
 * Send one batch and settle its answers.  Returns 0, or a negative errno
 * when the phase must stop (*reterr says why).
 */
static int batch_send(struct graph *g, const struct graph_write *w,
		      struct write_state *p, const struct batch *b,
		      struct graph_result *results,
		      struct graph_failure *reterr)
{
	struct http_response resp = { 0 };
	struct decode_error e = { "" };
	struct batch_reply *replies = NULL;
	struct tally t = { .retry_after = -1, .throttled_after = -1 };
	struct graph_failure why = { 0 };
	size_t n_replies = 0;
	bool is_maybe_sent = false;
	char url[512], *body = NULL;
	struct call c = { .method = "POST",
			  .url = url,
			  .is_write = true,
			  .is_batch = true,
			  .n_tokens = (unsigned)b->n };
	int r;

	(void)snprintf(url, sizeof(url), "%s/$batch", g->base);
	r = encode_batch(b->items, b->n, &body);
	if (r < 0)
		return r;
	c.body = body;
	g->counters.batches++;
	r = call(g, &c, &resp, &is_maybe_sent, reterr);
	if (r == 0) {
		r = decode_batch(resp.body, resp.body_len, &replies, &n_replies,
				 &e);
		/* An answer that cannot be read: what it said is lost. */
		is_maybe_sent |= r < 0;
	}
	for (size_t k = 0; r == 0 && k < n_replies; k++)
		if (replies[k].retry_after[0]) /* an HTTP date, or junk */
			replies[k].retry_after_sec = http_parse_retry_after(
				replies[k].retry_after, (double)time(NULL));
	if (r == -EBADMSG)
		failure(reterr, &c, resp.status, NULL,
			"unexpected response: %s", e.text);
	if (is_maybe_sent)
		batch_unanswered(b, p);
	if (r == 0)
		settle_batch(w, p, b, replies, n_replies, results, &t);
	if (r == 0 && t.n_settled)
		progress(g);
	if (r == 0)
		pace(g, b, &t);
	if (r == 0 && t.n_again &&
	    retry(g, &g->writes, t.attempt, t.retry_after, &why) < 0) {
		failure(reterr, &c, 0, NULL,
			"requests still throttled or "
			"failing: %s",
			why.text);
		reterr->wait_sec = why.wait_sec;
		r = -EAGAIN;
	}
	decode_batch_free(replies, n_replies);
	http_response_clear(&resp);
	free(body);
	return r;
}

static void apply_clear(struct write_state *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++) {
		free(p[i].assign_body);
		free(p[i].patch_body);
	}
	free(p);
}

/* The phase stopped: what was not settled was never sent, or may be. */
static void unsettled(const struct write_state *p, size_t n,
		      struct graph_result *results)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i].step == STEP_DONE)
			continue;
		results[i].outcome = p[i].is_maybe_applied ? GRAPH_UNKNOWN
				     : results[i].status == 429
					     ? GRAPH_THROTTLED
					     : GRAPH_NOT_SENT;
	}
}

int graph_apply(struct graph *g, const struct graph_write *writes, size_t n,
		struct graph_result *results, struct graph_failure *reterr)
{
	struct write_state *p = calloc(n ? n : 1, sizeof(*p));
	struct batch b;
	int r = p ? 0 : -ENOMEM, n_failed = 0;

	progress(g); /* planning and the intent save are not a stall */
	for (size_t i = 0; i < n; i++)
		results[i] = (struct graph_result){ .outcome = GRAPH_NOT_SENT };
	for (size_t i = 0; r == 0 && i < n; i++) {
		r = prepare(&writes[i], &p[i]);
		if (r == 0 && p[i].step == STEP_DONE)
			results[i].outcome = GRAPH_OK;
	}
	while (r == 0) {
		batch_fill(&b, writes, p, n,
			   bucket_batch_size(&g->writes, ENCODE_BATCH_MAX));
		if (b.n == 0)
			break;
		r = batch_send(g, writes, p, &b, results, reterr);
	}
	if (p)
		unsettled(p, n, results);
	for (size_t i = 0; i < n; i++)
		n_failed += results[i].outcome != GRAPH_OK;
	apply_clear(p, n);
	return r < 0 ? r : n_failed;
}

const char *graph_outcome_name(enum graph_outcome o)
{
	static const char *const names[] = {
		[GRAPH_OK] = "applied",
		[GRAPH_NO_USAGE_LOCATION] = "no usage location",
		[GRAPH_NO_SEATS] = "no seats",
		[GRAPH_UNKNOWN_SKU] = "unknown SKU",
		[GRAPH_PLAN_CONFLICT] = "conflicting plans",
		[GRAPH_NOT_HELD] = "license not held",
		[GRAPH_NO_USER] = "no such user",
		[GRAPH_NOT_SENT] = "not sent",
		[GRAPH_THROTTLED] = "throttled",
		[GRAPH_UNKNOWN] = "no answer (may have been applied)",
		[GRAPH_OTHER] = "failed",
	};

	return o <= GRAPH_OTHER ? names[o] : "failed";
}
