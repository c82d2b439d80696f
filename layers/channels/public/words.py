"""The words of the public report pages, as zh/en pairs (Chinese first; the header's switch
picks English). Kept beside the pages rather than in the message catalogue: residents read
them, so they are written plainly, one pair per thought."""

from __future__ import annotations

from layers.domain.language import pick

# Each hazard category as a resident would say it (the vocabulary's label stays the title).
PLAIN_CATEGORY = {
    "structure": (
        "房屋开裂、墙皮或构件松动、有倒塌危险",
        "Cracks, loose parts, a building that may fall",
    ),
    "fire_equipment": (
        "灭火器、消防栓、烟感等坏了或缺了",
        "Fire extinguishers, hydrants or alarms broken or missing",
    ),
    "wiring": ("电线乱拉乱接、老化裸露", "Loose, bare or makeshift electric wiring"),
    "gas": ("燃气管道、钢瓶使用不安全", "Unsafe gas pipes or gas bottles"),
    "escape_route": ("楼道、消防通道被堵住", "Stairwells or fire lanes blocked"),
    "ebike": ("电动车停在楼道里、飞线充电", "E-bikes parked indoors or charged from a window"),
    "group_rental": ("一套房里住了很多人（群租）", "Too many people living in one flat"),
    "three_in_one": ("住人的店铺、作坊、仓库", "People living in a shop, workshop or store"),
}

WORDS = {
    "title": ("随手拍 · 反映安全隐患", "Report a safety problem"),
    "intro": (
        "看到身边的安全隐患？拍张照片告诉我们。不用注册，几步就好。",
        "Seen something unsafe nearby? Tell us with a photo. No account needed.",
    ),
    "what": ("是什么问题？", "What is the problem?"),
    "where": ("在哪里？", "Where is it?"),
    "locate": ("用我现在的位置", "Use where I am"),
    "tap": ("或在地图上点一下问题所在的位置。", "Or tap the map where the problem is."),
    "map": ("选择位置的地图", "Map to choose the place"),
    "describe": ("简单描述一下", "Describe it in a few words"),
    "describe_hint": (
        "例如：3号楼2单元楼道里停了4辆电动车",
        "For example: four e-bikes in the stairwell of building 3",
    ),
    "photos": ("照片（最多3张，可不拍）", "Photos (up to 3, optional)"),
    "photos_hint": (
        "照片会在手机上先压缩，并去掉拍摄地点等信息。",
        "Photos are made smaller on your phone first; the place and camera details are removed.",
    ),
    "contact": ("电话或邮箱（可不填）", "Phone or email (optional)"),
    "contact_hint": (
        "只用于告诉您处理结果，不会公开，办结90天后删除。",
        "Only to tell you the outcome; never shown; erased 90 days after closing.",
    ),
    "honeypot": ("请不要填写此项", "Leave this empty"),
    "check": ("下一步", "Next"),
    "send": ("提交", "Send"),
    "privacy": (
        "我们不会公开您的联系方式，也不会显示处理人员的信息。",
        "Your contact is never shown, and neither are the staff who handle it.",
    ),
    "status_title": ("办理进度", "Progress of your report"),
    "code": ("查询码", "Tracking code"),
    "keep_code": (
        "请保存查询码或扫码收藏此页，随时查看办理进度。",
        "Keep the code, or scan the QR code, to follow your report.",
    ),
    "status_now": ("当前状态", "Status now"),
    "steps": ("办理过程", "Steps"),
    "promised_answer": ("承诺答复时间：{date} 前", "We will answer by {date}"),
    "promised_fix": ("承诺整改期限：{date} 前", "To be fixed by {date}"),
    "reason": ("原因", "Reason"),
    "closing_photo": ("整改后的照片", "Photo after the fix"),
    "feedback": ("问题解决了吗？", "Is it fixed?"),
    "feedback_until": ("{date} 前可以反馈。", "You can tell us until {date}."),
    "rate": ("请为办理情况打分", "Rate how it was handled"),
    "rate_send": ("提交评分", "Send the rating"),
    "rated": ("您的评分：{n} / 5，谢谢！", "Your rating: {n} / 5. Thank you!"),
    "not_fixed": ("还没解决", "It is not fixed"),
    "not_fixed_note": ("还有什么问题？", "What is still wrong?"),
    "not_fixed_photo": ("拍一张现在的照片", "A photo of how it is now"),
    "not_fixed_send": ("提交：还没解决", "Send: not fixed"),
    "not_fixed_done": ("已收到，将重新安排复查。", "Received: it will be checked again."),
    "rating_done": ("谢谢您的评价！", "Thank you for rating!"),
    "feedback_closed": (
        "反馈期限已过。如问题仍在，请重新反映。",
        "The time for feedback is over. If it is still there, report it again.",
    ),
    "stars": ("星", "stars"),
    "lookup": ("查询办理进度", "Follow a report"),
    "lookup_go": ("查询", "Look up"),
    "not_found": ("没有找到这个查询码。", "No report with this code."),
    "new_report": ("再反映一个问题", "Report another problem"),
    "report_link": ("随手拍：反映身边的安全隐患", "Report a safety problem nearby"),
    "report_link_desc": (
        "用手机拍照反映楼道堵塞、飞线充电等隐患，凭查询码跟踪办理进度。",
        "Report a blocked stairwell or an e-bike charged from a window, and follow it with a code.",
    ),
    "illustrative": ("示意数据", "Illustrative data"),
}

