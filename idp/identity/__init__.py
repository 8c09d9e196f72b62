"""The citizen domain: CCCD rules, passwords, accounts, browser sessions, consent."""
