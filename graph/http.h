/*
 * http: one HTTPS request at a time over a reused libcurl easy handle.
 *
 * No retries, no JSON, no tokens: a request goes out, a status and a
 * capped body come back.  Retrying, throttling and authentication are the
 * caller's (graph.c, auth.c).  Peers are always verified; there is no
 * switch to turn that off.  The handle keeps its connection alive between
 * requests (HTTP/2 when the server offers it over TLS).
 */
#ifndef LICENSED_HTTP_H
#define LICENSED_HTTP_H

#include <stdbool.h>
#include <stddef.h>

/* Largest response body accepted (a 999-user page is about 1 MiB). */
#define HTTP_MAX_BODY (32 * 1024 * 1024)

/* What went wrong, for the caller to log: one line, no secrets. */
struct http_error {
	long status; /* HTTP status, 0 when none was received */
	char text[512];
};

struct http_options {
	const char *ca_file;	 /* extra trust anchor, or NULL */
	const char *proxy;	 /* or NULL; "" forces no proxy (IMDS) */
	long connect_timeout_ms; /* 0: 10 s */
	long timeout_ms;	 /* whole request; 0: 60 s */
	size_t max_body;	 /* 0: HTTP_MAX_BODY */
};

struct http_request {
	const char *method;	    /* "GET", "POST", "PATCH" */
	const char *url;	    /* absolute */
	const char *const *headers; /* "Name: value", or NULL */
	size_t n_headers;
	const char *body; /* or NULL */
	size_t body_len;
};

struct http_response {
	long status;
	char *body; /* NUL-terminated; owned */
	size_t body_len;
	double retry_after_sec; /* Retry-After, or -1 when absent */
	char request_id[64];	/* request-id header, or "" */
};

struct http;

/* A client.  Returns 0, -ENOMEM or -EINVAL (libcurl refused an option). */
int http_new(const struct http_options *o, struct http **ret);
void http_free(struct http *h);

/*
 * Send one request and wait for the whole response.  Returns 0 when a
 * complete response arrived (whatever its status; *ret filled, release with
 * http_response_clear), or a negative errno with *reterr filled:
 * -ETIMEDOUT, -ECONNREFUSED, -ECONNRESET (dropped or cut short: a body
 * shorter than its Content-Length is never returned as complete),
 * -EHOSTUNREACH (name or route), -EPROTO (TLS or certificate), -EFBIG
 * (body over the cap), -ENOMEM, -EIO.
 */
int http_send(struct http *h, const struct http_request *req,
	      struct http_response *ret, struct http_error *reterr);

void http_response_clear(struct http_response *r);

/* Retry-After values are clamped here (about 31 years). */
#define HTTP_RETRY_AFTER_MAX 1e9

/*
 * Parse a Retry-After value: decimal seconds ("10", "2.128") or an HTTP
 * date, relative to now_sec (wall clock).  Returns seconds in [0,
 * HTTP_RETRY_AFTER_MAX], or -1.  Whether to wait that long is the
 * caller's choice.
 */
double http_parse_retry_after(const char *value, double now_sec);

/* The path of url without scheme, host and query, for log lines. */
void http_url_path(const char *url, char *buf, size_t size);

#endif
