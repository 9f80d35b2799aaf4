/*
 * json: the byte pass, the cJSON wrapper and the field readers under the
 * Graph decoders.  See json.h.
 *
 * Every body goes through json_parse() first: a size cap, one pass over
 * the bytes (nesting depth, number of values, control characters,
 * "\u0000", UTF-8), then cJSON, which must consume everything but
 * trailing blanks.  The byte pass runs before cJSON so that a deep or huge
 * document is refused before a tree is built for it.
 *
 * Nothing here knows a Graph resource, logs, reads a clock or keeps state
 * between calls.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "graph/decode_common.h"
#include "graph/json.h"
#include "policy/guid.h"

/* Counts in our model are whole numbers a double holds exactly. */
#define COUNT_MAX 9007199254740992.0 /* 2^53 */

/* ---- reasons ---------------------------------------------------------- */

int json_fail(struct decode_error *e, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		va_start(ap, fmt);
		(void)vsnprintf(e->text, sizeof(e->text), fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

int json_nomem(struct decode_error *e)
{
	if (e)
		(void)snprintf(e->text, sizeof(e->text), "out of memory");
	return -ENOMEM;
}

int json_nest(struct decode_error *e, int r, const char *name, size_t i)
{
	char pre[80], idx[24] = "";
	size_t n_pre, n_text;

	if (!e || r != -EBADMSG)
		return r;
	if (i != JSON_NO_INDEX)
		(void)snprintf(idx, sizeof(idx), "[%zu]", i);
	(void)snprintf(pre, sizeof(pre), "%s%s%s", name, idx,
		       e->text[0] == ':' ? "" : ".");
	n_pre = strlen(pre);
	n_text = strnlen(e->text, sizeof(e->text) - 1);
	if (n_pre + n_text >= sizeof(e->text))
		n_text = sizeof(e->text) - 1 - n_pre;
	memmove(e->text + n_pre, e->text, n_text);
	memcpy(e->text, pre, n_pre);
	e->text[n_pre + n_text] = '\0';
	return r;
}

/* ---- the byte pass ---------------------------------------------------- */

/* Length of the well-formed UTF-8 character at s (n > 0 bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp, min;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2, cp = s[0] & 0x1fu, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, cp = s[0] & 0x0fu, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4, cp = s[0] & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * Check the string that opens at s[*i] and move *i past its closing
 * quote.  cJSON lets raw control characters through and "\u0000" would
 * silently cut a C string short, so both are refused here.
 */
static int scan_string(const unsigned char *s, size_t len, size_t *i,
		       struct decode_error *e)
{
	size_t k = *i + 1, step;

	while (k < len && s[k] != '"') {
		if (s[k] < 0x20)
			return json_fail(e,
					 "control character in a string at "
					 "byte %zu",
					 k);
		if (s[k] == '\\') {
			if (len - k >= 6 && memcmp(s + k + 1, "u0000", 5) == 0)
				return json_fail(
					e, "\\u0000 in a string at byte %zu",
					k);
			k += 2;
			continue;
		}
		step = utf8_len(s + k, len - k);
		if (step == 0)
			return json_fail(e, "invalid UTF-8 at byte %zu", k);
		k += step;
	}
	*i = k + 1;
	return 0;
}

static bool is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Everything but the grammar, which cJSON checks afterwards. */
static int scan_text(const unsigned char *s, size_t len, struct decode_error *e)
{
	size_t i = 0, depth = 0, n_values = 1, step;
	int r = 0;

	while (r == 0 && i < len) {
		if (s[i] == '"') {
			r = scan_string(s, len, &i, e);
			continue;
		}
		if (s[i] == '[' || s[i] == '{') {
			n_values++;
			if (++depth > DECODE_MAX_DEPTH)
				r = json_fail(
					e, "nested deeper than %d at byte %zu",
					DECODE_MAX_DEPTH, i);
		} else if ((s[i] == ']' || s[i] == '}') && depth > 0) {
			depth--;
		} else if (s[i] == ',' && ++n_values > DECODE_MAX_VALUES) {
			r = json_fail(e, "more than %d values",
				      DECODE_MAX_VALUES);
		} else if (s[i] < 0x20 && !is_blank(s[i])) {
			r = json_fail(e, "control character at byte %zu", i);
		}
		step = utf8_len(s + i, len - i);
		if (r == 0 && step == 0)
			r = json_fail(e, "invalid UTF-8 at byte %zu", i);
		i += step ? step : 1;
	}
	return r;
}

/*
 * A length-delimited buffer has no NUL that cJSON's
 * require_null_terminated could find, so the end is checked here: only
 * blanks may follow the value.  cJSON cannot tell running out of memory
 * from bad syntax; both come back as -EBADMSG.
 */
int json_parse(const char *json, size_t len, cJSON **ret,
	       struct decode_error *e)
{
	const char *end = NULL;
	cJSON *doc = NULL;
	int r;

	if (!json || len == 0)
		return json_fail(e, "empty body");
	if (len > DECODE_MAX_BODY)
		return json_fail(e, "body larger than %d bytes",
				 DECODE_MAX_BODY);
	r = scan_text((const unsigned char *)json, len, e);
	if (r < 0)
		goto out;
	doc = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	if (!doc) {
		r = json_fail(e, "not valid JSON (at byte %td)",
			      end ? end - json : 0);
		goto out;
	}
	for (; end < json + len; end++)
		if (!is_blank((unsigned char)*end)) {
			r = json_fail(e,
				      "text after the JSON value at byte %td",
				      end - json);
			goto out;
		}
	if (!cJSON_IsObject(doc)) {
		r = json_fail(e, "not a JSON object");
		goto out;
	}
	*ret = doc;
	doc = NULL;
out:
	cJSON_Delete(doc);
	return r;
}

/* ---- field readers ---------------------------------------------------- */

const cJSON *json_member(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNull(v) ? NULL : v;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

int json_maybe_text(const cJSON *obj, const char *key, size_t max,
		    const char **ret, struct decode_error *e)
{
	const cJSON *v = json_member(obj, key);

	if (v && !cJSON_IsString(v))
		return json_fail(e, "%s: not a string", key);
	if (v && strnlen(v->valuestring, max + 1) > max)
		return json_fail(e, "%s: longer than %zu bytes", key, max);
	if (v && has_control(v->valuestring))
		return json_fail(e, "%s: control character", key);
	*ret = v ? v->valuestring : NULL;
	return 0;
}

int json_need_text(const cJSON *obj, const char *key, size_t max,
		   const char **ret, struct decode_error *e)
{
	const char *s;
	int r = json_maybe_text(obj, key, max, &s, e);

	if (r == 0 && (!s || !*s))
		r = json_fail(e, "%s: missing", key);
	if (r == 0)
		*ret = s;
	return r;
}

const char *json_loose_text(const cJSON *obj, const char *key)
{
	const cJSON *v = json_member(obj, key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

int json_maybe_guid(const cJSON *obj, const char *key, struct guid *ret,
		    bool *ret_has, struct decode_error *e)
{
	const cJSON *v = json_member(obj, key);
	struct guid g;

	if (v && (!cJSON_IsString(v) || guid_parse(v->valuestring, &g) < 0))
		return json_fail(e, "%s: not a GUID", key);
	if (v)
		*ret = g;
	*ret_has = v != NULL;
	return 0;
}

int json_need_guid(const cJSON *obj, const char *key, struct guid *ret,
		   struct decode_error *e)
{
	bool has;
	int r = json_maybe_guid(obj, key, ret, &has, e);

	if (r == 0 && !has)
		r = json_fail(e, "%s: missing", key);
	return r;
}

int json_to_count(const cJSON *v, int64_t *ret)
{
	double d;

	if (!cJSON_IsNumber(v))
		return -EINVAL;
	d = v->valuedouble;
	if (!(d >= 0 && d <= COUNT_MAX)) /* also NaN */
		return -ERANGE;
	if ((double)(int64_t)d != d)
		return -EDOM;
	*ret = (int64_t)d;
	return 0;
}

int json_read_count(const cJSON *obj, const char *key, bool is_required,
		    int64_t *ret, struct decode_error *e)
{
	const cJSON *v = json_member(obj, key);
	int64_t n = 0;
	int r = v ? json_to_count(v, &n) : 0;

	if (!v && is_required)
		return json_fail(e, "%s: missing", key);
	if (r == -EINVAL)
		return json_fail(e, "%s: not a number", key);
	if (r == -ERANGE)
		return json_fail(e, "%s: out of range", key);
	if (r == -EDOM)
		return json_fail(e, "%s: not a whole number", key);
	*ret = n;
	return 0;
}

int json_read_list(const cJSON *obj, const char *key, size_t max,
		   struct json_list *ret, struct decode_error *e)
{
	const cJSON *v = json_member(obj, key), *el;
	size_t n = 0;

	if (v && !cJSON_IsArray(v))
		return json_fail(e, "%s: not an array", key);
	cJSON_ArrayForEach(el, v) if (++n > max) return json_fail(
		e, "%s: more than %zu items", key, max);
	ret->array = v;
	ret->n = n;
	return 0;
}

int json_need_list(const cJSON *obj, const char *key, size_t max,
		   struct json_list *ret, struct decode_error *e)
{
	int r = json_read_list(obj, key, max, ret, e);

	if (r == 0 && !ret->array)
		r = json_fail(e, "%s: missing", key);
	return r;
}

const cJSON *json_first(const struct json_list *l)
{
	return l->array ? l->array->child : NULL;
}

/* Spaces are trimmed because a published example pads " Active ". */
int json_read_word(const cJSON *obj, const char *key, char *dst, size_t size,
		   struct decode_error *e)
{
	const char *s;
	size_t n;
	int r = json_maybe_text(obj, key, DECODE_MAX_NAME, &s, e);

	if (r < 0)
		return r;
	for (s = s ? s : ""; *s == ' '; s++)
		;
	for (n = strlen(s); n > 0 && s[n - 1] == ' '; n--)
		;
	if (n >= size)
		return json_fail(e, "%s: longer than %zu bytes", key, size - 1);
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

/* ---- Retry-After ------------------------------------------------------ */

/*
 * Retry-After as decimal seconds ("10", "2.128"), without strtod (which
 * follows the locale's decimal point).  -1 for anything else, an HTTP
 * date included: the caller then backs off on its own.
 */
static double parse_seconds(const char *s)
{
	static const char digits[] = "0123456789";
	size_t n_int = strspn(s, digits), n_frac = 0;
	double v = 0, scale = 1;

	if (n_int == 0 || n_int > 9)
		return -1;
	if (s[n_int] == '.') {
		n_frac = strspn(s + n_int + 1, digits);
		if (n_frac == 0 || n_frac > 9)
			return -1;
	}
	if (s[n_int + (n_frac ? n_frac + 1 : 0)] != '\0')
		return -1;
	for (size_t i = 0; i < n_int; i++)
		v = v * 10 + (s[i] - '0');
	for (size_t i = 0; i < n_frac; i++) {
		scale /= 10;
		v += (s[n_int + 1 + i] - '0') * scale;
	}
	return v;
}

double json_seconds(const cJSON *v)
{
	if (cJSON_IsString(v))
		return parse_seconds(v->valuestring);
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 &&
	    v->valuedouble <= COUNT_MAX)
		return v->valuedouble;
	return -1;
}

/* ---- results ---------------------------------------------------------- */

void *json_alloc_array(size_t n, size_t size)
{
	return calloc(n ? n : 1, size);
}

void json_copy_clean(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	if (src[n] != '\0')
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	for (size_t i = 0; i < n; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f
				 ? ' '
				 : src[i];
	dst[n] = '\0';
}
