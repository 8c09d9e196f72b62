"""Security headers, rate limits and the audit trail."""
