"""The defaults the command line shows in ``--help`` for branches and pull requests.

Kept apart from the modules that use them so that reading ``prodfix --help`` (or running
``check`` and ``diff``) does not import git, forge and HTTP code.
"""

DEFAULT_BRANCH = "prodfix/hardening"
BOT_NAME = "prodfix"
BOT_EMAIL = "prodfix@users.noreply.invalid"
DEFAULT_TITLE = "prodfix: production-readiness fixes"
FORGE_KINDS = ("github", "gitlab")
