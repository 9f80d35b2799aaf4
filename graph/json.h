/*
 * json: the layer under the Graph decoders (graph/decode_*.c).  It turns a
 * body into a cJSON tree after a byte pass that enforces the rules of
 * decode_common.h, reads single fields with a reason on failure, and
 * builds the JSON paths of those reasons.  It knows no Graph resource:
 * which fields a SKU or a user has, and what is required, is up to the
 * decoders.  Internal to graph/: callers outside it include graph/decode.h,
 * which keeps cJSON out of their headers.
 *
 * Reasons: readers take an object and a key and fail with a reason that
 * starts with the key ("skuId: not a GUID"); walkers of an array put the
 * element in front with json_nest() ("value[3].skuId: not a GUID"), so each
 * reason is a JSON path.  Reasons never quote values: a token or a user's
 * data must not end up in a log line through them.  Every reason is
 * written only when e is not NULL; e is untouched on success.
 *
 * Readers leave *ret untouched on failure (but see json_need_list()).
 * Strings they return point into the tree: the decoder copies what it
 * keeps before cJSON_Delete().
 */
#ifndef LICENSED_JSON_H
#define LICENSED_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "graph/decode_common.h"
#include "policy/guid.h"

/* json_nest() without an index: "prepaidUnits.enabled". */
#define JSON_NO_INDEX SIZE_MAX

/* An array member: NULL when missing or null; n elements. */
struct json_list {
	const cJSON *array;
	size_t n;
};

/* ---- reasons ---------------------------------------------------------- */

/* Write the reason (when e is given) and return -EBADMSG. */
int json_fail(struct decode_error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Write "out of memory" (when e is given) and return -ENOMEM. */
int json_nomem(struct decode_error *e);

/*
 * Put "name[i]" (or "name" with JSON_NO_INDEX) in front of the reason of a
 * failed element, cut to fit.  Reasons about the element itself start
 * with ':' and get no dot.  Only -EBADMSG reasons are changed.  Returns r.
 */
int json_nest(struct decode_error *e, int r, const char *name, size_t i);

/* ---- the document ----------------------------------------------------- */

/*
 * The body (len bytes, no NUL needed) as a cJSON object in *ret, to be
 * released with cJSON_Delete().  Returns 0, or -EBADMSG when the body is
 * empty, larger than DECODE_MAX_BODY, fails the byte pass (depth, number
 * of values, control characters, "\u0000", UTF-8), is not one JSON object
 * followed by blanks only, or cJSON runs out of memory.
 */
int json_parse(const char *json, size_t len, cJSON **ret,
	       struct decode_error *e);

/* ---- field readers ---------------------------------------------------- */

/* The member at key, or NULL when it is missing or JSON null. */
const cJSON *json_member(const cJSON *obj, const char *key);

/*
 * A string of at most max bytes without control characters in *ret, or
 * NULL when missing or null.  Returns 0 or -EBADMSG.
 */
int json_maybe_text(const cJSON *obj, const char *key, size_t max,
		    const char **ret, struct decode_error *e);

/* As json_maybe_text(), but missing, null and "" are refused. */
int json_need_text(const cJSON *obj, const char *key, size_t max,
		   const char **ret, struct decode_error *e);

/* A string from an error body: "" for anything but a string.  Never fails. */
const char *json_loose_text(const cJSON *obj, const char *key);

/*
 * A GUID string into *ret; *ret_has false (and *ret untouched) when
 * missing or null.  Returns 0 or -EBADMSG.
 */
int json_maybe_guid(const cJSON *obj, const char *key, struct guid *ret,
		    bool *ret_has, struct decode_error *e);

/* As json_maybe_guid(), but missing and null are refused. */
int json_need_guid(const cJSON *obj, const char *key, struct guid *ret,
		   struct decode_error *e);

/*
 * A JSON number that is a whole number in [0, 2^53] into *ret.  Returns
 * 0, -EINVAL (not a number), -ERANGE or -EDOM (not whole); no reason.
 */
int json_to_count(const cJSON *v, int64_t *ret);

/* A count; missing or null is 0 unless is_required.  0 or -EBADMSG. */
int json_read_count(const cJSON *obj, const char *key, bool is_required,
		    int64_t *ret, struct decode_error *e);

/* An array of at most max elements; missing or null is empty. */
int json_read_list(const cJSON *obj, const char *key, size_t max,
		   struct json_list *ret, struct decode_error *e);

/* As json_read_list(), but missing and null are refused (*ret: empty). */
int json_need_list(const cJSON *obj, const char *key, size_t max,
		   struct json_list *ret, struct decode_error *e);

/* The first element of l, or NULL; walk on with ->next. */
const cJSON *json_first(const struct json_list *l);

/*
 * A short word such as licenseAssignmentState.state into dst (size
 * bytes), without surrounding spaces.  Missing or null is "".  Too long
 * for dst is refused, never cut.  Returns 0 or -EBADMSG.
 */
int json_read_word(const cJSON *obj, const char *key, char *dst, size_t size,
		   struct decode_error *e);

/*
 * The value of a Retry-After header, a string of decimal seconds ("10",
 * "2.128") or a JSON number in [0, 2^53]; -1 for anything else, an HTTP
 * date included (the caller then backs off on its own).
 */
double json_seconds(const cJSON *v);

/* ---- results ---------------------------------------------------------- */

/* calloc for n elements; never asks for 0 bytes.  NULL when out of memory. */
void *json_alloc_array(size_t n, size_t size);

/*
 * Copy src into dst (size > 0 bytes) for a log line: control characters
 * become spaces, and a cut falls between characters, not inside one
 * (json_parse() made sure src is UTF-8).
 */
void json_copy_clean(char *dst, size_t size, const char *src);

#endif
