"""Git: the state of the user's work tree (and, later, branches and forges)."""
