# The folding library: turns every rule that matched a request into the one decision the gateway enforces.
#
# Rule authors never touch this file. They write packages under `airlock.rules.<name>` (exactly one level: a package
# `airlock.rules.acme.stripe` is NOT collected) containing only partial-set rules named `deny`, `hold`, `review` and
# `allow`, each element an object:
#
#   {"rule": "stripe.refund_large", "reason": "…",            required
#    "risk": "high", "summary": "Refund $1,234.56 on ch_1",   optional
#    "approvers": ["payments"], "approvals_required": 2, "require_comment": true, "timeout_s": 3600,
#    "sample_rate": 0.2, "grantable": true}
#
# `data.airlock.decision` (the compiled entrypoint `airlock/decision`) is always exactly one object:
#
#   {"action", "rule", "reason", "risk", "summary", "approvers", "approvals_required", "require_comment",
#    "timeout_s"? (hold only), "sample_rate"? (review only), "grantable"? (hold only, when true),
#    "grant"? (the grant id, when a grant allowed it), "matched": [every rule id that matched, any action]}
#
# Precedence: deny > hold > review > allow; nothing matched → airlock.default_deny. Within the winning action the
# element with the highest risk wins (then the smallest rule id, then the smallest element), and supplies rule,
# reason, risk and summary. The other fields are folded over every element of the winning action: approvers are
# united; for a hold, approvals_required is the largest (at least 1), require_comment is true if any says so and
# timeout_s is the smallest; for a review, sample_rate is the largest. Fields that do not apply to the winning action
# are ignored (approvals_required is then 1, require_comment false).
# Grants (docs/approvals.md): a hold is grantable when every winning hold element has the same rule id, says
# `grantable: true` and is not `critical`; the decision then says "grantable": true, and an approver may add a grant
# when approving it. A live grant in input.gateway.grants for that rule, this agent and this route, whose bounds the
# request stays within, turns such a hold into an allow with rule "grant:<id>" (the gateway then takes one use of the
# grant atomically, and holds the request after all if that use is refused).
# An element that is not a valid object (missing rule/reason, unknown field, wrong type, a hold without approvers) or
# a `deny`/`hold`/… that is not a set (e.g. `deny if …`) turns into a deny with rule "airlock.invalid_rule": a broken
# policy fails closed, with a reason that names the package and the problem.
#
# Everything here is compiled to WebAssembly, which has no rule indexing and a smaller set of built-ins than `opa eval`:
# use only built-ins listed in policies/capabilities.json, and check changes against the compiled wasm, not only with
# `opa test` (which runs OPA's Go evaluator).
package airlock

# Risk order, and the risk an element gets when it does not say.
_risk_rank := {"low": 1, "medium": 2, "high": 3, "critical": 4}

_default_risk := {"allow": "low", "review": "medium", "hold": "high", "deny": "high"}

# The fields an element may carry, and what a bad value is told.
_field_message := {
	"rule": "rule must be a non-empty string",
	"reason": "reason must be a non-empty string",
	"risk": "risk must be one of low, medium, high, critical",
	"summary": "summary must be a string",
	"approvers": "approvers must be an array of strings",
	"approvals_required": "approvals_required must be an integer from 1 to 10",
	"require_comment": "require_comment must be a boolean",
	"timeout_s": "timeout_s must be a whole number of seconds >= 1",
	"sample_rate": "sample_rate must be a number from 0 to 1",
	"grantable": "grantable must be a boolean",
}

# ---------------------------------------------------------------------------------------------------------------------
# Which packages decide this request. WebAssembly has no rule indexing: every rule of every package in scope is
# evaluated for every request. A package may declare the routes it is about (`routes := {"stripe"}`, a constant set of
# route names); it is then evaluated only for requests on those routes. A package that declares no routes is
# cross-route: evaluated for every request. `airlock policy build` checks the declarations and writes the index
# (data.airlock.route_index: {"routes": {route: [package, …]}, "cross_route": [package, …]}) into the compiled data;
# without it (`opa test`, `opa eval` on the sources) every package is in scope, which decides the same.

_request_route := r if {
	r := input.route.name
	is_string(r)
} else := ""

_indexed if is_object(data.airlock.route_index.routes)

_scope contains pkg if {
	_indexed
	some pkg in data.airlock.route_index.cross_route
}

_scope contains pkg if {
	_indexed
	some pkg in object.get(data.airlock.route_index.routes, _request_route, [])
}

