"""The words on the pages, Vietnamese first, and how the language of a page is chosen.

Two languages and a few dozen strings: a dictionary is clearer here than gettext catalogues
that need a compile step before the service can start.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from flask import Response, g, request
from werkzeug.exceptions import HTTPException

from ..services import services

LOCALES = ("vi", "en")
VIETNAM = dt.timezone(dt.timedelta(hours=7), "ICT")

MESSAGES: dict[str, dict[str, str]] = {
    "site_name": {"vi": "Thai Nguyen ID", "en": "Thai Nguyen ID"},
    "tagline": {
        "vi": "Định danh số công dân tỉnh Thái Nguyên",
        "en": "Digital identity for the citizens of Thai Nguyen province",
    },
    "login_title": {"vi": "Đăng nhập", "en": "Log in"},
    "login_for": {"vi": "để tiếp tục vào", "en": "to continue to"},
    "identifier": {
        "vi": "Số CCCD, số điện thoại hoặc email",
        "en": "Citizen ID (CCCD) number, phone number or email",
    },
    "identifier_help": {
        "vi": "Ví dụ: 019090001234 hoặc 0912345678",
        "en": "For example: 019090001234 or 0912345678",
    },
    "password": {"vi": "Mật khẩu", "en": "Password"},
    "login_button": {"vi": "Đăng nhập", "en": "Log in"},
    "login_failed": {
        "vi": "Thông tin đăng nhập không đúng. Vui lòng kiểm tra và thử lại.",
        "en": "The login details are not right. Please check them and try again.",
    },
    "login_missing": {
        "vi": "Vui lòng nhập đủ tài khoản và mật khẩu.",
        "en": "Please enter both your account and your password.",
    },
    "consent_title": {"vi": "Cho phép chia sẻ thông tin", "en": "Allow sharing your information"},
    "consent_intro": {
        "vi": "muốn được biết các thông tin sau của bạn:",
        "en": "would like to know the following about you:",
    },
    "consent_note": {
        "vi": "Bạn có thể rút lại sự đồng ý này bất cứ lúc nào tại trang tài khoản Thai Nguyen ID.",
        "en": "You can withdraw this permission at any time on your Thai Nguyen ID account page.",
    },
    "allow": {"vi": "Đồng ý", "en": "Allow"},
    "deny": {"vi": "Từ chối", "en": "Deny"},
    "logged_in_as": {"vi": "Bạn đang đăng nhập là", "en": "You are logged in as"},
    "not_you": {"vi": "Không phải bạn? Đăng xuất", "en": "Not you? Log out"},
    "logout_title": {"vi": "Đăng xuất", "en": "Log out"},
    "logout_question": {
        "vi": "Bạn có muốn đăng xuất khỏi Thai Nguyen ID không?",
        "en": "Do you want to log out of Thai Nguyen ID?",
    },
    "logout_button": {"vi": "Đăng xuất", "en": "Log out"},
    "logged_out": {
        "vi": "Bạn đã đăng xuất. Hãy đóng trình duyệt nếu dùng máy chung.",
        "en": "You are logged out. Close the browser if this is a shared device.",
    },
    "logging_out_of_portals": {
        "vi": "Đang đăng xuất khỏi các cổng dịch vụ bạn đã dùng…",
        "en": "Logging you out of the portals you used…",
    },
    "back_to_portal": {"vi": "Quay lại cổng dịch vụ", "en": "Back to the portal"},
    "device_title": {"vi": "Đăng nhập trên máy kiosk", "en": "Log in on a kiosk"},
    "device_enter": {
        "vi": "Nhập mã hiện trên màn hình máy kiosk (8 chữ cái).",
        "en": "Type the code shown on the kiosk screen (8 letters).",
    },
    "device_code_label": {"vi": "Mã trên máy kiosk", "en": "Code on the kiosk"},
    "device_code_unknown": {
        "vi": "Mã không đúng hoặc đã hết hạn. Hãy xem lại mã trên máy kiosk.",
        "en": "This code is wrong or has expired. Check the code on the kiosk.",
    },
    "device_check": {
        "vi": "Hãy chắc chắn mã này giống mã trên máy kiosk trước mặt bạn:",
        "en": "Make sure this code is the one on the kiosk in front of you:",
    },
    "device_done": {
        "vi": "Xong. Máy kiosk sẽ tiếp tục trong vài giây. Nhớ đăng xuất trên máy kiosk khi dùng xong.",
        "en": "Done. The kiosk continues in a few seconds. Remember to log out on the kiosk when you finish.",
    },
    "device_denied": {
        "vi": "Bạn đã từ chối. Máy kiosk sẽ không được đăng nhập.",
        "en": "You said no. The kiosk will not be logged in.",
    },
    "connected_portals": {"vi": "Các cổng dịch vụ bạn đã cho phép", "en": "Portals you share with"},
    "withdraw": {"vi": "Rút lại sự đồng ý", "en": "Stop sharing"},
    "no_portals": {"vi": "Bạn chưa cho phép cổng dịch vụ nào.", "en": "You do not share with any portal."},
    "home_title": {"vi": "Tài khoản Thai Nguyen ID", "en": "Thai Nguyen ID account"},
    "home_anonymous": {"vi": "Bạn chưa đăng nhập.", "en": "You are not logged in."},
    # --- registration, verification codes, password reset and change (idp/web/signup.py, recovery.py)
    "register_link": {"vi": "Chưa có tài khoản? Tạo tài khoản", "en": "No account yet? Create an account"},
    "forgot_link": {"vi": "Quên mật khẩu?", "en": "Forgot password?"},
    "register_title": {"vi": "Tạo tài khoản", "en": "Create an account"},
    "register_for": {"vi": "rồi tiếp tục vào", "en": "then continue to"},
    "register_intro": {
        "vi": "Điền thông tin đúng như trên thẻ căn cước (CCCD) của bạn. Chúng tôi sẽ gửi một mã "
        "gồm 6 chữ số đến số điện thoại của bạn để xác minh.",
        "en": "Fill in your details exactly as on your citizen ID (CCCD) card. We will send a "
        "6-digit code to your phone to check it is yours.",
    },
    "register_fix": {
        "vi": "Có thông tin chưa đúng. Vui lòng sửa các ô được đánh dấu bên dưới.",
        "en": "Some details are not right. Please correct the fields marked below.",
    },
    "reg_full_name": {"vi": "Họ và tên", "en": "Full name"},
    "reg_full_name_help": {"vi": "Ví dụ: Nguyễn Thị Lan", "en": "For example: Nguyễn Thị Lan"},
    "reg_citizen_id": {"vi": "Số CCCD (12 chữ số)", "en": "Citizen ID (CCCD) number (12 digits)"},
    "reg_citizen_id_help": {
        "vi": "In ở mặt trước thẻ căn cước, ví dụ 019190001234.",
        "en": "Printed on the front of your ID card, for example 019190001234.",
    },
    "reg_birth_date": {"vi": "Ngày sinh", "en": "Date of birth"},
    "reg_birth_date_help": {
        "vi": "Ngày/tháng/năm, ví dụ 25/11/1990.",
        "en": "Day/month/year, for example 25/11/1990.",
    },
    "reg_gender": {"vi": "Giới tính", "en": "Gender"},
    "reg_gender_male": {"vi": "Nam", "en": "Male"},
    "reg_gender_female": {"vi": "Nữ", "en": "Female"},
    "reg_phone": {"vi": "Số điện thoại di động", "en": "Mobile phone number"},
    "reg_phone_help": {
        "vi": "Ví dụ: 0912345678. Mã xác minh sẽ được gửi đến số này.",
        "en": "For example: 0912345678. The verification code is sent to this number.",
    },
    "reg_email": {"vi": "Email (không bắt buộc)", "en": "Email (optional)"},
    "reg_email_help": {
        "vi": "Có email, bạn có thêm một cách lấy lại mật khẩu.",
        "en": "With an email you have a second way to get back into your account.",
    },
    "new_password_label": {"vi": "Mật khẩu mới", "en": "New password"},
    "password_rule": {
        "vi": "Ít nhất 10 ký tự. Nên dùng một câu dễ nhớ, ví dụ \"nha toi o gan cho dong quang\". "
        "Không dùng mật khẩu quá phổ biến, số CCCD hay số điện thoại.",
        "en": "At least 10 characters. A sentence you remember works well, for example "
        "\"my house is near the market\". No common passwords, CCCD or phone numbers.",
    },
    "password_confirm_label": {"vi": "Nhập lại mật khẩu", "en": "Type the password again"},
    "register_button": {"vi": "Tạo tài khoản", "en": "Create account"},
    "register_have_account": {"vi": "Đã có tài khoản? Đăng nhập", "en": "Already have an account? Log in"},
    "err_name": {"vi": "Vui lòng nhập họ và tên.", "en": "Please enter your full name."},
    "err_gender": {"vi": "Vui lòng chọn giới tính.", "en": "Please choose your gender."},
    "err_birth_date": {
        "vi": "Vui lòng nhập ngày sinh đúng dạng ngày/tháng/năm.",
        "en": "Please enter your date of birth as day/month/year.",
    },
    "err_cccd_shape": {
        "vi": "Số CCCD gồm đúng 12 chữ số, bắt đầu bằng mã tỉnh nơi đăng ký khai sinh.",
        "en": "A CCCD number has exactly 12 digits and starts with a province code.",
    },
    "err_cccd_mismatch": {
        "vi": "Số CCCD không khớp với ngày sinh hoặc giới tính đã nhập. Vui lòng kiểm tra lại cả ba.",
        "en": "The CCCD number does not match the date of birth or gender. Please check all three.",
    },
    "err_phone": {
        "vi": "Số điện thoại chưa đúng. Ví dụ đúng: 0912345678.",
        "en": "This phone number is not right. For example: 0912345678.",
    },
    "err_email": {
        "vi": "Địa chỉ email chưa đúng. Ví dụ đúng: ten@example.com.",
        "en": "This email address is not right. For example: name@example.com.",
    },
    "pw_too_short": {
        "vi": "Mật khẩu cần ít nhất 10 ký tự.",
        "en": "The password needs at least 10 characters.",
    },
    "pw_too_long": {
        "vi": "Mật khẩu dài quá 128 ký tự.",
        "en": "The password is longer than 128 characters.",
    },
    "pw_common": {
        "vi": "Mật khẩu này quá phổ biến, kẻ gian đoán được ngay. Vui lòng chọn mật khẩu khác.",
        "en": "This password is too common: it is among the first ones guessed. Please choose another.",
    },
    "pw_personal": {
        "vi": "Mật khẩu không được là số CCCD, số điện thoại, email hay họ tên của bạn.",
        "en": "The password must not be your CCCD number, phone number, email or name.",
    },
    "pw_mismatch": {
        "vi": "Hai lần nhập mật khẩu không giống nhau.",
        "en": "The two passwords you typed are not the same.",
    },
    "pw_same": {
        "vi": "Mật khẩu mới phải khác mật khẩu hiện tại.",
        "en": "The new password must be different from the current one.",
    },
    "verify_phone_title": {"vi": "Xác minh số điện thoại", "en": "Confirm your phone number"},
    "verify_email_title": {"vi": "Xác minh email", "en": "Confirm your email"},
    "verify_sent_sms": {
        "vi": "Chúng tôi đã gửi tin nhắn có mã gồm 6 chữ số đến số",
        "en": "We have sent a text message with a 6-digit code to",
    },
    "verify_sent_email": {
        "vi": "Chúng tôi đã gửi thư có mã gồm 6 chữ số đến địa chỉ",
        "en": "We have sent an email with a 6-digit code to",
    },
    "code_label": {"vi": "Mã gồm 6 chữ số", "en": "6-digit code"},
    "code_help": {
        "vi": "Mã chỉ dùng được trong ít phút. Không đưa mã cho bất kỳ ai, kể cả người xưng là cán bộ.",
        "en": "The code only lasts a few minutes. Never give it to anyone, even someone who says "
        "they are an official.",
    },
    "verify_button": {"vi": "Xác minh", "en": "Confirm"},
    "resend_button": {"vi": "Gửi lại mã", "en": "Send a new code"},
    "send_code_button": {"vi": "Gửi mã cho tôi", "en": "Send me a code"},
    "verify_send_first": {
        "vi": "Bấm \"Gửi mã cho tôi\", chúng tôi sẽ gửi một mã gồm 6 chữ số đến",
        "en": "Press \"Send me a code\" and we will send a 6-digit code to",
    },
    "verify_later": {"vi": "Để sau", "en": "Later"},
    "code_sent": {
        "vi": "Đã gửi mã. Vui lòng xem tin nhắn hoặc hộp thư.",
        "en": "Code sent. Please check your messages.",
    },
    "code_sent_again": {
        "vi": "Đã gửi mã mới. Mã cũ không dùng được nữa.",
        "en": "A new code is on its way. The old code no longer works.",
    },
    "code_not_delivered": {
        "vi": "Chưa gửi được mã do lỗi hệ thống nhắn tin. Vui lòng bấm \"Gửi lại mã\" sau ít phút.",
        "en": "We could not send the code because of a messaging fault. Please press \"Send a new code\" "
        "in a few minutes.",
    },
    "code_wrong": {
        "vi": "Mã chưa đúng. Bạn còn {n} lần thử.",
        "en": "That code is not right. You have {n} tries left.",
    },
    "code_locked": {
        "vi": "Bạn đã nhập sai quá nhiều lần. Vui lòng bấm \"Gửi lại mã\" để nhận mã mới.",
        "en": "Too many wrong tries. Please press \"Send a new code\" to get a new one.",
    },
    "code_expired": {
        "vi": "Mã đã hết hạn. Vui lòng bấm \"Gửi lại mã\" để nhận mã mới.",
        "en": "The code has expired. Please press \"Send a new code\" to get a new one.",
    },
    "code_none": {
        "vi": "Mã này không dùng được nữa. Vui lòng bấm \"Gửi lại mã\" để nhận mã mới.",
        "en": "This code cannot be used any more. Please press \"Send a new code\" to get a new one.",
    },
    "code_malformed": {
        "vi": "Vui lòng nhập đủ 6 chữ số trong tin nhắn.",
        "en": "Please type the 6 digits from the message.",
    },
    "code_wait_seconds": {
        "vi": "Mã vừa được gửi. Vui lòng đợi {n} giây rồi mới xin mã mới.",
        "en": "A code was just sent. Please wait {n} seconds before asking for a new one.",
    },
    "code_wait_minutes": {
        "vi": "Bạn đã xin nhiều mã. Vui lòng đợi {n} phút rồi thử lại.",
        "en": "You have asked for many codes. Please wait {n} minutes and try again.",
    },
    "forgot_title": {"vi": "Quên mật khẩu", "en": "Forgot your password"},
    "forgot_intro": {
        "vi": "Nhập số CCCD, số điện thoại hoặc email của tài khoản. Chúng tôi sẽ gửi mã đặt lại mật "
        "khẩu đến số điện thoại hoặc email bạn đã xác minh.",
        "en": "Enter the CCCD number, phone number or email of your account. We will send a reset code "
        "to the phone or email you have confirmed.",
    },
    "forgot_button": {"vi": "Gửi mã", "en": "Send code"},
    "forgot_missing": {
        "vi": "Vui lòng nhập số CCCD, số điện thoại hoặc email.",
        "en": "Please enter a CCCD number, phone number or email.",
    },
    "forgot_no_contact": {
        "vi": "Không còn dùng số điện thoại và email cũ? Hãy mang thẻ CCCD đến bộ phận một cửa của xã, "
        "phường để được giúp.",
        "en": "No longer have that phone or email? Bring your CCCD card to the one-stop office of your "
        "commune or ward for help.",
    },
    "back_to_login": {"vi": "Quay lại đăng nhập", "en": "Back to log in"},
    "reset_title": {"vi": "Đặt mật khẩu mới", "en": "Choose a new password"},
    "reset_intro": {
        "vi": "Nếu thông tin bạn nhập khớp với một tài khoản có số điện thoại hoặc email đã xác minh, "
        "chúng tôi vừa gửi mã gồm 6 chữ số đến đó. Nhập mã và mật khẩu mới bên dưới.",
        "en": "If what you entered matches an account with a confirmed phone or email, we have just sent "
        "a 6-digit code there. Enter it and your new password below.",
    },
    "reset_signs_out": {
        "vi": "Sau khi đổi, mọi thiết bị và cổng dịch vụ đang đăng nhập bằng tài khoản này sẽ bị đăng xuất.",
        "en": "Afterwards, every device and portal signed in with this account is signed out.",
    },
    "reset_button": {"vi": "Đặt mật khẩu mới", "en": "Set new password"},
    "reset_no_code": {"vi": "Không nhận được mã? Thử lại", "en": "No code? Try again"},
    "reset_done": {
        "vi": "Đã đổi mật khẩu. Vui lòng đăng nhập bằng mật khẩu mới.",
        "en": "Your password has been changed. Please log in with the new one.",
    },
    "change_password_title": {"vi": "Đổi mật khẩu", "en": "Change password"},
    "current_password_label": {"vi": "Mật khẩu hiện tại", "en": "Current password"},
    "change_signs_out": {
        "vi": "Sau khi đổi, các thiết bị khác đang đăng nhập sẽ bị đăng xuất; thiết bị này vẫn đăng nhập.",
        "en": "Afterwards, your other signed-in devices are signed out; this one stays signed in.",
    },
    "change_button": {"vi": "Đổi mật khẩu", "en": "Change password"},
    "change_current_missing": {
        "vi": "Vui lòng nhập mật khẩu hiện tại.",
        "en": "Please enter your current password.",
    },
    "change_current_wrong": {
        "vi": "Mật khẩu hiện tại chưa đúng.",
        "en": "The current password is not right.",
    },
    "change_done": {"vi": "Đã đổi mật khẩu.", "en": "Your password has been changed."},
    "back_to_account": {"vi": "Quay lại tài khoản", "en": "Back to my account"},
    # --- "Tài khoản của tôi" (idp/web/account.py, templates/account/) ----------------------------
    "home_intro": {
        "vi": "Một tài khoản để dùng mọi cổng dịch vụ công của tỉnh Thái Nguyên.",
        "en": "One account for every public-service portal of Thai Nguyen province.",
    },
    "home_go_account": {"vi": "Vào Tài khoản của tôi", "en": "Go to My account"},
    "account_title": {"vi": "Tài khoản của tôi", "en": "My account"},
    "account_menu": {"vi": "Các mục của tài khoản", "en": "Account sections"},
    # Menu labels short enough for two columns on a 360-px phone; the pages' titles say more.
    "menu_profile": {"vi": "Thông tin của tôi", "en": "My details"},
    "menu_security": {"vi": "Bảo mật", "en": "Security"},
    "menu_password": {"vi": "Mật khẩu", "en": "Password"},
    "menu_sessions": {"vi": "Thiết bị", "en": "Devices"},
    "menu_portals": {"vi": "Cổng đã kết nối", "en": "Portals"},
    "menu_history": {"vi": "Lịch sử chia sẻ", "en": "Sharing history"},
    "field_full_name": {"vi": "Họ và tên", "en": "Full name"},
    "field_citizen_id": {"vi": "Số CCCD", "en": "Citizen ID (CCCD) number"},
    "field_birth_date": {"vi": "Ngày sinh", "en": "Date of birth"},
    "field_gender": {"vi": "Giới tính", "en": "Gender"},
    "gender_male": {"vi": "Nam", "en": "Male"},
    "gender_female": {"vi": "Nữ", "en": "Female"},
    "field_phone": {"vi": "Số điện thoại", "en": "Phone number"},
    "field_email": {"vi": "Email", "en": "Email"},
    "field_address": {"vi": "Địa chỉ", "en": "Address"},
    "field_identity_check": {"vi": "Kiểm tra giấy tờ trực tiếp", "en": "Identity checked in person"},
    "verified": {"vi": "Đã xác minh", "en": "Verified"},
    "not_verified": {"vi": "Chưa xác minh", "en": "Not verified"},
    "verify_now": {"vi": "Xác minh ngay", "en": "Verify it now"},
    "not_given": {"vi": "Chưa có", "en": "Not given"},
    "identity_checked_on": {"vi": "lúc {at}", "en": "at {at}"},
    "identity_not_checked": {
        "vi": "Chưa. Mang CCCD đến bộ phận một cửa để được kiểm tra (cần cho một số dịch vụ).",
        "en": "Not yet. Bring your CCCD card to a one-stop office to have it checked (some services "
        "need it).",
    },
    "change_title": {"vi": "Muốn sửa thông tin?", "en": "Need to change something?"},
    "change_identity": {
        "vi": "Họ tên, ngày sinh, giới tính và số CCCD được lấy theo thẻ căn cước của bạn. "
        "Muốn sửa, hãy mang thẻ CCCD đến bộ phận một cửa của xã, phường.",
        "en": "Your name, date of birth, gender and CCCD number follow your citizen ID card. "
        "To correct them, bring the card to the one-stop office of your commune or ward.",
    },
    "change_contacts": {
        "vi": "Muốn đổi số điện thoại hoặc email, hãy nhờ bộ phận một cửa hoặc tổ công nghệ số cộng đồng.",
        "en": "To change your phone number or email, ask the one-stop office or the community "
        "digital-technology team.",
    },
    "sessions_title": {"vi": "Thiết bị đang đăng nhập", "en": "Signed-in devices"},
    "sessions_intro": {
        "vi": "Đây là các điện thoại, máy tính đang đăng nhập vào tài khoản của bạn.",
        "en": "These are the phones and computers signed in to your account.",
    },
    "sessions_advice": {
        "vi": "Thấy thiết bị lạ? Hãy đăng xuất thiết bị đó rồi đổi mật khẩu ngay.",
        "en": "See a device you do not know? Sign it out, then change your password at once.",
    },
    "this_device": {"vi": "Thiết bị bạn đang dùng", "en": "This device"},
    "signed_in_at": {"vi": "Đăng nhập lúc {at}", "en": "Signed in at {at}"},
    "ip_address": {"vi": "Địa chỉ mạng (IP)", "en": "Network address (IP)"},
    "signed_in_with": {"vi": "Đăng nhập bằng", "en": "Signed in with"},
    "sign_out_device": {"vi": "Đăng xuất thiết bị này", "en": "Sign out this device"},
    "sign_out_this_device": {"vi": "Đăng xuất khỏi thiết bị bạn đang dùng", "en": "Sign out of this device"},
    "sign_out_others": {"vi": "Đăng xuất tất cả thiết bị khác", "en": "Sign out all other devices"},
    "devices_signed_out": {"vi": "Đã đăng xuất {n} thiết bị.", "en": "Signed out {n} device(s)."},
    "device_on": {"vi": "trên", "en": "on"},
    "device_unknown": {"vi": "Thiết bị không rõ tên", "en": "Unknown device"},
    "amr_pwd": {"vi": "mật khẩu", "en": "password"},
    "amr_otp": {"vi": "mã từ ứng dụng xác thực", "en": "authenticator app code"},
    "amr_passkey": {"vi": "khoá truy cập (passkey)", "en": "passkey"},
    "portals_title": {"vi": "Cổng dịch vụ bạn đã cho phép", "en": "Portals you share with"},
    "portals_intro": {
        "vi": "Các cổng dưới đây được phép nhận một số thông tin của bạn. Bạn có thể ngừng chia sẻ "
        "bất cứ lúc nào.",
        "en": "The portals below may receive some of your information. You can stop sharing at any time.",
    },
    "portal_may_receive": {"vi": "Được phép nhận:", "en": "May receive:"},
    "portal_allowed_since": {"vi": "Bạn cho phép lúc {at}.", "en": "You allowed this at {at}."},
    "portal_last_received": {"vi": "Lần nhận gần nhất, lúc {at}:", "en": "Last received, at {at}:"},
    "portal_nothing_yet": {
        "vi": "Cổng này chưa nhận thông tin nào.",
        "en": "This portal has received nothing yet.",
    },
    "portal_history_link": {
        "vi": "Xem mọi lần cổng này nhận thông tin",
        "en": "See every time this portal received information",
    },
    "withdraw_from": {"vi": "Ngừng chia sẻ với {portal}", "en": "Stop sharing with {portal}"},
    "withdraw_explained": {
        "vi": "Khi bạn ngừng chia sẻ, cổng đó mất quyền nhận thông tin của bạn ngay lập tức. "
        "Lần sau dùng cổng đó, bạn sẽ được hỏi lại.",
        "en": "When you stop sharing, the portal loses access to your information at once. "
        "Next time you use it, you will be asked again.",
    },
    "withdrawn_from": {
        "vi": "Đã ngừng chia sẻ với {portal}. Cổng này không còn nhận được thông tin của bạn.",
        "en": "You no longer share with {portal}. It can no longer receive your information.",
    },
    "history_title": {"vi": "Lịch sử chia sẻ thông tin", "en": "Sharing history"},
    "history_intro": {
        "vi": "Mỗi lần một cổng dịch vụ nhận thông tin của bạn, Thai Nguyen ID ghi lại tại đây (giờ "
        "Việt Nam).",
        "en": "Every time a portal receives your information, Thai Nguyen ID notes it here (Vietnam time).",
    },
    "history_all": {"vi": "Xem lịch sử của mọi cổng", "en": "See the history of every portal"},
    "history_received": {"vi": "đã nhận:", "en": "received:"},
    "history_allowed": {"vi": "Bạn cho phép {portal} nhận:", "en": "You allowed {portal} to receive:"},
    "history_withdrawn": {
        "vi": "Bạn đã ngừng chia sẻ với {portal}.",
        "en": "You stopped sharing with {portal}.",
    },
    "history_empty": {
        "vi": "Chưa có cổng nào nhận thông tin của bạn.",
        "en": "No portal has received your information yet.",
    },
    "portal_removed": {"vi": "Một cổng đã ngừng hoạt động", "en": "A portal that no longer exists"},
    "claim_sub": {"vi": "mã số riêng của bạn tại cổng này", "en": "your identifier for this portal"},
    "claim_name": {"vi": "họ và tên", "en": "name"},
    "claim_birthdate": {"vi": "ngày sinh", "en": "date of birth"},
    "claim_gender": {"vi": "giới tính", "en": "gender"},
    "claim_locale": {"vi": "ngôn ngữ bạn dùng", "en": "your language"},
    "claim_updated_at": {"vi": "lúc thông tin được cập nhật", "en": "when your details last changed"},
    "claim_email": {"vi": "email", "en": "email"},
    "claim_phone": {"vi": "số điện thoại", "en": "phone number"},
    "claim_address": {"vi": "địa chỉ", "en": "address"},
    "claim_citizen_id": {"vi": "số CCCD", "en": "CCCD number"},
    "claim_login": {"vi": "lúc và cách bạn đăng nhập", "en": "when and how you logged in"},
    # --- activation of an account made by a community team (idp/web/account.py /activate) -------
    "activate_title": {"vi": "Kích hoạt tài khoản", "en": "Activate your account"},
    "activate_intro": {
        "vi": "Tổ công nghệ số cộng đồng đã tạo tài khoản giúp bạn và đưa bạn một mã kích hoạt trên giấy. "
        "Nhập mã đó và chọn mật khẩu của riêng bạn.",
        "en": "A community digital-technology team created your account and gave you an activation "
        "code on paper. Type that code and choose your own password.",
    },
    "activate_code": {"vi": "Mã kích hoạt (12 số)", "en": "Activation code (12 digits)"},
    "activate_code_help": {"vi": "Ví dụ: 4821-0937-5512", "en": "For example: 4821-0937-5512"},
    "new_password": {"vi": "Mật khẩu mới", "en": "New password"},
    "new_password_help": {
        "vi": "Ít nhất 10 ký tự. Nên dùng một câu dễ nhớ, ví dụ: hoa sen nở trên hồ",
        "en": "At least 10 characters. A sentence you remember works well, e.g.: lotus blooms on the lake",
    },
    "activate_button": {"vi": "Kích hoạt", "en": "Activate"},
    "activate_missing": {
        "vi": "Vui lòng nhập đủ số CCCD, mã kích hoạt và mật khẩu mới.",
        "en": "Please enter your CCCD number, the activation code and a new password.",
    },
    "activate_failed": {
        "vi": "Số CCCD hoặc mã kích hoạt không đúng. Vui lòng kiểm tra lại tờ giấy và thử lại.",
        "en": "The CCCD number or the activation code is not right. Please check the paper and try again.",
    },
    "activate_dead": {
        "vi": "Mã kích hoạt này không còn dùng được (hết hạn hoặc nhập sai quá nhiều lần). "
        "Hãy nhờ tổ công nghệ số cộng đồng cấp mã mới.",
        "en": "This activation code no longer works (expired, or too many wrong tries). "
        "Ask the community digital-technology team for a new one.",
    },
    "activate_weak_too_short": {
        "vi": "Mật khẩu cần ít nhất 10 ký tự.",
        "en": "The password needs at least 10 characters.",
    },
    "activate_weak_too_long": {
        "vi": "Mật khẩu dài quá 128 ký tự.",
        "en": "The password is longer than 128 characters.",
    },
    "activate_weak_common": {
        "vi": "Mật khẩu này quá phổ biến, kẻ gian dễ đoán. Hãy chọn mật khẩu khác.",
        "en": "This password is too common and easy to guess. Please choose another.",
    },
    "activate_weak_personal": {
        "vi": "Mật khẩu không được là số CCCD, số điện thoại, email hay tên của bạn.",
        "en": "The password must not be your CCCD number, phone, email or name.",
    },
    "activate_done": {
        "vi": "Tài khoản đã được kích hoạt. Mời bạn đăng nhập bằng mật khẩu vừa chọn.",
        "en": "Your account is active. Please log in with the password you just chose.",
    },
    "activate_link": {
        "vi": "Tài khoản do tổ công nghệ số tạo giúp? Kích hoạt trước tại đây",
        "en": "Account created for you by a digital team? Activate it here first",
    },
    "error_title": {"vi": "Không thể tiếp tục", "en": "Something went wrong"},
    "error_back": {
        "vi": "Vui lòng quay lại cổng dịch vụ và thử lại.",
        "en": "Please go back to the portal and try again.",
    },
    "error_code": {"vi": "Mã lỗi", "en": "Error code"},
    "error_portal_request": {
        "vi": "Cổng dịch vụ đã gửi một yêu cầu đăng nhập không hợp lệ. Thông tin của bạn không bị ảnh hưởng.",
        "en": "The portal sent a login request that is not valid. Your information is not affected.",
    },
    "error_unexpected": {
        "vi": "Đã có lỗi ngoài ý muốn. Vui lòng thử lại sau ít phút.",
        "en": "Something unexpected went wrong. Please try again in a few minutes.",
    },
    "error_detail": {"vi": "Chi tiết cho cổng dịch vụ (tiếng Anh):", "en": "Details for the portal:"},
    "expired": {
        "vi": "Phiên đăng nhập đã hết hạn. Vui lòng bắt đầu lại từ cổng dịch vụ.",
        "en": "This login has expired. Please start again from the portal.",
    },
    "not_found": {"vi": "Không tìm thấy trang này.", "en": "This page does not exist."},
    "continue": {"vi": "Tiếp tục", "en": "Continue"},
    "form_post_note": {"vi": "Đang chuyển bạn về cổng dịch vụ…", "en": "Taking you back to the portal…"},
    "language": {"vi": "English", "en": "Tiếng Việt"},
    "unavailable": {
        "vi": "Hệ thống đang bận trong giây lát. Vui lòng thử lại sau ít giây.",
        "en": "The service is briefly unavailable. Please try again in a few seconds.",
    },
    "wait_seconds": {
        "vi": "Bạn đã nhập sai nhiều lần. Vui lòng đợi {n} giây rồi thử lại.",
        "en": "Too many wrong attempts. Please wait {n} seconds and try again.",
    },
    "wait_locked": {
        "vi": "Bạn đã nhập sai quá nhiều lần, tài khoản tạm khoá. Vui lòng thử lại sau {n} phút (lúc {at}).",
        "en": "Too many wrong attempts: login is paused. Please try again in {n} minutes (at {at}).",
    },
    "too_many_requests": {
        "vi": "Có quá nhiều yêu cầu từ thiết bị của bạn. Vui lòng thử lại sau {n} giây.",
        "en": "Too many requests from your device. Please try again in {n} seconds.",
    },
    # --- second factors and levels of assurance (idp/web/second_factor.py, security_settings.py)
    "mfa_title": {"vi": "Xác minh thêm một bước", "en": "One more step to confirm it is you"},
    "mfa_intro": {
        "vi": "Để bảo vệ tài khoản, hãy xác minh bằng một trong các cách bạn đã cài đặt.",
        "en": "To protect your account, confirm with one of the ways you have set up.",
    },
    "mfa_code": {"vi": "Mã 6 số trong ứng dụng xác thực", "en": "The 6-digit code in your authenticator app"},
    "mfa_code_help": {
        "vi": "Mở ứng dụng xác thực trên điện thoại và nhập mã đang hiện cho Thai Nguyen ID.",
        "en": "Open the authenticator app on your phone and type the code it shows for Thai Nguyen ID.",
    },
    "mfa_use_passkey": {"vi": "Dùng khoá truy cập (passkey)", "en": "Use a passkey"},
    "passkey_needs_js": {
        "vi": "Khoá truy cập cần bật JavaScript trong trình duyệt.",
        "en": "Passkeys need JavaScript to be turned on in the browser.",
    },
    "passkey_unsupported": {
        "vi": "Trình duyệt này không dùng được khoá truy cập, hoặc bạn đã huỷ. Hãy thử cách khác.",
        "en": "This browser cannot use passkeys, or you cancelled. Please try another way.",
    },
    "mfa_lost_phone": {
        "vi": "Mất điện thoại? Dùng mã dự phòng",
        "en": "Lost your phone? Use a recovery code",
    },
    "recovery_code": {"vi": "Mã dự phòng", "en": "Recovery code"},
    "recovery_code_help": {
        "vi": "Một trong 10 mã bạn đã lưu khi cài đặt, ví dụ ACDEF-GHJKM. Mỗi mã chỉ dùng được một lần.",
        "en": "One of the 10 codes you kept when setting up, e.g. ACDEF-GHJKM. Each works only once.",
    },
    "mfa_failed": {
        "vi": "Mã không đúng hoặc đã được dùng. Vui lòng kiểm tra và thử lại.",
        "en": "The code is not right or was already used. Please check it and try again.",
    },
    "security_title": {"vi": "Bảo mật đăng nhập", "en": "Login security"},
    "security_intro": {
        "vi": "Bước xác minh thứ hai giúp kẻ gian không vào được tài khoản dù biết mật khẩu của bạn.",
        "en": "A second step keeps others out of your account even if they learn your password.",
    },
    "level_now": {"vi": "Mức bảo đảm tài khoản của bạn đạt được:", "en": "Your account can reach:"},
    "level_1": {"vi": "Mức 1 — chỉ mật khẩu", "en": "Level 1 — password only"},
    "level_2": {
        "vi": "Mức 2 — mật khẩu và bước xác minh thứ hai",
        "en": "Level 2 — password and a second step",
    },
    "level_3": {
        "vi": "Mức 3 — mức 2 và đã được cán bộ kiểm tra giấy tờ trực tiếp",
        "en": "Level 3 — level 2, and identity checked in person by an officer",
    },
    "totp_title": {"vi": "Ứng dụng xác thực", "en": "Authenticator app"},
    "totp_on": {"vi": "Đã cài đặt.", "en": "Set up."},
    "totp_off": {
        "vi": "Chưa cài đặt. Dùng ứng dụng miễn phí như Google Authenticator hoặc Microsoft Authenticator.",
        "en": "Not set up. Use a free app such as Google Authenticator or Microsoft Authenticator.",
    },
    "totp_setup_button": {"vi": "Cài đặt ứng dụng xác thực", "en": "Set up an authenticator app"},
    "totp_remove_button": {"vi": "Gỡ ứng dụng xác thực", "en": "Remove the authenticator app"},
    "remove_proof_help": {
        "vi": "Để gỡ, hãy nhập mã hiện tại trong ứng dụng hoặc mật khẩu của bạn.",
        "en": "To remove it, type the current code from the app or your password.",
    },
    "remove_needs_proof": {
        "vi": "Chưa gỡ được: mã hoặc mật khẩu không đúng.",
        "en": "Not removed: the code or the password is not right.",
    },
    "current_code": {"vi": "Mã hiện tại trong ứng dụng", "en": "Current code from the app"},
    "or_password": {"vi": "hoặc mật khẩu", "en": "or your password"},
    "recovery_title": {"vi": "Mã dự phòng", "en": "Recovery codes"},
    "recovery_left": {"vi": "Còn {n} mã chưa dùng.", "en": "{n} codes not yet used."},
    "recovery_regenerate": {
        "vi": "Tạo 10 mã mới (mã cũ hết hiệu lực)",
        "en": "Make 10 new codes (old ones stop working)",
    },
    "passkeys_title": {"vi": "Khoá truy cập (passkey)", "en": "Passkeys"},
    "passkeys_none": {"vi": "Chưa có khoá truy cập nào.", "en": "No passkeys yet."},
    "passkeys_help": {
        "vi": "Khoá truy cập dùng vân tay, khuôn mặt hoặc mã mở khoá của điện thoại thay cho mã 6 số.",
        "en": "A passkey uses your phone's fingerprint, face or screen lock instead of a 6-digit code.",
    },
    "passkey_name": {"vi": "Tên để nhận ra khoá này", "en": "A name to recognise this passkey"},
    "passkey_name_help": {"vi": "Ví dụ: Điện thoại của tôi", "en": "For example: My phone"},
    "passkey_add_button": {"vi": "Thêm khoá truy cập", "en": "Add a passkey"},
    "passkey_remove": {"vi": "Gỡ", "en": "Remove"},
    "passkey_added": {"vi": "Đã thêm khoá truy cập.", "en": "The passkey was added."},
    "passkey_name_missing": {
        "vi": "Vui lòng đặt tên cho khoá truy cập.",
        "en": "Please give the passkey a name.",
    },
    "passkey_failed": {
        "vi": "Chưa thêm được khoá truy cập. Vui lòng thử lại.",
        "en": "The passkey could not be added. Please try again.",
    },
    "factor_removed": {"vi": "Đã gỡ.", "en": "Removed."},
    "added_on": {"vi": "Thêm ngày", "en": "Added on"},
    "totp_setup_title": {"vi": "Cài đặt ứng dụng xác thực", "en": "Set up an authenticator app"},
    "totp_step1": {
        "vi": "1. Mở ứng dụng xác thực, chọn thêm tài khoản và quét mã QR này.",
        "en": "1. Open your authenticator app, choose to add an account, and scan this QR code.",
    },
    "totp_manual": {
        "vi": "Không quét được? Nhập khoá này vào ứng dụng:",
        "en": "Cannot scan? Type this key into the app:",
    },
    "totp_step2": {
        "vi": "2. Nhập mã 6 số ứng dụng đang hiện để hoàn tất.",
        "en": "2. Type the 6-digit code the app shows to finish.",
    },
    "totp_confirm_button": {"vi": "Xác nhận", "en": "Confirm"},
    "qr_label": {"vi": "Mã QR để cài ứng dụng xác thực", "en": "QR code for the authenticator app"},
    "recovery_codes_title": {"vi": "Mã dự phòng của bạn", "en": "Your recovery codes"},
    "recovery_codes_intro": {
        "vi": "Nếu mất điện thoại, bạn dùng một trong các mã này để đăng nhập. Mỗi mã dùng một lần.",
        "en": "If you lose your phone, log in with one of these codes. Each works once.",
    },
    "recovery_codes_once": {
        "vi": "Hãy chép ra giấy và cất ở nơi an toàn ngay bây giờ: trang này chỉ hiện một lần.",
        "en": "Write them on paper and keep them somewhere safe now: this page is shown only once.",
    },
    "totp_done": {"vi": "Đã cài đặt ứng dụng xác thực.", "en": "The authenticator app is set up."},
    "codes_saved": {"vi": "Tôi đã lưu các mã", "en": "I have saved the codes"},
}


def negotiate(ui_locales: list[str] | None = None) -> str:
    """The citizen's own choice (?lang=, then the cookie it left), then the portal's ui_locales
    (OIDC §3.1.2.1, a hint), then Accept-Language. The choice wins: a citizen who cannot read the
    language a portal asked for must be able to switch, for the whole login."""
    chosen = request.args.get("lang") or request.cookies.get("tnid_lang")
    if chosen in LOCALES:
        return chosen
    for tag in ui_locales or []:
        base = tag.split("-")[0].lower()
        if base in LOCALES:
            return base
    return request.accept_languages.best_match(LOCALES, default=services().settings.default_locale)


def use_locale(locale: str) -> None:
    g.locale = locale


def current_locale() -> str:
    return g.get("locale") or negotiate()


def t(key: str) -> str:
    return MESSAGES[key][current_locale()]


def other_locale() -> str:
    return "en" if current_locale() == "vi" else "vi"


def language_switch_url() -> str:
    """This page in the other language (the pending login, if any, is kept)."""
    args = {k: v for k, v in request.args.items() if k != "lang"}
    if request.method == "POST":
        try:
            interaction = request.form.get("interaction")
        except HTTPException:  # the body itself was refused (413): render the page without it
            interaction = None
        if interaction:
            args["interaction"] = interaction
    args["lang"] = other_locale()
    return request.script_root + request.path + "?" + urlencode(args)


def remember_language(response: Response) -> Response:
    """An explicit choice of language lasts for the rest of the visit."""
    chosen = request.args.get("lang")
    if chosen in LOCALES:
        response.set_cookie(
            "tnid_lang", chosen, httponly=True, samesite="Lax", secure=services().settings.https
        )
    return response


def wait_message(seconds: int, locked: bool) -> str:
    """When to try again, in plain words (Vietnam time, the citizen's clock)."""
    if not locked:
        return t("wait_seconds").format(n=seconds)
    at = dt.datetime.now(VIETNAM) + dt.timedelta(seconds=seconds)
    return t("wait_locked").format(n=max(1, round(seconds / 60)), at=at.strftime("%H:%M"))
