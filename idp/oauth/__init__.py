"""The protocol layer on Authlib: grants, tokens, claims, discovery, logout. Knows no HTML."""