_scope contains pkg if {
	not _indexed
	some pkg, _ in data.airlock.rules
}

# ---------------------------------------------------------------------------------------------------------------------
# Collecting: one entry per element, valid or not. One rule per action (not a loop over action names) keeps the
# compiled plan to one lookup per package; elements go straight into _entries (a set of sets would be hashed whole).

_entries contains _entry("deny", pkg, e) if {
	some pkg in _scope
	v := data.airlock.rules[pkg].deny
	is_set(v)
	some e in v
}

_entries contains _entry("hold", pkg, e) if {
	some pkg in _scope
	v := data.airlock.rules[pkg].hold
	is_set(v)
	some e in v
}

_entries contains _entry("review", pkg, e) if {
	some pkg in _scope
	v := data.airlock.rules[pkg].review
	is_set(v)
	some e in v
}

_entries contains _entry("allow", pkg, e) if {
	some pkg in _scope
	v := data.airlock.rules[pkg].allow
	is_set(v)
	some e in v
}

# `deny if …` (a boolean) or `deny := {…}` instead of `deny contains {…} if …`.
_entries contains _not_a_set(action, pkg) if {
	some pkg in _scope
	some action in ["deny", "hold", "review", "allow"]
	v := data.airlock.rules[pkg][action]
	not is_set(v)
}

_not_a_set(action, pkg) := _invalid(action, pkg, null, {concat("", [action, " must be a partial set rule: ", action, " contains {...} if {...}"])})

_entry(action, pkg, e) := _valid_entry(action, e) if {
	count(_problems(action, e)) == 0
} else := _invalid(action, pkg, e, _problems(action, e))

_valid_entry(action, e) := {
	"action": action,
	"rule": e.rule,
	"reason": e.reason,
	"risk": risk,
	"rank": _risk_rank[risk],
	"summary": object.get(e, "summary", _default_summary),
	"ids": {e.rule},
	"element": e,
} if {
	risk := object.get(e, "risk", _default_risk[action])
}

_invalid(action, pkg, e, problems) := {
	"action": "deny",
	"rule": "airlock.invalid_rule",
	"reason": concat("", [
		"Airlock's policy is broken for this request, so it is refused: package airlock.rules.", pkg,
		" produced an invalid `", action, "` element (", concat("; ", sort(problems)),
		"). Retrying will not help; tell the operator.",
	]),
	"risk": "high",
	"rank": _risk_rank.high,
	"summary": _default_summary,
	"ids": ({"airlock.invalid_rule"} | _id_of(e)),
	"element": {},
}

_id_of(e) := {e.rule} if {
	is_object(e)
	is_string(e.rule)
	e.rule != ""
} else := set()

# ---------------------------------------------------------------------------------------------------------------------
# Validating one element.

_problems(action, e) := {"the element is not an object"} if {
	not is_object(e)
} else := ((missing | unknown) | invalid) | _hold_problems(action, e) if {
	missing := {concat("", [k, " is required"]) | some k in ["rule", "reason"]; not _has_key(e, k)}
	unknown := {concat("", ["unknown field ", k]) | some k, _ in e; not _field_message[k]}
	invalid := {_field_message[k] | some k, v in e; _field_message[k]; not _valid(k, v)}
}

# The gateway refuses a hold nobody can approve, so say so here, where `opa test` catches it.
_hold_problems(action, e) := {"a hold needs approvers: at least one approver group"} if {
	action == "hold"
	count(object.get(e, "approvers", [])) == 0
} else := set()

_has_key(obj, k) if {
	some key, _ in obj
	key == k
}

_valid("rule", v) if _nonempty_string(v)

_valid("reason", v) if _nonempty_string(v)

_valid("risk", v) if _risk_rank[v]

_valid("summary", v) if is_string(v)

_valid("approvers", v) if {
	is_array(v)
	every a in v {
		_nonempty_string(a)
	}
}

_valid("approvals_required", v) if {
	_integer(v)
	v >= 1
	v <= 10
}

_valid("require_comment", v) if is_boolean(v)

_valid("timeout_s", v) if {
	_integer(v)
	v >= 1
}

_valid("sample_rate", v) if {
	is_number(v)
	v >= 0
	v <= 1
}

_valid("grantable", v) if is_boolean(v)

_nonempty_string(v) if {
	is_string(v)
	v != ""
}

_integer(v) if {
	is_number(v)
	round(v) == v
}

