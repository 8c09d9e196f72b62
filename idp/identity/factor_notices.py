"""The message a citizen gets when their second factors change (ASVS V2.5.5): whoever made the
change, the owner hears of it on every verified contact and can act if it was not them.
Vietnamese first; SMS without diacritics (see notices.py for why)."""

from __future__ import annotations

from ..notify import Message

BRAND = "Thai Nguyen ID"

# change → (SMS words, email Vietnamese, email English)
CHANGES = {
    "totp_enrolled": (
        "da them ung dung xac thuc",
        "đã thêm ứng dụng xác thực",
        "an authenticator app was added",
    ),
    "totp_removed": (
        "da go ung dung xac thuc",
        "đã gỡ ứng dụng xác thực",
        "the authenticator app was removed",
    ),
    "recovery_codes_regenerated": (
        "da tao ma du phong moi",
        "đã tạo mã dự phòng mới",
        "new recovery codes were made",
    ),
    "passkey_added": ("da them khoa truy cap", "đã thêm khoá truy cập (passkey)", "a passkey was added"),
    "passkey_removed": ("da go khoa truy cap", "đã gỡ khoá truy cập (passkey)", "a passkey was removed"),
}


def factor_changed(channel: str, to: str, change: str) -> Message:
    sms, vi, en = CHANGES[change]
    if channel == "sms":
        text = (
            f"{BRAND}: Tai khoan cua ban {sms}. Neu khong phai ban, hay doi mat khau ngay "
            f"hoac den UBND xa/phuong. / Your account: {en}. If it was not you, change your password now."
        )
        return Message(to=to, subject=BRAND, text=text)
    return Message(
        to=to,
        subject="Bảo mật đăng nhập Thai Nguyen ID đã thay đổi / Your Thai Nguyen ID login security changed",
        text=(
            f"Xin chào,\n\nTài khoản Thai Nguyen ID của bạn vừa có thay đổi: {vi}.\n"
            "Nếu không phải bạn, hãy đổi mật khẩu ngay và liên hệ UBND xã/phường.\n\n---\n\n"
            f"Hello,\n\nYour Thai Nguyen ID account just changed: {en}.\n"
            "If it was not you, change your password now and contact your commune's people's committee.\n"
        ),
    )
