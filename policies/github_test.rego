package airlock.rules_test.github

import data.airlock.testing as t

cases := [
	{
		"name": "reads are allowed",
		"input": t.get("github", "/repos/acme/api/pulls/12"),
		"want": {"action": "allow", "rule": "github.read", "risk": "low"},
	},
	{
		"name": "every merge is held for engineering",
		"input": t.put("github", "/repos/acme/api/pulls/12/merge", {"merge_method": "squash", "sha": "abc123"}),
		"want": {
			"action": "hold", "rule": "github.pr_merge", "risk": "high", "approvers": ["engineering"],
			"summary": "Merge acme/api#12 (squash)", "reason_contains": "may be the default branch",
		},
	},
	{
		"name": "a merge without a body uses the default merge method",
		"input": t.request("github", "PUT", "/repos/acme/api/pulls/7/merge"),
		"want": {"action": "hold", "rule": "github.pr_merge", "summary": "Merge acme/api#7 (merge)"},
	},
	{
		"name": "an intent claiming a feature branch does not lift the hold",
		"input": t.merge(t.put("github", "/repos/acme/api/pulls/12/merge", {}), {"intent": "merge into feature/x, not main"}),
		"want": {"action": "hold", "rule": "github.pr_merge"},
	},
	{
		"name": "deleting a repository is denied with a way forward",
		"input": t.delete("github", "/repos/acme/api"),
		"want": {
			"action": "deny", "rule": "github.repo_delete", "risk": "critical", "summary": "Delete repository acme/api",
			"reason_contains": "archive it instead", "matched": ["catchall.delete", "github.repo_delete"],
		},
	},
	{
		"name": "deleting something else in a repository is held by the catch-all",
		"input": t.delete("github", "/repos/acme/api/git/refs/heads/old"),
		"want": {"action": "hold", "rule": "catchall.delete", "approvers": ["security"]},
	},
	{
		"name": "a GraphQL query is a read",
		"input": t.post("github", "/graphql", {"query": "query { viewer { login } }"}),
		"want": {"action": "allow", "rule": "github.graphql_query"},
	},
	{
		"name": "a GraphQL mutation is held",
		"input": t.post("github", "/graphql", {"query": "mutation {\n deleteRepository(input: {repositoryId: \"R_1\"}) { clientMutationId } }"}),
		"want": {
			"action": "hold", "rule": "github.graphql_mutation", "approvers": ["engineering"],
			"summary": "GitHub GraphQL mutation: mutation {  deleteRepository(input: {repositoryId: \"R_1\"}) { clientMutationId } }",
		},
	},
	{
		"name": "an unreadable GraphQL body is held",
		"input": t.post("github", "/graphql", [{"query": "query { viewer { login } }"}]),
		"want": {"action": "hold", "rule": "github.graphql_mutation", "summary": "GitHub GraphQL mutation: (no readable query)"},
	},
	{
		"name": "committing through the contents API is held",
		"input": t.put("github", "/repos/acme/api/contents/src/main.go", {"message": "fix", "content": "Zm9v"}),
		"want": {"action": "hold", "rule": "github.contents_write", "summary": "Commit src/main.go to acme/api on the default branch"},
	},
	{
		"name": "changing repository settings is held",
		"input": t.patch("github", "/repos/acme/api", {"archived": true}),
		"want": {"action": "hold", "rule": "github.repo_settings", "summary": "Change settings of acme/api: archived"},
	},
	{
		"name": "opening an issue is reviewed",
		"input": t.post("github", "/repos/acme/api/issues", {"title": "Flaky test"}),
		"want": {"action": "review", "rule": "github.collaboration", "summary": "POST /repos/acme/api/issues"},
	},
	{
		"name": "commenting on a pull request is reviewed",
		"input": t.post("github", "/repos/acme/api/issues/12/comments", {"body": "LGTM"}),
		"want": {"action": "review", "rule": "github.collaboration"},
	},
	{
		"name": "adding a collaborator is not allowed",
		"input": t.put("github", "/repos/acme/api/collaborators/mallory", {"permission": "admin"}),
		"want": {"action": "deny", "rule": "airlock.default_deny"},
	},
	{
		"name": "a merge with the wrong method is not a merge",
		"input": t.post("github", "/repos/acme/api/pulls/12/merge", {}),
		"want": {"action": "deny", "rule": "airlock.default_deny"},
	},
]

test_github if t.passes(cases)