# ---------------------------------------------------------------------------------------------------------------------
# Folding.

_has_action(a) if {
	some e in _entries
	e.action == a
}

_action := "deny" if {
	_has_action("deny")
} else := "hold" if {
	_has_action("hold")
} else := "review" if {
	_has_action("review")
} else := "allow" if {
	_has_action("allow")
}

_winners := {e | some e in _entries; e.action == _action}

# Highest risk first, then the smallest rule id, then the smallest element (so equal ids are still deterministic).
_top := min({[0 - e.rank, e.rule, e.element, e] | some e in _winners})[3]

_given(field) := {e.element[field] | some e in _winners; e.element[field] != null}

_approvers := sort({a | some e in _winners; some a in object.get(e.element, "approvers", [])})

# Only holds wait for approvals; the other actions say 1, which is never used.
_approvals_required := max({1} | _given("approvals_required")) if {
	_action == "hold"
} else := 1

_require_comment if {
	_action == "hold"
	true in _given("require_comment")
} else := false

# Omitted when no element of the winning action gave one: the gateway then applies its configured default.
_optional["timeout_s"] := min(_given("timeout_s")) if {
	_action == "hold"
	count(_given("timeout_s")) > 0
}

_optional["sample_rate"] := max(_given("sample_rate")) if {
	_action == "review"
	count(_given("sample_rate")) > 0
}

# ---------------------------------------------------------------------------------------------------------------------
# Grants.

# The one rule id a grant for this hold is about, defined only when the hold may be granted.
_grant_rule := r if {
	_action == "hold"
	rules := {e.rule | some e in _winners}
	count(rules) == 1
	some r in rules
	every e in _winners {
		e.element.grantable == true
		e.risk != "critical"
	}
}

_optional["grantable"] := true if _grant_rule

_usable_grants contains g if {
	rule := _grant_rule
	some g in input.gateway.grants
	g.rule == rule
	g.agent_id == input.agent.id
	g.route == _request_route
	g.expires_at_ns > input.gateway.now_ns
	g.uses < g.max_uses
	every b in g.bounds {
		_within(b)
	}
}

# A bound fixed from the approved request: the same value, or a number no higher.
_within(b) if {
	b.op == "equals"
	input.request[b["in"]][b.field] == b.value
}

_within(b) if {
	b.op == "max"
	v := input.request[b["in"]][b.field]
	is_number(v)
	is_number(b.value)
	v <= b.value
}

# The smallest grant id, so the choice is deterministic when several match.
_grant := min({[g.id, g] | some g in _usable_grants})[1] if count(_usable_grants) > 0

_granted := object.union(object.remove(_folded, ["timeout_s", "grantable"]), {
	"action": "allow",
	"rule": concat("", ["grant:", _grant.id]),
	"reason": concat("", [
		"allowed by a grant from approver ", _grant.created_by, " for rule ", _grant.rule,
		" (made when approving hold ", _grant.hold_id, "; use ", format_int(_grant.uses + 1, 10), " of ",
		format_int(_grant.max_uses, 10), ")",
	]),
	"grant": _grant.id,
	"approvers": [],
	"approvals_required": 1,
	"require_comment": false,
})

_matched := sort({id | some e in _entries; some id in e.ids})

_folded := object.union(
	{
		"action": _action,
		"rule": _top.rule,
		"reason": _top.reason,
		"risk": _top.risk,
		"summary": _top.summary,
		"approvers": _approvers,
		"approvals_required": _approvals_required,
		"require_comment": _require_comment,
		"matched": _matched,
	},
	_optional,
)

decision := d if {
	d := _granted
} else := d if {
	d := _folded
} else := {
	"action": "deny",
	"rule": "airlock.default_deny",
	"reason": "no rule allows this request",
	"risk": "high",
	"summary": _default_summary,
	"approvers": [],
	"approvals_required": 1,
	"require_comment": false,
	"matched": [],
}

# ---------------------------------------------------------------------------------------------------------------------
# "<METHOD> <host><path>", built defensively: the decision must exist even for a malformed input.

default _method := ""

_method := m if {
	m := input.request.method
	is_string(m)
}

default _host := ""

_host := h if {
	h := input.request.host
	is_string(h)
}

default _path := ""

_path := p if {
	p := input.request.path
	is_string(p)
}

_default_summary := trim_space(concat("", [_method, " ", _host, _path]))