# The page script's words.
SCRIPT = {
    "noLocation": (
        "请先选择位置：用我现在的位置，或在地图上点一下。",
        "Choose the place first: use where you are, or tap the map.",
    ),
    "geoFailed": (
        "无法获取您的位置，请在地图上点一下。",
        "Your position is not available: tap the map instead.",
    ),
    "located": ("已选位置", "Place chosen"),
    "noCategory": ("请选择问题类型。", "Choose what the problem is."),
    "noDescription": ("请简单描述一下。", "Say in a few words what you saw."),
    "tooMany": ("最多3张照片。", "At most 3 photos."),
    "preparing": ("正在压缩照片…", "Making the photos smaller…"),
    "photoFailed": ("这张照片无法读取，请换一张。", "This photo cannot be read; choose another."),
    "remove": ("删除照片", "Remove photo"),
    "checking": ("正在查看附近是否已有人反映…", "Looking for reports nearby…"),
    "known": (
        "附近已有人反映同类问题，正在处理：",
        "Someone already reported this kind of problem nearby; it is being handled:",
    ),
    "knownItem": ("{status} · 约{m}米 · {n}人反映", "{status} · about {m} m · {n} people"),
    "meToo": ("我也遇到了", "Me too"),
    "meTooDone": (
        "已记录，共{n}人反映。谢谢！不用再提交了。",
        "Noted: {n} people reported it. Thank you; no need to send a new report.",
    ),
    "different": ("不是同一个问题，继续提交", "It is a different problem: send my report"),
    "sending": ("正在提交…", "Sending…"),
    "sent": ("已提交！您的查询码：", "Sent! Your tracking code:"),
    "open": ("查看办理进度", "See the progress"),
    "qr": ("办理进度页面的二维码", "QR code of the progress page"),
    "failed": ("没有提交成功：", "Not sent:"),
    "tooManyReports": (
        "提交太频繁了，请 {minutes} 分钟后再试。",
        "Too many reports from here: try again in {minutes} minutes.",
    ),
    "offline": ("网络不通，请稍后再试。", "No connection: try again later."),
}


def words() -> dict[str, str]:
    return {key: pick(pair) for key, pair in WORDS.items()}


def script_words() -> dict[str, str]:
    return {key: pick(pair) for key, pair in SCRIPT.items()}
