# Tests of the folding library itself, with made-up rule packages (`with data.airlock.rules as …`), and of the helpers.
package airlock_test

import data.airlock.lib
import data.airlock.testing as t

_input := t.post("httpbin", "/anything", {"amount": "5000"})

_decide(rules) := d if {
	d := data.airlock.decision with data.airlock.rules as rules with input as _input
}

test_nothing_matched_is_a_default_deny if {
	_decide({}) == {
		"action": "deny",
		"rule": "airlock.default_deny",
		"reason": "no rule allows this request",
		"risk": "high",
		"summary": "POST httpbin.org/anything",
		"approvers": [],
		"approvals_required": 1,
		"require_comment": false,
		"matched": [],
	}
}

test_a_single_allow_gets_defaults if {
	_decide({"p": {"allow": {{"rule": "p.ok", "reason": "fine"}}}}) == {
		"action": "allow",
		"rule": "p.ok",
		"reason": "fine",
		"risk": "low",
		"summary": "POST httpbin.org/anything",
		"approvers": [],
		"approvals_required": 1,
		"require_comment": false,
		"matched": ["p.ok"],
	}
}

test_precedence_deny_hold_review_allow if {
	a := {"rule": "x.allow", "reason": "a"}
	r := {"rule": "x.review", "reason": "r"}
	h := {"rule": "x.hold", "reason": "h", "approvers": ["ops"]}
	d := {"rule": "x.deny", "reason": "d", "risk": "low"}
	_decide({"p": {"allow": {a}, "review": {r}, "hold": {h}, "deny": {d}}}).rule == "x.deny"
	_decide({"p": {"allow": {a}, "review": {r}, "hold": {h}}}).rule == "x.hold"
	_decide({"p": {"allow": {a}, "review": {r}}}).rule == "x.review"
	_decide({"p": {"allow": {a}}, "q": {"review": {r}}}).rule == "x.review"
	_decide({"p": {"allow": {a}}, "q": {"deny": {d}}, "z": {"hold": {h}}}).matched == ["x.allow", "x.deny", "x.hold"]
}

test_default_risk_per_action if {
	_decide({"p": {"review": {{"rule": "r", "reason": "r"}}}}).risk == "medium"
	_decide({"p": {"hold": {{"rule": "h", "reason": "h", "approvers": ["ops"]}}}}).risk == "high"
	_decide({"p": {"deny": {{"rule": "d", "reason": "d"}}}}).risk == "high"
}

test_highest_risk_wins_then_smallest_rule_id if {
	d := _decide({"p": {"deny": {
		{"rule": "b.high", "reason": "b", "risk": "high"},
		{"rule": "c.critical", "reason": "c", "risk": "critical", "summary": "the critical one"},
		{"rule": "a.low", "reason": "a", "risk": "low"},
	}}})
	d.rule == "c.critical"
	d.reason == "c"
	d.summary == "the critical one"
	e := _decide({"p": {"hold": {{"rule": "h.b", "reason": "b", "approvers": ["ops"]}}}, "q": {"hold": {{"rule": "h.a", "reason": "a", "approvers": ["ops"]}}}})
	e.rule == "h.a"
	e.action == "hold"
}

test_holds_are_combined if {
	d := _decide({
		"p": {"hold": {
			{"rule": "h.one", "reason": "1", "approvers": ["payments", "ops"], "approvals_required": 2, "timeout_s": 600},
			{"rule": "h.two", "reason": "2", "approvers": ["security"], "require_comment": true, "timeout_s": 300},
		}},
		"q": {"hold": {{"rule": "h.three", "reason": "3", "approvers": ["ops"], "require_comment": false}}},
		"r": {"review": {{"rule": "r.x", "reason": "x", "approvers": ["ignored"], "sample_rate": 0.5}}},
	})
	d.action == "hold"
	d.approvers == ["ops", "payments", "security"]
	d.approvals_required == 2
	d.require_comment == true
	d.timeout_s == 300
	not d.sample_rate
	d.matched == ["h.one", "h.three", "h.two", "r.x"]
}

test_optional_fields_are_omitted_when_no_rule_gives_them if {
	d := _decide({"p": {"hold": {{"rule": "h", "reason": "h", "approvers": ["ops"]}}}})
	d.action == "hold"
	not "timeout_s" in object.keys(d)
	not "sample_rate" in object.keys(d)
	d.approvals_required == 1
}

test_review_takes_the_highest_sample_rate if {
	d := _decide({"p": {"review": {
		{"rule": "r.a", "reason": "a", "sample_rate": 0.2},
		{"rule": "r.b", "reason": "b", "sample_rate": 0.5},
		{"rule": "r.c", "reason": "c"},
	}}})
	d.sample_rate == 0.5
	d.rule == "r.a"
	d.approvals_required == 1
	not d.timeout_s
}

