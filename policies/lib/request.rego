# Helpers for rule authors: `import data.airlock.lib` and write `lib.route == "stripe"`, `lib.path_is("/v1/*")`, …
#
# Every value here is defined whatever the input holds (missing or mistyped fields become "", {}, [] or 0), so a rule
# using them does not become undefined by accident. Like the rest of policies/, this compiles to WebAssembly: only built-ins
# in policies/capabilities.json.
package airlock.lib

# --- the request -----------------------------------------------------------------------------------------------------

# Route name from the gateway config ("stripe"); the route decides the upstream, so match on it rather than on host.
route := n if {
	n := input.route.name
	is_string(n)
} else := ""

# Upper-case HTTP method ("GET").
method := upper(m) if {
	m := input.request.method
	is_string(m)
} else := ""

# Upstream host ("api.stripe.com") and path with the route prefix removed ("/v1/charges").
host := h if {
	h := input.request.host
	is_string(h)
} else := ""

path := p if {
	p := input.request.path
	is_string(p)
} else := ""

# Path segments (["v1", "charges"]); match with array patterns: `["v1", "customers", id] = lib.segments`.
segments := s if {
	s := input.request.parsed_path
	is_array(s)
} else := []

# Query parameters, each an array of strings ({"expand[]": ["customer"]}).
query := q if {
	q := input.request.query
	is_object(q)
} else := {}

# The parsed body when it is a JSON object or a form ({"amount": "5000"}); {} otherwise (null, array, scalar).
body := b if {
	b := input.request.body
	is_object(b)
} else := {}

# Why the gateway could not parse a non-empty body ("" when it could, or there is none): no or a repeated
# Content-Type, a media type Airlock does not parse (text/plain, application/octet-stream …), a malformed multipart
# body. `body` is then {} although the request carries something: refuse writes whose body you cannot read.
body_parse_error := e if {
	e := input.request.body_parse_error
	is_string(e)
} else := ""

# The declared media type of the body ("application/json"), "" without a Content-Type.
body_media_type := t if {
	t := input.request.body_media_type
	is_string(t)
} else := ""

# GET, HEAD and OPTIONS.
is_read if method in {"GET", "HEAD", "OPTIONS"}

# True when the path matches a glob: `*` stays inside one segment, `**` crosses segments.
# path_is("/v1/customers/*") matches "/v1/customers/cus_1" but not "/v1/customers/cus_1/sources".
# The common patterns (each segment literal, `*`, or one `*` inside it such as `ch_*`) are matched segment by segment:
# glob.match compiles an RE2 program on every call in WebAssembly (≈ 5–10 µs each, docs/policy.md). Anything else
# (`**`, `?`, `[…]`, `{a,b}`, escapes, two `*` in a segment) goes to glob.match, which decides the same.
path_is(pattern) if {
	_simple_glob(pattern)
	_segments_match(split(pattern, "/"), split(path, "/"))
}

path_is(pattern) if {
	not _simple_glob(pattern)
	glob.match(pattern, ["/"], path)
}

_simple_glob(pattern) if {
	not contains(pattern, "**")
	not _glob_meta(pattern)
	every seg in split(pattern, "/") {
		count(split(seg, "*")) <= 2
	}
}

_glob_meta(pattern) if {
	some c in ["?", "[", "]", "{", "}", "\\"]
	contains(pattern, c)
}

_segments_match(ps, ss) if {
	count(ps) == count(ss)
	every i, p in ps {
		_segment_match(p, ss[i])
	}
}

_segment_match(p, s) if p == s

_segment_match(p, s) if {
	parts := split(p, "*")
	count(parts) == 2
	startswith(s, parts[0])
	endswith(s, parts[1])
	count(s) >= count(parts[0]) + count(parts[1])
}

# The agent's stated purpose (the Airlock-Intent header), "" when absent. It is the agent's claim: use it to word a
# summary or to ask for more scrutiny, never to grant more than the request alone would get.
intent := i if {
	i := input.intent
	is_string(i)
} else := ""

# Calling agent id ("billing-bot").
agent := a if {
	a := input.agent.id
	is_string(a)
} else := ""

# Holds currently pending for an approver group (input.gateway.pending_holds), 0 when none.
pending_holds(group) := n if {
	n := input.gateway.pending_holds[group]
	is_number(n)
} else := 0

# --- amounts ---------------------------------------------------------------------------------------------------------

# A non-negative integer amount in minor units from a JSON number or a string of digits ("123456" → 123456).
# Undefined for anything else ("12.50", "-5", "1e9", "007", an array from a repeated form field): a rule that moves money
# should treat an unreadable amount as large, not as zero.
amount(x) := x if {
	is_number(x)
	round(x) == x
	x >= 0
} else := to_number(x) if {
	is_string(x)
	regex.match(`^(0|[1-9][0-9]{0,14})$`, x)
}

# Minor units to text for an approver: money(123456, "usd") = "$1,234.56", money(5000, "eur") = "50.00 EUR".
# Assumes two decimals (wrong for zero-decimal currencies such as JPY, which only affects the summary text).
money(minor, currency) := concat("", ["$", decimal(minor)]) if {
	lower(currency) == "usd"
} else := concat("", [decimal(minor), " ", upper(currency)])

# Minor units to a number with two decimals and thousands separators: decimal(123456) = "1,234.56".
decimal(minor) := concat("", [_thousands(format_int(floor(minor / 100), 10)), ".", _two_digits(minor % 100)])

_two_digits(n) := concat("", ["0", format_int(n, 10)]) if {
	n < 10
} else := format_int(n, 10)

# "1234567" → "1,234,567"
_thousands(s) := concat(",", [_group(s, first, k) | some k in numbers.range(0, (count(s) - first) / 3)]) if {
	first := ((count(s) - 1) % 3) + 1
}

_group(s, first, 0) := substring(s, 0, first)

_group(s, first, k) := substring(s, (first + (3 * k)) - 3, 3) if k > 0
