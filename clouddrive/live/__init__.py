"""The live drive: `clouddrive watch` and the app's live toggle (local events, the remote
change feed, one sync at a time, backoff while offline, a status snapshot)."""
