"""Fixed Vietnamese replies: greetings, help, refusals, the conversation's own texts. One place, so every
channel says the same (the channels only draw them: buttons, numbered lines, bold)."""

HOTLINES = (
    "Bạn có thể gọi Tổng đài 1800.1096 (hỗ trợ Cổng Dịch vụ công quốc gia), Tổng đài 1022 của tỉnh, "
    "thành phố, hoặc tra cứu thủ tục tại https://dichvucong.gov.vn."
)

GREETING = (
    "Xin chào! Mình là Trợ lý CCHC. Mình trả lời câu hỏi về thủ tục hành chính (giấy tờ, lệ phí, thời hạn, "
    "nơi nộp), kế hoạch cải cách hành chính của xã, phường và cách dùng Cổng Dịch vụ công quốc gia "
    "(dichvucong.gov.vn), kèm nguồn trích dẫn. Bạn muốn hỏi gì?"
)

IDENTITY = (
    "Mình là Trợ lý CCHC, một chương trình trả lời tự động. Mình chỉ trả lời dựa trên các văn bản "
    "trong kho tri thức: danh mục thủ tục hành chính trên Cổng Dịch vụ công quốc gia (cập nhật tháng 6/2026), "
    "kế hoạch cải cách hành chính của xã, phường, hướng dẫn dùng Cổng và các tổng đài hỗ trợ. Mình không xem được "
    "hồ sơ của riêng bạn và không thay thế cán bộ tiếp nhận hồ sơ. " + HOTLINES
)

HELP = (
    "Bạn có thể hỏi, ví dụ:\n"
    "• Số tổng đài hỗ trợ dịch vụ công là gì?\n"
    "• Làm sao tra cứu tình trạng hồ sơ?\n"
    "• Kế hoạch CCHC phường Hưng Phú năm 2025 đặt mục tiêu gì về thanh toán trực tuyến?\n"
    "• Phường An Hải năm 2026 tuyên truyền CCHC bằng những hình thức nào?\n"
    "• Lệ phí đăng ký tạm trú bao nhiêu?\n"
    "Hỏi tiếp ngắn gọn cũng được, ví dụ “còn giấy tờ thì sao?”. Mỗi câu trả lời có số [1], [2] chỉ văn bản nguồn; "
    "nhắn “nguồn” để xem. " + HOTLINES
)

THANKS = "Không có gì ạ! Nếu cần, bạn cứ hỏi tiếp nhé."

EMPTY = (
    "Bạn chưa nhập câu hỏi. Hãy gõ câu hỏi về thủ tục hành chính hoặc kế hoạch cải cách hành chính, "
    "ví dụ: “Số tổng đài hỗ trợ dịch vụ công là gì?”"
)

NO_TEXT = "Mình chỉ đọc được câu hỏi bằng chữ. Bạn hãy gõ câu hỏi bằng tiếng Việt nhé."

TOO_LONG = (
    "Câu hỏi dài quá ({length} ký tự). Bạn hãy hỏi ngắn gọn, dưới {limit} ký tự, mỗi lần một ý."
)

NOT_VIETNAMESE = (
    "Xin lỗi, hiện mình chỉ trả lời câu hỏi bằng tiếng Việt về thủ tục và cải cách hành chính. "
    "(Sorry, I can only answer questions in Vietnamese.) " + HOTLINES
)

NOT_FOUND = (
    "Xin lỗi, mình chưa tìm thấy thông tin trả lời câu hỏi này trong các kế hoạch và hướng dẫn hiện có, "
    "nên không muốn đoán. " + HOTLINES
)

PERSONAL_FILE = (
    "Mình không xem được hồ sơ của riêng bạn. Bạn tra cứu tình trạng hồ sơ bằng mã hồ sơ (trên giấy tiếp nhận) tại "
    "https://dichvucong.gov.vn, gọi Tổng đài 1800.1096, hoặc hỏi trực tiếp bộ phận một cửa (Trung tâm Phục vụ "
    "hành chính công) nơi bạn đã nộp."
)

TOO_VAGUE = (
    "Bạn hỏi cụ thể hơn giúp mình nhé: tên thủ tục hoặc việc cần làm (ví dụ “đăng ký khai sinh cần giấy tờ gì”, "
    "“lệ phí đăng ký tạm trú”), hoặc kế hoạch của xã, phường nào. " + HOTLINES
)

