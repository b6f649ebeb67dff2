"""The embedded SeaweedFS server clouddrive starts when no bucket is configured."""
