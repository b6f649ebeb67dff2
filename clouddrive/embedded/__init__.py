"""The embedded local S3 server (SeaweedFS `weed mini`) that clouddrive starts itself.

One concept per module: `binary` finds weed, `ports` picks its loopback ports, `launch`
spawns it and waits for S3, `stop` stops it and cleans its sockets, `process` tells whether
a pid is alive and is our weed, `access` holds the bucket, keys and S3 client, and
`registry` keeps the shared per-user server in its state file under a lock.
"""