FIGURE_NOT_IN_RECORD = (
    "Hồ sơ thủ tục “{title}” trên Cổng Dịch vụ công quốc gia không nêu con số bạn hỏi, nên mình không muốn đoán. "
    "Bạn xem trang thủ tục {source}, gọi Tổng đài 1800.1096 hoặc hỏi Trung tâm Phục vụ hành chính công của xã, "
    "phường nơi bạn làm thủ tục."
)

NO_PROCEDURE_DETAILS = (
    "Xin lỗi, kho tri thức của mình chưa có hướng dẫn chi tiết (thành phần hồ sơ, giấy tờ, lệ phí, thời hạn) "
    "cho thủ tục này, nên không muốn đoán. Bạn có thể tìm đúng thủ tục trên https://dichvucong.gov.vn, "
    "gọi Tổng đài 1800.1096 (hỗ trợ Cổng Dịch vụ công quốc gia) hoặc Tổng đài 1022 của tỉnh, thành phố, "
    "hay hỏi Trung tâm Phục vụ hành chính công của xã, phường nơi bạn làm thủ tục."
)

NO_FINES = (
    "Hồ sơ thủ tục trên Cổng Dịch vụ công quốc gia nêu lệ phí, không nêu mức xử phạt, nên mình không muốn đoán. "
    "Bạn hỏi Công an xã, phường hoặc Trung tâm Phục vụ hành chính công nơi bạn ở, hoặc gọi Tổng đài 1022 của tỉnh, "
    "thành phố, Tổng đài 1800.1096."
)

UNAVAILABLE = "Xin lỗi, hệ thống đang bận hoặc đang bảo trì. Bạn vui lòng thử lại sau ít phút. " + HOTLINES


# -- the conversation layer (bot/conversation.py) ----------------------------------------------------
START = (
    "Xin chào! Mình là Trợ lý CCHC, trả lời tự động về thủ tục hành chính (giấy tờ, lệ phí, thời hạn, nơi nộp) "
    "và kế hoạch cải cách hành chính của xã, phường, kèm nguồn. Mình không xem được hồ sơ của riêng bạn; khi "
    "không tìm thấy câu trả lời, mình sẽ nói rõ và chỉ chỗ hỏi tiếp. Bạn cứ hỏi, ví dụ “lệ phí đăng ký tạm trú "
    "bao nhiêu”. Nếu cho mình biết bạn ở phường, xã nào (“mình ở phường An Hải”), mình sẽ ưu tiên thông tin nơi đó."
)
HOTLINE = (
    "Các kênh hỗ trợ:\n"
    "• Tổng đài 1800.1096: hỗ trợ dùng Cổng Dịch vụ công quốc gia (tài khoản, nộp hồ sơ, tra cứu hồ sơ).\n"
    "• Tổng đài 1022 của tỉnh, thành phố (nếu địa phương có): hỏi về thủ tục, phản ánh, kiến nghị tại địa phương; "
    "có nơi phải bấm kèm mã vùng.\n"
    "• Trung tâm Phục vụ hành chính công của xã, phường: hỏi trực tiếp cán bộ.\n"
    "• Tra cứu thủ tục, nộp hồ sơ trực tuyến: https://dichvucong.gov.vn"
)
FLOOD = "Bạn gửi nhanh quá, mình chưa kịp trả lời. Bạn vui lòng đợi một chút rồi gửi lại câu hỏi nhé."
THANKS_UP = "Cảm ơn bạn đã đánh giá 👍! Bạn cứ hỏi tiếp nhé."
THANKS_DOWN = (
    "Cảm ơn bạn đã cho biết 👎. Câu trả lời chưa đúng hay còn thiếu ở đâu? Bạn nhắn thêm một câu để cán bộ xem lại "
    "nhé. Cần hỏi ngay: Tổng đài 1022 của tỉnh, thành phố, 1800.1096 (Cổng Dịch vụ công quốc gia), hoặc nhắn "
    "“gặp cán bộ”."
)
NOTE_THANKS = "Cảm ơn bạn, mình đã chuyển góp ý này để cán bộ xem lại câu trả lời. Bạn cứ hỏi tiếp nhé."
VOTE_NOTED = "Đã ghi nhận đánh giá của bạn."
VOTE_NOT_SAVED = "Xin lỗi, lúc này mình chưa ghi được đánh giá của bạn. Bạn thử lại sau ít phút nhé."
NO_VOTE_TARGET = "Chưa có câu trả lời nào để đánh giá. Bạn hãy đặt câu hỏi trước nhé."
SOURCES_HEAD = "Nguồn của câu trả lời gần nhất:"
NO_SOURCES = "Câu trả lời gần nhất không có nguồn trích dẫn. Bạn hãy đặt câu hỏi, rồi nhắn “nguồn” để xem nguồn nhé."
SOURCES_GONE = "Xin lỗi, mình không còn lưu nguồn của câu trả lời này. Bạn hãy hỏi lại nhé."
CHOICE_GONE = "Mình không còn nhớ các lựa chọn trước. Bạn nhắn lại tên thủ tục giúp mình nhé."
MORE_IN_SOURCES = "(Phần còn lại có trong nguồn.)"
WARD_SAVED = "Đã ghi nhận bạn ở {ward}. Các câu hỏi sau mình sẽ ưu tiên thông tin của {ward}."
WARD_ASK = "Bạn ở phường, xã nào? Nhắn ví dụ “/phuong An Hải” hoặc “mình ở phường An Hải”."
WARD_USED = "(Ưu tiên thông tin {ward}, nơi bạn đã cho biết.)"
WARD_ASK_OFFICE = ("Giờ làm việc, địa chỉ và số điện thoại khác nhau giữa các xã, phường: bạn cho mình biết bạn ở "
                   "phường, xã nào (ví dụ “/phuong An Hải”) để mình chỉ đúng nơi.")
