"""A loopback stand-in for GitLab's REST API (v4) merge request endpoints, for python-gitlab.

GitLab publishes no complete OpenAPI description of these endpoints, so the fake follows the
documented request parameters and response attributes of "Merge requests API", "Notes API" and
"Users API" (docs.gitlab.com/api/merge_requests/): unknown parameters or a missing required one
are recorded in ``violations`` and answered with 400, like GitLab does.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass, field

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

logging.getLogger("werkzeug").setLevel(logging.ERROR)

LIST_PARAMS = {"state", "source_branch", "target_branch", "order_by", "sort", "per_page", "page"}
CREATE_PARAMS = {"source_branch", "target_branch", "title", "description", "labels", "draft", "reviewer_ids", "remove_source_branch"}
UPDATE_PARAMS = {"title", "description", "state_event", "add_labels", "labels", "reviewer_ids", "target_branch"}


@dataclass
class FakeGitLab:
    project_id: str = "42"
    project_path: str = "group/service"
    token: str = "glpat-test"
    users: dict[str, int] = field(default_factory=lambda: {"alice": 7})
    mrs: dict[int, dict] = field(default_factory=dict)
    notes: list[tuple[int, str]] = field(default_factory=list)
    requests: list[tuple[str, str, dict | None]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    race_on_create: bool = False

    def start(self) -> "FakeGitLab":
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()

    def add_mr(self, source: str, target: str, title: str, description: str, state: str = "opened") -> int:
        iid = max(self.mrs, default=0) + 1
        self.mrs[iid] = {"iid": iid, "source_branch": source, "target_branch": target, "title": title,
                         "description": description, "state": state, "labels": [], "reviewers": []}
        return iid

    def _mr_json(self, mr: dict) -> dict:
        author = {"id": 1, "username": "prodfix-bot", "name": "prodfix", "state": "active",
                  "avatar_url": None, "web_url": "https://gitlab.invalid/prodfix-bot"}
        return {
            "id": 1000 + mr["iid"], "iid": mr["iid"], "project_id": int(self.project_id), "title": mr["title"],
            "description": mr["description"], "state": mr["state"], "created_at": "2026-01-01T00:00:00.000Z",
            "updated_at": "2026-01-01T00:00:00.000Z", "merged_by": None, "merged_at": None, "closed_by": None,
            "closed_at": None, "target_branch": mr["target_branch"], "source_branch": mr["source_branch"],
            "user_notes_count": 0, "upvotes": 0, "downvotes": 0, "author": author, "assignees": [],
            "reviewers": [{**author, "id": uid, "username": name} for name, uid in self.users.items() if uid in mr["reviewers"]],
            "source_project_id": int(self.project_id), "target_project_id": int(self.project_id),
            "labels": mr["labels"], "draft": mr["title"].startswith("Draft:"), "work_in_progress": mr["title"].startswith("Draft:"),
            "milestone": None, "merge_when_pipeline_succeeds": False, "merge_status": "can_be_merged",
            "detailed_merge_status": "mergeable", "sha": "0" * 40, "merge_commit_sha": None, "squash_commit_sha": None,
            "discussion_locked": None, "should_remove_source_branch": None, "force_remove_source_branch": False,
            "reference": f"!{mr['iid']}", "references": {"short": f"!{mr['iid']}", "relative": f"!{mr['iid']}",
                                                          "full": f"{self.project_path}!{mr['iid']}"},
            "web_url": f"https://gitlab.invalid/{self.project_path}/-/merge_requests/{mr['iid']}",
            "squash": False, "has_conflicts": False, "blocking_discussions_resolved": True,
        }

    @staticmethod
    def _json(data, status: int = 200) -> Response:
        return Response(json.dumps(data), status=status, content_type="application/json")

    def _params(self, request: Request) -> dict:
        if request.method in ("POST", "PUT") and request.data:
            return request.get_json(silent=True) or dict(request.form)
        return dict(request.args)

    def _check(self, request: Request, params: dict, allowed: set[str], required: set[str] = frozenset()) -> Response | None:
        unknown = set(params) - allowed
        missing = required - set(params)
        if unknown or missing:
            self.violations.append(f"{request.method} {request.path}: unknown {sorted(unknown)} missing {sorted(missing)}")
            return self._json({"error": f"unknown {sorted(unknown)} missing {sorted(missing)}"}, 400)
        return None

    def _app(self, environ, start_response):
        request = Request(environ)
        params = self._params(request)
        self.requests.append((request.method, request.path, params))
        if self.token not in (request.headers.get("PRIVATE-TOKEN"), request.headers.get("JOB-TOKEN")):
            return self._json({"message": "401 Unauthorized"}, 401)(environ, start_response)
        return self._route(request, params)(environ, start_response)

    def _route(self, request: Request, params: dict) -> Response:
        if request.path == "/api/v4/users" and request.method == "GET":
            name = params.get("username")
            return self._json([{"id": self.users[name], "username": name, "name": name, "state": "active"}] if name in self.users else [])
        match = re.fullmatch(r"/api/v4/projects/(.+?)/merge_requests(?:/(\d+))?(/notes)?", request.path)
        if not match or match.group(1) not in (self.project_id, self.project_path):
            return self._json({"message": "404 Project Not Found"}, 404)
        iid = int(match.group(2)) if match.group(2) else None
        if iid is None and request.method == "GET":
            bad = self._check(request, params, LIST_PARAMS)
            if bad:
                return bad
            found = [m for m in sorted(self.mrs.values(), key=lambda m: -m["iid"])
                     if params.get("state", "all") in (m["state"], "all")
                     and params.get("source_branch") in (None, m["source_branch"])
                     and params.get("target_branch") in (None, m["target_branch"])]
            return self._json([self._mr_json(m) for m in found])
        if iid is None and request.method == "POST":
            bad = self._check(request, params, CREATE_PARAMS, {"source_branch", "target_branch", "title"})
            if bad:
                return bad
            if self.race_on_create:
                self.race_on_create = False
                self.add_mr(params["source_branch"], params["target_branch"], "by another run", "<!-- prodfix:v1 other -->")
            taken = [m for m in self.mrs.values() if m["source_branch"] == params["source_branch"] and m["state"] == "opened"]
            if taken:
                return self._json({"message": [f"Another open merge request already exists for this source branch: !{taken[0]['iid']}"]}, 409)
            new = self.add_mr(params["source_branch"], params["target_branch"], params["title"], params.get("description", ""))
            return self._json(self._mr_json(self.mrs[new]), 201)
        if iid not in self.mrs:
            return self._json({"message": "404 Not found"}, 404)
        mr = self.mrs[iid]
        if match.group(3) and request.method == "POST":
            self.notes.append((iid, params["body"]))
            return self._json({"id": 1, "body": params["body"], "noteable_iid": iid, "noteable_type": "MergeRequest",
                               "system": False, "author": {"id": 1, "username": "prodfix-bot"}}, 201)
        if request.method == "PUT":
            bad = self._check(request, params, UPDATE_PARAMS)
            if bad:
                return bad
            for key in ("title", "description"):
                if key in params:
                    mr[key] = params[key]
            if params.get("state_event") == "close":
                mr["state"] = "closed"
            if "add_labels" in params:
                mr["labels"] += [label for label in params["add_labels"].split(",") if label]
            if "reviewer_ids" in params:
                mr["reviewers"] = list(params["reviewer_ids"])
        return self._json(self._mr_json(mr))