test_invalid_elements_deny if {
	d := _decide({"p": {"allow": {{"rule": "p.ok", "reason": "fine"}, {"rule": "p.typo", "reason": "x", "approver": ["ops"]}}}})
	d.action == "deny"
	d.rule == "airlock.invalid_rule"
	contains(d.reason, "package airlock.rules.p produced an invalid `allow` element (unknown field approver)")
	d.matched == ["airlock.invalid_rule", "p.ok", "p.typo"]
}

test_each_field_is_validated if {
	d := _decide({"p": {"hold": {{
		"rule": "h", "reason": "", "risk": "severe", "summary": 1, "approvers": "ops", "approvals_required": 1.5,
		"require_comment": "yes", "timeout_s": 0, "sample_rate": 2,
	}}}})
	d.rule == "airlock.invalid_rule"
	every msg in [
		"approvals_required must be an integer from 1 to 10", "approvers must be an array of strings",
		"reason must be a non-empty string", "require_comment must be a boolean",
		"risk must be one of low, medium, high, critical", "sample_rate must be a number from 0 to 1",
		"summary must be a string", "timeout_s must be a whole number of seconds >= 1",
	] {
		contains(d.reason, msg)
	}
	_decide({"p": {"deny": {"just a string"}}}).rule == "airlock.invalid_rule"
	contains(_decide({"p": {"review": {{"reason": "no id"}}}}).reason, "rule is required")
	contains(_decide({"p": {"hold": {{"rule": "h", "reason": "r", "approvers": ["ops"], "approvals_required": 11}}}}).reason, "from 1 to 10")
	contains(_decide({"p": {"hold": {{"rule": "h", "reason": "r", "approvers": ["ops"], "timeout_s": 90.5}}}}).reason, "whole number of seconds")
	contains(_decide({"p": {"hold": {{"rule": "h", "reason": "r"}}}}).reason, "a hold needs approvers")
	contains(_decide({"p": {"hold": {{"rule": "h", "reason": "r", "approvers": []}}}}).reason, "a hold needs approvers")
	_decide({"p": {"review": {{"rule": "r", "reason": "r"}}}}).action == "review" # only holds need approvers
}

test_a_boolean_rule_denies if {
	d := _decide({"p": {"allow": true}})
	d.rule == "airlock.invalid_rule"
	contains(d.reason, "allow must be a partial set rule")
}

test_a_decision_exists_for_any_input if {
	d := data.airlock.decision with data.airlock.rules as {} with input as {"unexpected": true}
	d.rule == "airlock.default_deny"
	d.summary == ""
	e := data.airlock.decision with data.airlock.rules as {} with input as "not an object"
	e.rule == "airlock.default_deny"
}

# A package nested one level too deep (airlock.rules.acme.stripe) would be silently ignored by the library.
test_rule_packages_are_one_level_deep if {
	nested := {concat(".", [p, q]) |
		some p, q
		v := data.airlock.rules[p][q]
		is_object(v)
		some k in ["deny", "hold", "review", "allow"]
		k in object.keys(v)
	}
	t.report({concat("", ["rule package nested too deep (ignored by the library): airlock.rules.", n]) | some n in nested})
	count(nested) == 0
}

# --- helpers ---------------------------------------------------------------------------------------------------------

test_amount if {
	lib.amount(123456) == 123456
	lib.amount("123456") == 123456
	lib.amount("0") == 0
	every bad in ["12.50", "-5", "1e9", "007", "", " 1", ["1"], 12.5, -1, null, true, "9999999999999999"] {
		not lib.amount(bad)
	}
}

test_money if {
	lib.money(0, "usd") == "$0.00"
	lib.money(5, "usd") == "$0.05"
	lib.money(100, "USD") == "$1.00"
	lib.money(123456, "usd") == "$1,234.56"
	lib.money(123456789, "usd") == "$1,234,567.89"
	lib.money(100000, "usd") == "$1,000.00"
	lib.money(5000, "eur") == "50.00 EUR"
	lib.decimal(99999999) == "999,999.99"
}

test_request_shortcuts if {
	inp := t.with_query(t.post("stripe", "/v1/customers/cus_1", {"email": "a@example.com"}), {"expand[]": ["x"]})
	lib.route == "stripe" with input as inp
	lib.method == "POST" with input as inp
	lib.host == "api.stripe.com" with input as inp
	lib.path == "/v1/customers/cus_1" with input as inp
	lib.segments == ["v1", "customers", "cus_1"] with input as inp
	lib.query == {"expand[]": ["x"]} with input as inp
	lib.body == {"email": "a@example.com"} with input as inp
	lib.agent == "test-agent" with input as inp
	lib.intent == "" with input as inp
	lib.intent == "tidy up" with input as t.merge(inp, {"intent": "tidy up"})
	not lib.is_read with input as inp
	lib.is_read with input as t.get("stripe", "/")
	lib.path_is("/v1/customers/*") with input as inp
	lib.path_is("/v1/**") with input as inp
	not lib.path_is("/v1/*") with input as inp
	lib.pending_holds("payments") == 0 with input as inp
	lib.pending_holds("payments") == 4 with input as t.with_pending_holds(inp, {"payments": 4})
}