# Zalo has no buttons: the first reply of the day explains the numbers and words that work.
FOOTER = ("Nhắn “nguồn” để xem trích dẫn đầy đủ. Câu trả lời có giúp được bạn không? "
          "Nhắn “1” nếu có 👍, “2” nếu chưa 👎.")
FOOTER_NOT_FOUND = "Nếu bạn thấy câu trả lời này chưa ổn, hãy nhắn “2” 👎 để cán bộ xem lại."
CHOICE_HINT = "Nhắn số thứ tự (ví dụ “1”) để chọn."
EMERGENCY = {
    "114": "🚨 Nếu đang có cháy, nổ hoặc người gặp nạn, hãy gọi ngay 114 (cứu hỏa, cứu nạn, cứu hộ).",
    "115": "🚨 Nếu có người bị thương hay cần cấp cứu, hãy gọi ngay 115 (cấp cứu y tế).",
    "113": "🚨 Nếu bạn đang gặp nguy hiểm, bị hành hung, trộm cướp, hãy gọi ngay 113 (công an).",
}
EMERGENCY_TAIL = ("Các số 113, 114, 115 gọi miễn phí, kể cả khi điện thoại hết tiền. Khi đã an toàn, bạn cứ hỏi tiếp "
                  "về thủ tục.")
RUDE = (
    "Mình hiểu bạn đang bực mình, và mình rất muốn giúp. Bạn cho mình biết bạn cần làm thủ tục gì, hoặc gặp khó "
    "khăn ở bước nào nhé. Muốn nói chuyện với cán bộ, bạn nhắn “gặp cán bộ”."
)
HANDOFF_WARD = (
    "Bạn có thể gặp trực tiếp cán bộ: {centre}{address}, điện thoại {phone}{hours}. "
    "Ngoài ra: Tổng đài 1022 của tỉnh, thành phố, hoặc 1800.1096 (Cổng Dịch vụ công quốc gia). "
    "Mình đã chuyển nội dung trò chuyện (đã che thông tin cá nhân) để cán bộ xem."
)
HANDOFF_GENERAL = (
    "Bạn có thể nói chuyện với cán bộ qua Tổng đài 1022 của tỉnh, thành phố (hỏi về thủ tục, phản ánh tại địa "
    "phương) hoặc 1800.1096 (Cổng Dịch vụ công quốc gia), hay đến Trung tâm Phục vụ hành chính công của xã, "
    "phường. Mình đã chuyển nội dung trò chuyện (đã che thông tin cá nhân) để cán bộ xem. Cho mình biết bạn ở "
    "phường, xã nào (“/phuong An Hải”) để mình chỉ đúng nơi."
)
HANDOFF_AFTER_MISSES = "Mình chưa trả lời được hai câu liền. Có lẽ bạn nên hỏi cán bộ:"
BYE = "Tạm biệt! Chúc bạn làm thủ tục thuận lợi."

# Labels of actions (buttons on Telegram and Messenger, numbered lines elsewhere).
BUTTON_SOURCES = "📄 Xem nguồn"
BUTTON_UP = "👍"
BUTTON_DOWN = "👎"
BUTTON_PERSON = "🙋 Gặp cán bộ"
