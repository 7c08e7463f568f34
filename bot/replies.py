"""Fixed Vietnamese replies: greetings, help, refusals. One place, so every channel says the same."""

HOTLINES = (
    "Bạn có thể gọi Tổng đài 1800.1096 (hỗ trợ Cổng Dịch vụ công quốc gia), Tổng đài 1022 của tỉnh, "
    "thành phố, hoặc tra cứu thủ tục tại https://dichvucong.gov.vn."
)

GREETING = (
    "Xin chào! Mình là Trợ lý CCHC. Mình trả lời câu hỏi về các kế hoạch cải cách hành chính của "
    "xã, phường và cách dùng Cổng Dịch vụ công quốc gia (dichvucong.gov.vn), kèm nguồn trích dẫn. "
    "Bạn muốn hỏi gì?"
)

IDENTITY = (
    "Mình là Trợ lý CCHC, một chương trình trả lời tự động. Mình chỉ trả lời dựa trên các văn bản "
    "trong kho tri thức: kế hoạch cải cách hành chính của xã, phường, hướng dẫn dùng Cổng Dịch vụ "
    "công quốc gia và các tổng đài hỗ trợ. Mình không thay thế cán bộ tiếp nhận hồ sơ. " + HOTLINES
)

HELP = (
    "Bạn có thể hỏi, ví dụ:\n"
    "• Số tổng đài hỗ trợ dịch vụ công là gì?\n"
    "• Làm sao tra cứu tình trạng hồ sơ?\n"
    "• Kế hoạch CCHC phường Hưng Phú năm 2025 đặt mục tiêu gì về thanh toán trực tuyến?\n"
    "• Phường An Hải năm 2026 tuyên truyền CCHC bằng những hình thức nào?\n"
    "Mỗi câu trả lời có số [1], [2] chỉ văn bản nguồn. Mình chưa có thông tin về hồ sơ, giấy tờ, "
    "lệ phí của từng thủ tục cụ thể. " + HOTLINES
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

NO_PROCEDURE_DETAILS = (
    "Xin lỗi, kho tri thức của mình chưa có hướng dẫn chi tiết (thành phần hồ sơ, giấy tờ, lệ phí, thời hạn) "
    "cho thủ tục này, nên không muốn đoán. Bạn có thể tìm đúng thủ tục trên https://dichvucong.gov.vn, "
    "gọi Tổng đài 1800.1096 (hỗ trợ Cổng Dịch vụ công quốc gia) hoặc Tổng đài 1022 của tỉnh, thành phố, "
    "hay hỏi Trung tâm Phục vụ hành chính công của xã, phường nơi bạn làm thủ tục."
)

UNAVAILABLE = "Xin lỗi, hệ thống đang bận hoặc đang bảo trì. Bạn vui lòng thử lại sau ít phút. " + HOTLINES
