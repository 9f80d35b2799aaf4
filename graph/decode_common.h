/*
 * decode_common: what every Graph decoder (graph/decode_*.c) shares with
 * its callers: the rules a body must meet, the named limits and the reason
 * given when a body is refused.  Declarations only: the byte pass and the
 * field readers that enforce these rules are in graph/json.c, the shapes
 * of the resources in the decoders.  Callers include graph/decode.h.
 *
 * Decoders are pure functions over text: no I/O, no allocation beyond the
 * results, fuzzed (tests/fuzz/fuzz_decode.c).  Each takes the raw body and
 * its length, refuses anything that is not exactly the documented shape
 * (truncated JSON, a missing "value", an id that is not a GUID, numbers
 * out of range) with -EBADMSG and a reason, and never returns a partial
 * result: a short member list must never reach the planner.  GUIDs are
 * kept binary, strings copied; the caller owns the results.
 *
 * Common to every decoder: json need not be NUL-terminated; the whole of
 * len bytes must be one JSON object (trailing blanks allowed) in UTF-8,
 * without control characters or "\u0000" in strings, at most
 * DECODE_MAX_DEPTH deep.  Results (ret*) are written only on success,
 * reterr only on failure (it may be NULL).  -ENOMEM is returned when an
 * allocation fails, except inside cJSON's parser, which cannot tell that
 * from bad syntax (-EBADMSG).  The reason in reterr names the JSON path
 * ("value[3].skuId: not a GUID") and never quotes a value.
 *
 * The limits keep their DECODE_ names (older than this file); those of one
 * resource only are in its header (DECODE_MAX_UPN, DECODE_MAX_TOKEN).
 */
#ifndef LICENSED_DECODE_COMMON_H
#define LICENSED_DECODE_COMMON_H

/* Deepest JSON nesting accepted. */
#define DECODE_MAX_DEPTH 32

/* Largest body accepted (http.h caps responses at the same size). */
#define DECODE_MAX_BODY (32 * 1024 * 1024)

/* Most JSON values (array elements and members) in one body. */
#define DECODE_MAX_VALUES (4 * 1024 * 1024)

/* Longest short string in bytes: skuPartNumber, plan and group names. */
#define DECODE_MAX_NAME 256

/* Longest @odata.nextLink accepted (any paged listing). */
#define DECODE_MAX_LINK 8192

/* Most objects on one page of a listing ($top is at most 999). */
#define DECODE_MAX_PAGE_OBJECTS 10000

/* Why a body was refused: a JSON path and what is wrong there. */
struct decode_error {
	char text[256];
};

#endif
