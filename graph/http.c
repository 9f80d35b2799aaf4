/*
 * http: libcurl behind a one-request-at-a-time interface.  See http.h.
 *
 * One easy handle per client, reused so that connections stay alive.  The
 * body is collected into a buffer that refuses to grow past the cap; the
 * header callback keeps only Retry-After and request-id.  An extra CA file
 * is added to OpenSSL's store next to the system roots (it does not
 * replace them), through CURLOPT_SSL_CTX_FUNCTION.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "graph/http.h"

#ifndef LICENSED_VERSION
#define LICENSED_VERSION "unknown"
#endif

struct http {
	CURL *curl;
	char *ca_file;
	size_t max_body;
	char errbuf[CURL_ERROR_SIZE];
};

/* What one transfer collects. */
struct sink {
	char *buf;
	size_t len, cap, max;
	bool is_too_big;
	char retry_after[64];
	char request_id[64];
};

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
	struct sink *s = user;
	size_t len = size * n;

	if (len > s->max - s->len) {
		s->is_too_big = true;
		return 0; /* curl reports CURLE_WRITE_ERROR */
	}
	if (s->len + len + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 16384;
		char *p;

		while (cap < s->len + len + 1)
			cap *= 2;
		p = realloc(s->buf, cap);
		if (!p)
			return 0;
		s->buf = p;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	s->buf[s->len] = '\0';
	return len;
}

/* Copy the value of header line "Name: value" into dst if it is name. */
static void keep_header(const char *line, size_t len, const char *name,
			char *dst, size_t size)
{
	size_t nlen = strlen(name), vlen;
	const char *v;

	if (len <= nlen || strncasecmp(line, name, nlen) || line[nlen] != ':')
		return;
	v = line + nlen + 1;
	vlen = len - nlen - 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' ||
			    v[vlen - 1] == ' '))
		vlen--;
	if (vlen >= size)
		vlen = size - 1;
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
}

static size_t on_header(char *data, size_t size, size_t n, void *user)
{
	struct sink *s = user;
	size_t len = size * n;

	/* A new response (after a redirect or 100-continue) starts over. */
	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		s->retry_after[0] = '\0';
		s->request_id[0] = '\0';
	}
	keep_header(data, len, "Retry-After", s->retry_after,
		    sizeof(s->retry_after));
	keep_header(data, len, "request-id", s->request_id,
		    sizeof(s->request_id));
	return len;
}

/* Add the certificates of ca_file to the store, beside the system roots. */
static CURLcode on_ssl_ctx(CURL *curl, void *ssl_ctx, void *user)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ssl_ctx);
	const char *path = user;
	CURLcode rc = CURLE_SSL_CACERT_BADFILE;
	size_t n = 0;
	X509 *cert;
	BIO *bio;

	(void)curl;
	bio = BIO_new_file(path, "r");
	if (!bio)
		return rc;
	while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		if (X509_STORE_add_cert(store, cert) == 1)
			n++;
		X509_free(cert);
	}
	BIO_free(bio);
	return n > 0 ? CURLE_OK : rc;
}

static int set_options(struct http *h, const struct http_options *o)
{
	CURL *c = h->curl;
	long connect = o->connect_timeout_ms ? o->connect_timeout_ms : 10000;
	long total = o->timeout_ms ? o->timeout_ms : 60000;
	CURLcode rc = CURLE_OK;

	rc |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	rc |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	rc |= curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
			       (long)CURL_HTTP_VERSION_2TLS);
	rc |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect);
	rc |= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, total);
	rc |= curl_easy_setopt(c, CURLOPT_USERAGENT,
			       "licensed/" LICENSED_VERSION);
	rc |= curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	rc |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	rc |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
	rc |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	rc |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	rc |= curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	if (o->proxy)
		rc |= curl_easy_setopt(c, CURLOPT_PROXY, o->proxy);
	if (h->ca_file) {
		rc |= curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
		rc |= curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, h->ca_file);
	}
	return rc == CURLE_OK ? 0 : -EINVAL;
}

int http_new(const struct http_options *o, struct http **ret)
{
	struct http *h = calloc(1, sizeof(*h));
	int r = -ENOMEM;

	if (!h)
		return -ENOMEM;
	h->max_body = o->max_body ? o->max_body : HTTP_MAX_BODY;
	h->curl = curl_easy_init();
	if (!h->curl || (o->ca_file && !(h->ca_file = strdup(o->ca_file))))
		goto out;
	r = set_options(h, o);
	if (r < 0)
		goto out;
	*ret = h;
	h = NULL;
out:
	http_free(h);
	return r;
}

void http_free(struct http *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->curl);
	free(h->ca_file);
	free(h);
}

void http_response_clear(struct http_response *r)
{
	if (!r)
		return;
	free(r->body);
	memset(r, 0, sizeof(*r));
	r->retry_after_sec = -1;
}

void http_url_path(const char *url, char *buf, size_t size)
{
	const char *p = strstr(url, "://");
	size_t len;

	p = p ? strchr(p + 3, '/') : url;
	if (!p)
		p = "/";
	len = strcspn(p, "?");
	(void)snprintf(buf, size, "%.*s", (int)len, p);
}

