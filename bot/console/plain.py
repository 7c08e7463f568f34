"""Plain Vietnamese for the console: names and one-line explanations of test categories and metrics.

Officers are not programmers: the eval file's category codes (plan_fact, out_of_scope, …) and the
metric keys (answer_accuracy, hit@5, mrr) stay in the files and in `cchc eval`; pages show these names.
"""
from __future__ import annotations

# code -> (name, one line on what the questions of this group check)
CATEGORY_NAMES: dict[str, tuple[str, str]] = {
    "plan_fact": ("Nội dung kế hoạch", "Hỏi một chi tiết trong kế hoạch CCHC của xã/phường."),
    "provincial_plan": ("Kế hoạch của tỉnh/thành", "Hỏi một chi tiết trong kế hoạch cấp tỉnh, thành phố."),
    "provincial_report": ("Báo cáo của tỉnh/thành", "Hỏi một số liệu trong báo cáo cấp tỉnh, thành phố."),
    "locality": ("Đúng xã/phường", "Câu hỏi nêu tên xã/phường: phải trả lời theo văn bản của nơi đó."),
    "hotline": ("Tổng đài, đường dây nóng", "Hỏi số điện thoại hỗ trợ."),
    "portal": ("Cổng dịch vụ công", "Hỏi cách dùng Cổng Dịch vụ công."),
    "portal_faq": ("Hỏi đáp về Cổng", "Câu hỏi thường gặp khi dùng Cổng Dịch vụ công."),
    "abbreviation": ("Viết tắt", "Câu hỏi dùng chữ viết tắt (CCHC, DVC, UBND…)."),
    "no_diacritics": ("Gõ không dấu", "Câu hỏi gõ không dấu tiếng Việt."),
    "no_diacritics_plan": ("Gõ không dấu (kế hoạch)", "Hỏi về kế hoạch, gõ không dấu."),
    "no_diacritics_guidance": ("Gõ không dấu (hướng dẫn)", "Hỏi về hướng dẫn, gõ không dấu."),
    "typo": ("Gõ sai chính tả", "Câu hỏi có lỗi gõ phím."),
    "smalltalk": ("Chào hỏi", "Lời chào, cảm ơn, hỏi trợ lý làm được gì."),
    "out_of_scope": ("Ngoài phạm vi", "Câu hỏi không thuộc hành chính công: phải nói “không tìm thấy”."),
    "unanswerable": ("Không có trong văn bản", "Đúng chủ đề nhưng văn bản không có câu trả lời: phải nói “không tìm thấy”."),
    "procedure_missing": ("Thủ tục chưa có", "Thủ tục chưa có trong kho: phải nói “không tìm thấy” và chỉ nơi hỏi."),
    "procedure_card": ("Thông tin thủ tục", "Hỏi chung về một thủ tục hành chính."),
    "procedure_papers": ("Giấy tờ cần nộp", "Hỏi hồ sơ, giấy tờ của một thủ tục."),
    "procedure_fee": ("Lệ phí", "Hỏi lệ phí của một thủ tục."),
    "procedure_time": ("Thời gian giải quyết", "Hỏi bao lâu thì có kết quả."),
    "procedure_where": ("Nơi nộp", "Hỏi nộp hồ sơ ở đâu."),
    "procedure_who": ("Ai được làm", "Hỏi đối tượng thực hiện thủ tục."),
    "procedure_steps": ("Các bước", "Hỏi trình tự thực hiện thủ tục."),
    "procedure_online": ("Nộp trực tuyến", "Hỏi có nộp qua mạng được không."),
    "procedure_conditions": ("Điều kiện", "Hỏi điều kiện để làm thủ tục."),
    "procedure_colloquial": ("Tên gọi thường ngày", "Gọi thủ tục bằng tên người dân hay dùng, không theo tên chính thức."),
    "procedure_choice": ("Chọn thủ tục", "Câu hỏi hợp với nhiều thủ tục: trợ lý phải hỏi lại để chọn."),
    "pair_plan": ("Cặp có dấu/không dấu (kế hoạch)", "Cùng câu hỏi về kế hoạch, có dấu và không dấu, phải được trả lời như nhau."),
    "pair_procedure": ("Cặp có dấu/không dấu (thủ tục)", "Cùng câu hỏi về thủ tục, có dấu và không dấu, phải được trả lời như nhau."),
    "pair_guidance": ("Cặp có dấu/không dấu (hướng dẫn)", "Cùng câu hỏi về hướng dẫn, có dấu và không dấu, phải được trả lời như nhau."),
    "pair_oos": ("Cặp có dấu/không dấu (ngoài phạm vi)", "Cùng câu hỏi ngoài phạm vi, có dấu và không dấu, đều phải được từ chối."),
    "feedback": ("Từ góp ý của người dân", "Thêm từ một góp ý 👎 ở trang Góp ý."),
    "question_log": ("Từ câu hỏi của người dân", "Thêm từ trang Câu hỏi của dân."),
}

# metric key -> (name, one line on what it measures)
METRIC_NAMES: dict[str, tuple[str, str]] = {
    "answer_accuracy": ("Trả lời đúng", "Tỉ lệ câu trợ lý xử lý đúng: trả lời có đủ ý cần có, hoặc từ chối khi phải từ chối."),
    "hit@5": ("Tìm đúng văn bản trong 5 kết quả đầu",
              "Tỉ lệ câu mà văn bản cần tìm nằm trong 5 đoạn văn trợ lý tìm được đầu tiên."),
    "mrr": ("Văn bản đúng đứng cao", "Từ 0 đến 1: bằng 1 khi văn bản cần tìm luôn đứng đầu, 0,5 khi thường đứng thứ hai."),
    "out_of_scope_accuracy": ("Từ chối đúng", "Tỉ lệ câu không có câu trả lời mà trợ lý nói đúng “không tìm thấy”."),
    "citation_accuracy": ("Trích đúng văn bản", "Tỉ lệ câu trả lời có trích dẫn văn bản cần trích."),
    "fact_accuracy": ("Đủ ý", "Tỉ lệ câu trả lời có đủ các ý phải có."),
}


def category_name(code: str) -> str:
    """The Vietnamese name of a test category; an unknown code (typed by an officer) is shown as is."""
    return CATEGORY_NAMES.get(code, (code, ""))[0]


def category_help(code: str) -> str:
    return CATEGORY_NAMES.get(code, ("", ""))[1]


def metric_name(key: str) -> str:
    return METRIC_NAMES.get(key, (key, ""))[0]


def metric_help(key: str) -> str:
    return METRIC_NAMES.get(key, ("", ""))[1]


def is_url(value: object) -> bool:
    """Sources that are web addresses may be shown; file names (e.g. 002_62ac….txt) only as technical detail."""
    return isinstance(value, str) and value.startswith(("http://", "https://"))
