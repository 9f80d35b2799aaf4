/*
 * fuzz_decode: libFuzzer harness for the decoders of graph/decode.h
 * (graph/decode_*.c over the byte pass and readers of graph/json.c).
 *
 * The first input byte picks the decoder (modulo 6: skus, user page,
 * group, graph error, token, batch); the rest is the body, passed with
 * its exact length and no NUL after it, as http.c hands it over.  Beyond
 * the sanitizers, each result is checked against what decode.h promises
 * (limits, terminated strings, a reason on failure) and freed, so a leak
 * shows up too.  Seeds: tests/fuzz/corpus/fuzz_decode/ (the example files
 * of tests/unit/data/ behind their selector byte).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "graph/decode.h"
#include "graph/encode.h"
#include "policy/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

/* A failure is -EBADMSG or -ENOMEM with a reason. */
static void check_failure(int r, const struct decode_error *e)
{
	check(r == -EBADMSG || r == -ENOMEM);
	check(e->text[0] != '\0' && memchr(e->text, '\0', sizeof(e->text)));
}

static bool is_terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static void fuzz_skus(const char *json, size_t len)
{
	struct decode_error e = { "" };
	struct sku *v = NULL;
	size_t n = 0;
	int r = decode_skus(json, len, &v, &n, &e);

	if (r < 0) {
		check_failure(r, &e);
		return;
	}
	check(v && n <= SNAPSHOT_MAX_SKUS);
	for (size_t i = 0; i < n; i++) {
		check(v[i].part_number && v[i].part_number[0]);
		check(strlen(v[i].part_number) <= DECODE_MAX_NAME);
		check(v[i].consumed >= 0 && v[i].enabled >= 0);
		check(v[i].n_plans <= SNAPSHOT_MAX_PLANS);
		for (size_t k = 0; k < v[i].n_plans; k++)
			check(v[i].plans[k].name != NULL);
	}
	decode_skus_free(v, n);
}

static void check_user(const struct user *u)
{
	check(u->upn && u->upn[0] && strlen(u->upn) <= DECODE_MAX_UPN);
	check(u->usage_location[0] == '\0' ||
	      (strlen(u->usage_location) == 2 && u->usage_location[0] >= 'A' &&
	       u->usage_location[0] <= 'Z'));
	check(u->n_assignments <= SNAPSHOT_MAX_ASSIGNMENTS);
	for (size_t i = 0; i < u->n_assignments; i++) {
		const struct assignment *a = &u->assignments[i];

		check(a->state <= ASSIGNMENT_STATE_OTHER);
		check(a->error <= ASSIGNMENT_ERROR_OTHER);
		check(a->n_disabled_plans <= SNAPSHOT_MAX_PLANS);
		check(a->by == ASSIGNED_DIRECTLY ||
		      a->by == ASSIGNED_BY_GROUP || a->by == ASSIGNED_UNKNOWN);
	}
}

static void fuzz_page(const char *json, size_t len)
{
	struct decode_error e = { "" };
	struct user_page p;
	int r = decode_user_page(json, len, &p, &e);

	if (r < 0) {
		check_failure(r, &e);
		return;
	}
	check(p.n_users + p.n_skipped <= DECODE_MAX_PAGE_OBJECTS);
	check(!p.next_link || strncmp(p.next_link, "http", 4) == 0);
	check(!p.next_link || strlen(p.next_link) <= DECODE_MAX_LINK);
	for (size_t i = 0; i < p.n_users; i++)
		check_user(&p.users[i]);
	decode_user_page_clear(&p);
}

static void fuzz_group(const char *json, size_t len)
{
	struct decode_error e = { "" };
	struct guid id;
	char *name = NULL;
	int r = decode_group(json, len, &id, &name, &e);

	if (r < 0) {
		check_failure(r, &e);
		return;
	}
	check(name && strlen(name) <= DECODE_MAX_NAME);
	free(name);
}

static void fuzz_error(const char *json, size_t len)
{
	struct graph_error_body b;
	int r = decode_graph_error(json, len, &b);

	check(r == 0 || r == -EBADMSG || r == -ENOMEM);
	if (r == 0)
		check(is_terminated(b.code, sizeof(b.code)) &&
		      is_terminated(b.message, sizeof(b.message)));
}

static void fuzz_token(const char *json, size_t len)
{
	struct decode_error e = { "" };
	struct token_reply t;
	int r = decode_token(json, len, &t, &e);

	if (r < 0) {
		check_failure(r, &e);
		return;
	}
	check(!t.access_token || (t.access_token[0] && t.expires_in > 0));
	check(t.aadsts >= 0 && is_terminated(t.error, sizeof(t.error)));
	check(is_terminated(t.description, sizeof(t.description)));
	decode_token_clear(&t);
}

static void fuzz_batch(const char *json, size_t len)
{
	struct decode_error e = { "" };
	struct batch_reply *v = NULL;
	struct graph_error_body b;
	size_t n = 0;
	int r = decode_batch(json, len, &v, &n, &e);

	if (r < 0) {
		check_failure(r, &e);
		return;
	}
	check(v && n <= ENCODE_BATCH_MAX);
	for (size_t i = 0; i < n; i++) {
		check(v[i].id[0] && is_terminated(v[i].id, sizeof(v[i].id)));
		check(v[i].status >= 100 && v[i].status <= 599);
		check(!v[i].body || strlen(v[i].body) == v[i].body_len);
		/* what graph.c does with an inner body next */
		if (v[i].body)
			(void)decode_graph_error(v[i].body, v[i].body_len, &b);
	}
	decode_batch_free(v, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void (*const decoders[])(const char *, size_t) = {
		fuzz_skus,  fuzz_page,	fuzz_group,
		fuzz_error, fuzz_token, fuzz_batch,
	};
	char *json;

	if (size == 0)
		return 0;
	/* a copy of exactly the body: reading past it is caught by ASan */
	json = malloc(size - 1 ? size - 1 : 1);
	if (!json)
		return 0;
	memcpy(json, data + 1, size - 1);
	decoders[data[0] % 6](json, size - 1);
	free(json);
	return 0;
}
