"""Who may do what: accounts and their passwords, tokens and sessions, Argo CD's RBAC policy, the audit
trail. An engine: it keeps its records through the ``Store`` port and knows nothing of HTTP."""
