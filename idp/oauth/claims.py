"""Scopes, the claims each releases, and the words a citizen reads on the consent page."""

from __future__ import annotations

from flask import has_app_context
from flask_babel import force_locale, pgettext

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


# What the consent page says for each scope: the Vietnamese msgid (English in messages.po).
def NC_(context: str, text: str) -> tuple[str, str]:
    return context, text


SCOPE_LABELS: dict[str, tuple[str, str]] = {
    "openid": NC_("scope", "Biết bạn là ai (mã định danh riêng cho cổng này)"),
    "profile": NC_("scope", "Họ tên, ngày sinh, giới tính"),
    "email": NC_("scope", "Địa chỉ thư điện tử (email)"),
    "phone": NC_("scope", "Số điện thoại"),
    "address": NC_("scope", "Địa chỉ nơi ở"),
    "offline_access": NC_("scope", "Giữ kết nối khi bạn không dùng cổng (không cần đăng nhập lại)"),
    "citizen": NC_("scope", "Số căn cước công dân (CCCD)"),
}


def scope_label(scope: str, locale: str) -> str:
    """What a scope gives, in plain words, in ``locale`` (the consent and account pages)."""
    if scope not in SCOPE_LABELS:
        return scope
    label = _LABELS.get((scope, locale))
    if label is None:
        with force_locale(locale):  # costly (the catalogue is found again): once per process
            label = pgettext(*SCOPE_LABELS[scope])
        if has_app_context():  # outside one there is no catalogue: the Vietnamese, not kept
            _LABELS[scope, locale] = label
    return label


_LABELS: dict[tuple[str, str], str] = {}


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
