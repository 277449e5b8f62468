"""The declared vocabulary of digitised records: what each register offers, and about whom.

A form binds a field to a record path ``register.field`` (``population.full_name``). The
vocabulary is declared here, once, so that a definition can be checked before any register is
reached: a binding to a path no register offers is a definition error, not an empty field at run
time. Each path has a value kind, so a date field cannot be bound to a name by mistake.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Register:
    name: str
    title: str
    #: the record field that identifies the subject: a personal ID number or a tax code
    subject: str
    #: record field -> (value kind, Vietnamese label); a kind is a field type of the form
    #: language, or ``choice:LIST`` for a value from a built-in code list
    fields: dict[str, tuple[str, str]]
    #: for a register not keyed by a person (``business``): how a person reaches its records,
    #: role -> the record field holding the personal ID number of whoever has that role, in
    #: order of preference (a form's person is an owner before a legal representative)
    roles: dict[str, str] = dataclasses.field(default_factory=dict)


_PERSON = "personal_id"  # the record field naming the subject of person registers

REGISTERS: dict[str, Register] = {
    r.name: r
    for r in (
        Register(
            "population",
            "Cơ sở dữ liệu quốc gia về dân cư",
            _PERSON,
            {
                "personal_id": ("personal_id", "Số định danh cá nhân"),
                "full_name": ("text", "Họ, chữ đệm và tên"),
                "surname": ("text", "Họ"),
                "given_names": ("text", "Chữ đệm và tên"),
                "birth_date": ("date", "Ngày, tháng, năm sinh"),
                "birth_year": ("partial_date", "Năm sinh"),
                "sex": ("choice:sex", "Giới tính"),
                "ethnicity": ("choice:ethnicity", "Dân tộc"),
                "religion": ("choice:religion", "Tôn giáo"),
                "nationality": ("choice:nationality", "Quốc tịch"),
                "marital_status": ("choice:marital_status", "Tình trạng hôn nhân"),
                "blood_group": ("choice:blood_group", "Nhóm máu"),
                "birth_registration_place": ("address", "Nơi đăng ký khai sinh"),
                "birth_registration_province": ("choice:province", "Tỉnh nơi đăng ký khai sinh"),
                # a place as printed on the birth certificate: today's unit, a country abroad,
                # or a unit's name as it was (before the 2025 reorganisation)
                "birth_place": ("place", "Nơi sinh"),
                "death_date": ("date", "Ngày chết"),
                "home_town": ("address", "Quê quán"),
                "permanent_residence": ("address", "Nơi thường trú"),
                "temporary_residence": ("address", "Nơi tạm trú"),
                "current_residence": ("address", "Nơi ở hiện tại"),
                "residence": ("address", "Nơi cư trú (thường trú, nếu không có thì tạm trú, "
                                         "nếu không có thì nơi ở hiện tại)"),
                "id_document_type": ("choice:id_document_type", "Loại giấy tờ tùy thân"),
                "id_card_issue_date": ("date", "Ngày cấp thẻ căn cước"),
                "id_card_issue_place": ("text", "Cơ quan cấp thẻ căn cước"),
                "id_card_expiry_date": ("date", "Thẻ căn cước có giá trị đến"),
                "household_head_name": ("text", "Họ, chữ đệm và tên chủ hộ"),
                "household_head_personal_id": ("personal_id", "Số định danh cá nhân của chủ hộ"),
                "relationship_to_household_head": ("choice:relationship", "Quan hệ với chủ hộ"),
                "father_personal_id": ("personal_id", "Số định danh cá nhân của cha"),
                "mother_personal_id": ("personal_id", "Số định danh cá nhân của mẹ"),
                "spouse_personal_id": ("personal_id", "Số định danh cá nhân của vợ/chồng"),
                # set on the ward's record by the registration of guardianship
                "guardian_personal_id": ("personal_id",
                                         "Số định danh cá nhân của người giám hộ"),
                # links the register computes; no form field can be bound to a list
                "children_personal_ids": ("personal_id_list", "Số định danh cá nhân của con"),
                "household_member_personal_ids": ("personal_id_list",
                                                  "Số định danh cá nhân của thành viên hộ"),
                "ward_personal_ids": ("personal_id_list",
                                      "Số định danh cá nhân của người được giám hộ"),
                "occupation": ("text", "Nghề nghiệp"),
                "education_level": ("choice:education_level", "Trình độ học vấn"),
                "other_name": ("text", "Tên gọi khác"),
            },
        ),
        Register(
            "civil_status",
            "Cơ sở dữ liệu hộ tịch điện tử",
            _PERSON,
            {
                "birth_registration_number": ("text", "Số đăng ký khai sinh"),
                "birth_registration_book": ("text", "Quyển số (đăng ký khai sinh)"),
                "birth_registration_date": ("date", "Ngày đăng ký khai sinh"),
                "birth_registration_authority": ("text", "Nơi đăng ký khai sinh"),
                "marriage_certificate_number": ("text", "Số Giấy chứng nhận kết hôn"),
                "marriage_book_number": ("text", "Quyển số"),
                "marriage_registration_date": ("date", "Ngày đăng ký kết hôn"),
                "marriage_registration_authority": ("text", "Nơi đăng ký kết hôn"),
                "marriage_count": ("integer", "Số lần đã kết hôn"),
                "death_registration_number": ("text", "Số trích lục khai tử"),
                "death_date": ("date", "Ngày chết"),
            },
        ),
        Register(
            "business",
            "Cơ sở dữ liệu quốc gia về đăng ký doanh nghiệp và hộ kinh doanh",
            "enterprise_code",
            {
                "enterprise_code": ("tax_code", "Mã số doanh nghiệp"),
                "name": ("text", "Tên doanh nghiệp/hộ kinh doanh"),
                "foreign_name": ("text", "Tên bằng tiếng nước ngoài"),
                "short_name": ("text", "Tên viết tắt"),
                "head_office": ("address", "Địa chỉ trụ sở chính"),
                "owner_name": ("text", "Chủ hộ kinh doanh/chủ doanh nghiệp tư nhân"),
                "owner_personal_id": ("personal_id", "Số định danh cá nhân của chủ hộ kinh "
                                                     "doanh/chủ doanh nghiệp tư nhân"),
                "legal_representative_name": ("text", "Người đại diện theo pháp luật"),
                "legal_representative_personal_id": ("personal_id",
                                                     "Số định danh cá nhân của người đại diện"),
                "business_lines": ("long_text", "Ngành, nghề kinh doanh"),
                "charter_capital": ("money", "Vốn điều lệ/vốn đầu tư"),
                "registration_date": ("date", "Ngày đăng ký lần đầu"),
            },
            {"owner": "owner_personal_id",
             "legal_representative": "legal_representative_personal_id"},
        ),
        Register(
            "driving_licence",
            "Cơ sở dữ liệu giấy phép lái xe",
            _PERSON,
            {
                "number": ("text", "Số giấy phép lái xe"),
                "licence_class": ("choice:driving_licence_class", "Hạng giấy phép lái xe"),
                "issue_date": ("date", "Ngày cấp"),
                "issued_by": ("text", "Cơ quan cấp"),
                "issue_place": ("text", "Nơi cấp"),
                "expiry_date": ("date", "Có giá trị đến"),
                "training_institution": ("text", "Cơ sở đào tạo lái xe"),
                "training_year": ("integer", "Năm học lái xe"),
                "revoked": ("boolean", "Đang bị tước quyền sử dụng giấy phép lái xe"),
            },
        ),
        Register(
            "passport",
            "Cơ sở dữ liệu xuất nhập cảnh (hộ chiếu)",
            _PERSON,
            {
                "number": ("text", "Số hộ chiếu"),
                "issue_date": ("date", "Ngày cấp"),
                "expiry_date": ("date", "Có giá trị đến"),
                "issued_by": ("text", "Cơ quan cấp"),
                # the passport before the latest (forms ask for the last one held)
                "previous_number": ("text", "Số hộ chiếu đã được cấp trước đây"),
                "previous_issue_date": ("date", "Ngày cấp hộ chiếu trước đây"),
                "previous_issued_by": ("text", "Cơ quan cấp hộ chiếu trước đây"),
                "name_in_foreign_document": ("text", "Họ tên trong hộ chiếu nước ngoài"),
                "foreign_nationality": ("choice:nationality", "Quốc tịch nước ngoài"),
                "foreign_passport_number": ("text", "Số hộ chiếu nước ngoài"),
                "foreign_passport_issue_date": ("date", "Ngày cấp hộ chiếu nước ngoài"),
                "foreign_passport_issued_by": ("text", "Cơ quan cấp hộ chiếu nước ngoài"),
                "foreign_passport_expiry_date": ("date", "Hộ chiếu nước ngoài có giá trị đến"),
            },
        ),
        Register(
            "social_insurance",
            "Cơ sở dữ liệu quốc gia về bảo hiểm",
            _PERSON,
            {
                "insurance_code": ("text", "Mã số bảo hiểm xã hội"),
                "health_insurance_card_number": ("text", "Số thẻ bảo hiểm y tế"),
                "registered_hospital": ("text", "Nơi đăng ký khám chữa bệnh ban đầu"),
                "household_member_annex": ("boolean", "Đã kê khai phụ lục thành viên hộ gia đình"),
            },
        ),
    )
}

#: People a group of fields can be about, by their link to the declarant in the registers.
PERSONS: dict[str, str] = {
    "declarant": "Người kê khai",
    "father": "Cha của người kê khai",
    "mother": "Mẹ của người kê khai",
    "spouse": "Vợ/chồng của người kê khai",
    "child": "Con của người kê khai",
    "household_head": "Chủ hộ của người kê khai",
    "household_member": "Thành viên hộ gia đình của người kê khai",
    "parent": "Cha hoặc mẹ của người kê khai",
    "ward": "Người được người kê khai giám hộ",
    "guardian": "Người giám hộ của người kê khai",
}


#: Links a population record carries, by relation: the field holding the linked person's (or
#: people's) personal ID number.
LINK_FIELDS: dict[str, str] = {
    "father": "father_personal_id",
    "mother": "mother_personal_id",
    "spouse": "spouse_personal_id",
    "household_head": "household_head_personal_id",
    "child": "children_personal_ids",
    "household_member": "household_member_personal_ids",
    "guardian": "guardian_personal_id",
    "ward": "ward_personal_ids",
}
#: Relations that are several links at once: a parent is the father or the mother.
COMBINED_RELATIONS: dict[str, tuple[str, ...]] = {"parent": ("father", "mother")}
#: Links computed from the other records (the reverse of father/mother and guardian, the
#: household), not imported.
DERIVED_LINKS = ("children_personal_ids", "household_member_personal_ids", "ward_personal_ids")


def linked_by(relation: str) -> tuple[str, ...]:
    """The link relations a relation of :data:`PERSONS` stands for (``parent``: father and
    mother; ``declarant``: none)."""
    if relation in COMBINED_RELATIONS:
        return COMBINED_RELATIONS[relation]
    return (relation,) if relation in LINK_FIELDS else ()


def lookup(path: str) -> tuple[Register, str, str] | None:
    """``(register, kind, label)`` for a record path, or None when no register offers it."""
    register_name, _, field = path.partition(".")
    register = REGISTERS.get(register_name)
    if register is None or field not in register.fields:
        return None
    kind, label = register.fields[field]
    return register, kind, label
