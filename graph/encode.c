/*
 * encode: request bodies for Graph writes.  See encode.h.
 *
 * Bodies are built as cJSON trees and printed unformatted, so quoting and
 * escaping are cJSON's job, never ours.  GUIDs always go out lower case
 * (guid_format).  Inputs come from the planner, not from the network, but
 * they are still checked against the limits the decoder applies to the
 * same data, so that nothing we send could not be read back.  The text is
 * allocated by cJSON with the default hooks: the caller frees it with
 * free().
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "graph/encode.h"
#include "policy/guid.h"
#include "policy/model.h"

/* Longest batch item id: decode.h keeps ids in char[16]. */
#define ENCODE_ID_MAX 15

/* Print root unformatted into *ret. */
static int finish(const cJSON *root, char **ret)
{
	char *text = cJSON_PrintUnformatted(root);

	if (!text)
		return -ENOMEM;
	*ret = text;
	return 0;
}

/* Append item to array; item is released when that fails. */
static int append(cJSON *array, cJSON *item)
{
	if (!item || !cJSON_AddItemToArray(array, item)) {
		cJSON_Delete(item);
		return -ENOMEM;
	}
	return 0;
}

/* Attach item to obj as key; item is released when that fails. */
static int attach(cJSON *obj, const char *key, cJSON *item)
{
	if (!item || !cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		return -ENOMEM;
	}
	return 0;
}

/* A new array of lower-case GUID strings. */
static int guid_array(const struct guid *v, size_t n, cJSON **ret)
{
	char text[GUID_STRLEN + 1];
	cJSON *array = cJSON_CreateArray();
	int r = array ? 0 : -ENOMEM;

	for (size_t i = 0; r == 0 && i < n; i++) {
		guid_format(&v[i], text);
		r = append(array, cJSON_CreateString(text));
	}
	if (r == 0)
		*ret = array;
	else
		cJSON_Delete(array);
	return r;
}

/* {"skuId":"...","disabledPlans":[...]} appended to adds. */
static int add_license(cJSON *adds, const struct license_add *a)
{
	char text[GUID_STRLEN + 1];
	cJSON *obj = cJSON_CreateObject(), *plans = NULL;
	int r = append(adds, obj);

	guid_format(&a->sku, text);
	if (r == 0 && !cJSON_AddStringToObject(obj, "skuId", text))
		r = -ENOMEM;
	if (r == 0)
		r = guid_array(a->disabled_plans, a->n_disabled_plans, &plans);
	if (r == 0)
		r = attach(obj, "disabledPlans", plans);
	return r;
}

static bool adds_are_valid(const struct license_add *adds, size_t n_adds)
{
	if (n_adds > SNAPSHOT_MAX_SKUS || (n_adds && !adds))
		return false;
	for (size_t i = 0; i < n_adds; i++)
		if (adds[i].n_disabled_plans > SNAPSHOT_MAX_PLANS ||
		    (adds[i].n_disabled_plans && !adds[i].disabled_plans))
			return false;
	return true;
}

int encode_assign_license(const struct license_add *adds, size_t n_adds,
			  const struct guid *removes, size_t n_removes,
			  char **ret)
{
	cJSON *root = NULL, *list = NULL, *rm = NULL;
	int r = -EINVAL;

	if (!adds_are_valid(adds, n_adds) || n_removes > SNAPSHOT_MAX_SKUS ||
	    (n_removes && !removes))
		goto out;
	r = -ENOMEM;
	root = cJSON_CreateObject();
	list = root ? cJSON_AddArrayToObject(root, "addLicenses") : NULL;
	if (!list)
		goto out;
	r = 0;
	for (size_t i = 0; r == 0 && i < n_adds; i++)
		r = add_license(list, &adds[i]);
	if (r == 0)
		r = guid_array(removes, n_removes, &rm);
	if (r == 0)
		r = attach(root, "removeLicenses", rm);
	if (r == 0)
		r = finish(root, ret);
out:
	cJSON_Delete(root);
	return r;
}

static bool is_ascii_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int encode_usage_location(const char code[3], char **ret)
{
	char upper[3];
	cJSON *root = NULL;
	int r = -EINVAL;

	if (!code || !is_ascii_letter(code[0]) || !is_ascii_letter(code[1]) ||
	    code[2] != '\0')
		goto out;
	upper[0] = (char)(code[0] & ~0x20);
	upper[1] = (char)(code[1] & ~0x20);
	upper[2] = '\0';
	r = -ENOMEM;
	root = cJSON_CreateObject();
	if (!root || !cJSON_AddStringToObject(root, "usageLocation", upper))
		goto out;
	r = finish(root, ret);
out:
	cJSON_Delete(root);
	return r;
}

