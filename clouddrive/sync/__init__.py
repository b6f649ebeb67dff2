"""A sync run: gathering both sides, executing a plan, resolving conflicts."""
