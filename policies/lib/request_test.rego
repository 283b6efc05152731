# lib.path_is matches segment by segment for the common patterns and falls back to glob.match for the rest: both
# must decide exactly as glob.match does, for every pattern shape.
package airlock.lib_test

import data.airlock.lib

_paths := [
	"/v1/customers/cus_1", "/v1/customers/", "/v1/customers", "/v1/customers/cus_1/sources", "/v1/charges/ch_1",
	"/v1/charges/ch_", "/v1/charges/xch_1", "/", "", "/v1", "/v1/a.b/c", "/v1/a*b", "/v1/é/ch_ü",
]

_patterns := [
	"/v1/customers/*", "/v1/customers", "/v1/charges/ch_*", "/v1/*/ch_1", "/v1/*/*", "/*", "*", "/", "",
	"/v1/**", "/v1/*s/*", "/v1/c?arges/*", "/v1/{charges,customers}/*", "/v1/[a-c]*/*", "/v1/a.b/c",
	"/v1/*_1", "/v1/charges/*1", "/v1/*/ch_*", "/v1/a*b*", "/v1/é/ch_*",
]

_disagree(p, s) if {
	glob.match(p, ["/"], s)
	not lib.path_is(p) with input as {"request": {"path": s}}
}

_disagree(p, s) if {
	not glob.match(p, ["/"], s)
	lib.path_is(p) with input as {"request": {"path": s}}
}

test_path_is_agrees_with_glob_match if {
	disagreements := [[p, s] | some p in _patterns; some s in _paths; _disagree(p, s)]
	count(disagreements) == 0
}

test_path_is_examples if {
	lib.path_is("/v1/charges/ch_*") with input as {"request": {"path": "/v1/charges/ch_1"}}
	not lib.path_is("/v1/charges/ch_*") with input as {"request": {"path": "/v1/charges/ch_1/refunds"}}
	lib.path_is("/v1/*/ch_1") with input as {"request": {"path": "/v1/charges/ch_1"}}
}
