"""The words on the pages, Vietnamese first, and how the language of a page is chosen.

Flask-Babel catalogues: MESSAGES maps each key the templates and views use to its Vietnamese text,
which is the gettext msgid; English lives in idp/translations/en/LC_MESSAGES/messages.po, compiled
to messages.mo next to it (`make translations`; tests/unit/test_translations.py fails when a text
has no English or the .mo is stale). The language is chosen here: the citizen's own choice, then
the portal's ui_locales, then Accept-Language.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask, Response, g, has_app_context, has_request_context, request
from flask_babel import Babel, force_locale, gettext, pgettext
from werkzeug.exceptions import HTTPException

from ..services import services

LOCALES = ("vi", "en")
VIETNAM = dt.timezone(dt.timedelta(hours=7), "ICT")


def N_(text: str) -> str:
    return text


def NC_(context: str, text: str) -> tuple[str, str]:
    return context, text


# The page text: each key's Vietnamese source (a gettext msgid); the English is in
# idp/translations/en/LC_MESSAGES/messages.po. N_ and NC_ only mark a text for `make translations`.
MESSAGES: dict[str, str | tuple[str, str]] = {
    "site_name": N_("Thai Nguyen ID"),
    "tagline": N_("Định danh số công dân tỉnh Thái Nguyên"),
    "login_title": N_("Đăng nhập"),
    "login_for": N_("để tiếp tục vào"),
    "identifier": N_("Số CCCD, số điện thoại hoặc email"),
    "identifier_help": N_("Ví dụ: 019090001234 hoặc 0912345678"),
    "password": N_("Mật khẩu"),
    "login_button": N_("Đăng nhập"),
    "login_failed": N_("Thông tin đăng nhập không đúng. Vui lòng kiểm tra và thử lại."),
    "login_missing": N_("Vui lòng nhập đủ tài khoản và mật khẩu."),
    "consent_title": N_("Cho phép chia sẻ thông tin"),
    "consent_intro": N_("muốn được biết các thông tin sau của bạn:"),
    "consent_note": N_("Bạn có thể rút lại sự đồng ý này bất cứ lúc nào tại trang tài khoản Thai Nguyen ID."),
    "allow": N_("Đồng ý"),
    "deny": N_("Từ chối"),
    "logged_in_as": N_("Bạn đang đăng nhập là"),
    "not_you": N_("Không phải bạn? Đăng xuất"),
    "logout_title": N_("Đăng xuất"),
    "logout_question": N_("Bạn có muốn đăng xuất khỏi Thai Nguyen ID không?"),
    "logout_button": N_("Đăng xuất"),
    "logged_out": N_("Bạn đã đăng xuất. Hãy đóng trình duyệt nếu dùng máy chung."),
    "logging_out_of_portals": N_("Đang đăng xuất khỏi các cổng dịch vụ bạn đã dùng…"),
    "back_to_portal": N_("Quay lại cổng dịch vụ"),
    "device_title": N_("Đăng nhập trên máy kiosk"),
    "device_enter": N_("Nhập mã hiện trên màn hình máy kiosk (8 chữ cái)."),
    "device_code_label": N_("Mã trên máy kiosk"),
    "device_code_unknown": N_("Mã không đúng hoặc đã hết hạn. Hãy xem lại mã trên máy kiosk."),
    "device_check": N_("Hãy chắc chắn mã này giống mã trên máy kiosk trước mặt bạn:"),
    "device_done": N_(
        "Xong. Máy kiosk sẽ tiếp tục trong vài giây. Nhớ đăng xuất trên máy kiosk khi dùng xong."
    ),
    "device_denied": N_("Bạn đã từ chối. Máy kiosk sẽ không được đăng nhập."),
    "connected_portals": N_("Các cổng dịch vụ bạn đã cho phép"),
    "withdraw": N_("Rút lại sự đồng ý"),
    "no_portals": N_("Bạn chưa cho phép cổng dịch vụ nào."),
    "home_title": N_("Tài khoản Thai Nguyen ID"),
    "home_anonymous": N_("Bạn chưa đăng nhập."),
    "register_link": N_("Chưa có tài khoản? Tạo tài khoản"),
    "forgot_link": N_("Quên mật khẩu?"),
    "register_title": N_("Tạo tài khoản"),
    "register_for": N_("rồi tiếp tục vào"),
    "register_intro": N_(
        "Điền thông tin đúng như trên thẻ căn cước (CCCD) của bạn. Chúng tôi sẽ gửi một mã gồm 6 chữ số đến số điện thoại của bạn để xác minh."
    ),
    "register_fix": N_("Có thông tin chưa đúng. Vui lòng sửa các ô được đánh dấu bên dưới."),
    "reg_full_name": N_("Họ và tên"),
    "reg_full_name_help": N_("Ví dụ: Nguyễn Thị Lan"),
    "reg_citizen_id": N_("Số CCCD (12 chữ số)"),
    "reg_citizen_id_help": N_("In ở mặt trước thẻ căn cước, ví dụ 019190001234."),
    "reg_birth_date": N_("Ngày sinh"),
    "reg_birth_date_help": N_("Ngày/tháng/năm, ví dụ 25/11/1990."),
    "reg_gender": N_("Giới tính"),
    "reg_gender_male": N_("Nam"),
    "reg_gender_female": N_("Nữ"),
    "reg_phone": N_("Số điện thoại di động"),
    "reg_phone_help": N_("Ví dụ: 0912345678. Mã xác minh sẽ được gửi đến số này."),
    "reg_email": N_("Email (không bắt buộc)"),
    "reg_email_help": N_("Có email, bạn có thêm một cách lấy lại mật khẩu."),
    "new_password_label": N_("Mật khẩu mới"),
    "password_rule": N_(
        'Ít nhất 10 ký tự. Nên dùng một câu dễ nhớ, ví dụ "nha toi o gan cho dong quang". Không dùng mật khẩu quá phổ biến, số CCCD hay số điện thoại.'
    ),
    "password_confirm_label": N_("Nhập lại mật khẩu"),
    "register_button": NC_("register_button", "Tạo tài khoản"),
    "register_have_account": N_("Đã có tài khoản? Đăng nhập"),
    "err_name": N_("Vui lòng nhập họ và tên."),
    "err_gender": N_("Vui lòng chọn giới tính."),
    "err_birth_date": N_("Vui lòng nhập ngày sinh đúng dạng ngày/tháng/năm."),
    "err_cccd_shape": N_("Số CCCD gồm đúng 12 chữ số, bắt đầu bằng mã tỉnh nơi đăng ký khai sinh."),
    "err_cccd_mismatch": N_(
        "Số CCCD không khớp với ngày sinh hoặc giới tính đã nhập. Vui lòng kiểm tra lại cả ba."
    ),
    "err_phone": N_("Số điện thoại chưa đúng. Ví dụ đúng: 0912345678."),
    "err_email": N_("Địa chỉ email chưa đúng. Ví dụ đúng: ten@example.com."),
    "pw_too_short": N_("Mật khẩu cần ít nhất 10 ký tự."),
    "pw_too_long": N_("Mật khẩu dài quá 128 ký tự."),
    "pw_common": N_("Mật khẩu này quá phổ biến, kẻ gian đoán được ngay. Vui lòng chọn mật khẩu khác."),
    "pw_personal": N_("Mật khẩu không được là số CCCD, số điện thoại, email hay họ tên của bạn."),
    "pw_mismatch": N_("Hai lần nhập mật khẩu không giống nhau."),
    "pw_same": N_("Mật khẩu mới phải khác mật khẩu hiện tại."),
    "verify_phone_title": N_("Xác minh số điện thoại"),
    "verify_email_title": N_("Xác minh email"),
    "verify_sent_sms": N_("Chúng tôi đã gửi tin nhắn có mã gồm 6 chữ số đến số"),
    "verify_sent_email": N_("Chúng tôi đã gửi thư có mã gồm 6 chữ số đến địa chỉ"),
    "code_label": N_("Mã gồm 6 chữ số"),
    "code_help": N_(
        "Mã chỉ dùng được trong ít phút. Không đưa mã cho bất kỳ ai, kể cả người xưng là cán bộ."
    ),
    "verify_button": N_("Xác minh"),
    "resend_button": N_("Gửi lại mã"),
    "send_code_button": N_("Gửi mã cho tôi"),
    "verify_send_first": N_('Bấm "Gửi mã cho tôi", chúng tôi sẽ gửi một mã gồm 6 chữ số đến'),
    "verify_later": N_("Để sau"),
    "code_sent": N_("Đã gửi mã. Vui lòng xem tin nhắn hoặc hộp thư."),
    "code_sent_again": N_("Đã gửi mã mới. Mã cũ không dùng được nữa."),
    "code_not_delivered": N_(
        'Chưa gửi được mã do lỗi hệ thống nhắn tin. Vui lòng bấm "Gửi lại mã" sau ít phút.'
    ),
    "code_wrong": N_("Mã chưa đúng. Bạn còn {n} lần thử."),
    "code_locked": N_('Bạn đã nhập sai quá nhiều lần. Vui lòng bấm "Gửi lại mã" để nhận mã mới.'),
    "code_expired": N_('Mã đã hết hạn. Vui lòng bấm "Gửi lại mã" để nhận mã mới.'),
    "code_none": N_('Mã này không dùng được nữa. Vui lòng bấm "Gửi lại mã" để nhận mã mới.'),
    "code_malformed": N_("Vui lòng nhập đủ 6 chữ số trong tin nhắn."),
    "code_wait_seconds": N_("Mã vừa được gửi. Vui lòng đợi {n} giây rồi mới xin mã mới."),
    "code_wait_minutes": N_("Bạn đã xin nhiều mã. Vui lòng đợi {n} phút rồi thử lại."),
    "forgot_title": N_("Quên mật khẩu"),
    "forgot_intro": N_(
        "Nhập số CCCD, số điện thoại hoặc email của tài khoản. Chúng tôi sẽ gửi mã đặt lại mật khẩu đến số điện thoại hoặc email bạn đã xác minh."
    ),
    "forgot_button": N_("Gửi mã"),
    "forgot_missing": N_("Vui lòng nhập số CCCD, số điện thoại hoặc email."),
    "forgot_no_contact": N_(
        "Không còn dùng số điện thoại và email cũ? Hãy mang thẻ CCCD đến bộ phận một cửa của xã, phường để được giúp."
    ),
    "back_to_login": N_("Quay lại đăng nhập"),
    "reset_title": N_("Đặt mật khẩu mới"),
    "reset_intro": N_(
        "Nếu thông tin bạn nhập khớp với một tài khoản có số điện thoại hoặc email đã xác minh, chúng tôi vừa gửi mã gồm 6 chữ số đến đó. Nhập mã và mật khẩu mới bên dưới."
    ),
    "reset_signs_out": N_(
        "Sau khi đổi, mọi thiết bị và cổng dịch vụ đang đăng nhập bằng tài khoản này sẽ bị đăng xuất."
    ),
    "reset_button": NC_("reset_button", "Đặt mật khẩu mới"),
    "reset_no_code": N_("Không nhận được mã? Thử lại"),
    "reset_done": N_("Đã đổi mật khẩu. Vui lòng đăng nhập bằng mật khẩu mới."),
    "change_password_title": N_("Đổi mật khẩu"),
    "current_password_label": N_("Mật khẩu hiện tại"),
    "change_signs_out": N_(
        "Sau khi đổi, các thiết bị khác đang đăng nhập sẽ bị đăng xuất; thiết bị này vẫn đăng nhập."
    ),
    "change_button": N_("Đổi mật khẩu"),
    "change_current_missing": N_("Vui lòng nhập mật khẩu hiện tại."),
    "change_current_wrong": N_("Mật khẩu hiện tại chưa đúng."),
    "change_done": N_("Đã đổi mật khẩu."),
    "back_to_account": N_("Quay lại tài khoản"),
    "home_intro": N_("Một tài khoản để dùng mọi cổng dịch vụ công của tỉnh Thái Nguyên."),
    "home_go_account": N_("Vào Tài khoản của tôi"),
    "account_title": N_("Tài khoản của tôi"),
    "account_menu": N_("Các mục của tài khoản"),
    "menu_profile": N_("Thông tin của tôi"),
    "menu_security": N_("Bảo mật"),
    "menu_password": N_("Mật khẩu"),
    "menu_sessions": N_("Thiết bị"),
    "menu_portals": N_("Cổng đã kết nối"),
    "menu_history": N_("Lịch sử chia sẻ"),
    "field_full_name": N_("Họ và tên"),
    "field_citizen_id": N_("Số CCCD"),
    "field_birth_date": N_("Ngày sinh"),
    "field_gender": N_("Giới tính"),
    "gender_male": N_("Nam"),
    "gender_female": N_("Nữ"),
    "field_phone": N_("Số điện thoại"),
    "field_email": N_("Email"),
    "field_address": N_("Địa chỉ"),
    "field_identity_check": N_("Kiểm tra giấy tờ trực tiếp"),
    "verified": N_("Đã xác minh"),
    "not_verified": N_("Chưa xác minh"),
    "verify_now": N_("Xác minh ngay"),
    "not_given": N_("Chưa có"),
    "identity_checked_on": N_("lúc {at}"),
    "identity_not_checked": N_(
        "Chưa. Mang CCCD đến bộ phận một cửa để được kiểm tra (cần cho một số dịch vụ)."
    ),
    "change_title": N_("Muốn sửa thông tin?"),
    "change_identity": N_(
        "Họ tên, ngày sinh, giới tính và số CCCD được lấy theo thẻ căn cước của bạn. Muốn sửa, hãy mang thẻ CCCD đến bộ phận một cửa của xã, phường."
    ),
    "change_contacts": N_(
        "Muốn đổi số điện thoại hoặc email, hãy nhờ bộ phận một cửa hoặc tổ công nghệ số cộng đồng."
    ),
    "sessions_title": N_("Thiết bị đang đăng nhập"),
    "sessions_intro": N_("Đây là các điện thoại, máy tính đang đăng nhập vào tài khoản của bạn."),
    "sessions_advice": N_("Thấy thiết bị lạ? Hãy đăng xuất thiết bị đó rồi đổi mật khẩu ngay."),
    "this_device": N_("Thiết bị bạn đang dùng"),
    "signed_in_at": N_("Đăng nhập lúc {at}"),
    "ip_address": N_("Địa chỉ mạng (IP)"),
    "signed_in_with": N_("Đăng nhập bằng"),
    "sign_out_device": N_("Đăng xuất thiết bị này"),
    "sign_out_this_device": N_("Đăng xuất khỏi thiết bị bạn đang dùng"),
    "sign_out_others": N_("Đăng xuất tất cả thiết bị khác"),
    "devices_signed_out": N_("Đã đăng xuất {n} thiết bị."),
    "device_on": N_("trên"),
    "device_unknown": N_("Thiết bị không rõ tên"),
    "amr_pwd": N_("mật khẩu"),
    "amr_otp": N_("mã từ ứng dụng xác thực"),
    "amr_passkey": N_("khoá truy cập (passkey)"),
    "portals_title": N_("Cổng dịch vụ bạn đã cho phép"),
    "portals_intro": N_(
        "Các cổng dưới đây được phép nhận một số thông tin của bạn. Bạn có thể ngừng chia sẻ bất cứ lúc nào."
    ),
    "portal_may_receive": N_("Được phép nhận:"),
    "portal_allowed_since": N_("Bạn cho phép lúc {at}."),
    "portal_last_received": N_("Lần nhận gần nhất, lúc {at}:"),
    "portal_nothing_yet": N_("Cổng này chưa nhận thông tin nào."),
    "portal_history_link": N_("Xem mọi lần cổng này nhận thông tin"),
    "withdraw_from": N_("Ngừng chia sẻ với {portal}"),
    "withdraw_explained": N_(
        "Khi bạn ngừng chia sẻ, cổng đó mất quyền nhận thông tin của bạn ngay lập tức. Lần sau dùng cổng đó, bạn sẽ được hỏi lại."
    ),
    "withdrawn_from": N_("Đã ngừng chia sẻ với {portal}. Cổng này không còn nhận được thông tin của bạn."),
    "history_title": N_("Lịch sử chia sẻ thông tin"),
    "history_intro": N_(
        "Mỗi lần một cổng dịch vụ nhận thông tin của bạn, Thai Nguyen ID ghi lại tại đây (giờ Việt Nam)."
    ),
    "history_all": N_("Xem lịch sử của mọi cổng"),
    "history_received": N_("đã nhận:"),
    "history_allowed": N_("Bạn cho phép {portal} nhận:"),
    "history_withdrawn": N_("Bạn đã ngừng chia sẻ với {portal}."),
    "history_empty": N_("Chưa có cổng nào nhận thông tin của bạn."),
    "portal_removed": N_("Một cổng đã ngừng hoạt động"),
    "claim_sub": N_("mã số riêng của bạn tại cổng này"),
    "claim_name": N_("họ và tên"),
    "claim_birthdate": N_("ngày sinh"),
    "claim_gender": N_("giới tính"),
    "claim_locale": N_("ngôn ngữ bạn dùng"),
    "claim_updated_at": N_("lúc thông tin được cập nhật"),
    "claim_email": N_("email"),
    "claim_phone": N_("số điện thoại"),
    "claim_address": N_("địa chỉ"),
    "claim_citizen_id": N_("số CCCD"),
    "claim_login": N_("lúc và cách bạn đăng nhập"),
    "activate_title": N_("Kích hoạt tài khoản"),
    "activate_intro": N_(
        "Tổ công nghệ số cộng đồng đã tạo tài khoản giúp bạn và đưa bạn một mã kích hoạt trên giấy. Nhập mã đó và chọn mật khẩu của riêng bạn."
    ),
    "activate_code": N_("Mã kích hoạt (12 số)"),
    "activate_code_help": N_("Ví dụ: 4821-0937-5512"),
    "new_password": N_("Mật khẩu mới"),
    "new_password_help": N_("Ít nhất 10 ký tự. Nên dùng một câu dễ nhớ, ví dụ: hoa sen nở trên hồ"),
    "activate_button": N_("Kích hoạt"),
    "activate_missing": N_("Vui lòng nhập đủ số CCCD, mã kích hoạt và mật khẩu mới."),
    "activate_failed": N_("Số CCCD hoặc mã kích hoạt không đúng. Vui lòng kiểm tra lại tờ giấy và thử lại."),
    "activate_dead": N_(
        "Mã kích hoạt này không còn dùng được (hết hạn hoặc nhập sai quá nhiều lần). Hãy nhờ tổ công nghệ số cộng đồng cấp mã mới."
    ),
    "activate_weak_too_short": N_("Mật khẩu cần ít nhất 10 ký tự."),
    "activate_weak_too_long": N_("Mật khẩu dài quá 128 ký tự."),
    "activate_weak_common": N_("Mật khẩu này quá phổ biến, kẻ gian dễ đoán. Hãy chọn mật khẩu khác."),
    "activate_weak_personal": N_("Mật khẩu không được là số CCCD, số điện thoại, email hay tên của bạn."),
    "activate_done": N_("Tài khoản đã được kích hoạt. Mời bạn đăng nhập bằng mật khẩu vừa chọn."),
    "activate_link": N_("Tài khoản do tổ công nghệ số tạo giúp? Kích hoạt trước tại đây"),
    "error_title": N_("Không thể tiếp tục"),
    "error_back": N_("Vui lòng quay lại cổng dịch vụ và thử lại."),
    "error_code": N_("Mã lỗi"),
    "error_portal_request": N_(
        "Cổng dịch vụ đã gửi một yêu cầu đăng nhập không hợp lệ. Thông tin của bạn không bị ảnh hưởng."
    ),
    "error_unexpected": N_("Đã có lỗi ngoài ý muốn. Vui lòng thử lại sau ít phút."),
    "error_detail": N_("Chi tiết cho cổng dịch vụ (tiếng Anh):"),
    "expired": N_("Phiên đăng nhập đã hết hạn. Vui lòng bắt đầu lại từ cổng dịch vụ."),
    "not_found": N_("Không tìm thấy trang này."),
    "continue": N_("Tiếp tục"),
    "form_post_note": N_("Đang chuyển bạn về cổng dịch vụ…"),
    "language": N_("English"),
    "unavailable": N_("Hệ thống đang bận trong giây lát. Vui lòng thử lại sau ít giây."),
    "wait_seconds": N_("Bạn đã nhập sai nhiều lần. Vui lòng đợi {n} giây rồi thử lại."),
    "wait_locked": N_(
        "Bạn đã nhập sai quá nhiều lần, tài khoản tạm khoá. Vui lòng thử lại sau {n} phút (lúc {at})."
    ),
    "too_many_requests": N_("Có quá nhiều yêu cầu từ thiết bị của bạn. Vui lòng thử lại sau {n} giây."),
    "mfa_title": N_("Xác minh thêm một bước"),
    "mfa_intro": N_("Để bảo vệ tài khoản, hãy xác minh bằng một trong các cách bạn đã cài đặt."),
    "mfa_code": N_("Mã 6 số trong ứng dụng xác thực"),
    "mfa_code_help": N_("Mở ứng dụng xác thực trên điện thoại và nhập mã đang hiện cho Thai Nguyen ID."),
    "mfa_use_passkey": N_("Dùng khoá truy cập (passkey)"),
    "passkey_needs_js": N_("Khoá truy cập cần bật JavaScript trong trình duyệt."),
    "passkey_unsupported": N_(
        "Trình duyệt này không dùng được khoá truy cập, hoặc bạn đã huỷ. Hãy thử cách khác."
    ),
    "mfa_lost_phone": N_("Mất điện thoại? Dùng mã dự phòng"),
    "recovery_code": N_("Mã dự phòng"),
    "recovery_code_help": N_(
        "Một trong 10 mã bạn đã lưu khi cài đặt, ví dụ ACDEF-GHJKM. Mỗi mã chỉ dùng được một lần."
    ),
    "mfa_failed": N_("Mã không đúng hoặc đã được dùng. Vui lòng kiểm tra và thử lại."),
    "security_title": N_("Bảo mật đăng nhập"),
    "security_intro": N_(
        "Bước xác minh thứ hai giúp kẻ gian không vào được tài khoản dù biết mật khẩu của bạn."
    ),
    "level_now": N_("Mức bảo đảm tài khoản của bạn đạt được:"),
    "level_1": N_("Mức 1 — chỉ mật khẩu"),
    "level_2": N_("Mức 2 — mật khẩu và bước xác minh thứ hai"),
    "level_3": N_("Mức 3 — mức 2 và đã được cán bộ kiểm tra giấy tờ trực tiếp"),
    "totp_title": N_("Ứng dụng xác thực"),
    "totp_on": N_("Đã cài đặt."),
    "totp_off": N_(
        "Chưa cài đặt. Dùng ứng dụng miễn phí như Google Authenticator hoặc Microsoft Authenticator."
    ),
    "totp_setup_button": N_("Cài đặt ứng dụng xác thực"),
    "totp_remove_button": N_("Gỡ ứng dụng xác thực"),
    "remove_proof_help": N_("Để gỡ, hãy nhập mã hiện tại trong ứng dụng hoặc mật khẩu của bạn."),
    "remove_needs_proof": N_("Chưa gỡ được: mã hoặc mật khẩu không đúng."),
    "current_code": N_("Mã hiện tại trong ứng dụng"),
    "or_password": N_("hoặc mật khẩu"),
    "recovery_title": NC_("recovery_title", "Mã dự phòng"),
    "recovery_left": N_("Còn {n} mã chưa dùng."),
    "recovery_regenerate": N_("Tạo 10 mã mới (mã cũ hết hiệu lực)"),
    "passkeys_title": N_("Khoá truy cập (passkey)"),
    "passkeys_none": N_("Chưa có khoá truy cập nào."),
    "passkeys_help": N_(
        "Khoá truy cập dùng vân tay, khuôn mặt hoặc mã mở khoá của điện thoại thay cho mã 6 số."
    ),
    "passkey_name": N_("Tên để nhận ra khoá này"),
    "passkey_name_help": N_("Ví dụ: Điện thoại của tôi"),
    "passkey_add_button": N_("Thêm khoá truy cập"),
    "passkey_remove": N_("Gỡ"),
    "passkey_added": N_("Đã thêm khoá truy cập."),
    "passkey_name_missing": N_("Vui lòng đặt tên cho khoá truy cập."),
    "passkey_failed": N_("Chưa thêm được khoá truy cập. Vui lòng thử lại."),
    "factor_removed": N_("Đã gỡ."),
    "added_on": N_("Thêm ngày"),
    "totp_setup_title": N_("Cài đặt ứng dụng xác thực"),
    "totp_step1": N_("1. Mở ứng dụng xác thực, chọn thêm tài khoản và quét mã QR này."),
    "totp_manual": N_("Không quét được? Nhập khoá này vào ứng dụng:"),
    "totp_step2": N_("2. Nhập mã 6 số ứng dụng đang hiện để hoàn tất."),
    "totp_confirm_button": N_("Xác nhận"),
    "qr_label": N_("Mã QR để cài ứng dụng xác thực"),
    "recovery_codes_title": N_("Mã dự phòng của bạn"),
    "recovery_codes_intro": N_(
        "Nếu mất điện thoại, bạn dùng một trong các mã này để đăng nhập. Mỗi mã dùng một lần."
    ),
    "recovery_codes_once": N_(
        "Hãy chép ra giấy và cất ở nơi an toàn ngay bây giờ: trang này chỉ hiện một lần."
    ),
    "totp_done": N_("Đã cài đặt ứng dụng xác thực."),
    "codes_saved": N_("Tôi đã lưu các mã"),
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
    return _from_accept_language(request.headers.get("Accept-Language", ""))


# Accept-Language → locale, per header value: a browser sends the same header on every page, and
# werkzeug parses and matches it afresh on each (≈ 2 % of a login's Python time).
_BY_HEADER: dict[tuple[str, str], str] = {}


def _from_accept_language(header: str) -> str:
    default = services().settings.default_locale
    best = _BY_HEADER.get((header, default))
    if best is None:
        best = request.accept_languages.best_match(LOCALES, default=default)
        if len(_BY_HEADER) < 1024 and len(header) <= 256:  # a bounded set of common headers
            _BY_HEADER[(header, default)] = best
    return best


def use_locale(locale: str) -> None:
    g.locale = locale


def current_locale() -> str:
    if not has_request_context():
        return services().settings.default_locale
    chosen = g.get("locale")
    if chosen is None:
        # Negotiated once per request (a page asks for its words dozens of times); use_locale
        # still overrides it.
        chosen = g.locale = negotiate()
    return chosen


# Every text of a language looked up once per process: Flask-Babel's gettext finds the catalogue
# and the locale again on every call (≈ 20 µs here, dozens of calls per page).
_TEXTS: dict[str, dict[str, str]] = {}


def t(key: str) -> str:
    if not has_app_context():
        entry = MESSAGES[key]
        return entry[1] if isinstance(entry, tuple) else entry
    return texts(current_locale())[key]


def texts(locale: str) -> dict[str, str]:
    """Every text of ``locale``, by key (what a page's template looks its words up in)."""
    found = _TEXTS.get(locale)
    if found is None:
        found = _TEXTS[locale] = _all_texts(locale)
    return found


def _all_texts(locale: str) -> dict[str, str]:
    with force_locale(locale):
        return {
            key: pgettext(*entry) if isinstance(entry, tuple) else gettext(entry)
            for key, entry in MESSAGES.items()
        }


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


TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def init_app(app: Flask) -> Babel:
    """Flask-Babel, with the language chosen by current_locale()."""
    return Babel(
        app,
        locale_selector=current_locale,
        default_locale="vi",
        default_timezone="Asia/Ho_Chi_Minh",
        default_translation_directories=str(TRANSLATIONS),
    )