double http_parse_retry_after(const char *value, double now_sec)
{
	struct tm tm;
	char *end;
	double v;

	errno = 0;
	v = strtod(value, &end);
	/* Any size: the caller decides whether it is worth waiting for. */
	if (end != value && *end == '\0' && errno == 0 && v >= 0 &&
	    (value[0] >= '0' && value[0] <= '9'))
		return v < HTTP_RETRY_AFTER_MAX ? v : HTTP_RETRY_AFTER_MAX;
	memset(&tm, 0, sizeof(tm));
	end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end || *end != '\0')
		return -1;
	v = (double)timegm(&tm) - now_sec;
	return v < 0 ? 0 : v < HTTP_RETRY_AFTER_MAX ? v : HTTP_RETRY_AFTER_MAX;
}

static int map_curl_error(CURLcode rc, const struct sink *s)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_PARTIAL_FILE:
	case CURLE_SEND_FAIL_REWIND: /* sent, then the connection died */
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return -ECONNRESET;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
		return -EPROTO;
	case CURLE_WRITE_ERROR:
		return s->is_too_big ? -EFBIG : -ENOMEM;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/* A request body handed to libcurl piece by piece. */
struct source {
	const char *data;
	size_t len, off;
};

static size_t on_read(char *buf, size_t size, size_t n, void *user)
{
	struct source *src = user;
	size_t len = size * n;

	if (len > src->len - src->off)
		len = src->len - src->off;
	memcpy(buf, src->data + src->off, len);
	src->off += len;
	return len;
}

/*
 * A body goes through a read callback with no seek callback, on purpose:
 * libcurl silently sends a request again when a reused connection dies,
 * and for a write that has gone out that resend must not happen behind
 * our back (a swap applied by the first send is refused "not held" by
 * the second, and a write with no answer is not a failed write: SPEC
 * 5.7).  Without a way to rewind, libcurl fails the transfer instead
 * (CURLE_SEND_FAIL_REWIND) when any of the body was sent, and the caller
 * knows the request may have been applied.  A connection found dead
 * before anything was sent is still retried by libcurl: nothing went out.
 */
static int set_method(CURL *c, const struct http_request *req,
		      struct source *src)
{
	CURLcode rc = CURLE_OK;

	if (strcmp(req->method, "GET") == 0) {
		rc |= curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		rc |= curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
	} else {
		rc |= curl_easy_setopt(c, CURLOPT_POST, 1L);
		rc |= curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				       (curl_off_t)req->body_len);
		*src = (struct source){ .data = req->body ? req->body : "",
					.len = req->body_len };
		rc |= curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
		rc |= curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		rc |= curl_easy_setopt(c, CURLOPT_READDATA, src);
		rc |= curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST,
				       strcmp(req->method, "POST") ? req->method
								   : NULL);
	}
	return rc == CURLE_OK ? 0 : -EINVAL;
}

static int build_headers(const struct http_request *req,
			 struct curl_slist **ret)
{
	struct curl_slist *list = NULL, *next;

	/* No "Expect: 100-continue" round trip on POST. */
	list = curl_slist_append(list, "Expect:");
	for (size_t i = 0; list && i < req->n_headers; i++) {
		next = curl_slist_append(list, req->headers[i]);
		if (!next) {
			curl_slist_free_all(list);
			list = NULL;
		}
		list = next;
	}
	if (!list)
		return -ENOMEM;
	*ret = list;
	return 0;
}

static void fill_error(struct http *h, const struct http_request *req,
		       CURLcode rc, int r, struct http_error *reterr)
{
	char path[200];
	const char *why = h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc);

	if (r == -EFBIG)
		why = "response body over the size limit";
	http_url_path(req->url, path, sizeof(path));
	reterr->status = 0;
	(void)snprintf(reterr->text, sizeof(reterr->text), "%s %s: %.250s",
		       req->method, path, why);
}

int http_send(struct http *h, const struct http_request *req,
	      struct http_response *ret, struct http_error *reterr)
{
	struct sink s = { .max = h->max_body };
	struct source src = { 0 };
	struct curl_slist *headers = NULL;
	CURLcode rc;
	long status = 0;
	int r;

	h->errbuf[0] = '\0';
	r = build_headers(req, &headers);
	if (r == 0)
		r = set_method(h->curl, req, &src);
	if (r < 0)
		goto out;
	(void)curl_easy_setopt(h->curl, CURLOPT_URL, req->url);
	(void)curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, headers);
	(void)curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &s);
	(void)curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, &s);
	rc = curl_easy_perform(h->curl);
	if (rc != CURLE_OK) {
		r = map_curl_error(rc, &s);
		fill_error(h, req, rc, r, reterr);
		goto out;
	}
	(void)curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
	ret->status = status;
	ret->body = s.buf ? s.buf : strdup("");
	ret->body_len = s.len;
	ret->retry_after_sec =
		s.retry_after[0] ? http_parse_retry_after(s.retry_after,
							  (double)time(NULL))
				 : -1;
	(void)snprintf(ret->request_id, sizeof(ret->request_id), "%s",
		       s.request_id);
	s.buf = NULL;
	r = ret->body ? 0 : -ENOMEM;
out:
	(void)curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	free(s.buf);
	return r;
}
