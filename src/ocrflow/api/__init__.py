"""The HTTPS API for web frontends: tenants and their keys, jobs (upload slots, status, results), usage."""
