"""What we write to a citizen's phone or mailbox, Vietnamese first, English second.

SMS are written without Vietnamese diacritics, as Vietnamese brand-name SMS are: with them a
message is sent as UCS-2, 70 characters a part instead of 160, and some older phones show boxes.
Emails keep the diacritics. Every code message says how long it lasts and not to share it,
because the usual fraud is a caller asking the citizen to read a code out.
"""

from __future__ import annotations

from ..notify import Message

BRAND = "Thai Nguyen ID"

_SMS_CODE = {
    "verify_phone": (
        "{brand}: Ma xac minh so dien thoai cua ban la {code}, co hieu luc {minutes} phut. "
        "Khong dua ma nay cho bat ky ai. / Your phone verification code is {code} "
        "({minutes} min). Never share it."
    ),
    "reset_password": (
        "{brand}: Ma dat lai mat khau cua ban la {code}, co hieu luc {minutes} phut. "
        "Khong dua ma nay cho bat ky ai, ke ca nguoi xung la can bo. Neu ban khong yeu cau, hay bo qua. "
        "/ Your password reset code is {code} ({minutes} min). Never share it."
    ),
}

_EMAIL_CODE = {
    "verify_email": (
        "Mã xác minh email Thai Nguyen ID / Your Thai Nguyen ID email code",
        "Xin chào,\n\nMã xác minh địa chỉ email của bạn là: {code}\n"
        "Mã có hiệu lực trong {minutes} phút. Không đưa mã này cho bất kỳ ai.\n"
        "Nếu bạn không đăng ký Thai Nguyen ID, hãy bỏ qua thư này.\n\n"
        "---\n\nHello,\n\nThe code to verify your email address is: {code}\n"
        "It is valid for {minutes} minutes. Never share it with anyone.\n"
        "If you did not sign up for Thai Nguyen ID, please ignore this email.\n",
    ),
    "reset_password": (
        "Mã đặt lại mật khẩu Thai Nguyen ID / Your Thai Nguyen ID password reset code",
        "Xin chào,\n\nMã đặt lại mật khẩu của bạn là: {code}\n"
        "Mã có hiệu lực trong {minutes} phút. Không đưa mã này cho bất kỳ ai, kể cả người xưng là "
        "cán bộ.\nNếu bạn không yêu cầu đặt lại mật khẩu, hãy bỏ qua thư này: mật khẩu của bạn "
        "không thay đổi.\n\n---\n\nHello,\n\nYour password reset code is: {code}\n"
        "It is valid for {minutes} minutes. Never share it with anyone, even someone who says they "
        "are an official.\nIf you did not ask to reset your password, ignore this email: your "
        "password has not changed.\n",
    ),
}


def code_message(purpose: str, channel: str, to: str, code: str, ttl_seconds: int) -> Message:
    minutes = max(1, ttl_seconds // 60)
    if channel == "sms":
        text = _SMS_CODE[purpose].format(brand=BRAND, code=code, minutes=minutes)
        return Message(to=to, subject=BRAND, text=text)
    subject, body = _EMAIL_CODE[purpose]
    return Message(to=to, subject=subject, text=body.format(code=code, minutes=minutes))


def already_registered(channel: str, to: str) -> Message:
    """Sent instead of a code when a registration names a CCCD number, phone or email that an
    account already has: the person holding this phone learns it, the web page does not."""
    if channel == "sms":
        return Message(
            to=to,
            subject=BRAND,
            text=(
                f"{BRAND}: Khong the tao tai khoan: so CCCD, so dien thoai hoac email ban nhap da "
                "duoc dung cho mot tai khoan. Neu do la ban, hay dang nhap hoac chon 'Quen mat khau'. "
                "Neu can giup, hay den UBND xa/phuong. / Could not create the account: the CCCD "
                "number, phone or email is already used. If it is yours, log in or use "
                "'Forgot password'."
            ),
        )
    return Message(
        to=to,
        subject=(
            "Có người muốn tạo tài khoản bằng thông tin của bạn / "
            "Someone tried to sign up with your details"
        ),
        text=(
            "Xin chào,\n\nCó người vừa đăng ký Thai Nguyen ID bằng số CCCD, số điện thoại hoặc email "
            "đã được dùng cho tài khoản của bạn. Chúng tôi không tạo tài khoản mới.\n"
            "Nếu đó là bạn, hãy đăng nhập hoặc chọn \"Quên mật khẩu?\". Nếu không phải bạn, bạn không "
            "cần làm gì; nếu thấy lạ, hãy liên hệ UBND xã/phường nơi bạn sống.\n\n---\n\n"
            "Hello,\n\nSomeone just tried to sign up for Thai Nguyen ID with a CCCD number, phone "
            "or email that your account already uses. No new account was created.\n"
            "If it was you, log in or choose \"Forgot password?\". If not, you need to do nothing; "
            "if it worries you, contact your commune's people's committee.\n"
        ),
    )


def password_changed(channel: str, to: str) -> Message:
    """After a reset or a change: the owner hears of it even if someone else did it."""
    if channel == "sms":
        text = (
            f"{BRAND}: Mat khau cua ban vua duoc doi. Neu khong phai ban, "
            "hay chon 'Quen mat khau' ngay hoac den UBND xa/phuong. / Your password was just "
            "changed. If it was not you, use 'Forgot password' now."
        )
        return Message(to=to, subject=BRAND, text=text)
    return Message(
        to=to,
        subject="Mật khẩu Thai Nguyen ID đã được đổi / Your Thai Nguyen ID password was changed",
        text=(
            "Xin chào,\n\nMật khẩu Thai Nguyen ID của bạn vừa được đổi. Nếu không phải bạn, hãy chọn "
            "\"Quên mật khẩu?\" ngay để đặt mật khẩu mới, hoặc liên hệ UBND xã/phường.\n\n---\n\n"
            "Hello,\n\nYour Thai Nguyen ID password was just changed. If it was not you, choose "
            "\"Forgot password?\" now to set a new one, or contact your commune's people's committee.\n"
        ),
    )
