"""The S3 side: the version listing as the ledger, object reads and writes, bucket calls.

S3 errors are translated and retried here and nowhere else."""
