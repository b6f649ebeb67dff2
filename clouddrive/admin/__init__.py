"""Bucket administration: lifecycle rules (pure) and applying them, IAM policy, doctor."""
