"""Scopes, the claims each releases, and the words a citizen reads on the consent page."""

from __future__ import annotations

from ..models import Citizen

# scope → claims released by userinfo (OIDC Core §5.4, plus the province's own `citizen`).
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "openid": ("sub",),
    "profile": ("name", "family_name", "given_name", "birthdate", "gender", "locale", "updated_at"),
    "email": ("email", "email_verified"),
    "phone": ("phone_number", "phone_number_verified"),
    "address": ("address",),
    "offline_access": (),
    "citizen": ("citizen_id",),
}
STANDARD_SCOPES = tuple(SCOPE_CLAIMS)
# Scopes about a citizen: meaningless (and refused) for a client_credentials token.
CITIZEN_SCOPES = frozenset(STANDARD_SCOPES)

# What the consent page says for each scope: Vietnamese first, English second.
SCOPE_LABELS: dict[str, dict[str, str]] = {
    "openid": {
        "vi": "Biết bạn là ai (mã định danh riêng cho cổng này)",
        "en": "Know who you are (an identifier for this portal)",
    },
    "profile": {"vi": "Họ tên, ngày sinh, giới tính", "en": "Your name, date of birth and gender"},
    "email": {"vi": "Địa chỉ thư điện tử (email)", "en": "Your email address"},
    "phone": {"vi": "Số điện thoại", "en": "Your phone number"},
    "address": {"vi": "Địa chỉ nơi ở", "en": "Your home address"},
    "offline_access": {
        "vi": "Giữ kết nối khi bạn không dùng cổng (không cần đăng nhập lại)",
        "en": "Stay connected when you are not using the portal",
    },
    "citizen": {"vi": "Số căn cước công dân (CCCD)", "en": "Your citizen ID (CCCD) number"},
}


def scope_label(scope: str, locale: str) -> str:
    return SCOPE_LABELS.get(scope, {}).get(locale, scope)


def all_claims() -> list[str]:
    return sorted(
        {c for claims in SCOPE_CLAIMS.values() for c in claims}
        | {"iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash"}
    )


def userinfo(citizen: Citizen, scopes: set[str], subject: str | None = None) -> dict:
    """The claims the granted scopes release, and nothing more. ``subject``: the `sub` the portal
    knows the citizen by (pairwise), if not the public one."""
    info: dict = {"sub": subject or citizen.subject}
    if "profile" in scopes:
        info.update(
            name=citizen.full_name,
            family_name=citizen.family_name,
            given_name=citizen.given_name,
            birthdate=citizen.birth_date.isoformat(),
            gender=citizen.gender,
            locale=citizen.locale,
            updated_at=citizen.updated_at,
        )
    if "email" in scopes and citizen.email:
        info.update(email=citizen.email, email_verified=bool(citizen.email_verified))
    if "phone" in scopes and citizen.phone:
        info.update(phone_number=citizen.phone, phone_number_verified=bool(citizen.phone_verified))
    if "address" in scopes and citizen.address:
        info["address"] = {"formatted": citizen.address, "country": "VN"}
    if "citizen" in scopes:
        info["citizen_id"] = citizen.citizen_id
    return info
