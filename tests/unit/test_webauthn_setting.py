"""IDP_WEBAUTHN_RP_ID: a passkey domain the issuer does not belong to stops start-up."""

from __future__ import annotations

import pytest

from idp.config import ConfigError, Settings


def test_the_issuer_host_or_a_parent_domain_is_accepted():
    issuer = "https://id.thainguyen.gov.vn"
    assert Settings.from_env({"IDP_ISSUER": issuer}).webauthn_rp_id is None
    for rp_id in ("id.thainguyen.gov.vn", "thainguyen.gov.vn"):
        assert Settings.from_env({"IDP_ISSUER": issuer, "IDP_WEBAUTHN_RP_ID": rp_id}).webauthn_rp_id == rp_id


@pytest.mark.parametrize("rp_id", ["example.com", "n.gov.vn", "other.id.thainguyen.gov.vn"])
def test_a_foreign_domain_is_refused_with_a_clear_message(rp_id):
    with pytest.raises(ConfigError, match="IDP_WEBAUTHN_RP_ID"):
        Settings.from_env({"IDP_ISSUER": "https://id.thainguyen.gov.vn", "IDP_WEBAUTHN_RP_ID": rp_id})
