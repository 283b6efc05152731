# GitHub REST and GraphQL API (route "github", upstream https://api.github.com).
#
#   GET, HEAD                                          → allow
#   POST /graphql: a query                             → allow; a mutation (or an unreadable body) → hold "engineering"
#   PUT /repos/{o}/{r}/pulls/{n}/merge                 → hold "engineering" (every merge: see below)
#   PUT /repos/{o}/{r}/contents/{path}                 → hold "engineering" (a commit straight onto a branch)
#   PATCH /repos/{o}/{r}                               → hold "engineering" (settings: visibility, default branch, archive)
#   DELETE /repos/{o}/{r}                              → deny
#   issues, comments, labels, pull requests, reviews   → review
#   anything else (collaborators, hooks, secrets, …)   → no rule here: default deny (DELETEs: hold, see catchall.rego)
#
# Why every merge is held: the rule we want is "merges into the default branch need approval", but the merge request
# (PUT …/pulls/{n}/merge, body {commit_title, merge_method, sha}) names neither the base branch nor the default branch,
# and a policy cannot look them up (http.send is not available: see docs/policy.md). The agent's Airlock-Intent header
# (input.intent) could say "merging into a feature branch", but it is the agent's claim, so it must not lower the bar.
# Holding every merge is the safe reading; approvers see the pull request in the summary and decide in seconds.
package airlock.rules.github

import data.airlock.lib

# The routes this package decides (docs/policy.md, "Routes"): its rules are evaluated only for requests on them.
routes := {"github"}

_github if lib.route == "github"

allow contains {
	"rule": "github.read",
	"reason": "reading from GitHub does not change anything",
} if {
	_github
	lib.is_read
}

# --- GraphQL ---------------------------------------------------------------------------------------------------------

# A GraphQL document can only change something through an operation written `mutation`, so a body whose query does
# not contain that word is a read. The check is deliberately crude: a read that merely mentions "mutation" is held too.
_graphql if {
	_github
	lib.method == "POST"
	lib.path == "/graphql"
}

allow contains {
	"rule": "github.graphql_query",
	"reason": "a GraphQL query without a mutation only reads",
} if {
	_graphql
	is_string(lib.body.query)
	not contains(lib.body.query, "mutation")
}

hold contains {
	"rule": "github.graphql_mutation",
	"reason": "GraphQL mutations can change anything the token can (merge, delete, change settings), so they wait for engineering to approve; prefer the REST endpoint for the one change you need",
	"risk": "high",
	"summary": concat("", ["GitHub GraphQL mutation: ", substring(_graphql_text, 0, 120)]),
	"approvers": ["engineering"],
} if {
	_graphql
	not _graphql_read
}

_graphql_read if {
	is_string(lib.body.query)
	not contains(lib.body.query, "mutation")
}

_graphql_text := replace(lib.body.query, "\n", " ") if {
	is_string(lib.body.query)
} else := "(no readable query)"

# --- merges, commits and settings ------------------------------------------------------------------------------------

hold contains {
	"rule": "github.pr_merge",
	"reason": "merging a pull request changes its base branch, which may be the default branch; the merge request does not say which branch that is, so every merge waits for engineering to approve",
	"risk": "high",
	"summary": sprintf("Merge %s/%s#%s (%s)", [owner, repo, number, _merge_method]),
	"approvers": ["engineering"],
} if {
	_github
	lib.method == "PUT"
	["repos", owner, repo, "pulls", number, "merge"] = lib.segments
}

_merge_method := m if {
	m := lib.body.merge_method
	is_string(m)
} else := "merge"

hold contains {
	"rule": "github.contents_write",
	"reason": "writing a file through the contents API commits straight onto a branch (the default branch unless `branch` is given), skipping review; it waits for engineering to approve. Prefer pushing to a feature branch and opening a pull request",
	"risk": "high",
	"summary": sprintf("Commit %s to %s/%s on %s", [concat("/", file), owner, repo, _branch]),
	"approvers": ["engineering"],
} if {
	_github
	lib.method == "PUT"
	["repos", owner, repo, "contents"] = array.slice(lib.segments, 0, 4)
	file := array.slice(lib.segments, 4, count(lib.segments))
}

_branch := b if {
	b := lib.body.branch
	is_string(b)
} else := "the default branch"

hold contains {
	"rule": "github.repo_settings",
	"reason": "changing repository settings (visibility, default branch, archiving, merge options) waits for engineering to approve",
	"risk": "high",
	"summary": sprintf("Change settings of %s/%s: %s", [owner, repo, concat(", ", sort(object.keys(lib.body)))]),
	"approvers": ["engineering"],
} if {
	_github
	lib.method == "PATCH"
	["repos", owner, repo] = lib.segments
}

# --- repository deletion ---------------------------------------------------------------------------------------------

deny contains {
	"rule": "github.repo_delete",
	"reason": "deleting a repository destroys its code, issues and pull requests for good, and Airlock never lets an agent do it. To retire a repository, archive it instead (PATCH /repos/{owner}/{repo} with {\"archived\": true}, which an engineer approves); if it must really be deleted, ask a person to do it in GitHub",
	"risk": "critical",
	"summary": sprintf("Delete repository %s/%s", [owner, repo]),
} if {
	_github
	lib.method == "DELETE"
	["repos", owner, repo] = lib.segments
}

# --- everyday collaboration ------------------------------------------------------------------------------------------

# [method, path glob] pairs an agent may use freely; each call is recorded for review.
_collaboration := [
	["POST", "/repos/*/*/issues"],
	["PATCH", "/repos/*/*/issues/*"],
	["POST", "/repos/*/*/issues/*/comments"],
	["PATCH", "/repos/*/*/issues/comments/*"],
	["POST", "/repos/*/*/issues/*/labels"],
	["POST", "/repos/*/*/pulls"],
	["PATCH", "/repos/*/*/pulls/*"],
	["POST", "/repos/*/*/pulls/*/comments"],
	["POST", "/repos/*/*/pulls/*/reviews"],
	["POST", "/repos/*/*/pulls/*/requested_reviewers"],
]

review contains {
	"rule": "github.collaboration",
	"reason": "issues, comments and pull requests go through and are recorded for review",
	"summary": concat("", [lib.method, " ", lib.path]),
} if {
	_github
	some [method, pattern] in _collaboration
	lib.method == method
	lib.path_is(pattern)
}
