"""A loopback stand-in for the GitHub REST API, checked against GitHub's own OpenAPI description.

Every request PyGithub makes and every response this fake sends is validated with openapi-core
against ``fixtures/github_openapi/api.github.com.trimmed.json`` (see its regenerate.py); a
request or response that does not conform is recorded in ``violations`` and answered with 500,
so a test fails loudly. Responses start from the description's own examples with the fields
that matter replaced, and the API's base URL rewritten to this server.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

SPEC = Path(__file__).parent / "fixtures" / "github_openapi" / "api.github.com.trimmed.json"
_spec_text = SPEC.read_text(encoding="utf-8")
logging.getLogger("werkzeug").setLevel(logging.ERROR)


def _example(spec: dict, name: str):
    return copy.deepcopy(spec["components"]["examples"][name]["value"])


@dataclass
class FakeGitHub:
    owner: str = "octo"
    repo: str = "service"
    token: str = "ghs_test"
    pulls: dict[int, dict] = field(default_factory=dict)
    comments: list[tuple[int, str]] = field(default_factory=list)
    requests: list[tuple[str, str, dict | list | None]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    fail_labels: bool = False
    race_on_create: bool = False  # another run creates the pull request just before ours

    def start(self) -> "FakeGitHub":
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        spec = json.loads(_spec_text.replace("https://api.github.com", self.base_url))
        self._spec = spec
        self._openapi = OpenAPI.from_dict(spec)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()

    # --- what the fake holds -------------------------------------------------------------

    def add_pull(self, head: str, base: str, title: str, body: str, state: str = "open", merged: bool = False) -> int:
        number = max(self.pulls, default=0) + 1
        self.pulls[number] = {
            "number": number, "head": head, "base": base, "title": title, "body": body, "state": state,
            "merged": merged, "draft": False, "labels": [], "reviewers": [],
        }
        return number

    def _pull_json(self, p: dict, simple: bool = False) -> dict:
        data = _example(self._spec, "pull-request-simple-items")[0] if simple else _example(self._spec, "pull-request")
        api = f"{self.base_url}/repos/{self.owner}/{self.repo}"
        data.update({
            "number": p["number"], "title": p["title"], "body": p["body"], "state": p["state"], "draft": p["draft"],
            "url": f"{api}/pulls/{p['number']}", "html_url": f"https://github.invalid/{self.owner}/{self.repo}/pull/{p['number']}",
            "issue_url": f"{api}/issues/{p['number']}", "comments_url": f"{api}/issues/{p['number']}/comments",
            "merged_at": "2026-01-01T00:00:00Z" if p["merged"] else None,
            "closed_at": "2026-01-01T00:00:00Z" if p["state"] == "closed" else None,
            "labels": [{**_example(self._spec, "label-items")[0], "name": name} for name in p["labels"]],
        })
        if not simple:
            data["merged"] = p["merged"]
        data["head"].update({"ref": p["head"], "label": f"{self.owner}:{p['head']}"})
        data["base"].update({"ref": p["base"], "label": f"{self.owner}:{p['base']}"})
        for team in data.get("requested_teams") or []:  # GitHub's own example misses this required field
            team.setdefault("type", "enterprise")
        return data

    # --- the HTTP side ----------------------------------------------------------------------

    def _app(self, environ, start_response):
        request = Request(environ)
        body = request.get_json(silent=True) if request.data else None
        self.requests.append((request.method, request.full_path.rstrip("?"), body))
        openapi_request = WerkzeugOpenAPIRequest(request)
        try:
            self._openapi.validate_request(openapi_request)
        except Exception as exc:  # noqa: BLE001 - any validation error is a finding
            self.violations.append(f"request {request.method} {request.path}: {exc!r}: {getattr(exc, '__cause__', '')}")
            return Response("invalid request", status=500)(environ, start_response)
        if request.headers.get("Authorization") != f"token {self.token}" and request.headers.get("Authorization") != f"Bearer {self.token}":
            response = self._json({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}, 401)
            return response(environ, start_response)
        response = self._route(request, body)
        try:
            self._openapi.validate_response(openapi_request, WerkzeugOpenAPIResponse(response))
        except Exception as exc:  # noqa: BLE001
            self.violations.append(f"response {request.method} {request.path} {response.status_code}: {exc!r}: {getattr(exc, '__cause__', '')}")
            return Response("invalid response", status=500)(environ, start_response)
        return response(environ, start_response)

    @staticmethod
    def _json(data, status: int = 200) -> Response:
        return Response(json.dumps(data), status=status, content_type="application/json; charset=utf-8")

    def _validation_failed(self, message: str) -> Response:
        return self._json({
            "message": "Validation Failed", "documentation_url": "https://docs.github.com/rest",
            "errors": [{"resource": "PullRequest", "code": "custom", "message": message}],
        }, 422)

    def _route(self, request: Request, body) -> Response:
        parts = request.path.strip("/").split("/")
        if parts[:3] != ["repos", self.owner, self.repo]:
            return self._json({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, 404)
        rest, method = parts[3:], request.method
        if rest == ["pulls"] and method == "GET":
            head = request.args.get("head")
            found = [
                p for p in sorted(self.pulls.values(), key=lambda p: -p["number"])
                if (request.args.get("state", "open") in (p["state"], "all"))
                and (head is None or head == f"{self.owner}:{p['head']}")
                and (request.args.get("base") in (None, p["base"]))
            ]
            return self._json([self._pull_json(p, simple=True) for p in found])
        if rest == ["pulls"] and method == "POST":
            if self.race_on_create:
                self.race_on_create = False
                self.add_pull(body["head"], body["base"], "by another run", "<!-- prodfix:v1 other -->")
            if any(p["head"] == body["head"] and p["state"] == "open" for p in self.pulls.values()):
                return self._validation_failed(f"A pull request already exists for {self.owner}:{body['head']}.")
            number = self.add_pull(body["head"], body["base"], body["title"], body.get("body") or "")
            self.pulls[number]["draft"] = bool(body.get("draft"))
            return self._json(self._pull_json(self.pulls[number]), 201)
        if len(rest) == 2 and rest[0] == "pulls" and rest[1].isdigit() and int(rest[1]) in self.pulls:
            p = self.pulls[int(rest[1])]
            if method == "PATCH":
                for key in ("title", "body", "state"):
                    if key in body:
                        p[key] = body[key]
            return self._json(self._pull_json(p))
        if len(rest) == 3 and rest[0] == "issues" and int(rest[1]) in self.pulls:
            number = int(rest[1])
            if rest[2] == "comments":
                self.comments.append((number, body["body"]))
                comment = _example(self._spec, "issue-comment")
                comment["body"] = body["body"]
                return self._json(comment, 201)
            if rest[2] == "labels":
                if self.fail_labels:
                    return self._json({"message": "Validation Failed", "documentation_url": "https://docs.github.com/rest",
                                       "errors": [{"resource": "Label", "code": "invalid", "field": "name"}]}, 422)
                self.pulls[number]["labels"] += body["labels"]
                return self._json([{**_example(self._spec, "label-items")[0], "name": n} for n in self.pulls[number]["labels"]])
        if len(rest) == 3 and rest[0] == "pulls" and rest[2] == "requested_reviewers" and int(rest[1]) in self.pulls:
            p = self.pulls[int(rest[1])]
            p["reviewers"] += body.get("reviewers", [])
            return self._json(self._pull_json(p, simple=True), 201)
        return self._json({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, 404)