/* ---- $batch ----------------------------------------------------------- */

/* "https:" and the like: Graph wants relative urls in a batch. */
static bool has_scheme(const char *url)
{
	size_t n = strspn(url, "abcdefghijklmnopqrstuvwxyz"
			       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");

	return n > 0 && url[n] == ':';
}

static bool is_known_id(const struct batch_item *items, size_t n,
			const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(items[i].id, id) == 0)
			return true;
	return false;
}

/* Item i on its own, and its id against the items before it. */
static bool item_is_valid(const struct batch_item *items, size_t i)
{
	const struct batch_item *it = &items[i];
	size_t n_id = it->id ? strnlen(it->id, ENCODE_ID_MAX + 1) : 0;

	if (n_id == 0 || n_id > ENCODE_ID_MAX || is_known_id(items, i, it->id))
		return false;
	if (!it->method || !*it->method || !it->url || !*it->url ||
	    has_scheme(it->url))
		return false;
	return true;
}

/*
 * Ids unique (case-insensitively, as Graph compares them), and each
 * dependsOn naming another item of the batch.
 */
static bool items_are_valid(const struct batch_item *items, size_t n)
{
	if (n == 0 || n > ENCODE_BATCH_MAX || !items)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!item_is_valid(items, i))
			return false;
	for (size_t i = 0; i < n; i++)
		if (items[i].depends_on &&
		    (!is_known_id(items, n, items[i].depends_on) ||
		     strcasecmp(items[i].depends_on, items[i].id) == 0))
			return false;
	return true;
}

/*
 * The body text as a JSON object.  -EINVAL when it is not one (cJSON
 * cannot tell that from running out of memory; a caller passing valid
 * JSON sees -EINVAL only then).
 */
static int parse_body(const char *text, cJSON **ret)
{
	const char *end = NULL;
	size_t len = strlen(text);
	cJSON *body = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	int r = body && cJSON_IsObject(body) ? 0 : -EINVAL;

	for (; r == 0 && end < text + len; end++)
		if (!strchr(" \t\r\n", *end))
			r = -EINVAL;
	if (r == 0)
		*ret = body;
	else
		cJSON_Delete(body);
	return r;
}

/* Headers and body of an item that has one. */
static int add_body(cJSON *obj, const char *text)
{
	cJSON *headers, *body = NULL;
	int r = parse_body(text, &body);

	if (r < 0)
		return r;
	headers = cJSON_AddObjectToObject(obj, "headers");
	if (!headers || !cJSON_AddStringToObject(headers, "Content-Type",
						 "application/json")) {
		cJSON_Delete(body);
		return -ENOMEM;
	}
	return attach(obj, "body", body);
}

static int add_request(cJSON *requests, const struct batch_item *it)
{
	cJSON *obj = cJSON_CreateObject(), *deps;
	int r = append(requests, obj);

	if (r == 0 && (!cJSON_AddStringToObject(obj, "id", it->id) ||
		       !cJSON_AddStringToObject(obj, "method", it->method) ||
		       !cJSON_AddStringToObject(obj, "url", it->url)))
		r = -ENOMEM;
	if (r == 0 && it->body)
		r = add_body(obj, it->body);
	if (r == 0 && it->depends_on) {
		deps = cJSON_AddArrayToObject(obj, "dependsOn");
		r = deps ? append(deps, cJSON_CreateString(it->depends_on))
			 : -ENOMEM;
	}
	return r;
}

int encode_batch(const struct batch_item *items, size_t n, char **ret)
{
	cJSON *root = NULL, *requests;
	int r = -EINVAL;

	if (!items_are_valid(items, n))
		goto out;
	r = -ENOMEM;
	root = cJSON_CreateObject();
	requests = root ? cJSON_AddArrayToObject(root, "requests") : NULL;
	if (!requests)
		goto out;
	r = 0;
	for (size_t i = 0; r == 0 && i < n; i++)
		r = add_request(requests, &items[i]);
	if (r == 0)
		r = finish(root, ret);
out:
	cJSON_Delete(root);
	return r;
}