test_request_shortcuts_on_a_malformed_input if {
	inp := {"request": {"method": 1, "path": null, "parsed_path": "x", "query": [], "body": [1]}, "route": "stripe"}
	lib.route == "" with input as inp
	lib.method == "" with input as inp
	lib.path == "" with input as inp
	lib.segments == [] with input as inp
	lib.query == {} with input as inp
	lib.body == {} with input as inp
}

# Grants (docs/approvals.md "Grants"): a matching live grant turns a grantable hold into an allow naming it.

_gh := {"rule": "p.refund", "reason": "money moves", "approvers": ["payments"], "grantable": true}

_grant(over) := object.union({
	"id": "g1", "hold_id": "h1", "rule": "p.refund", "agent_id": _input.agent.id, "route": "httpbin",
	"created_by": "alice", "expires_at_ns": _input.gateway.now_ns + 60000000000, "uses": 2, "max_uses": 5,
	"bounds": [{"in": "body", "field": "amount", "op": "equals", "value": "5000"}],
}, over)

_decide_with(rules, grants) := d if {
	d := data.airlock.decision with data.airlock.rules as rules with input as object.union(_input, {"gateway": object.union(_input.gateway, {"grants": grants})})
}

test_a_grantable_hold_says_so if {
	_decide({"p": {"hold": {_gh}}}).grantable == true
	not _decide({"p": {"hold": {{"rule": "p.refund", "reason": "r", "approvers": ["payments"]}}}}).grantable
	# never for critical, and not when two different rules are held
	not _decide({"p": {"hold": {object.union(_gh, {"risk": "critical"})}}}).grantable
	not _decide({"p": {"hold": {_gh, object.union(_gh, {"rule": "p.other"})}}}).grantable
	# a grantable that is not a boolean is a broken policy
	_decide({"p": {"hold": {object.union(_gh, {"grantable": "yes"})}}}).rule == "airlock.invalid_rule"
}

test_a_matching_grant_turns_the_hold_into_an_allow if {
	d := _decide_with({"p": {"hold": {_gh}}}, [_grant({})])
	d.action == "allow"
	d.rule == "grant:g1"
	d.grant == "g1"
	contains(d.reason, "grant from approver alice")
	contains(d.reason, "use 3 of 5")
	not d.timeout_s
	not d.grantable
	d.matched == ["p.refund"]
}

test_a_grant_does_not_apply_when_it_does_not_match if {
	rules := {"p": {"hold": {_gh}}}
	_decide_with(rules, [_grant({"rule": "p.other"})]).action == "hold"
	_decide_with(rules, [_grant({"agent_id": "someone-else"})]).action == "hold"
	_decide_with(rules, [_grant({"route": "stripe"})]).action == "hold"
	_decide_with(rules, [_grant({"expires_at_ns": _input.gateway.now_ns})]).action == "hold"
	_decide_with(rules, [_grant({"uses": 5})]).action == "hold"
	_decide_with(rules, [_grant({"bounds": [{"in": "body", "field": "amount", "op": "equals", "value": "9999"}]})]).action == "hold"
	_decide_with({"p": {"hold": {object.union(_gh, {"grantable": false})}}}, [_grant({})]).action == "hold"
	_decide_with({"p": {"hold": {object.union(_gh, {"risk": "critical"})}}}, [_grant({})]).action == "hold"
	# a deny still wins over a grant
	_decide_with({"p": {"hold": {_gh}, "deny": {{"rule": "p.no", "reason": "no"}}}}, [_grant({})]).action == "deny"
}

test_a_max_bound_allows_no_higher_number if {
	inp := object.union(_input, {"request": object.union(_input.request, {"body": {"amount": 40}})})
	g := _grant({"bounds": [{"in": "body", "field": "amount", "op": "max", "value": 50}]})
	low := object.union(inp, {"gateway": object.union(inp.gateway, {"grants": [g]})})
	high := object.union(low, {"request": object.union(low.request, {"body": {"amount": 51}})})
	text := object.union(low, {"request": object.union(low.request, {"body": {"amount": "40"}})})
	rules := {"p": {"hold": {_gh}}}
	a := data.airlock.decision with data.airlock.rules as rules with input as low
	a.rule == "grant:g1"
	b := data.airlock.decision with data.airlock.rules as rules with input as high
	b.action == "hold"
	c := data.airlock.decision with data.airlock.rules as rules with input as text
	c.action == "hold"
}

test_the_smallest_matching_grant_id_is_used if {
	_decide_with({"p": {"hold": {_gh}}}, [_grant({"id": "g9"}), _grant({"id": "g2"})]).rule == "grant:g2"
}
