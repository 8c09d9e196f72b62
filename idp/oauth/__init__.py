"""The protocol layer on Authlib: grants, tokens, claims, discovery, logout. Knows no HTML."""

import warnings

from joserfc.errors import SecurityWarning

# joserfc flags the JWS name "EdDSA" (RFC 9864 prefers "Ed25519"), the name portals' libraries
# know. One filter for the process, set at import: a warnings.catch_warnings() around each
# signature rewrote the process-wide filter list from every worker thread at once (not
# thread-safe), and silenced joserfc's other SecurityWarnings with it.
warnings.filterwarnings("ignore", message="EdDSA is deprecated via RFC 9864", category=SecurityWarning)
